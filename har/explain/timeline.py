"""Where in a video each model sees which action: a window slides over the video, each window is
sampled the paper's way and scored by every model, in one streaming decode.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from har.data.video import (
    check_frame_size,
    check_video_file,
    count_packets,
    open_capture,
    read_header,
    resize,
    sample_indices,
)
from har.errors import SettingsError, VideoError
from har.explain.windows import WindowClips
from har.utils.progress import Progress, reporting

DEFAULT_WINDOW_SECONDS = 2.5  # about one action cycle of a UCF50 clip


DEFAULT_FPS = 25.0  # assumed when the file does not say, as har.video does


BATCH_WINDOWS = 32  # windows per predict_batch call


# At most this many windows: a 1-fps upload of 2,000 frames asked for 1,999 windows. Above it
# the stride is raised until the windows fit, and Timeline.note says so. 500 covers a
# 10-minute video at the default 2.5 s window and half-window stride.
MAX_WINDOWS = 500


def capped_stride(frame_count: int, window: int, stride: int, max_windows: int) -> int:
    """The smallest stride >= `stride` that gives at most `max_windows` windows."""
    if max_windows < 1:
        raise SettingsError("The timeline needs room for at least one window.")

    def fits(s: int) -> bool:
        return len(window_bounds(frame_count, window, s)) <= max_windows

    if fits(stride):
        return stride
    guess = math.ceil(max(frame_count - window, 1) / max(max_windows - 1, 1))
    capped = max(stride + 1, min(guess, frame_count))
    while not fits(capped):
        capped += 1
    while capped - 1 > stride and fits(capped - 1):
        capped -= 1
    return capped


def window_bounds(frame_count: int, window: int, stride: int) -> list[tuple[int, int]]:
    """[start, stop) source frames of each window: full windows every `stride` frames, then
    one last partial window (start on the stride grid, stop at the end) if frames are left.

    A video shorter than one window is one window of the whole video.
    """
    if frame_count <= 0:
        raise VideoError("The video has no frames to slide a window over.")
    if window < 1 or stride < 1:
        raise SettingsError("The window and the stride must each be at least one frame.")
    if frame_count <= window:
        return [(0, frame_count)]
    bounds = [(s, s + window) for s in range(0, frame_count - window + 1, stride)]
    last_start = bounds[-1][0] + stride
    if bounds[-1][1] < frame_count and last_start < frame_count:
        bounds.append((last_start, frame_count))
    return bounds


def window_frames(
    fps: float, window: float, stride: float | None = None, unit: str = "seconds"
) -> tuple[int, int]:
    """(window, stride) in frames from seconds (or frames); the stride defaults to half."""
    if unit not in ("seconds", "frames"):
        raise SettingsError(f"Window unit must be 'seconds' or 'frames', not {unit!r}.")
    stride = window / 2 if stride is None else stride
    for value, what in ((window, "window"), (stride, "stride")):
        if not (math.isfinite(value) and value > 0):
            raise SettingsError(f"The {what} must be a positive number, not {value}.")
    rate = fps if fps > 0 else DEFAULT_FPS
    scale = rate if unit == "seconds" else 1.0
    return max(1, round(window * scale)), max(1, round(stride * scale))


@dataclass
class Timeline:
    """Every model's class probabilities on every window of one video."""

    source: str
    fps: float  # as the file says; 0.0 when unknown (25 assumed for seconds)
    frame_count: int  # decoded
    window: int  # frames per full window
    stride: int  # frames between window starts
    bounds: list[tuple[int, int]]  # [start, stop) source frames of each window
    class_names: dict[str, list[str]]  # model -> its classes
    probabilities: dict[str, np.ndarray]  # model -> (windows, classes)
    decode_seconds: float  # decoding, color conversion and resizing (not the models)
    model_seconds: dict[str, float]  # model -> seconds in predict_batch
    specs: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # model -> sampling
    clips: WindowClips | None = None  # sampling -> window k -> (T, H, W, 3), decoded when asked
    peak_frames: int = 0  # most resized frames held at once while decoding (memory bound)
    note: str = ""  # what was changed from what was asked (the window cap), to show the user

    @property
    def rate(self) -> float:
        return self.fps if self.fps > 0 else DEFAULT_FPS

    @property
    def duration(self) -> float:
        return self.frame_count / self.rate

    @property
    def starts(self) -> list[float]:
        return [s / self.rate for s, _ in self.bounds]

    @property
    def ends(self) -> list[float]:
        return [e / self.rate for _, e in self.bounds]

    @property
    def centres(self) -> list[float]:
        return [(s + e) / 2 / self.rate for s, e in self.bounds]

    def top_classes(self, model: str) -> list[str]:
        names = self.class_names[model]
        return [names[i] for i in np.argmax(self.probabilities[model], axis=1)]

    def confidences(self, model: str) -> list[float]:
        return [float(v) for v in np.max(self.probabilities[model], axis=1)]

    def agreement(self) -> list[bool]:
        """Per window: do all models name the same top class?"""
        tops = [self.top_classes(m) for m in self.probabilities]
        return [len(set(column)) <= 1 for column in zip(*tops, strict=True)] if tops else []

    def window_indices(self, k: int, frames: int) -> list[int]:
        """The source frames window k sampled for a model of `frames` frames."""
        start, stop = self.bounds[k]
        return [start + i for i in sample_indices(stop - start, frames)]

    def to_dict(self) -> dict:
        """JSON-safe: seconds, per window each model's top class, confidence, probabilities."""
        agree = self.agreement()
        tops = {m: self.top_classes(m) for m in self.probabilities}
        return {
            "video": self.source,
            "fps": round(self.fps, 3),
            "frame_count": self.frame_count,
            "duration_seconds": round(self.duration, 3),
            "window_frames": self.window,
            "stride_frames": self.stride,
            "window_seconds": round(self.window / self.rate, 3),
            "stride_seconds": round(self.stride / self.rate, 3),
            "decode_seconds": round(self.decode_seconds, 4),
            "peak_frames_held": self.peak_frames,
            "note": self.note,
            "model_seconds": {m: round(s, 4) for m, s in self.model_seconds.items()},
            "models": {m: list(c) for m, c in self.class_names.items()},
            "windows": [
                {
                    "index": k,
                    "start_frame": start,
                    "stop_frame": stop,
                    "start_seconds": round(start / self.rate, 3),
                    "end_seconds": round(stop / self.rate, 3),
                    "partial": stop - start < self.window and len(self.bounds) > 1,
                    "agree": agree[k],
                    "predictions": {
                        m: {
                            "top_class": tops[m][k],
                            "confidence": round(float(p[k].max()), 6),
                            "probabilities": {
                                c: round(float(v), 6)
                                for c, v in zip(self.class_names[m], p[k], strict=True)
                            },
                        }
                        for m, p in self.probabilities.items()
                    },
                }
                for k, (start, stop) in enumerate(self.bounds)
            ],
        }

    def rows(self) -> list[dict]:
        """One flat row per window and model (for CSV)."""
        out = []
        for w in self.to_dict()["windows"]:
            for m, p in w["predictions"].items():
                out.append(
                    {
                        "window": w["index"],
                        "start_seconds": w["start_seconds"],
                        "end_seconds": w["end_seconds"],
                        "model": m,
                        "top_class": p["top_class"],
                        "confidence": p["confidence"],
                        "agree": w["agree"],
                        **{f"p_{c}": v for c, v in p["probabilities"].items()},
                    }
                )
        return out


