"""UCF50-shaped folders: classes, clips, group-aware splits, and a cache of extracted frames.

Layout: <root>/<Class>/v_<Class>_gNN_cMM.<ext>. Clips of one group share actor, background
and viewpoint, so the honest split holds whole groups out (mode "group", the default);
"random" is the paper's shuffled 75/25, which lets a group's clips land on both sides.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
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
from har.errors import DatasetError, VideoError
from har.fsutil import atomic_path
from har.video import SAMPLER_VERSION, read_clip

CLIP_NAME = re.compile(r"^v_(?P<cls>.+)_g(?P<group>\d+)_c(?P<clip>\d+)$")
SPLIT_MODES = ("group", "random")
FRAME_SIZE = (IMAGE_WIDTH, IMAGE_HEIGHT)


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
    skipped: tuple[str, ...] = ()  # video files in class folders not named like UCF50 clips

    def subset(self, classes: Sequence[str]) -> Dataset:
        """Only `classes`, in the order given (which becomes the models' output order)."""
        chosen = list(dict.fromkeys(classes))
        unknown = [c for c in chosen if c not in self.classes]
        if unknown:
            raise DatasetError(
                f"Unknown class{'es' if len(unknown) > 1 else ''} {', '.join(unknown)} in "
                f"{self.root}; choose from: {', '.join(self.classes)}."
            )
        if len(chosen) < 2:
            raise DatasetError(
                "Pick at least two classes: a classifier needs something to tell apart."
            )
        wanted = set(chosen)
        clips = [c for c in self.clips if c.label in wanted]
        return Dataset(self.root, chosen, clips, self.skipped)


def scan(root: str | Path) -> Dataset:
    """Read a UCF50-shaped folder; DatasetError says what is wrong with a malformed one.

    Video files whose names do not follow v_<Class>_gNN_cMM.<ext> are skipped and listed in
    Dataset.skipped; other files are ignored. Hidden folders and __MACOSX are ignored.
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"Dataset folder {root} does not exist; check the path.")
    if not root.is_dir():
        raise DatasetError(
            f"{root} is a file; point at the folder that holds one folder per class."
        )
    class_dirs = sorted(
        d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "__"))
    )
    if not class_dirs:
        raise DatasetError(
            f"{root} has no class folders; expected <root>/<Class>/v_<Class>_gNN_cMM.avi."
        )
    classes: list[str] = []
    clips: list[ClipRef] = []
    skipped: list[str] = []
    empty: list[str] = []
    for class_dir in class_dirs:
        found = []
        for f in sorted(class_dir.iterdir()):
            if not f.is_file() or f.suffix.lower() not in VIDEO_EXTENSIONS:
                continue
            m = CLIP_NAME.match(f.stem)
            # UCF-style names sometimes differ from the folder in case only (HandStandPushups).
            if not m or m["cls"].lower() != class_dir.name.lower():
                skipped.append(f.relative_to(root).as_posix())
                continue
            found.append(ClipRef(f, class_dir.name, int(m["group"]), int(m["clip"])))
        if found:
            classes.append(class_dir.name)
            clips.extend(found)
        else:
            empty.append(class_dir.name)
    if not clips:
        raise DatasetError(
            f"No clips named like UCF50 (v_<Class>_gNN_cMM.avi) in the class folders of {root}"
            + (f" ({len(skipped)} video files with other names)." if skipped else ".")
        )
    if empty:
        raise DatasetError(
            f"Class folder{'s' if len(empty) > 1 else ''} {', '.join(empty)} in {root} "
            f"{'have' if len(empty) > 1 else 'has'} no clips named v_<Class>_gNN_cMM.<ext>; "
            "add clips, fix their names, or move the folder out of the dataset."
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


def _order(clip: ClipRef) -> tuple:
    return (clip.label, clip.group, clip.clip, str(clip.path))


def split_clips(
    clips: Sequence[ClipRef],
    mode: str = "group",
    test_fraction: float = 0.25,
    val_fraction: float = 0.2,
    seed: int = 27,
) -> Split:
    """Train / validation / test, deterministic for a seed and independent of input order.

    "group" (default): per class, about test_fraction of its groups go to test and
    val_fraction of the remaining groups to validation, whole, so no (label, group) pair is
    in two parts. "random": the paper's shuffled split (scikit-learn, stratified by class),
    then val_fraction of the train part held for validation.
    """
    if mode not in SPLIT_MODES:
        raise DatasetError(f"Unknown split mode {mode!r}; choose 'group' or 'random'.")
    if not 0 < test_fraction < 1 or not 0 <= val_fraction < 1:
        raise DatasetError(
            f"Split fractions must be between 0 and 1 (test {test_fraction}, val {val_fraction})."
        )
    clips = sorted(clips, key=_order)
    if len({c.label for c in clips}) < 2:
        raise DatasetError("A split needs clips of at least two classes.")
    if mode == "group":
        train, val, test = _group_split(clips, test_fraction, val_fraction, seed)
    else:
        train, val, test = _random_split(clips, test_fraction, val_fraction, seed)
    return Split(train, val, test, mode, seed)


def _group_split(clips, test_fraction, val_fraction, seed):
    # One generator for all classes, drawn in sorted class order: the split that models
    # already trained record by (mode, seed), so keep it stable.
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    need = 3 if val_fraction > 0 else 2
    for label in sorted({c.label for c in clips}):
        own = [c for c in clips if c.label == label]
        groups = sorted({c.group for c in own})
        if len(groups) < need:
            raise DatasetError(
                f"Class {label} has {len(groups)} group(s); a group split needs at least {need} "
                "(train, validation, test). Add clips of other groups or use the random split."
            )
        order = [groups[i] for i in rng.permutation(len(groups))]
        n_test = min(max(1, round(len(groups) * test_fraction)), len(groups) - need + 1)
        n_val = 0
        if val_fraction > 0:
            n_val = min(
                max(1, round((len(groups) - n_test) * val_fraction)), len(groups) - n_test - 1
            )
        test_g, val_g = set(order[:n_test]), set(order[n_test : n_test + n_val])
        test += [c for c in own if c.group in test_g]
        val += [c for c in own if c.group in val_g]
        train += [c for c in own if c.group not in test_g and c.group not in val_g]
    return tuple([part[i] for i in rng.permutation(len(part))] for part in (train, val, test))


def _random_split(clips, test_fraction, val_fraction, seed):
    from sklearn.model_selection import train_test_split

    counts = Counter(c.label for c in clips)
    need = 3 if val_fraction > 0 else 2
    few = sorted(label for label, k in counts.items() if k < need)
    if few:
        raise DatasetError(
            f"Class{'es' if len(few) > 1 else ''} {', '.join(few)} "
            f"{'have' if len(few) > 1 else 'has'} fewer than {need} clips; a stratified split "
            "needs more. Add clips or leave the class out."
        )
    try:
        train, test = train_test_split(
            clips,
            test_size=test_fraction,
            shuffle=True,
            random_state=seed,
            stratify=[c.label for c in clips],
        )
        val = []
        if val_fraction > 0:
            train, val = train_test_split(
                train,
                test_size=val_fraction,
                shuffle=True,
                random_state=seed,
                stratify=[c.label for c in train],
            )
    except ValueError as exc:  # too few clips for the stratified sizes
        raise DatasetError(
            f"Cannot split {len(clips)} clips of {len(counts)} classes "
            f"{test_fraction:.0%} test / {val_fraction:.0%} validation: {exc} "
            "Add clips or choose fewer classes."
        ) from exc
    return sorted(train, key=_order), sorted(val, key=_order), sorted(test, key=_order)


@functools.lru_cache(maxsize=8)
def _npy_header(shape: tuple[int, ...]) -> bytes:
    """The .npy header np.save writes for a C-ordered uint8 array of `shape`."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "|u1", "fortran_order": False, "shape": tuple(shape)}
    )
    return buf.getvalue()


