"""Training runs in their own process, as the Retrain page drives them."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from har.data.synthetic import generate_dataset
from har.errors import HarError, ModelError
from har.models.registry import load_card
from har.training.jobs import JobSpec, get_job, list_jobs, start_job
from har.training.recipe import TrainConfig

pytestmark = pytest.mark.slow


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


def spec(root, archs=("lrcn",), epochs=1, **kw) -> JobSpec:
    config = TrainConfig(architecture=archs[0], epochs=epochs, **kw)
    return JobSpec(["Swing", "Punch"], list(archs), config, data_root=str(root))


def test_a_run_trains_in_another_process_reports_and_saves(tiny_synthetic, tmp_path):
    job = start_job(spec(tiny_synthetic, epochs=2))
    assert get_job(job.id) is job  # a page refresh finds it by id
    pid = int((job.dir / "pid").read_text())
    assert pid != os.getpid()
    state = job.join(timeout=300)
    assert state.stage == "done", state.error
    # the recipe's temporal jitter: training clips extracted again with 80 frames, last
    assert state.extract_done == state.extract_total == state.split["train"] < 12
    assert [h["epoch"] for h in state.history["lrcn"]] == [1, 2]
    assert "val_loss" in state.history["lrcn"][0]
    assert state.total_epochs == 2 and state.total_batches >= 1
    report = state.reports["lrcn"]
    assert report["num_clips"] == state.split["test"] == 4
    assert report["class_names"] == ["Swing", "Punch"]
    assert state.models["lrcn"]["epochs_run"] == 2
    path = job.save("lrcn", "my-lrcn")
    assert path == tmp_path / "models" / "my-lrcn.keras" and path.exists()
    card = load_card(path)
    assert card.name == "my-lrcn" and card.training["epochs_run"] == 2
    with pytest.raises(ModelError, match="already exists"):
        job.save("lrcn", "my-lrcn")
    with pytest.raises(ModelError, match="at most 64 characters"):
        job.save("lrcn", "x" * 300)
    # the events are JSON lines a restarted server can read again from scratch
    lines = (job.dir / "events.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["type"] == "end"


def test_stop_ends_the_run_quickly_and_marks_the_model(tiny_synthetic):
    job = start_job(spec(tiny_synthetic, ("lrcn", "convlstm"), epochs=200, patience=200))
    deadline = time.monotonic() + 300
    while job.snapshot().history.get("lrcn", []) == [] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.snapshot().stage == "training"
    job.stop()
    state = job.join(timeout=60)  # a deadline, not a timing: 200 epochs would take far longer
    assert state.stage == "stopped", state.error
    assert "convlstm" not in state.reports  # nothing after the stop
    assert state.models["lrcn"]["stopped_by_user"]
    card = job.model_card("lrcn")
    assert "Stopped early by the user after" in card.notes and "not evaluated" in card.notes
    assert card.metrics == {} and "lrcn" not in state.reports  # untested, and says so
    assert card.training["stopped_by_user"]


def test_the_run_list_survives_a_new_server(tiny_synthetic):
    first = start_job(spec(tiny_synthetic))
    first.join(timeout=300)
    import har.training.jobs

    har.training.jobs._RUNS.clear()  # as after a server restart
    har.training.jobs._PROCESSES.clear()
    again = list_jobs()
    assert [j.id for j in again] == [first.id]
    assert again[0].snapshot().stage == "done"


def test_a_killed_worker_is_reported_as_failed(tiny_synthetic):
    job = start_job(spec(tiny_synthetic, epochs=200, patience=200))
    time.sleep(1.0)
    os.killpg(int((job.dir / "pid").read_text()), 9)
    state = job.join(timeout=60)
    assert state.stage == "failed" and "ended unexpectedly" in state.error


def test_bad_settings_fail_before_a_process_starts(tmp_path):
    with pytest.raises(HarError, match="at least two classes"):
        start_job(JobSpec(["A"], ["lrcn"], TrainConfig("lrcn"), data_root=str(tmp_path)))
    with pytest.raises(HarError, match="Epochs must be"):
        start_job(spec(tmp_path, epochs=-1))
    with pytest.raises(HarError, match="Batch size"):
        start_job(spec(tmp_path, batch_size=0))
    assert list_jobs() == []


def test_a_bad_folder_fails_with_the_sentence(tmp_path):
    job = start_job(spec(tmp_path / "nowhere"))
    state = job.join(timeout=120)
    assert state.stage == "failed" and "does not exist" in state.error
    assert get_job("no-such-id") is None and get_job("../etc") is None


def _gone_or_zombie(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_a_finished_worker_is_reaped_not_left_a_zombie(tiny_synthetic):
    job = start_job(spec(tiny_synthetic))
    pid = int((job.dir / "pid").read_text())
    assert job.join(timeout=300).stage == "done"
    deadline = time.monotonic() + 120  # the worker exits a little after its last event
    while _gone_or_zombie(pid) != "gone" and time.monotonic() < deadline:
        list_jobs()
        time.sleep(0.2)
    assert _gone_or_zombie(pid) == "gone"  # a zombie (<defunct>) would still show, as "Z"


def test_stop_in_the_first_epoch_ends_the_run_without_waiting_for_a_batch(tiny_synthetic):
    job = start_job(spec(tiny_synthetic, ("convlstm",), epochs=200, patience=200))
    deadline = time.monotonic() + 300
    while job.snapshot().stage != "training" and time.monotonic() < deadline:
        time.sleep(0.1)
    state = job.snapshot()
    assert state.stage == "training" and state.history["convlstm"] == []
    job.stop()
    state = job.join(timeout=120)
    assert state.stage == "stopped", state.error
    assert state.models["convlstm"] == {
        "epochs_run": 0,
        "stopped_by_user": True,
        "stopped_early": False,
        "saved": False,
    }
    assert not (job.dir / "convlstm.keras").exists()
