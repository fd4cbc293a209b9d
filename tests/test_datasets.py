"""har.datasets: UCF50 layout, clear errors, the two split modes, and the frame cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import decoded_index, write_cv2_video

from har.data.frame_cache import FrameCache, load_frames
from har.data.samples import list_samples
from har.data.ucf import ClipRef, scan, split_clips
from har.data.video import read_clip
from har.errors import DatasetError, VideoError

CLASSES = ("Punch", "Swing", "TaiChi")
SIZE = (96, 72)


def make_ucf50(root, classes=CLASSES, groups=8, clips=2, frames=21):
    for cls in classes:
        for g in range(1, groups + 1):
            for c in range(1, clips + 1):
                path = root / cls / f"v_{cls}_g{g:02d}_c{c:02d}.avi"
                path.parent.mkdir(parents=True, exist_ok=True)
                write_cv2_video(path, frames + g, "MJPG", size=SIZE)  # lengths differ by group
    return root


@pytest.fixture(scope="module")
def ucf50(tmp_path_factory):
    """3 classes x 8 groups x 2 clips; read-only for the tests that share it."""
    return make_ucf50(tmp_path_factory.mktemp("ucf50"))


def fake_clips(groups_per_class: dict[str, int], clips_per_group: int = 3) -> list[ClipRef]:
    """ClipRefs for split tests: splitting never opens the files."""
    return [
        ClipRef(Path(f"/data/{label}/v_{label}_g{g:02d}_c{c:02d}.avi"), label, g, c)
        for label, groups in groups_per_class.items()
        for g in range(1, groups + 1)
        for c in range(1, clips_per_group + 1)
    ]


def test_scan_reads_classes_groups_and_clips(ucf50):
    dataset = scan(ucf50)
    assert dataset.classes == list(CLASSES)
    assert len(dataset.clips) == 3 * 8 * 2 and dataset.skipped == ()
    first = dataset.clips[0]
    assert (first.label, first.group, first.clip) == ("Punch", 1, 1)
    assert first.path == ucf50 / "Punch" / "v_Punch_g01_c01.avi"


def test_scan_skips_and_reports_misnamed_videos(tmp_path):
    root = make_ucf50(tmp_path, classes=("Punch", "Swing"), groups=1, clips=1, frames=3)
    (root / "Punch" / "readme.txt").write_text("not a clip")  # ignored: not a video
    (root / "Punch" / "v_Punch_oops.avi").write_bytes(b"x")  # skipped, reported
    (root / "Punch" / "v_Swing_g02_c01.avi").write_bytes(b"x")  # another class's name
    (root / "Swing" / "V_SWING_G03_C04.AVI").write_bytes(b"x")  # the pattern is v_..._g.._c..
    (root / "Swing" / "v_swing_g02_c01.MP4").write_bytes(b"x")  # case of class and suffix: ok
    (root / ".hidden").mkdir()
    dataset = scan(root)
    assert dataset.skipped == (
        "Punch/v_Punch_oops.avi",
        "Punch/v_Swing_g02_c01.avi",
        "Swing/V_SWING_G03_C04.AVI",
    )
    assert [(c.label, c.group, c.clip) for c in dataset.clips] == [
        ("Punch", 1, 1),
        ("Swing", 1, 1),
        ("Swing", 2, 1),
    ]
    assert dataset.reasons == (
        "not named v_<Class>_gNN_cMM",
        "named for class Swing, not Punch",
        "not named v_<Class>_gNN_cMM",
    )


def test_an_empty_class_folder_blocks_only_a_run_that_selects_it(tmp_path):
    root = make_ucf50(tmp_path, classes=("Punch", "Swing", "TaiChi"), groups=1, clips=1, frames=3)
    (root / "Docs").mkdir()
    (root / "Docs" / "a.txt").write_text("")
    dataset = scan(root)
    assert dataset.empty == ("Docs",) and dataset.classes == ["Punch", "Swing", "TaiChi"]
    assert dataset.subset(["Punch", "Swing"]).classes == ["Punch", "Swing"]
    with pytest.raises(DatasetError, match="Class folder Docs in .* has no clips named"):
        dataset.subset(["Punch", "Docs"])


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


def test_missing_folder_or_a_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        scan(tmp_path / "UCF50")
    (tmp_path / "UCF50.rar").write_bytes(b"x")
    with pytest.raises(DatasetError, match="is a file"):
        scan(tmp_path / "UCF50.rar")


def test_subset_keeps_the_given_order_and_rejects_bad_choices(ucf50):
    dataset = scan(ucf50)
    sub = dataset.subset(["TaiChi", "Punch"])
    assert sub.classes == ["TaiChi", "Punch"]
    assert {c.label for c in sub.clips} == {"TaiChi", "Punch"} and len(sub.clips) == 32
    with pytest.raises(DatasetError, match="Unknown class Diving .* Punch, Swing, TaiChi"):
        dataset.subset(["Punch", "Diving"])
    with pytest.raises(DatasetError, match="at least two"):
        dataset.subset(["Punch"])
    with pytest.raises(DatasetError, match="at least two"):
        dataset.subset(["Punch", "Punch"])


def parts(split):
    return (split.train, split.val, split.test)


def test_group_split_never_shares_a_group_between_parts():
    clips = fake_clips({"Punch": 8, "Swing": 8, "TaiChi": 25})
    split = split_clips(clips, mode="group", seed=3)
    assert split.mode == "group" and split.seed == 3
    keys = [{(c.label, c.group) for c in part} for part in parts(split)]
    assert not keys[0] & keys[1] and not keys[0] & keys[2] and not keys[1] & keys[2]
    everything = split.train + split.val + split.test
    assert sorted(map(str, (c.path for c in everything))) == sorted(str(c.path) for c in clips)
    for label, groups, n_test, n_val in (("Punch", 8, 2, 1), ("TaiChi", 25, 6, 4)):
        test_groups = {c.group for c in split.test if c.label == label}
        val_groups = {c.group for c in split.val if c.label == label}
        assert (len(test_groups), len(val_groups)) == (n_test, n_val)  # ~25 %, ~20 % of the rest
        assert len({c.group for c in split.train if c.label == label}) == groups - n_test - n_val


def test_group_split_is_seeded_and_order_independent():
    clips = fake_clips({"Punch": 10, "Swing": 10})
    a = split_clips(clips, seed=5)
    assert a == split_clips(list(reversed(clips)), seed=5)
    assert split_clips(clips, seed=6).test != a.test


def test_group_split_membership_is_pinned():
    """Models record their split as (mode, seed) and are evaluated on that test set again:
    a change here would evaluate shipped models on clips they were trained on."""
    split = split_clips(fake_clips({"Punch": 8, "Swing": 8}), seed=27)
    assert sorted({(c.label, c.group) for c in split.test}) == [
        ("Punch", 1),
        ("Punch", 2),
        ("Swing", 1),
        ("Swing", 8),
    ]
    assert sorted({(c.label, c.group) for c in split.val}) == [("Punch", 3), ("Swing", 7)]


def test_random_split_is_the_papers_75_25_stratified_and_seeded():
    clips = fake_clips({"Punch": 8, "Swing": 8, "TaiChi": 16}, clips_per_group=2)  # 16/16/32
    a, b = split_clips(clips, "random", seed=5), split_clips(clips, "random", seed=5)
    assert a == b and a.mode == "random"
    assert split_clips(clips, "random", seed=6).test != a.test
    assert len(a.test) == 16  # 25 % of 64
    assert len(a.val) + len(a.train) == 48 and len(a.val) == 10  # 20 % of 48, rounded up
    for part, share in ((a.test, 0.25), (a.train + a.val, 0.75)):  # stratified
        assert [c.label for c in part].count("TaiChi") == pytest.approx(len(part) / 2, abs=1)
        assert [c.label for c in part].count("Punch") == pytest.approx(16 * share, abs=1)
    leaked = {(c.label, c.group) for c in a.train} & {(c.label, c.group) for c in a.test}
    assert leaked  # the random split leaks groups: why "group" is the default


def test_impossible_splits_say_why():
    with pytest.raises(DatasetError, match="at least 3"):
        split_clips(fake_clips({"Punch": 2, "Swing": 5}), "group")
    with pytest.raises(DatasetError, match="Punch has fewer than 3 clips"):
        split_clips(fake_clips({"Punch": 1, "Swing": 5}, clips_per_group=2), "random")
    with pytest.raises(DatasetError, match="Unknown split mode"):
        split_clips(fake_clips({"Punch": 5, "Swing": 5}), "stratified")
    with pytest.raises(DatasetError, match="between 0 and 1"):
        split_clips(fake_clips({"Punch": 5, "Swing": 5}), test_fraction=1.5)
    with pytest.raises(DatasetError, match="two classes"):
        split_clips(fake_clips({"Punch": 5}))
    with pytest.raises(DatasetError, match="Cannot split"):  # 3 classes, test of 2 clips
        split_clips(fake_clips({"A": 3, "B": 3, "C": 3}, clips_per_group=1), "random", 0.2)


def test_split_without_validation():
    split = split_clips(fake_clips({"Punch": 4, "Swing": 4}), "group", val_fraction=0.0)
    assert split.val == [] and len(split.test) == 2 * 3


def test_load_frames_matches_read_clip_and_labels(ucf50, tmp_path):
    clips = scan(ucf50).clips[::5]
    names = ["TaiChi", "Punch", "Swing"]
    x, y = load_frames(clips, names, cache=FrameCache(tmp_path), workers=2, progress=False)
    assert x.shape == (len(clips), 20, 64, 64, 3) and x.dtype == np.uint8
    assert list(y) == [names.index(c.label) for c in clips]
    for i, clip in enumerate(clips):
        assert np.array_equal(x[i], read_clip(clip.path).pixels)
    assert decoded_index(x[0][1], size=SIZE) == 1  # 22 frames: window 1


def test_warm_load_reads_the_cache_only(ucf50, tmp_path):
    clips = scan(ucf50).clips[:12]
    cache = FrameCache(tmp_path / "cache")
    cold, _ = load_frames(clips, CLASSES, cache=cache, workers=2, progress=False)
    entries = sorted((tmp_path / "cache").rglob("*.npy"))
    assert len(entries) == 12
    stamps = [p.stat().st_mtime_ns for p in entries]
    warm, _ = load_frames(clips, CLASSES, cache=cache, workers=2, progress=False)
    assert np.array_equal(cold, warm)
    assert [p.stat().st_mtime_ns for p in entries] == stamps  # nothing re-extracted


def test_cache_hits_and_invalidates_when_the_file_or_setting_changes(tmp_path):
    video = write_cv2_video(tmp_path / "v_A_g01_c01.avi", 40, "MJPG")
    cache = FrameCache(tmp_path / "cache")
    assert cache.get(video) is None
    first = cache.frames(video)
    assert np.array_equal(cache.get(video), first)
    assert cache.get_indices(video) == (40, [i * 2 for i in range(20)])
    assert decoded_index(first[1]) == 2  # 40 frames: window 2
    # another n or frame size is another entry
    assert cache.get(video, n=10) is None and cache.get(video, size=(32, 32)) is None
    assert cache.frames(video, n=10, size=(32, 32)).shape == (10, 32, 32, 3)
    # touching the file (new mtime) is enough to miss
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cache.get(video) is None
    # rewrite with another length: new key, new frames
    write_cv2_video(video, 60, "MJPG")
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))
    assert cache.get(video) is None
    assert decoded_index(cache.frames(video)[1]) == 3  # 60 frames: window 3
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.name.startswith(".")]
    assert leftovers == []  # atomic writes leave no temp files


def test_a_damaged_cache_entry_is_extracted_again(tmp_path):
    video = write_cv2_video(tmp_path / "clip.avi", 30, "MJPG")
    cache = FrameCache(tmp_path / "cache")
    good = cache.frames(video)
    entry = cache.file_for(video)
    entry.write_bytes(entry.read_bytes()[:1000])  # cut short, as by a full disk
    assert cache.get(video) is None
    assert not cache.read_into(video, np.empty((20, 64, 64, 3), np.uint8))
    assert np.array_equal(cache.frames(video), good) and cache.get(video) is not None


def test_read_into_fills_the_batch_and_reads_other_npy_headers(tmp_path):
    video = write_cv2_video(tmp_path / "clip.avi", 30, "MJPG")
    cache = FrameCache(tmp_path / "cache")
    out = np.zeros((2, 20, 64, 64, 3), np.uint8)
    assert not cache.read_into(video, out[1])  # a miss
    good = cache.frames(video)
    assert cache.read_into(video, out[1]) and np.array_equal(out[1], good)
    assert not out[0].any()
    with open(cache.file_for(video), "rb") as fh:
        np.lib.format.read_array(fh)
        meta = np.lib.format.read_array(fh)
    with open(cache.file_for(video), "wb") as fh:  # a header another numpy might write
        np.lib.format.write_array(fh, good, version=(2, 0))
        np.lib.format.write_array(fh, meta)
    out[1] = 0
    assert cache.read_into(video, out[1]) and np.array_equal(out[1], good)
    assert cache.damaged == []


def test_progress_callable_is_called_per_clip(ucf50, tmp_path):
    calls = []
    clips = scan(ucf50).clips[:5]
    cache = FrameCache(tmp_path)
    cache.frames(clips[2].path)  # one warm, four cold
    load_frames(clips, CLASSES, cache, 2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(k, 5) for k in range(1, 6)]


def test_progress_bar_goes_to_stderr(ucf50, tmp_path, capsys):
    load_frames(scan(ucf50).clips[:3], CLASSES, FrameCache(tmp_path), 1, progress=True)
    assert "3/3" in capsys.readouterr().err


def test_load_frames_rejects_labels_outside_the_class_list(ucf50, tmp_path):
    with pytest.raises(DatasetError, match="TaiChi"):
        load_frames(scan(ucf50).clips, ["Punch", "Swing"], FrameCache(tmp_path), progress=False)


def test_a_broken_clip_stops_loading_with_its_name(ucf50, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(ucf50 / "Punch", root / "Punch")
    shutil.copytree(ucf50 / "Swing", root / "Swing")
    (root / "Swing" / "v_Swing_g03_c01.avi").write_text("not a video\n" * 40)
    clips = scan(root).clips
    with pytest.raises(VideoError, match="v_Swing_g03_c01.avi"):
        load_frames(clips, ["Punch", "Swing"], FrameCache(tmp_path / "cache"), 2, progress=False)


def test_list_samples_groups_shipped_clips_by_class(tmp_path):
    for name in ("TaiChi_1.mp4", "TaiChi_2.mp4", "Swing_1.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    samples = list_samples(tmp_path)
    assert sorted(samples) == ["Swing", "TaiChi"] and len(samples["TaiChi"]) == 2