def _open_stream(p: Path) -> cv2.VideoCapture:
    """A capture for one long sequential pass: FFmpeg's own threads (one per core)."""
    return open_capture(p, cv2.CAP_PROP_N_THREADS, 0)


def _frame_count(p: Path, info: dict) -> int:
    """Frames in the file: demuxed packets, else the header, else a full grab pass."""
    count = count_packets(p) or info["frame_count"]
    if count > 0:
        return count
    cap = _open_stream(p)
    try:
        while cap.grab():
            count += 1
    finally:
        cap.release()
    return count


def timeline(
    path: str | Path,
    predictors: Mapping | Sequence,
    window: float = DEFAULT_WINDOW_SECONDS,
    stride: float | None = None,
    unit: str = "seconds",
    progress: Progress = False,
    keep_clips: bool = False,
    batch_windows: int = BATCH_WINDOWS,
    max_windows: int = MAX_WINDOWS,
) -> Timeline:
    """Slide a window over `path`, sample each window the paper's way for every model's
    input spec, and predict all windows in batches; one streaming decode.

    Only the resized frames some window still needs are kept while decoding, so memory is
    bounded by the windows in flight, not by the video's length. At most `max_windows`
    windows (the stride is raised to fit, and `note` says so). keep_clips gives `clips`,
    which decodes a window's frames again when one is asked for (Explain shows one at a
    time), so a long video's frames are never all held.
    """
    models = list(predictors.values()) if isinstance(predictors, Mapping) else list(predictors)
    if not models:
        raise SettingsError("Pick at least one model for the timeline.")
    p = check_video_file(path)
    cap = _open_stream(p)
    try:
        info = read_header(cap)
    finally:
        cap.release()
    check_frame_size(p, info)
    hint = _frame_count(p, info)
    if hint == 0:
        raise VideoError(f"{p.name} has no decodable video frames; re-encode it as H.264 MP4.")
    win, asked = window_frames(info["fps"], window, stride, unit)
    settings = dict(progress=progress, batch_windows=batch_windows)

    def run(count: int) -> Timeline:
        hop = capped_stride(count, win, asked, max_windows)
        return _timeline_pass(p, models, info, count, win, hop, **settings)

    result = run(hint)
    if result.frame_count != hint:  # the demuxer's count was wrong: redo from the true one
        result = run(result.frame_count)
    if not result.bounds:
        raise VideoError(f"{p.name} decodes differently on each read; re-encode it.")
    result.source = str(path)
    if result.stride != asked:
        wanted = len(window_bounds(result.frame_count, win, asked))
        rate = result.rate
        result.note = (
            f"{wanted} windows asked for (a stride of {asked / rate:.2f} s); the timeline "
            f"shows at most {max_windows}, so the stride was raised to "
            f"{result.stride / rate:.2f} s."
        )
    if keep_clips:
        result.clips = WindowClips(
            str(path), result.bounds, list(dict.fromkeys(result.specs.values()))
        )
    return result


