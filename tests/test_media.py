"""har.media on real files: H.264 writing, transcoding for browsers, frame images."""

from __future__ import annotations

import os

import av
import cv2
import numpy as np
import pytest
from conftest import decoded_index, index_frame, set_mov_rotation, write_av_video

from har.data.encode import save_frames, write_mp4
from har.data.previews import browser_playable, is_browser_playable
from har.data.video import read_clip
from har.errors import VideoError


def stream_facts(path) -> tuple[str, str, str, int, tuple[int, int]]:
    """(container, codec, pix_fmt, decoded frames, (width, height)) as PyAV sees the file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        ctx = stream.codec_context
        return container.format.name, ctx.name, ctx.pix_fmt, frames, (ctx.width, ctx.height)


def test_write_mp4_is_h264_yuv420p_with_even_size(tmp_path):
    path = write_mp4(tmp_path / "odd.mp4", (index_frame(i, (161, 121)) for i in range(12)))
    fmt, codec, pix_fmt, frames, size = stream_facts(path)
    assert "mp4" in fmt and codec == "h264" and pix_fmt == "yuv420p"
    assert frames == 12 and size == (160, 120)
    assert [p.name for p in tmp_path.iterdir()] == ["odd.mp4"]  # no temp file left
    with pytest.raises(ValueError):
        write_mp4(tmp_path / "none.mp4", [])
    assert not (tmp_path / "none.mp4").exists()


def test_xvid_avi_becomes_a_cached_h264_mp4(make_video, tmp_path):
    avi = make_video(40, "XVID")
    cache = tmp_path / "browser"
    assert not is_browser_playable(avi)
    mp4 = browser_playable(avi, cache_dir=cache)
    assert mp4 != avi and mp4.parent == cache and mp4.suffix == ".mp4"
    fmt, codec, pix_fmt, frames, size = stream_facts(mp4)
    assert "mp4" in fmt and codec == "h264" and pix_fmt == "yuv420p"
    assert abs(frames - 40) <= 1 and size == (160, 120)
    assert is_browser_playable(mp4)
    # the same frames: the models would see the same thing in either file
    assert [decoded_index(p) for p in read_clip(mp4).pixels] == read_clip(avi).indices

    stamp = mp4.stat().st_mtime_ns
    assert browser_playable(avi, cache_dir=cache) == mp4  # cached, not transcoded again
    assert mp4.stat().st_mtime_ns == stamp
    st = avi.stat()
    os.utime(avi, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # an edited file: a new copy
    assert browser_playable(avi, cache_dir=cache) != mp4
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


def test_h264_mp4_is_returned_as_is(make_video, tmp_path):
    mp4 = make_video(10, "H264", ".mp4")
    assert browser_playable(mp4, cache_dir=tmp_path / "browser") == mp4
    assert not (tmp_path / "browser").exists()


@pytest.mark.parametrize(
    ("fourcc", "suffix"), [("mp4v", ".mp4"), ("VP80", ".webm"), ("MJPG", ".avi")]
)
def test_other_codecs_are_transcoded(make_video, tmp_path, fourcc, suffix):
    source = make_video(15, fourcc, suffix)
    out = browser_playable(source, cache_dir=tmp_path / "browser")
    assert out != source and stream_facts(out)[1:3] == ("h264", "yuv420p")


def test_h264_outside_mp4_is_transcoded(tmp_path):
    mkv = write_av_video(tmp_path / "clip.mkv", 10, "libx264", "matroska")
    out = browser_playable(mkv, cache_dir=tmp_path / "browser")
    assert out != mkv and "mp4" in stream_facts(out)[0]


def test_phone_rotation_is_applied_to_the_copy(tmp_path):
    """A portrait phone video stores landscape pixels and a rotation; the copy is upright,
    as OpenCV (and so the models) sees it."""
    mov = set_mov_rotation(write_av_video(tmp_path / "phone.mov", 5, "mpeg4", "mov"))
    out = browser_playable(mov, cache_dir=tmp_path / "browser")
    with av.open(str(out)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert first.shape == (160, 120, 3)  # portrait
    cap = cv2.VideoCapture(str(mov), cv2.CAP_FFMPEG)
    ok, upright = cap.read()
    cap.release()
    assert ok and upright.shape == first.shape
    red = first[..., 0] > 200
    assert np.array_equal(red, cv2.cvtColor(upright, cv2.COLOR_BGR2RGB)[..., 0] > 200)


def test_unreadable_inputs_raise_video_error(tmp_path):
    text = tmp_path / "notes.avi"
    text.write_text("not a video\n" * 100)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="not a video"):
        browser_playable(text, cache_dir=tmp_path / "browser")
    with pytest.raises(VideoError, match="empty"):
        browser_playable(empty, cache_dir=tmp_path / "browser")
    with pytest.raises(VideoError, match="No such"):
        browser_playable(tmp_path / "gone.avi", cache_dir=tmp_path / "browser")
    fake = tmp_path / "fake.mp4"  # a text file with a browser-friendly name
    fake.write_text("still not a video\n" * 100)
    assert not is_browser_playable(fake)
    with pytest.raises(VideoError):
        browser_playable(fake, cache_dir=tmp_path / "browser")
    leftovers = list((tmp_path / "browser").glob("*")) if (tmp_path / "browser").exists() else []
    assert leftovers == []


def test_save_frames_writes_twenty_named_images(make_video, tmp_path):
    clip = read_clip(make_video(60, "MJPG"))
    out = tmp_path / "frames"
    paths = save_frames(clip, out)
    assert len(paths) == 20 and sorted(out.iterdir()) == paths
    assert paths[0].name == "frame_00_idx0000.png" and paths[1].name == "frame_01_idx0003.png"
    assert paths[19].name == "frame_19_idx0057.png"
    for path, pixels in zip(paths, clip.pixels, strict=True):
        back = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        assert np.array_equal(back, pixels)  # PNG is lossless, and RGB stays RGB


def test_save_frames_replaces_an_earlier_run_and_checks_the_format(make_video, tmp_path):
    out = tmp_path / "frames"
    save_frames(read_clip(make_video(60, "MJPG")), out, fmt="jpg")
    paths = save_frames(read_clip(make_video(5, "MJPG")), out, fmt="jpg")
    assert sorted(out.iterdir()) == sorted(paths)  # the 60-frame clip's names are gone
    assert paths[4].name == "frame_04_idx0001.jpg"  # padded: source frames repeat
    with pytest.raises(VideoError, match="Cannot write frames"):
        save_frames(read_clip(make_video(5, "MJPG")), out, fmt="gif")
