"""The run store (har.training.runs), lenient event reading, and `har runs`."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from run_folders import fake_run

import har.training.jobs as jobs
from har.cli import main
from har.errors import RunError
from har.training.jobs import get_job, list_jobs
from har.training.runs import (
    curves_csv,
    delete_run,
    differing_settings,
    find_run,
    list_runs,
    summarize,
)


@pytest.fixture(autouse=True)
def fresh_memory():
    jobs._RUNS.clear()  # each test's runs folder is new; so is what the server remembers
    yield
    jobs._RUNS.clear()


def test_a_finished_run_is_summarised_from_its_folder():
    fake_run("20260101-120000-aaaaaa", name="baseline", epochs=4)
    [summary] = list_runs()
    assert summary.id == "20260101-120000-aaaaaa" and summary.name == "baseline"
    assert summary.status == "done" and summary.seconds == pytest.approx(60)
    assert summary.epochs_run == {"lrcn": 4}
    assert summary.best_val_accuracy == {"lrcn": pytest.approx(0.55)}
    assert summary.test_accuracy == {"lrcn": 0.75}
    row = summary.row()
    assert row["test accuracy"] == "75%" and row["recipe"] == "paper" and row["batch"] == 4
    assert row["model"] == "LRCN" and row["data"] == "synthetic, 6 groups/class"


def test_runs_with_the_same_name_stay_apart_by_id():
    fake_run("20260101-120000-aaaaaa", name="same", epochs=2)
    fake_run("20260101-120000-bbbbbb", name="same", epochs=5)
    assert [s.epochs_run["lrcn"] for s in list_runs()] == [5, 2]  # newest first
    assert find_run("20260101-120000-aaaaaa").snapshot().history["lrcn"][-1]["epoch"] == 2
    assert find_run("20260101-120000-b").id.endswith("bbbbbb")  # a unique start of an id
    with pytest.raises(RunError, match="2 runs have an id starting"):
        find_run("20260101")
    with pytest.raises(RunError, match="No run with id 'same'"):
        find_run("same")  # a name is not an id


def test_differing_settings_and_curves_as_csv():
    fake_run("20260101-120000-aaaaaa", epochs=2, batch=4)
    fake_run("20260101-120001-bbbbbb", epochs=3, batch=8)
    a, b = get_job("20260101-120000-aaaaaa"), get_job("20260101-120001-bbbbbb")
    differ = differing_settings([a, b])
    assert [d["setting"] for d in differ] == ["max epochs", "batch"]
    assert differ[1] == {"setting": "batch", a.id: 4, b.id: 8}
    rows = list(csv.DictReader(io.StringIO(curves_csv(b))))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0])[:7] == [
        "run",
        "model",
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
    ]
    assert float(rows[2]["val_accuracy"]) == pytest.approx(0.5)


def test_delete_a_finished_run_but_not_a_running_one():
    run = fake_run("20260101-120000-aaaaaa")
    delete_run(run.name)
    assert not run.exists() and list_jobs() == []
    running = fake_run("20260101-120000-bbbbbb")
    lines = (running / "events.jsonl").read_text().splitlines()[:-1]  # no end yet
    (running / "events.jsonl").write_text("\n".join(lines) + "\n")
    # a live process with the run folder on its command line, as a worker has
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(running)])
    try:
        (running / "pid").write_text(str(worker.pid))
        with pytest.raises(RunError, match="still training"):
            delete_run(running.name)
        assert running.exists()
    finally:
        worker.kill()
        worker.wait()
    with pytest.raises(RunError, match="No run with id"):
        delete_run("nope")


DAMAGE = [
    b"not json at all\n",
    b'{"type": "epoch", "t": 1, "arch": "lrcn", "logs": {"epoch": 9, "loss"\n',  # cut
    b'{"stage":"x"}\n',  # no type
    b'{"type": "stage", "t": 1}\n',  # a known type without its fields
    b'{"type": "end", "t": 1, "stage": "exploded"}\n',  # not a way to end
    b"\xff\xfe\x00\x81garbage\x00\n",  # random bytes
    b"[1, 2, 3]\n",
    b"null\n",
]


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_events_file_is_read_leniently_and_never_rewritten(damage):
    run = fake_run("20260101-120000-aaaaaa", model=True)
    events = run / "events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    damaged = b"".join(lines[:3] + [damage] + lines[3:])  # in the middle of the run
    events.write_bytes(damaged)
    state = get_job(run.name).snapshot()
    assert state.stage == "done" and state.error == ""
    assert state.damaged_lines == 1
    assert state.models["lrcn"]["saved"]  # its Save form stays
    assert [h["epoch"] for h in state.history["lrcn"]] == [1, 2, 3]
    jobs._RUNS.clear()  # as a new server would read it again
    assert summarize(get_job(run.name)).status == "done"
    assert events.read_bytes() == damaged  # history is never rewritten


def test_damage_after_the_end_and_a_dead_worker_without_an_end_write_nothing():
    done = fake_run("20260101-120000-aaaaaa")
    with open(done / "events.jsonl", "ab") as f:
        f.write(b"garbage after the end\n")
    before = (done / "events.jsonl").read_bytes()
    assert get_job(done.name).snapshot().stage == "done"
    # a worker that died without its end: failed, said by the server, not written down
    dead = fake_run("20260101-120000-bbbbbb")
    text = (dead / "events.jsonl").read_text().splitlines()[:-1]
    (dead / "events.jsonl").write_text("\n".join(text) + "\n")
    before_dead = (dead / "events.jsonl").read_bytes()
    state = get_job(dead.name).snapshot()
    assert state.stage == "failed" and "ended unexpectedly" in state.error
    assert (dead / "events.jsonl").read_bytes() == before_dead
    assert (done / "events.jsonl").read_bytes() == before


def test_har_runs_lists_and_shows(capsys):
    fake_run("20260101-120000-aaaaaa", name="first try", epochs=2)
    fake_run("20260101-120001-bbbbbb", name="more epochs", epochs=3)
    assert main(["runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["id", "name", "model"]
    assert "20260101-120001-bbbbbb  more epochs" in out[1] and "done" in out[1]
    assert "first try" in out[2] and "75%" in out[2]
    assert main(["runs", "show", "20260101-120001"]) == 0
    shown = capsys.readouterr().out
    assert "Run 20260101-120001-bbbbbb: more epochs" in shown
    assert "recipe: paper" in shown and "test accuracy: 75%" in shown
    assert [line.split()[0] for line in shown.splitlines()[-3:]] == ["1", "2", "3"]
    assert main(["runs", "show", "20260101-120000-aaaaaa", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["epoch"] for r in rows] == ["1", "2"] and rows[0]["model"] == "lrcn"
    assert main(["runs", "show", "nope"]) == 1
    assert "No run with id 'nope'" in capsys.readouterr().err


def test_har_runs_with_no_runs(capsys):
    assert main(["runs"]) == 0
    assert "No runs in" in capsys.readouterr().out


def test_a_damaged_spec_leaves_the_run_out_not_the_list():
    fake_run("20260101-120000-aaaaaa")
    bad = fake_run("20260101-120001-bbbbbb")
    (bad / "spec.json").write_text(json.dumps([1, 2]))
    assert [s.id for s in list_runs()] == ["20260101-120000-aaaaaa"]


def test_the_nine_event_kinds_are_written_and_folded_in_by_one_definition(tmp_path):
    from har.training.events import EventLog, Kind, read_new_events
    from har.training.state import HANDLERS

    assert len(Kind) == 9 and set(HANDLERS) == set(Kind)  # each kind has its handler
    log = EventLog(tmp_path / "events.jsonl")
    log.emit(Kind.SPLIT, split={"mode": "group"}, skipped=[])
    with pytest.raises(ValueError):
        log.emit("epochh", arch="lrcn")  # a typo is refused, never written
    log.close()
    events, _, bad = read_new_events(tmp_path / "events.jsonl", 0)
    assert bad == 0 and [e["type"] for e in events] == ["split"]
    run = fake_run("20260101-120000-aaaaaa", epochs=2)
    lines = (run / "events.jsonl").read_text().splitlines()
    lines.insert(1, json.dumps({"type": "future_kind", "t": 1.0}))  # a newer worker's: left alone
    (run / "events.jsonl").write_text("\n".join(lines) + "\n")
    state = get_job(run.name).snapshot()
    assert state.stage == "done" and len(state.history["lrcn"]) == 2 and state.damaged_lines == 0


def test_a_runs_exported_files_are_named_by_a_slug_of_its_name_and_its_id():
    from har.training.runs import file_stem

    named = fake_run("20260101-120000-aaaaaa", name="**bold** <b>first</b> ../x")
    unnamed = fake_run("20260101-120000-bbbbbb")
    assert file_stem(get_job(named.name)) == "bold-b-first-b-..-x-aaaaaa"  # no "/", no markup
    assert file_stem(get_job(unnamed.name)) == "lrcn-paper-bbbbbb"  # models and recipe
