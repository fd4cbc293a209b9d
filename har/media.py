"""Writing video: H.264 MP4 that browsers play, and transcoding files that they do not.

OpenCV's wheels carry no H.264 encoder, so encoding goes through PyAV (FFmpeg + libx264).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from har.fsutil import atomic_path


def write_mp4(path: str | Path, frames: Iterable[np.ndarray], fps: float = 25.0,
              crf: int = 23, preset: str = "veryfast") -> Path:
    """Encode RGB uint8 frames (H, W, 3) to an H.264/yuv420p MP4 with +faststart, atomically.

    Width and height must be even (yuv420p); odd sizes are cropped by one pixel.
    """
    path = Path(path)
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4",
                                           options={"movflags": "+faststart"}) as container:
        stream = None
        for frame in frames:
            frame = np.ascontiguousarray(frame[: frame.shape[0] // 2 * 2,
                                               : frame.shape[1] // 2 * 2, :3])
            if stream is None:
                stream = container.add_stream("libx264",
                                              rate=Fraction(fps).limit_denominator(1001))
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
