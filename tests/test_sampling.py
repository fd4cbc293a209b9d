"""Keyframe-aware sampling (har.data.sampling): the frames a seek gives are the frames the
sequential pass gives, pixel for pixel, on short and long clips, dense and sparse keyframes,
B-frames and variable frame rates; anything unsafe falls back to the sequential pass."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import (
    decoded_index,
    index_frame,
    set_mov_rotation,
    write_av_video,
    write_cv2_video,
)

import har.data.sampling as sampling
from har.data.video import read_clip, read_clips, sample_indices


def write_h264(
    path: Path, n: int, keyint: int, size=(160, 120), vfr: bool = False, noise: bool = False
) -> Path:
    """H.264 of index-stamped frames (or noise with the stamp) with a keyframe every `keyint`
    frames; with vfr, frame gaps of 1-3 ticks of 1/50 s (a phone's variable frame rate)."""
    rng = np.random.default_rng(n)
    with av.open(str(path), "w", format="mp4" if path.suffix == ".mp4" else None) as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {
            "preset": "ultrafast" if not noise else "veryfast",
            "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=2",
        }
        if vfr:
            stream.codec_context.time_base = Fraction(1, 50)
        pts = 0
        for i in range(n):
            pixels = index_frame(i, size)
            if noise:
                pixels[:, size[0] // 2 :] = rng.integers(0, 255, (size[1], size[0] // 2, 3))
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            if vfr:
                frame.pts, frame.time_base = pts, Fraction(1, 50)
                pts += int(rng.integers(1, 4))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture
def seek_everything(monkeypatch):
    """Seek on short test clips too (the thresholds are for real files' lengths)."""
    monkeypatch.setattr(sampling, "SEEK_MIN_FRAMES", 1)
    monkeypatch.setattr(sampling, "MIN_SKIP", 1)
    monkeypatch.setattr(sampling, "SEEK_MAX_SHARE", 1.0)


def sequential(monkeypatch, path, shapes):
    monkeypatch.setenv("HAR_SEEK", "0")
    try:
        return read_clips(path, shapes)
    finally:
        monkeypatch.delenv("HAR_SEEK")


def spy(monkeypatch) -> list:
    """Records the frames decoded by each seeking decode."""
    calls = []
    real = sampling.decode_selected

    def wrapped(*args, **kw):
        result = real(*args, **kw)
        calls.append(None if result is None else result.frames_decoded)
        return result

    monkeypatch.setattr(sampling, "decode_selected", wrapped)
    return calls


SHAPES = [(20, (64, 64)), (30, (75, 75))]


def stamped(clip) -> bool:
    """Each sampled frame carries its index's stamp (8 bits: frame numbers modulo 256)."""
    return [decoded_index(p) for p in clip.pixels] == [i % 256 for i in clip.indices]


@pytest.mark.parametrize(
    ("n", "keyint", "vfr", "suffix"),
    [
        (120, 10, False, ".mp4"),  # short clip, dense keyframes
        (400, 12, False, ".mp4"),  # UCF-like keyframe gap
        (400, 250, False, ".mp4"),  # sparse keyframes: one seek at most
        (300, 15, True, ".mp4"),  # variable frame rate
        (300, 15, False, ".mkv"),
    ],
)
def test_seeking_gives_the_sequential_frames(
    tmp_path, monkeypatch, seek_everything, n, keyint, vfr, suffix
):
    path = write_h264(tmp_path / f"clip{suffix}", n, keyint, vfr=vfr)
    decoded = spy(monkeypatch)
    clips = read_clips(path, SHAPES)
    assert decoded and decoded[0] is not None  # the seeking path answered
    if not vfr:  # (with a variable rate a seek may land a keyframe early: slower, same frames)
        assert decoded[0] <= n  # never a frame decoded twice
    before = sequential(monkeypatch, path, SHAPES)
    for clip, reference, (frames, _) in zip(clips, before, SHAPES, strict=True):
        assert clip.frame_count == reference.frame_count == n
        assert clip.indices == reference.indices == sample_indices(n, frames)
        assert np.array_equal(clip.pixels, reference.pixels)
    assert stamped(clips[0])


def test_seeking_skips_what_no_target_needs(tmp_path, monkeypatch, seek_everything):
    path = write_h264(tmp_path / "sparse.mp4", 600, 10)
    decoded = spy(monkeypatch)
    clip = read_clip(path)
    # 20 targets 30 frames apart, keyframes every 10: at most 10 frames per target (+ the last)
    assert decoded[0] <= 21 * 10
    assert clip.indices == list(range(0, 600, 30)) and stamped(clip)


def test_textured_frames_convert_exactly_as_the_sequential_pass(
    tmp_path, monkeypatch, seek_everything
):
    path = write_h264(tmp_path / "noise.mp4", 200, 20, size=(320, 240), noise=True)
    clips = read_clips(path, [(20, (64, 64)), (20, (320, 240))])  # the second: unresized
    before = sequential(monkeypatch, path, [(20, (64, 64)), (20, (320, 240))])
    for clip, reference in zip(clips, before, strict=True):
        assert np.array_equal(clip.pixels, reference.pixels)


def test_at_the_real_threshold_a_long_clip_seeks(tmp_path, monkeypatch):
    n = sampling.SEEK_MIN_FRAMES + 200
    path = write_h264(tmp_path / "long.mp4", n, 25)
    decoded = spy(monkeypatch)
    clip = read_clip(path)
    assert decoded and decoded[0] < n / 2
    assert clip.frame_count == n and clip.indices == sample_indices(n) and stamped(clip)


def test_short_clips_keep_the_sequential_pass(tmp_path, monkeypatch):
    path = write_h264(tmp_path / "short.mp4", 175, 12)
    decoded = spy(monkeypatch)
    clip = read_clip(path)
    assert decoded == []
    assert clip.indices == sample_indices(175) and stamped(clip)


def test_rotated_video_is_read_sequentially_and_upright(tmp_path, monkeypatch, seek_everything):
    path = set_mov_rotation(write_av_video(tmp_path / "phone.mov", 60, "mpeg4", "mov"))
    decoded = spy(monkeypatch)
    clip = read_clip(path, size=(64, 64))
    assert decoded == []
    assert (clip.width, clip.height) == (120, 160)  # portrait, as OpenCV shows it


def test_unsafe_streams_are_not_indexed(tmp_path):
    mpeg = write_av_video(tmp_path / "clip.mpg", 60, "mpeg2video", "mpeg")
    mjpeg = write_cv2_video(tmp_path / "clip.avi", 30, "MJPG")
    assert sampling.index_stream(mpeg) is None  # program streams: timestamps not trusted
    assert sampling.index_stream(mjpeg) is None  # pixel format not checked against OpenCV
    (tmp_path / "text.mp4").write_text("not a video")
    assert sampling.index_stream(tmp_path / "text.mp4") is None


def test_an_index_that_disagrees_falls_back_to_the_sequential_pass(
    tmp_path, monkeypatch, seek_everything
):
    path = write_h264(tmp_path / "clip.mp4", 200, 10)
    real = sampling.index_stream

    def shifted(p):
        index = real(p)
        return sampling.StreamIndex([t + 1 for t in index.pts], index.keyframes)

    monkeypatch.setattr(sampling, "index_stream", shifted)
    decoded = spy(monkeypatch)
    clip = read_clip(path)
    assert decoded == [None]  # the seek path noticed and gave up
    assert clip.indices == sample_indices(200) and stamped(clip)


def test_plan_seeks_only_past_a_keyframe():
    index = sampling.StreamIndex(list(range(1000)), list(range(0, 1000, 250)))
    segments = sampling.plan(index, [0, 50, 100, 300, 310, 900])
    assert segments == [(None, [0, 50, 100]), (250, [300, 310]), (750, [900])]
    dense = sampling.StreamIndex(list(range(100)), list(range(0, 100, 5)))
    assert [k for k, _ in sampling.plan(dense, [0, 3, 6, 9])] == [None]  # gaps below MIN_SKIP


def test_a_plan_that_saves_little_reads_sequentially(tmp_path, monkeypatch):
    """1,000 frames, a keyframe every 250, a target every 50: seeking would decode almost
    everything anyway, so the sequential pass (cheaper per frame) reads it."""
    index = sampling.StreamIndex(list(range(1000)), [0, 250, 500, 750])
    targets = sample_indices(1000) + [999]
    assert sampling.frames_to_decode(index, sampling.plan(index, targets)) > 500
    assert not sampling.worth_seeking(index, targets)
    sparse = sampling.StreamIndex(list(range(15000)), list(range(0, 15000, 250)))
    assert sampling.worth_seeking(sparse, sample_indices(15000) + [14999])


def test_frames_nothing_needs_are_skipped_but_targets_keep_their_pixels(
    tmp_path, monkeypatch, seek_everything
):
    """Between targets, B-frames no other frame refers to are not decoded (skip_frame=NONREF);
    the targets, B-frames among them, come out exactly as in the sequential pass."""
    path = write_h264(tmp_path / "gop.mp4", 400, 250)
    decoded = spy(monkeypatch)
    clips = read_clips(path, SHAPES)
    before = sequential(monkeypatch, path, SHAPES)
    assert decoded[0] is not None and decoded[0] < 400 * 0.9
    for clip, reference in zip(clips, before, strict=True):
        assert clip.indices == reference.indices
        assert np.array_equal(clip.pixels, reference.pixels)
    assert stamped(clips[0])
