"""The built-in synthetic dataset: every class renders, deterministically, groups share scenes."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from har.config import PAPER_CLASSES
from har.data.synthetic import SYNTHETIC_CLASSES, generate_dataset, render_clip
from har.data.ucf import scan
from har.errors import DatasetError


def test_ten_classes_with_the_papers_four_first():
    assert len(SYNTHETIC_CLASSES) >= 10
    assert SYNTHETIC_CLASSES[:4] == PAPER_CLASSES


@pytest.mark.parametrize("name", SYNTHETIC_CLASSES)
def test_every_class_renders_a_moving_clip(name):
    frames = render_clip(name, group=2, clip=1, seed=4, seconds=1.0)
    assert frames.shape == (25, 120, 160, 3) and frames.dtype == np.uint8
    motion = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean()
    assert motion > 2.0  # more than sensor noise: something moves


def test_same_arguments_same_clip_other_seed_other_clip():
    a = render_clip("TaiChi", 3, 2, seed=11, seconds=0.4)
    assert np.array_equal(a, render_clip("TaiChi", 3, 2, seed=11, seconds=0.4))
    assert not np.array_equal(a, render_clip("TaiChi", 3, 2, seed=12, seconds=0.4))


def test_clips_of_a_group_share_their_scene():
    """Median frames differ only where the actor is within a group, almost everywhere across
    groups: the typical pixel's difference tells the two apart."""

    def scene(group, clip):
        frames = render_clip("Punch", group, clip, seed=0, difficulty="easy", seconds=1.0)
        return np.median(frames, axis=0).astype(float)

    same = np.median(np.abs(scene(5, 1) - scene(5, 2)))
    other = np.median(np.abs(scene(5, 1) - scene(6, 1)))
    assert same <= 3 and other >= 8


def test_unknown_class_lists_the_valid_ones():
    with pytest.raises(DatasetError, match="TaiChi"):
        render_clip("Skydiving")


def test_generate_dataset_writes_a_ucf50_folder_that_scan_reads(tmp_path):
    root = generate_dataset(
        tmp_path / "synth",
        classes=["Swing", "Lunges"],
        groups=2,
        clips_per_group=2,
        workers=1,
        progress=False,
    )
    dataset = scan(root)
    assert dataset.classes == ["Lunges", "Swing"]
    assert len(dataset.clips) == 8
    clip = dataset.clips[0]
    assert clip.path.name == "v_Lunges_g01_c01.mp4"
    cap = cv2.VideoCapture(str(clip.path))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) >= 50
    marker = json.loads((root / "SYNTHETIC.json").read_text())
    assert "not real video" in marker["note"]
    # resumable: a second call keeps what is there
    before = clip.path.stat().st_mtime_ns
    generate_dataset(
        root, classes=["Swing", "Lunges"], groups=2, clips_per_group=2, workers=1, progress=False
    )
    assert clip.path.stat().st_mtime_ns == before


def test_a_process_with_tensorflow_renders_in_threads_not_forked_children(tmp_path, monkeypatch):
    """Forking a process that has TensorFlow loaded can abort the child (its runtime is not
    fork-safe); the app, a training worker and the tests all have it loaded."""
    import tensorflow  # noqa: F401  (loaded, as in those processes)

    import har.data.synthetic as synthetic

    def no_fork(*args, **kwargs):
        raise AssertionError("forked worker processes from a process with TensorFlow loaded")

    pools, threads = [], synthetic.ThreadPoolExecutor
    monkeypatch.setattr(synthetic, "ProcessPoolExecutor", no_fork)
    monkeypatch.setattr(
        synthetic, "ThreadPoolExecutor", lambda **kw: pools.append(kw) or threads(**kw)
    )
    kw = {"classes": ["Swing"], "groups": 1, "clips_per_group": 3, "progress": False}
    threaded = synthetic.generate_dataset(tmp_path / "threads", workers=2, **kw)
    assert [p["max_workers"] for p in pools] == [2]
    serial = synthetic.generate_dataset(tmp_path / "serial", workers=1, **kw)
    clips = sorted(threaded.rglob("*.mp4"))
    assert len(clips) == 3
    for clip in clips:  # the same clips, byte for byte, as one by one
        assert clip.read_bytes() == (serial / clip.relative_to(threaded)).read_bytes()
