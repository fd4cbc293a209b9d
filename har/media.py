"""Writing video: H.264 MP4 that browsers play, and transcoding files that they do not.

OpenCV's wheels carry no H.264 encoder, so encoding goes through PyAV (FFmpeg + libx264).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
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


IMAGE_FORMATS = ("png", "jpg", "jpeg", "webp", "bmp")


def save_frames(clip, out_dir: str | Path, fmt: str = "png") -> list[Path]:
    """Write a ClipFrames' sampled frames as images, atomically: frame_00_idx0012.png, ...

    The name carries the position (0..n-1) and the source frame index, so a folder listing
    shows what the models saw. Images of an earlier run in `out_dir` are replaced.
    """
    import cv2

    fmt = fmt.lower().lstrip(".")
    if fmt not in IMAGE_FORMATS:
        raise VideoError(f"Cannot write frames as {fmt!r}; use one of {', '.join(IMAGE_FORMATS)}.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for position, (index, pixels) in enumerate(zip(clip.indices, clip.pixels, strict=True)):
        path = out_dir / f"frame_{position:02d}_idx{index:04d}.{fmt}"
        ok, encoded = cv2.imencode(f".{fmt}", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        if not ok:
            raise VideoError(f"Could not encode frame {index} as {fmt}.")
        with atomic_path(path) as tmp:
            tmp.write_bytes(encoded.tobytes())
        paths.append(path)
    keep = set(paths)
    for stale in out_dir.glob(f"frame_*_idx*.{fmt}"):  # a previous clip's frames
        if stale not in keep:
            stale.unlink(missing_ok=True)
    return paths


BROWSER_CONTAINERS = (".mp4", ".m4v", ".mov")
TRANSCODE_VERSION = 1  # part of the cache key: bump when the transcoding settings change


def is_browser_playable(path: str | Path) -> bool:
    """True for H.264 yuv420p video in an MP4/MOV file: what every browser plays.

    The suffix matters too: the app serves the file with a MIME type guessed from it.
    """
    path = Path(path)
    if path.suffix.lower() not in BROWSER_CONTAINERS:
        return False
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return False
            stream = container.streams.video[0]
            return (
                stream.codec_context.name == "h264"
                and stream.codec_context.pix_fmt == "yuv420p"
                and "mp4" in container.format.name
            )
    except (av.FFmpegError, OSError):
        return False


def _upright(frame: av.VideoFrame) -> np.ndarray:
    """RGB pixels as the player would show them (phone videos carry a rotation, not pixels)."""
    rgb = frame.to_ndarray(format="rgb24")
    turns = round(getattr(frame, "rotation", 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def _decoded(source, stream) -> Iterator[np.ndarray]:
    """Upright RGB frames; a file that breaks off mid-stream yields what decodes before it."""
    decoded = 0
    try:
        for frame in source.decode(stream):
            decoded += 1
            yield _upright(frame)
    except av.FFmpegError:
        if not decoded:
            raise


def browser_playable(path: str | Path, cache_dir: str | Path | None = None) -> Path:
    """The file itself if a browser can play it, else an H.264 MP4 copy (cached by file identity).

    UCF50's XviD AVIs, OpenCV's MP4V files, WebM and HEVC do not play in every browser. The
    copy is keyed by absolute path, size and mtime, so an edited file is transcoded again.
    """
    from har.config import cache_dir as default_cache_dir

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"No such video file: {path}. Pick or upload the video again.")
    st = path.stat()
    if st.st_size == 0:
        raise VideoError(f"{path.name} is empty (0 bytes); pick or upload the video again.")
    if is_browser_playable(path):
        return path
    ident = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|v{TRANSCODE_VERSION}"
    key = hashlib.sha1(ident.encode()).hexdigest()[:20]
    target = Path(cache_dir or default_cache_dir() / "browser") / f"{path.stem[:40]}-{key}.mp4"
    if target.is_file():
        return target
    try:
        with av.open(str(path)) as source:
            if not source.streams.video:
                raise VideoError(f"{path.name} has no video stream to play.")
            stream = source.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate or 25
            rate = rate if 1 <= rate <= 240 else 25
            write_mp4(target, _decoded(source, stream), fps=float(rate))
    except av.FFmpegError as exc:
        raise VideoError(
            f"{path.name} is not a video FFmpeg can decode, so it cannot be shown ({exc})."
        ) from exc
    except ValueError as exc:  # write_mp4 got no frames
        raise VideoError(f"{path.name} has no decodable video frames to show.") from exc
    return target
