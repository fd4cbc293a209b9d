"""har.video on real files the tests write: sampling, padding, colour order, codecs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import decoded_index

from har.errors import VideoError
from har.media import browser_playable, is_browser_playable, save_frames
from har.video import probe, read_clip, sample_indices


def test_sample_indices_follow_the_paper():
    # window = max(count // 20, 1); frame i at i * window
    assert sample_indices(60) == list(range(0, 60, 3))
    assert sample_indices(175) == [i * 8 for i in range(20)]
    assert sample_indices(20) == list(range(20))
    assert sample_indices(39) == list(range(20))  # window 1


def test_short_videos_are_padded_by_repeating_frames_in_order():
    assert sample_indices(5) == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4
    assert sample_indices(1) == [0] * 20
    with pytest.raises(VideoError):
        sample_indices(0)


@pytest.mark.parametrize(
    ("fourcc", "suffix"),
    [
        ("XVID", ".avi"),
        ("MJPG", ".avi"),
        ("mp4v", ".mp4"),
        ("H264", ".mp4"),
        ("VP80", ".webm"),
        ("XVID", ".mkv"),
        ("mp4v", ".mov"),
    ],
)
def test_reads_the_sampled_frames_from_each_container(make_video, fourcc, suffix):
    clip = read_clip(make_video(60, fourcc, suffix))
    assert clip.pixels.shape == (20, 64, 64, 3) and clip.pixels.dtype == np.uint8
    assert clip.frame_count == 60 and not clip.padded
    assert clip.indices == list(range(0, 60, 3))
    # each sampled frame is the frame the index says (brightness encodes the frame number)
    assert [decoded_index(p) for p in clip.pixels] == clip.indices
    frames = clip.frames
    assert frames.dtype == np.float32 and 0.0 <= frames.min() and frames.max() <= 1.0


def test_colour_order_is_rgb(make_video):
    clip = read_clip(make_video(20, "MJPG"))
    right_half = clip.pixels[0, :, 40:].reshape(-1, 3).mean(axis=0)
    assert right_half[0] > 200 and right_half[1] < 50 and right_half[2] < 50  # red first


@pytest.mark.parametrize("n", [1, 5])
def test_tiny_clips_are_padded_and_say_so(make_video, n):
    clip = read_clip(make_video(n, "MJPG"))
    assert clip.padded and clip.frame_count == n
    assert clip.indices == sample_indices(n)
    assert [decoded_index(p) for p in clip.pixels] == clip.indices


def test_metadata_for_display(make_video):
    clip = read_clip(make_video(50, "XVID", fps=25.0))
    assert clip.fps == pytest.approx(25.0)
    assert clip.duration == pytest.approx(2.0)
    assert (clip.width, clip.height) == (160, 120)
    assert clip.times[1] == pytest.approx(2 / 25)
    assert probe(clip.source)["frame_count"] == 50


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        read_clip(path)


def test_text_file_named_avi(tmp_path):
    path = tmp_path / "notes.avi"
    path.write_text("definitely not a video\n" * 50)
    with pytest.raises(VideoError, match="not a video"):
        read_clip(path)


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="No such file"):
        read_clip(tmp_path / "nope.mp4")


def test_truncated_file_uses_the_frames_that_decode(make_video, tmp_path):
    """Half an AVI: the header still claims 60 frames; we sample from what really decodes."""
    whole = make_video(60, "MJPG")
    data = whole.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    clip = read_clip(cut)
    assert 0 < clip.frame_count < 60
    assert clip.header_frame_count in (0, 60)
    assert clip.indices == sample_indices(clip.frame_count)
    assert [decoded_index(p) for p in clip.pixels] == clip.indices


def test_truncated_to_the_header_only_is_an_error(make_video, tmp_path):
    data = make_video(30, "MJPG").read_bytes()
    cut = tmp_path / "stub.avi"
    cut.write_bytes(data[:300])
    with pytest.raises(VideoError):
        read_clip(cut)


def test_browser_playable_transcodes_xvid_and_keeps_h264(make_video, tmp_path):
    avi = make_video(40, "XVID")
    assert not is_browser_playable(avi)
    mp4 = browser_playable(avi, cache_dir=tmp_path / "browser")
    assert mp4 != avi and is_browser_playable(mp4)
    assert read_clip(mp4).frame_count == 40
    assert browser_playable(avi, cache_dir=tmp_path / "browser") == mp4  # cached
    h264 = make_video(10, "H264", ".mp4")
    assert browser_playable(h264) == h264


def test_save_frames_writes_twenty_named_images(make_video, tmp_path):
    import cv2

    clip = read_clip(make_video(60, "MJPG"))
    paths = save_frames(clip, tmp_path / "frames")
    assert len(paths) == 20
    assert paths[1].name == "frame_01_src000003.png"
    back = cv2.cvtColor(cv2.imread(str(paths[1])), cv2.COLOR_BGR2RGB)
    assert np.array_equal(back, clip.pixels[1])
