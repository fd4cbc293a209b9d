"""Writing video and images: H.264 MP4 that browsers play (PyAV; OpenCV's wheels carry no H.264
encoder), and the sampled frames as image files.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from har.errors import VideoError
from har.utils.files import atomic_path


def write_mp4(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float = 25.0,
    crf: int = 23,
    preset: str = "veryfast",
) -> Path:
    """Encode RGB uint8 frames (H, W, 3) to an H.264/yuv420p MP4 with +faststart, atomically.

    Width and height must be even (yuv420p); odd sizes are cropped by one pixel, and a side
    of one pixel is doubled.
    """
    path = Path(path)
    with (
        atomic_path(path) as tmp,
        av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container,
    ):
        stream = None
        for frame in frames:
            if frame.shape[0] < 2 or frame.shape[1] < 2:  # a 1-pixel side: repeat it (yuv420p)
                frame = np.repeat(np.repeat(frame, 2, axis=0), 2, axis=1)
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
