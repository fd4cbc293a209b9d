"""Hostile uploads: odd names, tiny or huge frames, files deleted under the app; previews
made in the background and in turns; media caches kept to their cap.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from conftest import write_cv2_video

from har.errors import VideoError

pytestmark = pytest.mark.usefixtures("isolated_dirs")


def test_an_upload_error_names_the_users_file(tmp_path):
    from har.data.uploads import save_upload
    from har.data.video import read_clip

    path = save_upload("Holiday clip.mp4", b"this is not a video" * 50, tmp_path)
    with pytest.raises(VideoError, match="Holiday clip.mp4"):
        read_clip(path)


# --- a long upload: predictions first, a capped preview transcoded in the background ---
def test_the_preview_is_capped_and_made_in_the_background(tmp_path, monkeypatch):
    import time

    import av

    import har.data.previews as media

    monkeypatch.setattr(media, "PREVIEW_SECONDS", 1)
    monkeypatch.setattr(media, "PREVIEW_HEIGHT", 60)
    video = write_cv2_video(tmp_path / "long.avi", 100, "XVID")  # 4 s, 160x120, not playable
    jobs = media.PreviewJobs()
    state, value = jobs.status(video)
    assert state == "running" and 0.0 <= value <= 1.0  # the page is not blocked
    deadline = time.monotonic() + 60
    while state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        state, value = jobs.status(video)
    assert state == "ready" and media.is_browser_playable(value)
    with av.open(str(value)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert stream.codec_context.height == 60 and frames == 25  # 1 s at 25 fps
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"nope" * 100)
    jobs.status(bad)
    deadline = time.monotonic() + 120
    while jobs.status(bad)[0] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert jobs.status(bad)[0] == "failed" and "bad.avi" in jobs.status(bad)[1]


# --- uploads and previews are bounded; bad uploads go at once --------------------------
def test_media_caches_are_pruned_least_recently_used_first(tmp_path, monkeypatch):
    import time

    from har.data.uploads import forget_upload, save_upload
    from har.utils.files import prune

    folder = tmp_path / "uploads"
    paths = [save_upload(f"clip{i}.mp4", bytes([i]) * 1000, folder) for i in range(4)]
    for age, path in enumerate(reversed(paths)):  # clip0 used longest ago
        os.utime(path, (time.time() - 100 * age, time.time() - 100 * age))
    os.utime(paths[0], (time.time(), os.stat(paths[0]).st_mtime))  # ... but watched just now
    removed = prune(folder, 2500)
    assert set(removed) == {paths[1], paths[2]}
    assert paths[0].exists() and paths[3].exists()
    monkeypatch.setenv("HAR_MEDIA_CACHE_MB", str(3000 / 1024 / 1024))
    save_upload("new.mp4", b"n" * 1000, folder)  # saving prunes to the cap
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) <= 3000
    forget_upload(paths[3])
    assert not paths[3].exists() and not paths[3].parent.exists()


# --- upload names: cut in bytes, the extension kept ------------------------------
@pytest.mark.parametrize(
    ("name", "expected_suffix"),
    [("研究" * 60 + ".mp4", ".mp4"), ("....mp4", ".mp4"), ("../../x.avi", ".avi"), ("é" * 300, "")],
)
def test_long_or_odd_upload_names_are_kept_with_their_extension(tmp_path, name, expected_suffix):
    from har.data.uploads import save_upload

    path = save_upload(name, b"data", tmp_path / "uploads")
    assert path.read_bytes() == b"data" and path.suffix == expected_suffix
    assert len(path.name.encode()) <= 150 and not path.name.startswith(".")
    assert tmp_path / "uploads" in path.parents


# --- previews: each session in turn, each preview's work bounded, a 1x1 video plays ----
def wait_for(jobs, path, owner, deadline=120.0):
    end = time.monotonic() + deadline
    state, value = jobs.status(path, owner)
    while state == "running" and time.monotonic() < end:
        time.sleep(0.05)
        state, value = jobs.status(path, owner)
    return state, value


def test_a_one_pixel_video_gets_a_preview(tmp_path):
    from conftest import write_av_video

    import har.data.previews as media

    video = write_av_video(tmp_path / "dot.avi", 10, "mpeg4", "avi", size=(1, 1))
    state, value = wait_for(media.PreviewJobs(), video, "me")
    assert state == "ready" and media.is_browser_playable(value), value


def test_previews_take_turns_and_a_huge_frame_stops_at_the_pixel_budget(tmp_path, monkeypatch):
    from conftest import write_cv2_video

    import har.data.previews as media

    monkeypatch.setattr(media, "MAX_DECODED_PIXELS", 160 * 120 * 5)
    big = [write_cv2_video(tmp_path / f"big{i}.avi", 40, "XVID") for i in range(3)]
    small = write_cv2_video(tmp_path / "small.avi", 10, "XVID")
    jobs = media.PreviewJobs()
    order = []
    original = media.browser_playable
    queued = threading.Event()  # the first preview waits until every request is queued

    def recorded(path, *args, **kwargs):
        order.append(Path(path).name)
        assert queued.wait(timeout=60)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(media, "browser_playable", recorded)
    for video in big:
        jobs.status(video, "hog")
    jobs.status(small, "other")
    queued.set()
    assert wait_for(jobs, small, "other")[0] == "ready"
    for video in big:
        state, value = wait_for(jobs, video, "hog")
        assert state == "ready"
        import av

        with av.open(str(value)) as container:
            assert sum(1 for _ in container.decode(video=0)) == 5  # the budget, not 40 frames
    # turns: the hog's first video (running when the other session asked), then at most one
    # more of its turn already queued, then the other session's: not behind all of the hog's
    assert order.index("small.avi") <= 2 and order[-1] != "small.avi", order


# --- a preview whose file went away is a sentence --------------------------------------
def test_a_preview_of_a_deleted_upload_is_a_sentence(tmp_path):
    from conftest import write_cv2_video

    import har.data.previews as media

    video = write_cv2_video(tmp_path / "gone.avi", 10, "XVID")
    video.unlink()
    state, message = media.PreviewJobs().status(video, "me")
    assert state == "failed" and "gone.avi is no longer there" in message
