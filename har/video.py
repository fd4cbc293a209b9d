"""Decode a video file into the 20 frames the models see, sampled as the paper does.

The paper's reference code seeks to each of the 20 positions. Seeking is slow (each seek
decodes from the previous keyframe) and on some codecs lands on the wrong frame, so we
decode sequentially: grab() every frame, retrieve() only the ones we keep. The header's
frame count is only a hint: if the stream ends early or runs long, the selection is redone
from the true count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from har.config import IMAGE_HEIGHT, IMAGE_WIDTH, SEQUENCE_LENGTH
from har.errors import VideoError

# Bump when sampling or resizing changes, so cached frames are re-extracted.
SAMPLER_VERSION = 1


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
    indices: list[int]
    frame_count: int
    fps: float
    width: int
    height: int
    padded: bool
    source: str
    header_frame_count: int = field(default=0, compare=False)

    @property
    def frames(self) -> np.ndarray:
        """float32 in [0, 1], the models' input."""
        return self.pixels.astype(np.float32) / 255.0

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0

    @property
    def times(self) -> list[float]:
        """Seconds into the video of each sampled frame."""
        fps = self.fps if self.fps > 0 else 25.0
        return [i / fps for i in self.indices]


def _open(path: str | Path) -> cv2.VideoCapture:
    p = Path(path)
    if not p.exists():
        raise VideoError(f"No such file: {p}.")
    if p.is_dir():
        raise VideoError(f"{p} is a folder, not a video file.")
    if p.stat().st_size == 0:
        raise VideoError(f"{p.name} is empty (0 bytes); pick or upload the video again.")
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise VideoError(
            f"{p.name} is not a video FFmpeg can decode (or has no video stream); "
            "use an MP4, AVI, MOV, MKV or WebM file."
        )
    return cap


def probe(path: str | Path) -> dict:
    """Header facts (fps, frame count, size, codec) without decoding; the count may be wrong."""
    cap = _open(path)
    try:
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
        return {
            "fps": float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
            "frame_count": int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            "codec": "".join(chr((fourcc >> 8 * i) & 0xFF) for i in range(4)).strip("\x00"),
        }
    finally:
        cap.release()


def _to_model_frame(frame_bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    small = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


def _decode_selected(
    path: str | Path, wanted: list[int], size: tuple[int, int]
) -> tuple[dict[int, np.ndarray], int]:
    """One sequential pass: keep the frames in `wanted`; return them and the true frame count."""
    cap = _open(path)
    keep = set(wanted)
    found: dict[int, np.ndarray] = {}
    count = 0
    try:
        while cap.grab():
            if count in keep:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    found[count] = _to_model_frame(frame, size)
            count += 1
    finally:
        cap.release()
    return found, count


def read_clip(
    path: str | Path,
    n: int = SEQUENCE_LENGTH,
    size: tuple[int, int] = (IMAGE_WIDTH, IMAGE_HEIGHT),
) -> ClipFrames:
    """Decode `path` and return its n sampled frames, resized, RGB, uint8 (see ClipFrames)."""
    info = probe(path)
    header_count = info["frame_count"]
    guess = sample_indices(header_count, n) if header_count > 0 else list(range(n))
    found, count = _decode_selected(path, guess, size)
    if count == 0:
        raise VideoError(
            f"{Path(path).name} has no decodable video frames (it may be truncated or corrupt)."
        )
    indices = sample_indices(count, n)
    if any(i not in found for i in indices):
        # The header lied about the length: a second pass with the true count.
        found, count2 = _decode_selected(path, sorted(set(indices)), size)
        if count2 != count or any(i not in found for i in indices):
            raise VideoError(f"{Path(path).name} decodes differently on each read; re-encode it.")
    pixels = np.stack([found[i] for i in indices])
    return ClipFrames(
        pixels=pixels,
        indices=indices,
        frame_count=count,
        fps=info["fps"],
        width=info["width"],
        height=info["height"],
        padded=count < n,
        source=str(path),
        header_frame_count=header_count,
    )
