"""Training runs in their own process, as the Retrain page drives them."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from har.data.synthetic import generate_dataset
from har.errors import HarError, ModelError
from har.models.registry import load_card
from har.training.events import read_new_events
from har.training.jobs import STOP_GRACE_SECONDS, JobSpec, get_job, list_jobs, start_job
from har.training.recipe import TrainConfig

# A Stop must end a run within about 2 s whatever it is doing: the grace period, the kill and
# the server's end, with room for a loaded machine. A deadline, never a measured duration.
STOP_DEADLINE = STOP_GRACE_SECONDS + 12

# slow; models and caches of its own (conftest.isolated_dirs)
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("isolated_dirs")]


@pytest.fixture(scope="module")
def tiny_synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    return generate_dataset(
        root, ["Swing", "Punch"], groups=3, clips_per_group=2, workers=1, progress=False
    )


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
    # the recipe's temporal jitter: training clips extracted again with 80 frames, counted
    # on in the one extraction stage (every clip, then each training clip again)
    assert state.extract_done == state.extract_total == 12 + state.split["train"]
    stages = [e for e in events_of(job) if e["type"] == "stage"]
    assert [e["stage"] for e in stages].count("extracting") == 1
    assert "training clips again at 80, for temporal jitter" in stages[1]["message"]
    counts = [e["done"] for e in events_of(job) if e["type"] == "extract"]
    assert counts == sorted(counts) and counts[-1] == state.extract_total  # never back to 0
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


def events_of(job) -> list[dict]:
    events, _, bad = read_new_events(job.dir / "events.jsonl", 0)
    assert bad == 0
    return events


def assert_ended_cleanly(job, pid: int) -> None:
    """One end event, the last line; no worker left, not even a zombie; no half-written file."""
    kinds = [e["type"] for e in events_of(job)]
    assert kinds.count("end") == 1 and kinds[-1] == "end", kinds
    assert _gone_or_zombie(pid) == "gone"
    leftovers = [p.name for p in (job.dir / ".incoming").glob("*") if p.name != ".registry.lock"]
    assert leftovers == []


def wait_for(job, condition, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = job.snapshot()
        if condition(state):
            return state
        assert not state.finished, state.error
        time.sleep(0.05)
    pytest.fail("the run never got there")


def test_stop_ends_the_run_quickly_and_marks_the_model(tiny_synthetic):
    job = start_job(spec(tiny_synthetic, ("lrcn", "convlstm"), epochs=200, patience=200))
    wait_for(job, lambda s: s.history.get("lrcn"))
    assert job.snapshot().stage == "training"
    job.stop()
    state = job.join(timeout=STOP_DEADLINE)  # a deadline: 200 epochs would take far longer
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
    state = job.join(timeout=STOP_DEADLINE)
    assert state.stage == "stopped", state.error
    assert state.models["convlstm"] == {
        "epochs_run": 0,
        "stopped_by_user": True,
        "stopped_early": False,
        "saved": False,
    }
    assert not (job.dir / "convlstm.keras").exists()


def _freeze(pid: int) -> None:
    """Freeze the worker (its whole process group), as a batch or a validation pass that
    outlasts the grace period would: it cannot honour the stop file any more."""
    os.killpg(pid, signal.SIGSTOP)


def _assert_best_weights_kept(job, state, arch: str) -> None:
    model = state.models[arch]
    assert model["saved"] and model["stopped_by_user"]
    assert 1 <= model["epochs_run"] <= len(state.history[arch])
    card = job.model_card(arch)  # the checksum matches: the pair was not cut in half
    assert card.training["epochs_run"] == model["epochs_run"]
    assert card.training["stopped_by_user"] and card.metrics == {}
    assert f"Stopped early by the user after {model['epochs_run']} of 200" in card.notes
    logged = [h["val_loss"] for h in state.history[arch][: model["epochs_run"]]]
    assert card.training["history"]["val_loss"] == logged  # the card of those epochs


def test_stop_mid_epoch_after_the_first_ends_the_run_with_the_best_weights(tiny_synthetic):
    job = start_job(spec(tiny_synthetic, epochs=200, patience=200, batch_size=1))
    pid = int((job.dir / "pid").read_text())
    wait_for(job, lambda s: len(s.history.get("lrcn", [])) >= 1 and s.epoch >= 1 and s.batch >= 1)
    # it yields the CPU to the server: nice 10, and so does its autogroup (its own session's)
    assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + 10
    assert Path(f"/proc/{pid}/autogroup").read_text().split()[-1] == "10"
    _freeze(pid)  # mid-epoch, in a batch that will not end
    job.stop()
    state = job.join(timeout=STOP_DEADLINE)
    assert state.stage == "stopped" and state.message == "Stopped by user", state.error
    _assert_best_weights_kept(job, state, "lrcn")
    assert_ended_cleanly(job, pid)
    assert job.save("lrcn", "kept-from-a-kill").exists()


def test_stop_during_validation_ends_the_run_with_the_best_weights(tiny_synthetic):
    job = start_job(spec(tiny_synthetic, ("convlstm",), epochs=200, patience=200))
    pid = int((job.dir / "pid").read_text())
    wait_for(job, lambda s: len(s.history.get("convlstm", [])) >= 1)
    path, offset, seen = job.dir / "events.jsonl", 0, []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # the last batch's event: validation follows it
        events, offset, _ = read_new_events(path, offset)
        seen += events
        last = seen[-1] if seen else {}
        if last.get("type") == "batch" and last["batch"] == last["total_batches"]:
            _freeze(pid)
            events, offset, _ = read_new_events(path, offset)
            if not events:  # no epoch event yet: frozen in the validation pass
                break
            os.killpg(pid, signal.SIGCONT)  # the epoch ended first: try the next one
            seen += events
        time.sleep(0.005)
    else:
        pytest.fail("never caught the worker validating")
    epochs_before = len([e for e in seen if e["type"] == "epoch"])
    job.stop()
    state = job.join(timeout=STOP_DEADLINE)
    assert state.stage == "stopped", state.error
    assert len(state.history["convlstm"]) == epochs_before  # the frozen epoch never ended
    _assert_best_weights_kept(job, state, "convlstm")
    assert_ended_cleanly(job, pid)


def test_stop_while_extracting_frames_ends_the_run_before_training(tiny_synthetic):
    job = start_job(spec(tiny_synthetic, epochs=200, patience=200))
    pid = int((job.dir / "pid").read_text())
    wait_for(job, lambda s: s.stage in ("preparing", "extracting"))
    _freeze(pid)  # loading TensorFlow or extracting: no batch, no check of the stop file
    job.stop()
    state = job.join(timeout=STOP_DEADLINE)
    assert state.stage == "stopped" and state.message == "Stopped before training began"
    assert state.models == {} and state.history == {}
    assert_ended_cleanly(job, pid)
