"""har.video on real files the tests write: sampling, padding, color order, codecs, bad input,
headers that lie about the length."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import decoded_index, set_avi_length, write_av_video, write_cv2_video

import har.data.video
from har.data.video import count_packets, probe, read_clip, sample_indices
from har.errors import VideoError


def test_sample_indices_follow_the_paper():
    # window = max(count // 20, 1); frame i at i * window
    assert sample_indices(60) == list(range(0, 60, 3))
    assert sample_indices(175) == [i * 8 for i in range(20)]
    assert sample_indices(20) == list(range(20))
    assert sample_indices(39) == list(range(20))  # window 1
    assert sample_indices(100, n=10) == list(range(0, 100, 10))


def test_short_videos_are_padded_by_repeating_frames_in_order():
    assert sample_indices(5) == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4
    assert sample_indices(1) == [0] * 20
    assert sample_indices(19) == [i * 19 // 20 for i in range(20)]
    for bad in (0, -3):
        with pytest.raises(VideoError):
            sample_indices(bad)


@pytest.mark.parametrize(
    ("fourcc", "suffix"),
    [
        ("XVID", ".avi"),
        ("MJPG", ".avi"),
        ("mp4v", ".mp4"),
        ("H264", ".mp4"),
        ("VP80", ".webm"),
        ("VP90", ".webm"),
        ("XVID", ".mkv"),
        ("mp4v", ".mov"),
    ],
)
def test_reads_the_sampled_frames_from_each_container(make_video, fourcc, suffix):
    path = make_video(60, fourcc, suffix)
    clip = read_clip(path)
    assert clip.pixels.shape == (20, 64, 64, 3) and clip.pixels.dtype == np.uint8
    assert clip.frame_count == 60 and not clip.padded
    assert clip.indices == list(range(0, 60, 3))
    # each sampled frame is the frame the index says (the stripes encode the frame number)
    assert [decoded_index(p) for p in clip.pixels] == clip.indices
    frames = clip.frames
    assert frames.dtype == np.float32 and frames.shape == (20, 64, 64, 3)
    assert np.allclose(frames * 255, clip.pixels)
    assert count_packets(path) == 60


def test_color_order_is_rgb(make_video):
    clip = read_clip(make_video(20, "MJPG"))
    right_half = clip.pixels[:, :, 40:].reshape(-1, 3).mean(axis=0)
    assert right_half[0] > 200 and right_half[1] < 50 and right_half[2] < 50  # red first


@pytest.mark.parametrize("n_frames", [1, 5, 19])
def test_short_clips_are_padded_and_say_so(make_video, n_frames):
    clip = read_clip(make_video(n_frames, "MJPG"))
    assert clip.padded and clip.frame_count == n_frames
    assert clip.indices == sample_indices(n_frames)
    assert [decoded_index(p) for p in clip.pixels] == clip.indices


def test_exactly_twenty_frames_use_each_once(make_video):
    clip = read_clip(make_video(20, "XVID"))
    assert not clip.padded and clip.indices == list(range(20))
    assert [decoded_index(p) for p in clip.pixels] == list(range(20))


def test_other_n_and_size(make_video):
    clip = read_clip(make_video(40, "MJPG"), n=8, size=(32, 24))
    assert clip.pixels.shape == (8, 24, 32, 3)
    assert clip.indices == [i * 5 for i in range(8)]


def test_metadata_for_display(make_video):
    clip = read_clip(make_video(50, "XVID", fps=25.0))
    assert clip.fps == pytest.approx(25.0)
    assert clip.duration == pytest.approx(2.0)
    assert (clip.width, clip.height) == (160, 120)
    assert clip.times[1] == pytest.approx(2 / 25)
    info = probe(clip.source)
    assert info["frame_count"] == 50 and (info["width"], info["height"]) == (160, 120)
    assert info["codec"].upper() in ("XVID", "FMP4", "MP4V") and info["fps"] == pytest.approx(25)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        read_clip(path)
    with pytest.raises(VideoError, match="empty"):
        probe(path)


def test_text_file_named_avi(tmp_path):
    path = tmp_path / "notes.avi"
    path.write_text("definitely not a video\n" * 50)
    with pytest.raises(VideoError, match="not a video OpenCV/FFmpeg can decode"):
        read_clip(path)
    with pytest.raises(VideoError, match="not a video"):
        probe(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(VideoError, match="No such file"):
        read_clip(tmp_path / "nope.mp4")
    with pytest.raises(VideoError, match="folder"):
        read_clip(tmp_path)


def test_truncated_file_uses_the_frames_that_decode(make_video, tmp_path):
    """Half an AVI: the header still claims 60 frames; we sample from what really decodes."""
    data = make_video(60, "MJPG").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    clip = read_clip(cut)
    assert 0 < clip.frame_count < 60
    assert clip.header_frame_count == 60
    assert clip.indices == sample_indices(clip.frame_count)
    assert [decoded_index(p) for p in clip.pixels] == clip.indices


def test_truncated_to_the_header_only_is_an_error(make_video, tmp_path):
    data = make_video(30, "MJPG").read_bytes()
    cut = tmp_path / "stub.avi"
    cut.write_bytes(data[:300])
    with pytest.raises(VideoError):
        read_clip(cut)


@pytest.mark.parametrize("claim", [30, 200, 0])
def test_a_header_that_lies_about_the_length(make_video, claim):
    """60 real frames, header says 30 (too low), 200 (too high) or 0 (none)."""
    path = set_avi_length(make_video(60, "MJPG"), claim)
    assert probe(path)["frame_count"] == claim
    clip = read_clip(path)
    assert clip.frame_count == 60 and clip.header_frame_count == claim
    assert clip.indices == list(range(0, 60, 3))
    assert [decoded_index(p) for p in clip.pixels] == clip.indices


@pytest.mark.parametrize("claim", [30, 200, 0])
def test_without_a_packet_count_a_wrong_header_costs_a_second_pass(make_video, monkeypatch, claim):
    """If demuxing cannot count the packets, the header is the hint; when it is wrong the
    decode pass finds out and the selection is redone from the decoded count."""
    monkeypatch.setattr(har.data.video, "count_packets", lambda path: 0)
    path = set_avi_length(make_video(60, "MJPG"), claim)
    clip = read_clip(path)
    assert clip.frame_count == 60 and clip.indices == list(range(0, 60, 3))
    assert [decoded_index(p) for p in clip.pixels] == clip.indices


def test_live_webm_without_a_length(tmp_path):
    """Browser recordings (MediaRecorder) are 'live' WebM: no duration, no frame count."""
    path = write_av_video(
        tmp_path / "live.webm",
        45,
        "libvpx",
        "webm",
        options={"live": "1"},
        codec_options={"deadline": "realtime", "cpu-used": "8"},
    )
    assert probe(path)["frame_count"] == 0
    clip = read_clip(path)
    assert clip.frame_count == 45 and clip.header_frame_count == 0
    assert clip.indices == [i * 2 for i in range(20)]
    assert [decoded_index(p) for p in clip.pixels] == clip.indices


def test_mpeg_program_stream(tmp_path):
    """MPEG-PS headers estimate the length from the duration; the frames are counted."""
    path = write_av_video(tmp_path / "clip.mpg", 60, "mpeg2video", "mpeg")
    clip = read_clip(path)
    assert clip.frame_count == 60 and clip.indices == list(range(0, 60, 3))
    assert [decoded_index(p) for p in clip.pixels] == clip.indices


def test_large_frames_decode_the_same(tmp_path):
    """Above 640x480 FFmpeg decodes with several threads: same frames, same order."""
    path = write_cv2_video(tmp_path / "big.avi", 24, "MJPG", size=(800, 600))
    clip = read_clip(path)
    assert (clip.width, clip.height) == (800, 600) and clip.frame_count == 24
    assert [decoded_index(p, size=(800, 600)) for p in clip.pixels] == clip.indices
