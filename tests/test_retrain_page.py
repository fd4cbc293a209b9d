"""The Retrain page as a lab notebook, driven by Streamlit's AppTest: the form, the runs
table, picking runs by id, comparing, deleting, damaged run files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_cv2_video
from run_folders import fake_run
from streamlit.testing.v1 import AppTest

import har.training.jobs as jobs
from har.config import REPO_ROOT
from har.data.synthetic import SYNTHETIC_CLASSES
from har.models.registry import load_card
from har.training.jobs import get_job

APP = REPO_ROOT / "streamlit_app.py"
A, B, C = "20260101-120000-aaaaaa", "20260101-120000-bbbbbb", "20260101-120500-cccccc"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HAR_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HAR_DATA_ROOTS", str(tmp_path))
    monkeypatch.setenv("HAR_OWN_DATA_DIR", str(tmp_path / "own"))
    monkeypatch.delenv("HAR_UCF50_DIR", raising=False)
    jobs._RUNS.clear()
    yield
    jobs._RUNS.clear()


def retrain() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("pages/3_Retrain.py").run()
    assert not at.exception
    return at


def shown(at) -> str:
    """The text of the run on display (its name and id)."""
    return " ".join(t.value for t in at.text)


def test_switching_the_data_source_keeps_two_classes_chosen(tmp_path, monkeypatch):
    ucf = tmp_path / "ucf"
    for cls in ("Basketball", "Biking"):
        (ucf / cls).mkdir(parents=True)
        for g in (1, 2, 3):
            write_cv2_video(ucf / cls / f"v_{cls}_g{g:02d}_c01.avi", 4, "XVID")
    monkeypatch.setenv("HAR_UCF50_DIR", str(ucf))
    at = retrain()
    assert at.multiselect(key="rt_classes").value == list(SYNTHETIC_CLASSES[:2])
    at.radio(key="rt_source").set_value("UCF50 folder").run()
    assert not at.exception
    assert at.multiselect(key="rt_classes").value == ["Basketball", "Biking"]
    at.radio(key="rt_source").set_value("Synthetic (generated on demand)").run()
    assert at.multiselect(key="rt_classes").value == list(SYNTHETIC_CLASSES[:2])


def test_the_form_offers_the_recipe_and_a_name_stored_in_the_run():
    at = retrain()
    assert at.selectbox(key="rt_recipe").value == "augment"  # DEFAULT_RECIPE
    assert at.selectbox(key="rt_recipe").options == ["paper", "augment"]
    at.selectbox(key="rt_recipe").set_value("paper")
    at.text_input(key="rt_name").input("**bold** <b>first</b>")
    at.number_input(key="rt_epochs").set_value(1)
    at.slider(key="rt_groups").set_value(3)
    at.button(key="rt_start").click().run()
    assert not at.exception
    job = get_job(at.session_state["rt_run"])
    try:
        assert job.spec.config.recipe == "paper" and job.spec.name == "**bold** <b>first</b>"
        assert job.spec.config.learning_rate == pytest.approx(0.001)
        assert "**bold** <b>first</b>" in shown(at)  # as text, never markup
        assert not any("first" in m.value for m in at.markdown)
    finally:
        job.stop()
        job.join(timeout=120)


def test_save_acts_on_the_run_whose_form_was_used_by_id():
    fake_run(A, name="same", model=True, notes="from run A", t0=1767268800.0)
    fake_run(B, name="same", model=True, notes="from run B", t0=1767268800.0)
    at = retrain()
    table = at.dataframe[0].value
    assert list(table["id"]) == [B, A] and list(table["name"]) == ["same", "same"]
    at.selectbox(key="rt_run").set_value(A).run()
    assert A in shown(at)
    fake_run(C, name="another browser's", model=True, notes="from run C")  # a new run appears
    at.text_input(key="save_name_lrcn").input("saved-from-a")
    at.button[-1].click().run()
    assert not at.exception
    assert any("Saved as saved-from-a" in s.value for s in at.success)
    assert load_card(_models(at) / "saved-from-a.keras").notes == ("from run A")
    assert at.selectbox(key="rt_run").value == A and A in shown(at)  # still the same run


def _models(at):
    return Path(os.environ["HAR_MODELS_DIR"])


def test_compare_two_runs_then_delete_one():
    fake_run(A, name="short", epochs=2, batch=4)
    fake_run(B, name="long", epochs=5, batch=8)
    at = retrain()
    charts = len(at.get("plotly_chart"))
    at.multiselect(key="rt_compare").set_value([A, B]).run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == charts + 2  # loss and accuracy, overlaid
    differ = at.dataframe[-1].value
    assert list(differ.index) == ["max epochs", "batch"]
    assert list(differ.loc["batch"]) == ["4", "8"]
    at.selectbox(key="rt_run").set_value(A).run()
    at.checkbox(key=f"rt_del_ok_{A}").check().run()
    at.button(key=f"rt_delete_{A}").click().run()
    assert not at.exception
    assert any("Run deleted" in s.value for s in at.success)
    assert list(at.dataframe[0].value["id"]) == [B]
    assert at.selectbox(key="rt_run").value == B
    assert at.multiselect(key="rt_compare").value == [B]


def test_a_damaged_events_file_leaves_the_page_and_the_save_form(tmp_path):
    run = fake_run(A, name="damaged", model=True)
    with open(run / "events.jsonl", "ab") as f:
        f.write(b'{"stage":"x"}\n\xff\xfe garbage\n')
    before = (run / "events.jsonl").read_bytes()
    at = retrain()
    assert not at.exception
    assert at.button(key="rt_start")  # the form is there, open: no run is training
    assert "Start a new run" in [h.value for h in at.subheader] and not at.expander
    assert list(at.dataframe[0].value["status"]) == ["done"]
    assert any("damaged line(s)" in c.value for c in at.caption)
    assert at.text_input(key="save_name_lrcn")  # the Save form stays
    assert (run / "events.jsonl").read_bytes() == before


def test_a_running_run_says_running_and_one_message_after_stop():
    run = fake_run(A, name="live one")
    lines = (run / "events.jsonl").read_text().splitlines()[:3]  # training, no epoch, no end
    (run / "events.jsonl").write_text("\n".join(lines) + "\n")
    # a live process with the run folder on its command line stands in for the worker
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", str(run)])
    try:
        (run / "pid").write_text(str(worker.pid))
        at = retrain()
        label = at.selectbox(key="rt_run").options[0]
        assert "running" in label and "queued" not in label
        # the run is what the page is about while it trains: the form folds away under it
        assert [e.label for e in at.expander] == ["Start another run"]
        assert "Start a new run" not in [h.value for h in at.subheader]
        assert list(at.dataframe[0].value["status"]) == ["running"]
        at.button(key=f"rt_stop_{A}").click().run()
        assert (run / "stop").exists()
        messages = [m.value for m in [*at.info, *at.warning] if "Stop" in m.value]
        assert messages == ["Stopping: the run ends within seconds."]
        worker.kill()
        worker.wait()
        at.run()
        messages = [m.value for m in [*at.info, *at.warning] if "Stop" in m.value]
        assert messages == ["Stopped by you."]  # one box, not two saying the same
    finally:
        worker.kill()
        worker.wait()
