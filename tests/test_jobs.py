"""Background training jobs, as the Retrain page drives them."""

from __future__ import annotations

import pytest

from har.jobs import JobSpec, get_job, start_job
from har.synthetic import generate_dataset


@pytest.fixture(scope="module")
def tiny_synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    return generate_dataset(
        root, ["Swing", "Punch"], groups=3, clips_per_group=2, workers=1, progress=False
    )


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HAR_MODELS_DIR", str(tmp_path / "models"))


def test_job_trains_evaluates_and_saves(tiny_synthetic, tmp_path):
    job = start_job(JobSpec(tiny_synthetic, ["Swing", "Punch"], ["lrcn"], epochs=1))
    assert get_job(job.id) is job  # a page refresh finds it by id
    job.join(timeout=300)
    state = job.snapshot()
    assert state.stage == "done", state.error
    assert state.extract_done == state.extract_total == 12
    assert len(state.history["lrcn"]) == 1 and "val_loss" in state.history["lrcn"][0]
    report = state.reports["lrcn"]
    assert report["num_clips"] == state.split["test"] == 4
    assert report["class_names"] == ["Swing", "Punch"]
    path = job.save("lrcn", "my-lrcn")
    assert path == tmp_path / "models" / "my-lrcn.keras" and path.exists()


def test_stop_ends_the_job_as_stopped(tiny_synthetic):
    job = start_job(JobSpec(tiny_synthetic, ["Swing", "Punch"], ["lrcn", "convlstm"], epochs=50))
    job.stop()
    job.join(timeout=300)
    state = job.snapshot()
    assert state.stage == "stopped"
    assert "convlstm" not in state.reports  # nothing after the stop


def test_a_bad_folder_fails_with_the_sentence(tmp_path):
    job = start_job(JobSpec(tmp_path / "nowhere", ["A", "B"], ["lrcn"]))
    job.join(timeout=60)
    state = job.snapshot()
    assert state.stage == "failed" and "does not exist" in state.error
    assert get_job("no-such-id") is None
