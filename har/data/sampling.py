"""Keyframe-aware decoding: only the frames the sampled targets need, identical to a full pass.

Sampling 20 frames from a 10-minute video by decoding all 15,000 of them costs seconds. A
frame can only be decoded from the keyframe before it, so when the next target lies beyond
the next keyframe we seek there (PyAV) instead of decoding the frames in between; when it
does not, we keep decoding sequentially, so no frame is decoded twice and a short clip or one
with sparse keyframes costs what the sequential pass costs.

Frame i is the i-th frame in presentation order, as the sequential pass (OpenCV) counts it.
The demuxer's timestamps map each i to its packet; every decoded frame's timestamp is checked
against that map, and anything unexpected (a missing or repeated timestamp, a frame that does
not come, a packet the demuxer marks as discarded, a codec or pixel format not verified to
decode and convert exactly as OpenCV does) returns None: the caller reads sequentially.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

# Below this many frames a file is read sequentially (seeking cannot save much there).
SEEK_MIN_FRAMES = 1_000
# Seek only when it skips at least this many frames (a seek costs a demuxer and decoder reset).
MIN_SKIP = 24
# Seek only when the plan decodes at most this share of the file (else read sequentially).
SEEK_MAX_SHARE = 0.5
# Codecs and pixel formats whose PyAV decode + BGR conversion was checked to equal OpenCV's,
# pixel for pixel (tests/test_sampling.py); anything else is read sequentially.
SEEKABLE_CODECS = {"h264", "hevc", "mpeg4", "vp8", "vp9"}
SEEKABLE_PIXEL_FORMATS = {"yuv420p", "yuvj420p"}
SEEKABLE_CONTAINERS = ("mov", "mp4", "matroska", "webm", "avi")
_SINGLE_THREAD_MAX_PIXELS = 640 * 480


@dataclass(frozen=True)
class StreamIndex:
    """Presentation-ordered timestamps of one video stream and which frames are keyframes."""

    pts: list[int]  # frame i's timestamp (stream time base), ascending
    keyframes: list[int]  # presentation indices of keyframes, ascending

    @property
    def frame_count(self) -> int:
        return len(self.pts)

    def keyframe_at_or_before(self, i: int) -> int:
        return self.keyframes[bisect.bisect_right(self.keyframes, i) - 1]


def index_stream(path: str | Path) -> StreamIndex | None:
    """The stream's timestamps and keyframes by demuxing only; None if seeking is not safe."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if (
                ctx.name not in SEEKABLE_CODECS
                or ctx.pix_fmt not in SEEKABLE_PIXEL_FORMATS
                or not any(f in container.format.name.split(",") for f in SEEKABLE_CONTAINERS)
            ):
                return None
            stamps: list[tuple[int, bool]] = []
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # the flush packet at the end
                if packet.pts is None or packet.is_discard or packet.is_corrupt:
                    return None
                stamps.append((int(packet.pts), bool(packet.is_keyframe)))
    except (av.FFmpegError, OSError, ValueError):
        return None
    stamps.sort()
    pts = [p for p, _ in stamps]
    keyframes = [i for i, (_, key) in enumerate(stamps) if key]
    if not keyframes or keyframes[0] != 0 or len(set(pts)) != len(pts):
        return None
    return StreamIndex(pts, keyframes)


def plan(index: StreamIndex, targets: list[int]) -> list[tuple[int | None, list[int]]]:
    """Segments (keyframe to seek to, or None to continue decoding; targets decoded in it)."""
    segments: list[tuple[int | None, list[int]]] = []
    position = 0  # the next frame a continuing decode would give
    for t in sorted(set(targets)):
        key = index.keyframe_at_or_before(t)
        if not segments or key - position >= MIN_SKIP:
            segments.append((key if segments or key > 0 else None, [t]))
        else:
            segments[-1][1].append(t)
        position = t + 1
    return segments


