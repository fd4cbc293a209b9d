"""The frames of many clips: a checked on-disk cache, and parallel extraction of the misses.

Training and evaluation read each clip's 20 sampled frames many times; decoding them once
and caching the uint8 pixels makes every later run start in milliseconds. Every entry
carries a CRC-32 of its pixels, so a damaged file is extracted again, never used.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import warnings
import zlib
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np

from har.config import IMAGE_HEIGHT, IMAGE_WIDTH, SEQUENCE_LENGTH, cache_dir
from har.data.ucf import ClipRef
from har.data.video import SAMPLER_VERSION, read_clip
from har.errors import DatasetError, VideoError
from har.utils.files import atomic_path
from har.utils.progress import Progress, reporting

FRAME_SIZE = (IMAGE_WIDTH, IMAGE_HEIGHT)
CACHE_FORMAT = 2  # 2: a CRC-32 of the pixels in each entry's metadata


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
    [frame_count, crc32(pixels), *indices]; read_into copies the pixels straight into a
    batch (a .npz would cost a zip directory per read, about 7x slower) and checks the CRC.
    A damaged entry is a miss: it is extracted again and listed in `damaged`.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "frames"
        self.damaged: list[Path] = []  # videos whose entry failed its checksum this session

    def _meta(self, file: Path, offset: int | None = None):
        """[frame_count, crc, *indices] of an entry, or None."""
        try:
            with open(file, "rb") as fh:
                if offset is None:
                    np.lib.format.read_array(fh)
                else:
                    fh.seek(offset)
                meta = np.lib.format.read_array(fh)
        except (OSError, ValueError, EOFError):
            return None
        return meta if meta.ndim == 1 and len(meta) >= 2 else None

    def _check(self, path, file: Path, pixels: np.ndarray, offset: int | None = None) -> bool:
        meta = self._meta(file, offset)
        if meta is not None and int(meta[1]) == zlib.crc32(memoryview(pixels).cast("B")):
            return True
        if Path(path) not in self.damaged:
            self.damaged.append(Path(path))
        return False

    def key(self, path: str | Path, n: int = SEQUENCE_LENGTH, size=FRAME_SIZE) -> str:
        p = Path(path).resolve()
        try:
            st = p.stat()
        except FileNotFoundError:
            raise VideoError(f"No such file: {p}. Was it moved or deleted?") from None
        ident = (
            f"{p}|{st.st_size}|{st.st_mtime_ns}|{n}|{tuple(size)}|v{SAMPLER_VERSION}"
            f"|f{CACHE_FORMAT}"
        )
        return hashlib.sha1(ident.encode()).hexdigest()

    def file_for(self, path: str | Path, n: int = SEQUENCE_LENGTH, size=FRAME_SIZE) -> Path:
        k = self.key(path, n, size)
        return self.root / k[:2] / f"{k}.npy"

    def get(self, path: str | Path, n: int = SEQUENCE_LENGTH, size=FRAME_SIZE):
        """Cached pixels (n, h, w, 3) uint8, or None on a miss (or a damaged entry)."""
        file = self.file_for(path, n, size)
        try:
            pixels = np.load(file)
        except (OSError, ValueError, EOFError):
            return None
        if pixels.dtype != np.uint8 or pixels.shape != (n, size[1], size[0], 3):
            return None
        return pixels if self._check(path, file, np.ascontiguousarray(pixels)) else None

    def read_into(self, path: str | Path, out: np.ndarray) -> bool:
        """Fill `out` (n, h, w, 3) uint8 from the cache; False on a miss or a damaged entry.

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
                        return self._check(path, file, out, len(header) + out.nbytes)
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
        meta = self._meta(self.file_for(path, n, size))
        return None if meta is None else (int(meta[0]), [int(i) for i in meta[2:]])

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
        pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        crc = zlib.crc32(memoryview(pixels).cast("B"))
        meta = np.array([frame_count, crc, *indices], dtype=np.int64)
        try:
            with atomic_path(target) as tmp, open(tmp, "wb") as fh:
                np.lib.format.write_array(fh, pixels)
                np.lib.format.write_array(fh, meta)
        except OSError as exc:  # a folder where the entry belongs, a full or read-only disk
            raise DatasetError(
                f"Cannot write the frame cache entry {target} ({exc.strerror or exc}); "
                "delete it, free some space, or point HAR_CACHE_DIR at another folder."
            ) from exc
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
    progress: Progress = True,
    failures: list | None = None,
    frames: int = SEQUENCE_LENGTH,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames (N, frames, 64, 64, 3) uint8 and labels (N,) for `clips`, in order.

    Cached clips are read first; the rest are decoded in parallel threads (OpenCV decodes
    with the GIL released; on 2 cores threads matched processes without their start-up
    cost or their danger next to TensorFlow). `progress`: True for a tqdm bar, a callable
    for progress(done, total), False for silence. With a `failures` list, a clip that cannot
    be decoded is appended to it as (index, VideoError) and its rows are left zero, for the
    caller to drop; without one, the first such clip raises.
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
    x = np.empty((total, frames, IMAGE_HEIGHT, IMAGE_WIDTH, 3), np.uint8)
    y = np.array([index[c.label] for c in clips], dtype=np.int64)

    with reporting(progress, total, "frames", "clip") as advance:
        misses = []
        for i, clip in enumerate(clips):
            if cache.read_into(clip.path, x[i]):
                advance()
            else:
                misses.append(i)

        def extract(i: int) -> None:
            try:
                x[i] = cache.frames(clips[i].path, frames)
            except VideoError as exc:
                if failures is None:
                    raise
                x[i] = 0
                failures.append((i, exc))

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
    if cache.damaged:
        warnings.warn(
            f"{len(cache.damaged)} cached frame file(s) failed their checksum and were "
            f"extracted again (first: {cache.damaged[0].name}).",
            stacklevel=2,
        )
        cache.damaged.clear()
    return x, y
