"""A timeline's windows shown again: each window's frames decoded from the file when asked
for (Explain draws one at a time), so a long video's frames are never all held."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping

import numpy as np

from har.data.video import read_frames, sample_indices


class WindowClips(Mapping):
    """sampling (frames, width, height) -> window k -> its RGB frames (T, H, W, 3), decoded
    from the file when asked for; the last few windows are kept, never the whole video's.

    One object serves every session that explains the same video (the page caches it), so its
    store of recent windows is guarded by a lock; decoding happens outside it."""

    KEEP = 4  # windows kept decoded (the one drawn, and a few the slider just passed)

    def __init__(self, source: str, bounds, samplings) -> None:
        self.source, self.bounds, self.samplings = source, list(bounds), list(samplings)
        self._recent: OrderedDict[int, dict] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, sampling) -> _Windows:
        if tuple(sampling) not in self.samplings:
            raise KeyError(sampling)
        return _Windows(self, tuple(sampling))

    def __iter__(self) -> Iterator:
        return iter(self.samplings)

    def __len__(self) -> int:
        return len(self.samplings)

    def window(self, k: int) -> dict[tuple[int, int, int], np.ndarray]:
        """Window k's frames for every sampling: one decode of just the frames it needs."""
        if not 0 <= k < len(self.bounds):
            raise IndexError(f"window {k} of {len(self.bounds)}")
        with self._lock:
            kept = self._recent.get(k)
            if kept is not None:
                self._recent.move_to_end(k)
                return kept
        start, stop = self.bounds[k]
        picks = {s: [start + i for i in sample_indices(stop - start, s[0])] for s in self.samplings}
        wanted: dict[int, set[tuple[int, int]]] = {}
        for (_, w, h), idx in picks.items():
            for i in idx:
                wanted.setdefault(i, set()).add((w, h))
        found = read_frames(self.source, wanted)
        frames = {
            s: np.ascontiguousarray(np.stack([found[i, (s[1], s[2])] for i in idx])[..., ::-1])
            for s, idx in picks.items()
        }
        with self._lock:
            self._recent[k] = frames
            self._recent.move_to_end(k)
            while len(self._recent) > self.KEEP:
                self._recent.popitem(last=False)
        return frames


class _Windows:
    """One sampling's windows: `windows[k]` decodes window k (see WindowClips)."""

    def __init__(self, clips: WindowClips, sampling) -> None:
        self._clips, self._sampling = clips, sampling

    def __len__(self) -> int:
        return len(self._clips.bounds)

    @property
    def shape(self) -> tuple[int, ...]:
        """(windows, frames, height, width, 3), as an array of every window would have."""
        frames, width, height = self._sampling
        return (len(self), frames, height, width, 3)

    def __getitem__(self, k: int) -> np.ndarray:
        return self._clips.window(int(k))[self._sampling]