class FrameCache:
    """Extracted frames on disk, one file per clip and setting, written atomically.

    The key is a SHA-1 of the resolved path, file size, mtime_ns, n, frame size and
    SAMPLER_VERSION, so an edited file or another setting is a new entry, never a stale
    one. Each <key>.npy holds the uint8 pixels followed by a second array
    [frame_count, *indices]; np.load reads the pixels alone, and read_into copies them
    straight into a batch (a .npz would cost a zip directory per read, about 7x slower).
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "frames"

    def key(self, path: str | Path, n: int = SEQUENCE_LENGTH, size=FRAME_SIZE) -> str:
        p = Path(path).resolve()
        try:
            st = p.stat()
        except FileNotFoundError:
            raise VideoError(f"No such file: {p}. Was it moved or deleted?") from None
        ident = f"{p}|{st.st_size}|{st.st_mtime_ns}|{n}|{tuple(size)}|v{SAMPLER_VERSION}"
        return hashlib.sha1(ident.encode()).hexdigest()

    def file_for(self, path: str | Path, n: int = SEQUENCE_LENGTH, size=FRAME_SIZE) -> Path:
        k = self.key(path, n, size)
        return self.root / k[:2] / f"{k}.npy"

    def get(self, path: str | Path, n: int = SEQUENCE_LENGTH, size=FRAME_SIZE):
        """Cached pixels (n, h, w, 3) uint8, or None on a miss (or an unreadable entry)."""
        try:
            pixels = np.load(self.file_for(path, n, size))
        except (OSError, ValueError, EOFError):
            return None
        if pixels.dtype != np.uint8 or pixels.shape != (n, size[1], size[0], 3):
            return None
        return pixels

    def read_into(self, path: str | Path, out: np.ndarray) -> bool:
        """Fill `out` (n, h, w, 3) uint8 from the cache; False on a miss.

        The warm path of load_frames: the entry's bytes go straight into `out` (no header
        parsing, no intermediate array) when its .npy header is the one this numpy writes.
        """
        n, h, w = out.shape[:3]
        file = self.file_for(path, n, (w, h))
        header = _npy_header(out.shape)
        try:
            with open(file, "rb", buffering=0) as fh:
                if fh.read(len(header)) == header:
                    if fh.readinto(memoryview(out).cast("B")) == out.nbytes:
                        return True
        except FileNotFoundError:
            return False
        except OSError:
            pass
        pixels = self.get(path, n, (w, h))  # written by another numpy, or damaged
        if pixels is None:
            return False
        out[...] = pixels
        return True

    def get_indices(self, path: str | Path, n: int = SEQUENCE_LENGTH, size=FRAME_SIZE):
        """(frame_count, indices) of a cached entry, or None."""
        try:
            with open(self.file_for(path, n, size), "rb") as fh:
                np.lib.format.read_array(fh)
                meta = np.lib.format.read_array(fh)
        except (OSError, ValueError, EOFError):
            return None
        return int(meta[0]), [int(i) for i in meta[1:]]

    def put(
        self,
        path: str | Path,
        pixels: np.ndarray,
        indices: Sequence[int] = (),
        frame_count: int = 0,
        n: int = SEQUENCE_LENGTH,
        size=FRAME_SIZE,
    ) -> Path:
        target = self.file_for(path, n, size)
        meta = np.array([frame_count, *indices], dtype=np.int64)
        with atomic_path(target) as tmp, open(tmp, "wb") as fh:
            np.lib.format.write_array(fh, np.ascontiguousarray(pixels, dtype=np.uint8))
            np.lib.format.write_array(fh, meta)
        return target

    def frames(self, path: str | Path, n: int = SEQUENCE_LENGTH, size=FRAME_SIZE) -> np.ndarray:
        """Cached pixels, or decode, cache and return them."""
        pixels = self.get(path, n, size)
        if pixels is None:
            clip = read_clip(path, n, size)
            self.put(path, clip.pixels, clip.indices, clip.frame_count, n, size)
            pixels = clip.pixels
        return pixels


def load_frames(
    clips: Sequence[ClipRef],
    class_names: Sequence[str],
    cache: FrameCache | None = None,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames (N, 20, 64, 64, 3) uint8 and labels (N,) for `clips`, in order.

    Cached clips are read first; the rest are decoded in parallel threads (OpenCV decodes
    with the GIL released; on 2 cores threads matched processes without their start-up
    cost or their danger next to TensorFlow). `progress`: True for a tqdm bar, a callable
    for progress(done, total), False for silence.
    """
    cache = cache if cache is not None else FrameCache()
    index = {name: i for i, name in enumerate(class_names)}
    unknown = sorted({c.label for c in clips} - set(index))
    if unknown:
        raise DatasetError(
            f"Clips of classes {', '.join(unknown)} are not in the class list "
            f"({', '.join(class_names)})."
        )
    total = len(clips)
    x = np.empty((total, SEQUENCE_LENGTH, IMAGE_HEIGHT, IMAGE_WIDTH, 3), np.uint8)
    y = np.array([index[c.label] for c in clips], dtype=np.int64)

    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="frames", unit="clip", dynamic_ncols=True)
    done = 0

    def advance(k: int = 1) -> None:
        nonlocal done
        done += k
        if bar is not None:
            bar.update(k)
        elif callable(progress):
            progress(done, total)

    try:
        misses = []
        for i, clip in enumerate(clips):
            if cache.read_into(clip.path, x[i]):
                advance()
            else:
                misses.append(i)

        def extract(i: int) -> None:
            x[i] = cache.frames(clips[i].path)

        if misses:
            workers = max(1, min(workers or os.cpu_count() or 1, len(misses)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="har-frames") as pool:
                pending = {pool.submit(extract, i) for i in misses}
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        if future.exception() is not None:
                            pool.shutdown(wait=True, cancel_futures=True)  # fail fast
                            raise future.exception()
                        advance()
    finally:
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
