"""har.datasets: UCF50 layout, clear errors, the two split modes, and the frame cache."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import decoded_index, write_cv2_video

from har.datasets import FrameCache, list_samples, load_frames, scan, split_clips
from har.errors import DatasetError
from har.video import read_clip


def make_ucf50(root, classes=("Punch", "Swing", "TaiChi"), groups=8, clips=2, frames=21):
    for cls in classes:
        for g in range(1, groups + 1):
            for c in range(1, clips + 1):
                path = root / cls / f"v_{cls}_g{g:02d}_c{c:02d}.avi"
                path.parent.mkdir(parents=True, exist_ok=True)
                write_cv2_video(path, frames, "MJPG", size=(96, 72))
    return root


@pytest.fixture(scope="module")
def ucf50(tmp_path_factory):
    return make_ucf50(tmp_path_factory.mktemp("ucf50"))


def test_scan_reads_classes_groups_and_clips(ucf50):
    (ucf50 / "Punch" / "readme.txt").write_text("not a clip")
    (ucf50 / "Punch" / "v_Punch_oops.avi").write_bytes(b"x")
    dataset = scan(ucf50)
    assert dataset.classes == ["Punch", "Swing", "TaiChi"]
    assert len(dataset.clips) == 3 * 8 * 2
    first = dataset.clips[0]
    assert (first.label, first.group, first.clip) == ("Punch", 1, 1)
    assert dataset.skipped == ("Punch/v_Punch_oops.avi",)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({}, "no class folders"),
        ({"Punch/clip.avi": b"x", "Swing/other.mp4": b"x"}, "No clips named like UCF50"),
        ({"Punch/v_Punch_g01_c01.avi": b"x"}, "only one class"),
    ],
)
def test_malformed_folders_say_what_is_wrong(tmp_path, layout, message):
    for rel, data in layout.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    with pytest.raises(DatasetError, match=message):
        scan(tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        scan(tmp_path / "UCF50")


def test_subset_keeps_the_given_order_and_rejects_bad_choices(ucf50):
    dataset = scan(ucf50)
    sub = dataset.subset(["TaiChi", "Punch"])
    assert sub.classes == ["TaiChi", "Punch"]
    assert {c.label for c in sub.clips} == {"TaiChi", "Punch"}
    with pytest.raises(DatasetError, match="Unknown classes"):
        dataset.subset(["Punch", "Diving"])
    with pytest.raises(DatasetError, match="at least two"):
        dataset.subset(["Punch"])


def test_group_split_never_shares_a_group_between_parts(ucf50):
    split = split_clips(scan(ucf50).clips, mode="group", seed=3)
    parts = [{(c.label, c.group) for c in part} for part in (split.train, split.val, split.test)]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    total = len(split.train) + len(split.val) + len(split.test)
    assert total == 48
    assert len(split.test) == 3 * 2 * 2  # 2 of 8 groups per class, 2 clips each
    for label in ("Punch", "Swing", "TaiChi"):  # every class on every side
        for part in (split.train, split.val, split.test):
            assert any(c.label == label for c in part)


def test_random_split_is_the_papers_75_25_stratified_and_seeded(ucf50):
    clips = scan(ucf50).clips
    a, b = split_clips(clips, "random", seed=5), split_clips(clips, "random", seed=5)
    assert a == b
    assert split_clips(clips, "random", seed=6).test != a.test
    assert len(a.test) == 12  # 25 % of 16 per class
    assert len(a.val) == 3 * 2  # 20 % of the 12 left per class
    groups_shared = {(c.label, c.group) for c in a.train} & {(c.label, c.group) for c in a.test}
    assert groups_shared  # the random split leaks groups: why "group" is the default


def test_group_split_needs_three_groups(tmp_path):
    clips = scan(make_ucf50(tmp_path, groups=2, clips=1, frames=5)).clips
    with pytest.raises(DatasetError, match="at least 3"):
        split_clips(clips, "group")


def test_load_frames_matches_read_clip_and_labels(ucf50, tmp_path):
    clips = scan(ucf50).clips[::7]
    names = ["Punch", "Swing", "TaiChi"]
    x, y = load_frames(clips, names, cache=FrameCache(tmp_path), workers=2, progress=False)
    assert x.shape == (len(clips), 20, 64, 64, 3) and x.dtype == np.uint8
    assert list(y) == [names.index(c.label) for c in clips]
    assert np.array_equal(x[1], read_clip(clips[1].path).pixels)


def test_cache_hits_and_invalidates_when_the_file_changes(tmp_path):
    video = write_cv2_video(tmp_path / "v_A_g01_c01.avi", 40, "MJPG")
    cache = FrameCache(tmp_path / "cache")
    assert cache.get(video) is None
    first = cache.frames(video)
    assert np.array_equal(cache.get(video), first)
    assert decoded_index(first[1]) == 2  # 40 frames: window 2
    # a different sampler setting is a different entry
    assert cache.get(video, n=10) is None
    # rewrite the file with another length: new key, new frames
    write_cv2_video(video, 60, "MJPG")
    os.utime(video, ns=(video.stat().st_atime_ns, video.stat().st_mtime_ns + 10**9))
    assert cache.get(video) is None
    assert decoded_index(cache.frames(video)[1]) == 3  # 60 frames: window 3
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.name.startswith(".")]
    assert leftovers == []  # atomic writes leave no temp files


def test_progress_callable_is_called_per_clip(ucf50, tmp_path):
    calls = []
    clips = scan(ucf50).clips[:5]
    load_frames(
        clips,
        ["Punch", "Swing", "TaiChi"],
        FrameCache(tmp_path),
        2,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[-1] == (5, 5) and len(calls) == 5


def test_list_samples_groups_shipped_clips_by_class(tmp_path):
    for name in ("TaiChi_1.mp4", "TaiChi_2.mp4", "Swing_1.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    samples = list_samples(tmp_path)
    assert sorted(samples) == ["Swing", "TaiChi"] and len(samples["TaiChi"]) == 2
