"""Decode a video file into the 20 frames the models see, sampled as the paper does.

The paper's reference code seeks to each of the 20 positions. Seeking is slow (OpenCV
decodes from a keyframe before every target) and on some codecs lands on the wrong frame,
so we decode sequentially: grab() every frame, retrieve() (convert) only the ones we keep.

The header's frame count is not trusted: it is missing in live WebM/MKV recordings, low in
MPEG-PS files and high in truncated AVIs. Before decoding we count the packets in OpenCV's
raw mode (demuxing only, well under a millisecond); the decode pass then checks that count,
and only if it disagrees is the selection redone from the decoded count in a second pass.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from har.config import IMAGE_HEIGHT, IMAGE_WIDTH, SEQUENCE_LENGTH
from har.errors import VideoError

# Bump when sampling or resizing changes, so cached frames are re-extracted.
SAMPLER_VERSION = 1

# Frames up to this many pixels decode fastest on one thread (FFmpeg's threads cost more
# than they save on small frames, and load_frames already decodes clips in parallel).
_SINGLE_THREAD_MAX_PIXELS = 640 * 480
# A header count above this is garbage (live WebM reports about 2**61), not a length.
_MAX_PLAUSIBLE_FRAMES = 10_000_000


def sample_indices(frame_count: int, n: int = SEQUENCE_LENGTH) -> list[int]:
    """The source frames the models see: window = max(count // n, 1), frame i at i*window.

    With fewer than n frames, every frame is used in order, repeated to make n.
    """
    if frame_count <= 0:
        raise VideoError("The video has no frames to sample.")
    if frame_count < n:
        return [i * frame_count // n for i in range(n)]
    window = max(frame_count // n, 1)
    return [i * window for i in range(n)]


@dataclass(frozen=True)
class ClipFrames:
    """The sampled frames of one video, with what the app shows about them."""

    pixels: np.ndarray  # (n, 64, 64, 3) uint8, RGB
    indices: list[int]  # source frame index of each sampled frame
    frame_count: int  # frames actually decoded (not the header's claim)
    fps: float  # 0.0 when the file does not say
    width: int  # source size
    height: int
    padded: bool  # frame_count < n: frames were repeated
    source: str  # path as given
    header_frame_count: int = field(default=0, compare=False)  # the header's claim; 0 = none

    @property
    def frames(self) -> np.ndarray:
        """float32 in [0, 1], the models' input."""
        return self.pixels.astype(np.float32) / 255.0

    @property
    def duration(self) -> float:
        """Seconds, from the decoded frame count (0.0 when the fps is unknown)."""
        return self.frame_count / self.fps if self.fps > 0 else 0.0

    @property
    def times(self) -> list[float]:
        """Seconds into the video of each sampled frame (25 fps assumed when unknown)."""
        fps = self.fps if self.fps > 0 else 25.0
        return [i / fps for i in self.indices]


def _check_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise VideoError(f"No such file: {p}. Check the path or pick the video again.")
    if p.is_dir():
        raise VideoError(f"{p} is a folder, not a video file.")
    if p.stat().st_size == 0:
        raise VideoError(f"{p.name} is empty (0 bytes); pick or upload the video again.")
    if not os.access(p, os.R_OK):
        raise VideoError(f"{p.name} cannot be read (permission denied).")
    return p


def _capture(p: Path, *params: int) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG, list(params))
    if not cap.isOpened():
        cap.release()
        raise VideoError(
            f"{p.name} is not a video OpenCV/FFmpeg can decode (or it has no video stream); "
            "use an MP4, AVI, MOV, MKV or WebM file."
        )
    return cap


def _open(p: Path) -> cv2.VideoCapture:
    """A decoding capture: one FFmpeg thread for small frames, all cores for large ones."""
    cap = _capture(p, cv2.CAP_PROP_N_THREADS, 1)
    pixels = cap.get(cv2.CAP_PROP_FRAME_WIDTH) * cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    if pixels > _SINGLE_THREAD_MAX_PIXELS and (os.cpu_count() or 1) > 1:
        cap.release()
        cap = _capture(p, cv2.CAP_PROP_N_THREADS, 0)
    return cap