def _timeline_pass(p: Path, models, info, count, win, hop, progress, batch_windows) -> Timeline:
    """One sequential decode; a placeholder with only the true count if `count` was wrong."""
    bounds = window_bounds(count, win, hop)
    samplings = list(dict.fromkeys(m.spec.sampling for m in models))
    # Which (frame, size) each window needs, and the last window that needs each frame.
    needs: list[dict[tuple[int, int, int], list[int]]] = []
    wanted: dict[int, set[tuple[int, int]]] = {}
    last_use: dict[int, int] = {}
    for k, (start, stop) in enumerate(bounds):
        per = {}
        for frames, w, h in samplings:
            idx = [start + i for i in sample_indices(stop - start, frames)]
            per[frames, w, h] = idx
            for i in idx:
                wanted.setdefault(i, set()).add((w, h))
                last_use[i] = k
        needs.append(per)
    release: dict[int, list[int]] = {}
    for i, k in last_use.items():
        release.setdefault(k, []).append(i)
    ready_at = [max(max(idx) for idx in per.values()) for per in needs]  # last frame needed

    pending: dict[tuple[int, int, int], list[np.ndarray]] = {s: [] for s in samplings}
    worker = _ModelWorker(models)

    def flush() -> None:
        if any(pending.values()):
            worker.put(dict(pending))
        for s in samplings:
            pending[s] = []

    found: dict[tuple[int, tuple[int, int]], np.ndarray] = {}
    next_window = 0
    decoded = peak = 0
    start_time = time.perf_counter()
    cap = _open_stream(p)
    step = max(1, count // 200)
    try:
        with reporting(progress, count, desc="timeline", unit="frame") as advance:
            while cap.grab():
                if decoded in wanted:
                    ok, frame = cap.retrieve()
                    if ok and frame is not None:
                        for size in wanted[decoded]:
                            found[decoded, size] = resize(frame, size)
                while next_window < len(bounds) and ready_at[next_window] <= decoded:
                    for (frames, w, h), idx in needs[next_window].items():
                        missing = [i for i in idx if (i, (w, h)) not in found]
                        if missing:
                            raise VideoError(
                                f"Frame {missing[0]} of {p.name} could not be decoded; "
                                "re-encode it."
                            )
                        bgr = np.stack([found[i, (w, h)] for i in idx])
                        pending[frames, w, h].append(bgr[..., ::-1])  # BGR -> RGB
                    for i in release.get(next_window, []):
                        for size in wanted[i]:
                            found.pop((i, size), None)
                    next_window += 1
                    if len(pending[samplings[0]]) >= batch_windows:
                        flush()
                peak = max(peak, len(found))
                decoded += 1
                if decoded % step == 0 and decoded <= count:
                    advance(step)
            if decoded == count:
                advance(count - count // step * step)
        if decoded == count:
            flush()
            worker.finish()
    finally:
        cap.release()
        worker.close()
    if decoded != count:  # the count we windowed by was wrong: the caller redoes the pass
        return _recount(p, decoded)
    total = time.perf_counter() - start_time
    probabilities, model_seconds = worker.probabilities, worker.seconds
    return Timeline(
        source=str(p),
        fps=info["fps"],
        frame_count=count,
        window=win,
        stride=hop,
        bounds=bounds,
        class_names={m.name: list(m.card.class_names) for m in models},
        probabilities={m.name: np.concatenate(probabilities[m.name]) for m in models},
        decode_seconds=total - worker.waited,
        model_seconds=model_seconds,
        specs={m.name: m.spec.sampling for m in models},
        peak_frames=peak,
    )


class _ModelWorker:
    """The models run on batches of windows in their own thread while the caller decodes the
    next ones (LiteRT and FFmpeg release the GIL); a queue of DEPTH batches bounds memory."""

    DEPTH = 2

    def __init__(self, models) -> None:
        self.models = models
        self.probabilities: dict[str, list] = {m.name: [] for m in models}
        self.seconds = {m.name: 0.0 for m in models}
        self.waited = 0.0  # seconds the decoder waited for the models
        self._queue: queue.Queue = queue.Queue(maxsize=self.DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="timeline-models", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep draining so the decoder never blocks on a full queue
            try:
                for model in self.models:
                    clips = batch[model.spec.sampling]
                    if clips:
                        start = time.perf_counter()
                        self.probabilities[model.name].append(model.predict_batch(np.stack(clips)))
                        self.seconds[model.name] += time.perf_counter() - start
            except BaseException as exc:  # raised in the caller's thread by put/finish
                self._error = exc

    def put(self, batch: dict) -> None:
        if self._error is not None:
            raise self._error
        start = time.perf_counter()
        self._queue.put(batch)
        self.waited += time.perf_counter() - start

    def finish(self) -> None:
        """Wait for every batch; the models' error, if one was raised."""
        start = time.perf_counter()
        self.close()
        self.waited += time.perf_counter() - start
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def _recount(p: Path, decoded: int) -> Timeline:
    """A placeholder saying only how many frames really decoded."""
    if decoded == 0:
        raise VideoError(f"{p.name} has no decodable video frames; re-encode it as H.264 MP4.")
    return Timeline(str(p), 0.0, decoded, 1, 1, [], {}, {}, 0.0, {})
