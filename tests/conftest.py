"""Shared test helpers: real video files whose frames say which frame they are."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

BITS = 8  # frame numbers 0..255


def index_frame(i: int, size=(160, 120)) -> np.ndarray:
    """An RGB frame whose number survives a 64x64 resize and lossy coding: the left half
    holds 8 black/white stripes, the binary digits of i; the right half is pure red."""
    w, h = size
    frame = np.zeros((h, w, 3), np.uint8)
    stripe = w // 2 // BITS
    for k in range(BITS):
        if (i >> k) & 1:
            frame[:, k * stripe : (k + 1) * stripe] = 255
    frame[:, w // 2 :] = (255, 0, 0)
    return frame


def decoded_index(pixels: np.ndarray, size=(160, 120)) -> int:
    """Inverse of index_frame on a decoded (resized) RGB frame."""
    stripe = size[0] // 2 // BITS
    value = 0
    for k in range(BITS):
        x = int((k + 0.5) * stripe * pixels.shape[1] / size[0])
        if pixels[4:-4, x].mean() > 128:
            value |= 1 << k
    return value


def write_cv2_video(path: Path, n_frames: int, fourcc: str, size=(160, 120), fps=25.0) -> Path:
    """Write with OpenCV (BGR in): XVID/MJPG AVI, mp4v MP4/MOV, VP80 WebM, XVID MKV ..."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for i in range(n_frames):
        writer.write(cv2.cvtColor(index_frame(i, size), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_av_video(
    path: Path,
    n_frames: int,
    codec: str,
    container: str,
    size=(160, 120),
    fps: int = 25,
    options: dict | None = None,
    codec_options: dict | None = None,
) -> Path:
    """Write with PyAV (FFmpeg): VP9 WebM, MPEG-2 program streams, live (length-less) WebM."""
    path = Path(path)
    with av.open(str(path), "w", format=container, options=options or {}) as out:
        stream = out.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = codec_options or {}
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(index_frame(i, size), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def set_avi_length(path: Path, frames: int) -> Path:
    """Make an AVI's header lie: overwrite its frame count (avih, strh and OpenDML dmlh)."""
    data = bytearray(Path(path).read_bytes())
    for tag, offset in ((b"avih", 8 + 16), (b"strh", 8 + 32), (b"dmlh", 8)):
        at = data.find(tag)
        if at >= 0:
            struct.pack_into("<I", data, at + offset, frames)
    Path(path).write_bytes(bytes(data))
    return Path(path)


def set_mov_rotation(path: Path) -> Path:
    """Give a MOV/MP4 the display matrix a phone writes for portrait video (90 deg clockwise)."""
    data = bytearray(Path(path).read_bytes())
    at = data.index(b"tkhd")
    matrix = at + 4 + 4 + 4 * 5 + 8 + 2 * 4  # tag, version/flags, 5 fields, reserved, 4 shorts
    struct.pack_into(">9i", data, matrix, 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    Path(path).write_bytes(bytes(data))
    return Path(path)


@pytest.fixture
def make_video(tmp_path):
    """make_video(n_frames, fourcc="XVID", suffix=".avi") -> Path of a real video file.

    fourcc "H264" goes through har.media.write_mp4 (libx264); "VP90" through PyAV.
    """
    counter = iter(range(10_000))

    def make(n_frames: int, fourcc: str = "XVID", suffix: str = ".avi", **kw) -> Path:
        path = tmp_path / f"clip{next(counter)}{suffix}"
        if fourcc == "H264":
            from har.data.encode import write_mp4

            size = kw.get("size", (160, 120))
            frames = (index_frame(i, size) for i in range(n_frames))
            return write_mp4(path, frames, fps=kw.get("fps", 25))
        if fourcc == "VP90":
            return write_av_video(path, n_frames, "libvpx-vp9", "webm", **kw)
        return write_cv2_video(path, n_frames, fourcc, **kw)

    return make


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    """Models and caches in the test's own folder, never the user's."""
    monkeypatch.setenv("HAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HAR_MODELS_DIR", str(tmp_path / "models"))


@pytest.fixture
def isolated_app(isolated_dirs, tmp_path, monkeypatch):
    """The app's folders for one test: its own models and caches, data read from the test's
    folder only, no UCF folder set."""
    monkeypatch.setenv("HAR_DATA_ROOTS", str(tmp_path))
    monkeypatch.delenv("HAR_UCF50_DIR", raising=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny synthetic dataset (Swing, Punch; 3 groups of 2 clips) in a folder whose name has
    a space and a non-ASCII letter."""
    from har.data.synthetic import generate_dataset

    root = tmp_path_factory.mktemp("ds spaces ü")
    return generate_dataset(root, ["Swing", "Punch"], 3, 2, workers=1, progress=False)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """The `har` command in this process: (exit code, what it printed, what it said on stderr)."""
    from har.cli import main

    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def _isolated_runs(tmp_path, monkeypatch):
    """Training runs a test starts go to its own folder, never the user's run list."""
    monkeypatch.setenv("HAR_RUNS_DIR", str(tmp_path / "runs"))


def copy_shipped(shipped: str, folder: Path, name: str, **card_changes) -> Path:
    """A user's copy of a shipped model as <folder>/<name>.keras, its card's `name` set to
    `name` and `card_changes` applied (a card that claims another name, or has bad types)."""
    import json
    import shutil

    from har.config import SHIPPED_MODELS_DIR

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIPPED_MODELS_DIR / f"{shipped}.keras", folder / f"{name}.keras")
    card = json.loads((SHIPPED_MODELS_DIR / f"{shipped}.json").read_text())
    (folder / f"{name}.json").write_text(json.dumps({**card, "name": name, **card_changes}))
    return folder / f"{name}.keras"