def _header(cap: cv2.VideoCapture) -> dict:
    """What the container says; frame_count 0 when it says nothing believable."""
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    count = cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0
    return {
        "fps": fps if math.isfinite(fps) and 0 < fps < 10_000 else 0.0,
        "frame_count": int(count) if 0 < count < _MAX_PLAUSIBLE_FRAMES else 0,
        "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        "codec": "".join(chr((fourcc >> 8 * i) & 0xFF) for i in range(4)).strip("\x00 "),
    }


def probe(path: str | Path) -> dict:
    """Header facts (fps, frame_count, width, height, codec fourcc) without decoding.

    frame_count is the container's claim (0 when it has none) and may be wrong; read_clip
    reports the decoded count.
    """
    cap = _open(_check_file(path))
    try:
        return _header(cap)
    finally:
        cap.release()


def count_packets(path: str | Path) -> int:
    """Video packets in the file, counted by demuxing without decoding (0 if that fails).

    One packet is one frame for the codecs UCF50 and browsers use, so this is the length
    hint read_clip samples from; the decode pass still checks it.
    """
    try:
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    except cv2.error:
        return 0
    count = 0
    try:
        if cap.isOpened():
            while cap.grab():
                count += 1
    finally:
        cap.release()
    return count


def _decode_selected(
    cap: cv2.VideoCapture, wanted: set[int], size: tuple[int, int]
) -> tuple[dict[int, np.ndarray], int, tuple[int, int]]:
    """One sequential pass: resize the frames in `wanted` (BGR), count all of them.

    grab() decodes every frame (inter frames need their predecessors); retrieve(), the
    colour conversion, and the resize run only for the kept ones.
    """
    found: dict[int, np.ndarray] = {}
    source_size = (0, 0)
    count = 0
    while cap.grab():
        if count in wanted:
            ok, frame = cap.retrieve()
            if ok and frame is not None:
                source_size = (frame.shape[1], frame.shape[0])
                found[count] = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        count += 1
    return found, count, source_size


def read_clip(
    path: str | Path,
    n: int = SEQUENCE_LENGTH,
    size: tuple[int, int] = (IMAGE_WIDTH, IMAGE_HEIGHT),
) -> ClipFrames:
    """Decode `path` and return its n sampled frames, resized (INTER_AREA), RGB, uint8.

    `size` is (width, height). Raises VideoError for a missing, empty, undecodable or
    truncated-to-nothing file.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    p = _check_file(path)
    size = (int(size[0]), int(size[1]))
    cap = _open(p)
    try:
        info = _header(cap)
        hint = count_packets(p) or info["frame_count"]
        wanted = set(sample_indices(hint, n)) if hint > 0 else set()
        found, count, source_size = _decode_selected(cap, wanted, size)
    finally:
        cap.release()
    if count == 0:
        raise VideoError(
            f"{p.name} has no decodable video frames (it may be truncated or corrupt); "
            "re-encode or re-download it."
        )
    indices = sample_indices(count, n)
    if any(i not in found for i in indices):
        # The hint was wrong (or a frame failed to convert): select again from the true count.
        cap = _open(p)
        try:
            found, count2, source_size = _decode_selected(cap, set(indices), size)
        finally:
            cap.release()
        if count2 != count:
            raise VideoError(f"{p.name} decodes differently on each read; re-encode it.")
        if any(i not in found for i in indices):
            missing = next(i for i in indices if i not in found)
            raise VideoError(f"Frame {missing} of {p.name} could not be decoded; re-encode it.")
    bgr = np.stack([found[i] for i in indices])
    pixels = np.ascontiguousarray(bgr[..., ::-1])  # BGR -> RGB for all frames at once
    return ClipFrames(
        pixels=pixels,
        indices=indices,
        frame_count=count,
        fps=info["fps"],
        width=source_size[0] or info["width"],
        height=source_size[1] or info["height"],
        padded=count < n,
        source=str(path),
        header_frame_count=info["frame_count"],
    )
