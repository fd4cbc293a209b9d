"""Decode a video file into the 20 frames the models see, sampled as the paper does.

The paper's reference code seeks to each of the 20 positions. Seeking is slow (OpenCV
decodes from a keyframe before every target) and on some codecs lands on the wrong frame,
so we decode sequentially: grab() every frame, retrieve() (convert) only the ones we keep.

The header's frame count is not trusted: it is missing in live WebM/MKV recordings, low in
MPEG-PS files and high in truncated AVIs. Before decoding we count the packets in OpenCV's
raw mode (demuxing only, well under a millisecond); the decode pass then checks that count,
and only if it disagrees is the selection redone from the decoded count in a second pass.

Frames already in memory (the live camera's last seconds) go through sample_frames: the same
sampler, the same resize and the same ClipFrames as a file of those frames.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from har.config import IMAGE_HEIGHT, IMAGE_WIDTH, SEQUENCE_LENGTH
from har.data import sampling
from har.errors import VideoError
from har.utils.files import check_input_file

# Bump when sampling or resizing changes, so cached frames are re-extracted.
SAMPLER_VERSION = 1

# Frames up to this many pixels decode fastest on one thread (FFmpeg's threads cost more
# than they save on small frames, and load_frames already decodes clips in parallel).
_SINGLE_THREAD_MAX_PIXELS = 640 * 480
# Frames above this many pixels are refused before decoding: a 193 KB file of 8000x8000
# frames took 14 s and 1.2 GB to predict. The models see 64x64; 4096x4096 admits 4K video.
MAX_FRAME_PIXELS = 4096 * 4096
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
    def window(self) -> int:
        """Source frames from one sampled frame to the next (the paper's window)."""
        return max(self.frame_count // len(self.indices), 1)

    @property
    def seconds_between(self) -> float:
        """Seconds from one sampled frame to the next (25 fps assumed when unknown)."""
        return self.window / (self.fps if self.fps > 0 else 25.0)

    @property
    def times(self) -> list[float]:
        """Seconds into the video of each sampled frame (25 fps assumed when unknown)."""
        fps = self.fps if self.fps > 0 else 25.0
        return [i / fps for i in self.indices]


def check_video_file(path: str | Path) -> Path:
    """The path, if it is a readable, non-empty regular file; VideoError saying what is wrong."""
    return check_input_file(path, "video")


def open_capture(p: Path, *params: int) -> cv2.VideoCapture:
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
    cap = open_capture(p, cv2.CAP_PROP_N_THREADS, 1)
    pixels = cap.get(cv2.CAP_PROP_FRAME_WIDTH) * cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    if pixels > _SINGLE_THREAD_MAX_PIXELS and (os.cpu_count() or 1) > 1:
        cap.release()
        cap = open_capture(p, cv2.CAP_PROP_N_THREADS, 0)
    return cap


def read_header(cap: cv2.VideoCapture) -> dict:
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


def check_frame_size(p: Path, info: dict) -> None:
    """VideoError, before any decoding, for frames too large to decode safely (a decode bomb)."""
    width, height = info["width"], info["height"]
    if width * height > MAX_FRAME_PIXELS:
        raise VideoError(
            f"{p.name} has {width}x{height} frames, larger than HAR Studio decodes "
            f"({MAX_FRAME_PIXELS / 1e6:.0f} megapixels); scale it down first, for example "
            "`ffmpeg -i IN -vf scale=640:-2 OUT.mp4` (the models see 64x64 frames)."
        )


def probe(path: str | Path) -> dict:
    """Header facts (fps, frame_count, width, height, codec fourcc) without decoding.

    frame_count is the container's claim (0 when it has none) and may be wrong; read_clip
    reports the decoded count.
    """
    cap = _open(check_video_file(path))
    try:
        return read_header(cap)
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
    cap: cv2.VideoCapture, wanted: dict[int, set[tuple[int, int]]], stop_early: bool = False
) -> tuple[dict[tuple[int, tuple[int, int]], np.ndarray], int, tuple[int, int]]:
    """One sequential pass: resize each frame in `wanted` (BGR) to each of its sizes; count all.

    grab() decodes every frame (inter frames need their predecessors); retrieve(), the
    color conversion, and the resize run only for the kept ones.
    """
    found: dict[tuple[int, tuple[int, int]], np.ndarray] = {}
    source_size = (0, 0)
    count = 0
    last = max(wanted, default=-1) if stop_early else -1
    while (last < 0 or count <= last) and cap.grab():
        if count in wanted:
            ok, frame = cap.retrieve()
            if ok and frame is not None:
                source_size = (frame.shape[1], frame.shape[0])
                for size in wanted[count]:
                    found[count, size] = resize(frame, size)
        count += 1
    return found, count, source_size


def read_frames(path: str | Path, wanted: dict[int, set[tuple[int, int]]]) -> dict:
    """{(frame, size): resized BGR} for the frames in `wanted` (an Explain window shown again):
    from the keyframes before them when the file is safely seekable, else one pass that
    stops after the last one. VideoError if one does not decode."""
    p = check_video_file(path)
    cap = _open(p)
    try:
        info = read_header(cap)
        check_frame_size(p, info)
        index = None
        if seeking_enabled() and not cap.get(cv2.CAP_PROP_ORIENTATION_META):
            index = sampling.index_stream(p)
        result = None
        if index is not None and max(wanted) < index.frame_count:
            result = sampling.decode_selected(p, index, wanted, resize)
        found = result.found if result is not None else _decode_selected(cap, wanted, True)[0]
    finally:
        cap.release()
    missing = [i for i, sizes in wanted.items() for size in sizes if (i, size) not in found]
    if missing:
        raise VideoError(f"Frame {missing[0]} of {p.name} could not be decoded; re-encode it.")
    return found


def _wanted(frame_count: int, shapes: Sequence[tuple[int, tuple[int, int]]]) -> dict:
    """Source frame index -> the sizes it is needed at, for every (n, size) asked for."""
    wanted: dict[int, set[tuple[int, int]]] = {}
    for n, size in shapes:
        for i in sample_indices(frame_count, n):
            wanted.setdefault(i, set()).add(size)
    return wanted


UNSUPPORTED_CODECS = {"av01": "AV1"}  # OpenCV's FFmpeg build here ships no decoder for these


def _undecodable(p: Path, info: dict, packets: int) -> str:
    """Why a file that opened gave no frame: a codec we cannot decode, or broken data."""
    codec = info.get("codec", "").lower()
    if codec in UNSUPPORTED_CODECS:
        return (
            f"{p.name} is {UNSUPPORTED_CODECS[codec]} video, a codec HAR Studio's decoder "
            "does not support; re-encode it as H.264 (for example `ffmpeg -i IN -c:v libx264 "
            "OUT.mp4`)."
        )
    if packets > 0:
        return (
            f"{p.name} holds {packets} video packets ({codec or 'unknown codec'}) but none "
            "decodes: the codec is not supported here or the data is corrupt; re-encode it "
            "as H.264 MP4."
        )
    return (
        f"{p.name} has no decodable video frames (it may be truncated or corrupt); "
        "re-encode or re-download it."
    )


def read_clip(
    path: str | Path,
    n: int = SEQUENCE_LENGTH,
    size: tuple[int, int] = (IMAGE_WIDTH, IMAGE_HEIGHT),
) -> ClipFrames:
    """Decode `path` and return its n sampled frames, resized (INTER_AREA), RGB, uint8.

    `size` is (width, height). Raises VideoError for a missing, empty, undecodable or
    truncated-to-nothing file.
    """
    return read_clips(path, [(n, size)])[0]


def read_clips(path: str | Path, shapes: Sequence[tuple[int, tuple[int, int]]]) -> list[ClipFrames]:
    """Decode `path` once and sample it for each (n, (width, height)) in `shapes`.

    Models with different input specs (20 or 30 frames, 64x64 or 75x75) share one decode.
    """
    shapes = [(int(n), (int(size[0]), int(size[1]))) for n, size in shapes]
    if not shapes or any(n < 1 for n, _ in shapes):
        raise ValueError(f"each clip needs at least one frame, got {shapes}")
    p = check_video_file(path)
    cap = _open(p)
    try:
        info = read_header(cap)
        check_frame_size(p, info)
        sought, packets = _read_seeking(p, cap, info, shapes, str(path))
        if sought is not None:
            return sought
        hint = packets or count_packets(p) or info["frame_count"]
        wanted = _wanted(hint, shapes) if hint > 0 else {}
        found, count, source_size = _decode_selected(cap, wanted)
    finally:
        cap.release()
    if count == 0:
        raise VideoError(_undecodable(p, info, hint))
    wanted = _wanted(count, shapes)
    needed = [(i, size) for i, sizes in wanted.items() for size in sizes]
    if any(key not in found for key in needed):
        # The hint was wrong (or a frame failed to convert): select again from the true count.
        cap = _open(p)
        try:
            found, count2, source_size = _decode_selected(cap, wanted)
        finally:
            cap.release()
        if count2 != count:
            raise VideoError(f"{p.name} decodes differently on each read; re-encode it.")
        missing = [i for i, size in needed if (i, size) not in found]
        if missing:
            raise VideoError(f"Frame {missing[0]} of {p.name} could not be decoded; re-encode it.")
    return _assemble(found, count, shapes, info["fps"], source_size, info, str(path))


def seeking_enabled() -> bool:
    """HAR_SEEK=0 turns keyframe-aware decoding off (every file read in one sequential pass)."""
    return os.environ.get("HAR_SEEK", "1").strip() != "0"


def _read_seeking(p: Path, cap, info: dict, shapes, source: str) -> tuple[list | None, int]:
    """A long file's clips decoded from the keyframes before its targets (har.data.sampling),
    or None when the file is short, rotated or not worth or safe to seek (read sequentially
    then); and the packets the index counted (0 if none), the sequential pass's length hint."""
    if not seeking_enabled() or info["frame_count"] < sampling.SEEK_MIN_FRAMES:
        return None, 0
    if cap.get(cv2.CAP_PROP_ORIENTATION_META):  # OpenCV turns phone video upright; PyAV not
        return None, 0
    index = sampling.index_stream(p)
    if index is None:
        return None, 0
    if index.frame_count < sampling.SEEK_MIN_FRAMES:
        return None, index.frame_count
    wanted = _wanted(index.frame_count, shapes)
    wanted.setdefault(index.frame_count - 1, set())  # decoding the last frame proves the count
    result = None
    if sampling.worth_seeking(index, wanted):
        result = sampling.decode_selected(p, index, wanted, resize)
    if result is None:
        return None, index.frame_count
    clips = _assemble(
        result.found, index.frame_count, shapes, info["fps"], result.source_size, info, source
    )
    return clips, index.frame_count


def resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The one resize of every sampled frame: from a file, a camera or a timeline window (the
    same pixels for each)."""
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def enlarge(frame: np.ndarray, size: int) -> np.ndarray:
    """A frame shown size x size for a person, each pixel a square (no smoothing): the small
    frames a model sees, visible as they are."""
    return cv2.resize(np.asarray(frame), (size, size), interpolation=cv2.INTER_NEAREST)


def _assemble(found, count, shapes, fps, source_size, info, source) -> list[ClipFrames]:
    clips = []
    for n, size in shapes:
        indices = sample_indices(count, n)
        bgr = np.stack([found[i, size] for i in indices])
        clips.append(
            ClipFrames(
                pixels=np.ascontiguousarray(bgr[..., ::-1]),  # BGR -> RGB, all frames at once
                indices=indices,
                frame_count=count,
                fps=fps,
                width=source_size[0] or info["width"],
                height=source_size[1] or info["height"],
                padded=count < n,
                source=source,
                header_frame_count=info["frame_count"],
            )
        )
    return clips


def sample_frames(
    frames: Sequence[np.ndarray],
    shapes: Sequence[tuple[int, tuple[int, int]]],
    fps: float = 0.0,
    source: str = "camera",
) -> list[ClipFrames]:
    """Frames already in memory (BGR, oldest first, e.g. a camera's last seconds), sampled
    and resized exactly as read_clips samples a file of the same frames."""
    shapes = [(int(n), (int(size[0]), int(size[1]))) for n, size in shapes]
    if not len(frames):
        raise VideoError("No camera frames yet; wait for the camera to start.")
    found = {
        (i, size): resize(frames[i], size)
        for i, sizes in _wanted(len(frames), shapes).items()
        for size in sizes
    }
    height, width = frames[0].shape[:2]
    info = {"width": width, "height": height, "frame_count": 0}
    return _assemble(found, len(frames), shapes, fps, (width, height), info, source)
