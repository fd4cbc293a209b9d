"""UCF50-shaped folders: classes, clips, group-aware splits, and a cache of extracted frames.

Layout: <root>/<Class>/v_<Class>_gNN_cMM.<ext>. Clips of one group share actor, background
and viewpoint, so the honest split holds whole groups out (mode "group", the default);
"random" is the paper's shuffled 75/25.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from har.config import (
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    SAMPLES_DIR,
    SEQUENCE_LENGTH,
    VIDEO_EXTENSIONS,
    cache_dir,
)
from har.errors import DatasetError
from har.fsutil import atomic_path
from har.video import SAMPLER_VERSION, read_clip

CLIP_NAME = re.compile(r"^v_(?P<cls>.+)_g(?P<group>\d+)_c(?P<clip>\d+)$")
SPLIT_MODES = ("group", "random")


@dataclass(frozen=True)
class ClipRef:
    path: Path
    label: str
    group: int
    clip: int


@dataclass(frozen=True)
class Dataset:
    root: Path
    classes: list[str]
    clips: list[ClipRef]
    skipped: tuple[str, ...] = ()  # files in class folders that are not named like UCF50 clips

    def subset(self, classes: Sequence[str]) -> Dataset:
        """Only `classes`, in the order given (which becomes the models' output order)."""
        chosen = list(dict.fromkeys(classes))
        unknown = [c for c in chosen if c not in self.classes]
        if unknown:
            raise DatasetError(
                f"Unknown classes {unknown} in {self.root}; choose from: {', '.join(self.classes)}."
            )
        if len(chosen) < 2:
            raise DatasetError(
                "Pick at least two classes: a classifier needs something to tell apart."
            )
        wanted = set(chosen)
        return Dataset(
            self.root, chosen, [c for c in self.clips if c.label in wanted], self.skipped
        )


def scan(root: str | Path) -> Dataset:
    """Read a UCF50-shaped folder; DatasetError says what is wrong with a malformed one."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"Dataset folder {root} does not exist.")
    if not root.is_dir():
        raise DatasetError(
            f"{root} is a file; point at the folder that holds one folder per class."
        )
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not class_dirs:
        raise DatasetError(
            f"{root} has no class folders; expected <root>/<Class>/v_<Class>_gNN_cMM.avi."
        )
    classes, clips, skipped, empty = [], [], [], []
    for class_dir in class_dirs:
        found = []
        for f in sorted(class_dir.iterdir()):
            if not f.is_file() or f.suffix.lower() not in VIDEO_EXTENSIONS:
                continue
            m = CLIP_NAME.match(f.stem)
            if not m or m["cls"] != class_dir.name:
                skipped.append(str(f.relative_to(root)))
                continue
            found.append(ClipRef(f, class_dir.name, int(m["group"]), int(m["clip"])))
        if found:
            classes.append(class_dir.name)
            clips.extend(found)
        else:
            empty.append(class_dir.name)
    if not clips:
        raise DatasetError(
            f"No clips named like UCF50 (v_<Class>_gNN_cMM.avi) in the class folders of {root}."
        )
    if len(classes) < 2:
        raise DatasetError(f"{root} has clips for only one class ({classes[0]}); need two or more.")
    return Dataset(root, classes, clips, tuple(skipped))


@dataclass(frozen=True)
class Split:
    train: list[ClipRef]
    val: list[ClipRef]
    test: list[ClipRef]
    mode: str
    seed: int


def split_clips(
    clips: Sequence[ClipRef],
    mode: str = "group",
    test_fraction: float = 0.25,
    val_fraction: float = 0.2,
    seed: int = 27,
) -> Split:
    """Train / validation / test. "group": per class, whole groups go to test and to validation;
    "random": the paper's shuffled split (stratified by class), then validation from train."""
    if mode not in SPLIT_MODES:
        raise DatasetError(f"Unknown split mode {mode!r}; choose 'group' or 'random'.")
    clips = sorted(clips, key=lambda c: (c.label, c.group, c.clip, str(c.path)))
    rng = np.random.default_rng(seed)
    train: list[ClipRef] = []
    val: list[ClipRef] = []
    test: list[ClipRef] = []
    for label in sorted({c.label for c in clips}):
        own = [c for c in clips if c.label == label]
        if mode == "group":
            groups = sorted({c.group for c in own})
            if len(groups) < 3:
                raise DatasetError(
                    f"Class {label} has {len(groups)} group(s); a group split needs at least 3 "
                    "(train, validation, test). Use --split random or add clips."
                )
            order = [groups[i] for i in rng.permutation(len(groups))]
            n_test = max(1, round(len(groups) * test_fraction))
            n_val = max(1, round((len(groups) - n_test) * val_fraction))
            test_g, val_g = set(order[:n_test]), set(order[n_test : n_test + n_val])
            test += [c for c in own if c.group in test_g]
            val += [c for c in own if c.group in val_g]
            train += [c for c in own if c.group not in test_g | val_g]
        else:
            if len(own) < 3:
                raise DatasetError(
                    f"Class {label} has {len(own)} clip(s); a split needs at least 3."
                )
            order = [own[i] for i in rng.permutation(len(own))]
            n_test = max(1, round(len(own) * test_fraction))
            n_val = max(1, round((len(own) - n_test) * val_fraction))
            test += order[:n_test]
            val += order[n_test : n_test + n_val]
            train += order[n_test + n_val :]
    shuffle = lambda part: [part[i] for i in rng.permutation(len(part))]  # noqa: E731
    return Split(shuffle(train), shuffle(val), shuffle(test), mode, seed)


class FrameCache:
    """Extracted frames on disk, one .npy per clip, keyed by file identity and sampler settings.

    A changed file (size or mtime), frame count, size or sampler version gives a new key, so
    stale frames are never read; writes are atomic.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "frames"

    def key(self, path: Path, n: int, size: tuple[int, int]) -> str:
        p = Path(path).resolve()
        st = p.stat()
        ident = f"{p}|{st.st_size}|{st.st_mtime_ns}|{n}|{size}|v{SAMPLER_VERSION}"
        return hashlib.sha1(ident.encode()).hexdigest()

    def file_for(self, path: Path, n: int, size: tuple[int, int]) -> Path:
        k = self.key(path, n, size)
        return self.root / k[:2] / f"{k}.npy"

    def get(self, path: Path, n: int = SEQUENCE_LENGTH, size=(IMAGE_WIDTH, IMAGE_HEIGHT)):
        f = self.file_for(path, n, size)
        try:
            return np.load(f)
        except (FileNotFoundError, ValueError, OSError):
            return None

    def put(
        self, path: Path, pixels: np.ndarray, n=SEQUENCE_LENGTH, size=(IMAGE_WIDTH, IMAGE_HEIGHT)
    ):
        with atomic_path(self.file_for(path, n, size)) as tmp, open(tmp, "wb") as fh:
            np.save(fh, pixels)

    def frames(self, path: Path, n: int = SEQUENCE_LENGTH, size=(IMAGE_WIDTH, IMAGE_HEIGHT)):
        """Cached pixels, or decode, cache and return them."""
        pixels = self.get(path, n, size)
        if pixels is None:
            pixels = read_clip(path, n, size).pixels
            self.put(path, pixels, n, size)
        return pixels


def load_frames(
    clips: Sequence[ClipRef],
    class_names: Sequence[str],
    cache: FrameCache | None = None,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames (N, 20, 64, 64, 3) uint8 and labels (N,) for `clips`, in order, decoded in parallel.

    Threads suffice: OpenCV decodes with the GIL released.
    """
    cache = cache or FrameCache()
    index = {name: i for i, name in enumerate(class_names)}
    missing = sorted({c.label for c in clips} - set(index))
    if missing:
        raise DatasetError(
            f"Clips of classes {missing} are not in the class list {list(class_names)}."
        )
    x = np.empty((len(clips), SEQUENCE_LENGTH, IMAGE_HEIGHT, IMAGE_WIDTH, 3), np.uint8)
    y = np.array([index[c.label] for c in clips], dtype=np.int64)
    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=len(clips), desc="frames", unit="clip", dynamic_ncols=True)

    def one(i: int) -> int:
        x[i] = cache.frames(clips[i].path)
        return i

    workers = workers or os.cpu_count() or 2
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, _ in enumerate(pool.map(one, range(len(clips))), start=1):
            if bar is not None:
                bar.update(1)
            elif callable(progress):
                progress(done, len(clips))
    if bar is not None:
        bar.close()
    return x, y


def list_samples(root: str | Path = SAMPLES_DIR) -> dict[str, list[Path]]:
    """The shipped sample clips by class: samples/<Class>_<n>.mp4."""
    found: dict[str, list[Path]] = {}
    for path in sorted(Path(root).glob("*")):
        if path.suffix.lower() in VIDEO_EXTENSIONS and "_" in path.stem:
            found.setdefault(path.stem.rsplit("_", 1)[0], []).append(path)
    return found
