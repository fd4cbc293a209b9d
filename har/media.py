"""Writing video: H.264 MP4 that browsers play, and transcoding files that they do not.

OpenCV's wheels carry no H.264 encoder, so encoding goes through PyAV (FFmpeg + libx264).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from har.errors import VideoError
from har.fsutil import atomic_path


def write_mp4(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float = 25.0,
    crf: int = 23,
    preset: str = "veryfast",
) -> Path:
    """Encode RGB uint8 frames (H, W, 3) to an H.264/yuv420p MP4 with +faststart, atomically.

    Width and height must be even (yuv420p); odd sizes are cropped by one pixel.
    """
    path = Path(path)
    with (
        atomic_path(path) as tmp,
        av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container,
    ):
        stream = None
        for frame in frames:
            frame = np.ascontiguousarray(
                frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2, :3]
            )
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                stream.width, stream.height = frame.shape[1], frame.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": preset}
            video_frame = av.VideoFrame.from_ndarray(frame.astype(np.uint8), format="rgb24")
            for packet in stream.encode(video_frame):
                container.mux(packet)
        if stream is None:
            raise ValueError("write_mp4 needs at least one frame")
        for packet in stream.encode():
            container.mux(packet)
    return path


def save_frames(clip, out_dir: str | Path, fmt: str = "png") -> list[Path]:
    """Write a ClipFrames' sampled frames as images: frame_00_src000012.png, ..."""
    import cv2

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for position, (index, pixels) in enumerate(zip(clip.indices, clip.pixels, strict=True)):
        path = out_dir / f"frame_{position:02d}_src{index:06d}.{fmt}"
        with atomic_path(path) as tmp:
            ok, encoded = cv2.imencode(f".{fmt}", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
            if not ok:
                raise VideoError(f"Could not encode frame {index} as {fmt}.")
            tmp.write_bytes(encoded.tobytes())
        paths.append(path)
    return paths


def is_browser_playable(path: str | Path) -> bool:
    """True for H.264 (yuv420p) in an MP4/MOV container: what every browser plays."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return False
            stream = container.streams.video[0]
            fmt = container.format.name
            return (
                stream.codec_context.name == "h264"
                and stream.codec_context.pix_fmt in ("yuv420p", "yuvj420p")
                and ("mp4" in fmt or "mov" in fmt)
            )
    except (av.FFmpegError, OSError):
        return False


def browser_playable(path: str | Path, cache_dir: str | Path | None = None) -> Path:
    """The file itself if a browser can play it, else an H.264 MP4 copy (cached by file identity).

    UCF50's XviD AVIs and OpenCV's MP4V files do not play in browsers.
    """
    from har.config import cache_dir as default_cache_dir

    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise VideoError(f"{path.name} is missing or empty; pick or upload the video again.")
    if is_browser_playable(path):
        return path
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    target = Path(cache_dir or default_cache_dir() / "browser") / f"{key[:16]}.mp4"
    if target.exists():
        return target
    try:
        with av.open(str(path)) as source:
            if not source.streams.video:
                raise VideoError(f"{path.name} has no video stream.")
            stream = source.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate or 25
            frames = (f.to_ndarray(format="rgb24") for f in source.decode(stream))
            write_mp4(target, frames, fps=float(rate))
    except av.FFmpegError as exc:
        raise VideoError(f"{path.name} could not be decoded for playback ({exc}).") from exc
    except ValueError as exc:
        raise VideoError(f"{path.name} has no decodable frames.") from exc
    return target