@dataclass
class Decoded:
    """What decode_selected found: resized BGR frames, the source size, frames decoded."""

    found: dict[tuple[int, tuple[int, int]], np.ndarray]
    source_size: tuple[int, int]
    frames_decoded: int


def frames_to_decode(index: StreamIndex, segments) -> int:
    """How many frames a plan decodes (from each seek, or on from the last target)."""
    total, position = 0, 0
    for key, targets in segments:
        start = key if key is not None else position
        total += max(targets) - start + 1
        position = max(targets) + 1
    return total


def worth_seeking(index: StreamIndex, targets) -> bool:
    """Does the plan skip enough to beat one sequential pass (PyAV costs a little more per
    frame than OpenCV's grab, and each seek resets the decoder)?"""
    segments = plan(index, list(targets))
    return frames_to_decode(index, segments) <= SEEK_MAX_SHARE * index.frame_count


def decode_selected(
    path: str | Path,
    index: StreamIndex,
    wanted: Mapping[int, set[tuple[int, int]]],
    resize,
) -> Decoded | None:
    """{(frame, size): resized BGR} for every frame in `wanted`, seeking between keyframes;
    None when a frame's timestamp is not where the index says (read sequentially instead)."""
    result = Decoded({}, (0, 0), 0)
    for i, frame in iter_frames(path, index, sorted(wanted), result):
        if frame is None:
            return None
        result.source_size = (frame.shape[1], frame.shape[0])
        for size in wanted[i]:
            result.found[i, size] = resize(frame, size)
    return result


def iter_frames(
    path: str | Path, index: StreamIndex, targets: list[int], tally: Decoded | None = None
) -> Iterator[tuple[int, np.ndarray | None]]:
    """(i, BGR frame) for each target in order; (i, None) once if the stream disagrees with
    the index (the caller falls back to a sequential read). `tally` counts frames decoded."""
    by_pts = {p: i for i, p in enumerate(index.pts)}
    wanted_pts = {index.pts[t] for t in targets}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        small = ctx.width * ctx.height <= _SINGLE_THREAD_MAX_PIXELS
        if small:
            ctx.thread_count = 1
        else:
            ctx.thread_type = "AUTO"
        # One converter for every frame: a new one per frame rebuilds the color conversion
        # (and its threads) each time, about 4 ms a frame at 320x240; the pixels are the same.
        reformatter, threads = VideoReformatter(), 1 if small else 0
        frames: Iterator | None = None
        for key, segment in plan(index, targets):
            if key is not None or frames is None:
                if key is not None:
                    container.seek(index.pts[key], stream=stream, backward=True, any_frame=False)
                frames = _decoded(container, stream, wanted_pts, tally)
            for target in segment:
                got = _advance(frames, by_pts, target, key)
                if got is None:
                    yield target, None
                    return
                bgr = reformatter.reformat(got, format="bgr24", threads=threads)
                yield target, bgr.to_ndarray()
                key = None


def _decoded(container, stream, wanted_pts: set[int], tally: Decoded | None) -> Iterator:
    """Frames in presentation order. Packets of frames nobody wants are decoded with
    skip_frame=NONREF: the decoder drops them only if no other frame refers to them, so
    every frame that is output, the wanted ones above all, has exactly its usual pixels."""
    ctx = stream.codec_context
    for packet in container.demux(stream):
        ctx.skip_frame = "DEFAULT" if packet.pts in wanted_pts else "NONREF"
        for frame in packet.decode():
            if tally is not None:
                tally.frames_decoded += 1
            yield frame


def _advance(frames: Iterator, by_pts: dict[int, int], target: int, key: int | None):
    """Decode up to frame `target` and return it (a VideoFrame), or None if the stream skips
    or reorders."""
    last = -1
    for frame in frames:
        i = by_pts.get(frame.pts) if frame.pts is not None else None
        if i is None:
            return None
        if key is not None and i < key:
            continue  # an open GOP's leading frames, displayed before the keyframe sought
        if i < last or i > target:
            return None
        last = i
        if i == target:
            return frame
    return None
