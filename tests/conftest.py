"""Shared test helpers: real video files whose frames say which frame they are."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

BITS = 6  # frame numbers 0..63


def index_frame(i: int, size=(160, 120)) -> np.ndarray:
    """An RGB frame whose number survives a 64x64 resize and lossy coding: the left half
    holds 6 black/white stripes, the binary digits of i; the right half is pure red."""
    w, h = size
    frame = np.zeros((h, w, 3), np.uint8)
    stripe = w // 2 // BITS
    for k in range(BITS):
        if (i >> k) & 1:
            frame[:, k * stripe : (k + 1) * stripe] = 255
    frame[:, w // 2 :] = (255, 0, 0)
    return frame


def decoded_index(pixels: np.ndarray, size=(160, 120)) -> int:
    """Inverse of index_frame on a decoded 64x64 RGB frame."""
    stripe = size[0] // 2 // BITS
    value = 0
    for k in range(BITS):
        x = int((k + 0.5) * stripe * pixels.shape[1] / size[0])
        if pixels[8:-8, x].mean() > 128:
            value |= 1 << k
    return value


def write_cv2_video(path: Path, n_frames: int, fourcc: str, size=(160, 120), fps=25.0) -> Path:
    """Write with OpenCV (BGR in): XVID/MJPG AVI, mp4v MP4, VP80 WebM, MKV ..."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for i in range(n_frames):
        writer.write(cv2.cvtColor(index_frame(i, size), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture
def make_video(tmp_path):
    """make_video(n_frames, fourcc="XVID", suffix=".avi") -> Path of a real video file."""
    counter = iter(range(10_000))

    def make(n_frames: int, fourcc: str = "XVID", suffix: str = ".avi", **kw) -> Path:
        path = tmp_path / f"clip{next(counter)}{suffix}"
        if fourcc == "H264":
            from har.media import write_mp4

            return write_mp4(path, (index_frame(i) for i in range(n_frames)), fps=25)
        return write_cv2_video(path, n_frames, fourcc, **kw)

    return make
