"""Every page of the app, driven by Streamlit's AppTest with the shipped models and samples."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import copy_shipped
from streamlit.testing.v1 import AppTest

from har.config import REPO_ROOT, SHIPPED_MODELS_DIR
from har.training.jobs import get_job

TIMEOUT = 240
APP = REPO_ROOT / "streamlit_app.py"  # absolute: AppTest resolves relative paths from tests/


pytestmark = pytest.mark.usefixtures("isolated_app")  # conftest: the app's folders per test


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def answers(at) -> list[str]:
    """Each model's answer on Predict: a heading with the class (and a verdict)."""
    return [m.value[4:] for m in at.markdown if m.value.startswith("### ")]


def runs_box(at):
    """The Retrain page's run picker (keyed; runs are its options by id)."""
    return at.selectbox(key="rt_run")


def test_shipped_models_exist():
    assert sorted(p.name for p in SHIPPED_MODELS_DIR.glob("*paper4.keras")) == [
        "convlstm-paper4.keras",
        "lrcn-paper4.keras",
    ]


def test_home_lists_the_models_and_says_synthetic():
    at = app()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "convlstm-paper4" in text and "lrcn-paper4" in text
    assert "trained on synthetic clips" in text
    assert "built-in synthetic dataset" in text


def test_predict_a_sample_with_both_models():
    at = app()
    at.switch_page("pages/1_Predict.py").run()
    assert not at.exception
    at.selectbox(key="sample_class").set_value("TaiChi (sample)").run()
    predictions = answers(at)
    assert len(predictions) == 2  # ConvLSTM and LRCN side by side
    classes = ("WalkingWithDog", "TaiChi", "Swing", "HorseRace")
    for text in predictions:  # the answer, with a tick or a cross against the true class
        answer = text.split(" ")[0]
        verdict = ":material/check_circle: right" if answer == "TaiChi" else ":material/cancel:"
        assert answer in classes and verdict in text
    assert any(e.label.endswith("trained on synthetic clips, not real video") for e in at.expander)
    markdown = " ".join(m.value for m in at.markdown)
    assert markdown.count("% confidence") == 2 and "↑" not in markdown
    assert len(at.get("plotly_chart")) == 1  # one grouped chart: both models' rows line up
    assert len(at.get("imgs")) == 20 or len(at.image) == 20  # the 20 frames the models see
    # one line on whether the pair agrees: a caption when it does, a warning when it does not
    tops = [text.split(" ")[0] for text in predictions]
    said = [c.value for c in at.caption] + [w.value for w in at.warning]
    expected = f"Both models say {tops[0]}" if tops[0] == tops[1] else "The models disagree ("
    assert sum(s.startswith(expected) for s in said) == 1, said
    at.selectbox(key="sample_class").set_value("Punch (sample)").run()  # a class they don't know
    assert sum("Punch is not one of its 4 classes" in c.value for c in at.caption) == 2
    assert not any("material/" in a for a in answers(at))  # no verdict without the truth


@pytest.mark.slow
def test_predict_says_when_a_clip_is_unlike_what_a_model_learned_from(tmp_path):
    """A copy of the LRCN whose card's training clips all point one way (no clip's LSTM
    features come near): every answer is unsure, and Predict says why, whatever the confidence."""
    import numpy as np

    from har.evaluation.novelty import Novelty

    reference = np.zeros((5, 32), np.float32)
    reference[:, 0] = 1.0
    novelty = Novelty(reference, 0.0001).to_dict()
    calibration = {"temperature": 1.0, "uncertain_below": 0.01, "novelty": novelty}
    copy_shipped("lrcn-paper4", tmp_path / "models", "lrcn-far", calibration=calibration)
    from app_common import forget_models

    forget_models()
    try:
        at = app()
        at.switch_page("pages/1_Predict.py").run()
        at.multiselect(key="models").set_value(["lrcn-paper4", "lrcn-far"]).run()
        at.selectbox(key="sample_class").set_value("Swing (sample)").run()
        assert not at.exception and len(answers(at)) == 2
        unlike = [w.value for w in at.warning if "unlike the clips it learned from" in w.value]
        assert len(unlike) == 1 and unlike[0].startswith("Unsure: the clip is unlike"), unlike
        said = [c.value for c in at.caption] + [w.value for w in at.warning]
        assert any("lrcn-far is unsure" in s or "disagree" in s for s in said), said
    finally:
        forget_models()


def test_three_models_get_whole_names_and_an_upload_keeps_its_name(tmp_path):
    from har.config import SAMPLES_DIR

    copy_shipped("lrcn-paper4", tmp_path / "models", "lrcn-my-copy")  # a third model
    from app_common import forget_models

    forget_models()  # the loaders are cached per process, as in the server
    at = app()
    at.switch_page("pages/1_Predict.py").run()
    at.multiselect(key="models").set_value(["convlstm-paper4", "lrcn-paper4", "lrcn-my-copy"])
    at.run()
    at.selectbox(key="sample_class").set_value("Swing (sample)").run()
    assert not at.exception
    assert len(answers(at)) == 3
    names = [m.value for m in at.markdown if m.value.startswith("**")]
    assert {"**convlstm-paper4**", "**lrcn-paper4**", "**lrcn-my-copy**"} <= set(names)
    assert len(names) == len(set(names))  # no duplicate headings
    # an upload is named by its own file name in the page, not by a hash
    from har.data.uploads import save_upload

    path = save_upload("my holiday.mp4", (SAMPLES_DIR / "Swing_1.mp4").read_bytes())
    assert path.name == "my holiday.mp4"
    with pytest.raises(Exception, match="my holiday.txt is empty"):
        save_upload("my holiday.txt", b"")
    forget_models()


def test_the_sidebar_reads_only_allowed_folders(tmp_path):
    at = app()
    at.sidebar.text_input[0].input("/etc").run()
    assert not at.exception
    assert any("outside the folders this app may read" in e.value for e in at.sidebar.error)
    assert at.session_state["ucf50_root"] is None


def test_the_sidebar_folder_box_keeps_every_edit_in_a_row(tmp_path):
    """Issue 22: a box passed its last text as `value=` undid every second edit."""
    at = app()
    typed = [str(tmp_path / "a1"), str(tmp_path / "a2"), str(tmp_path / "a3"), ""]
    for text in typed:
        at.sidebar.text_input(key="ucf50_dir_box").input(text).run()
        assert not at.exception
        assert at.sidebar.text_input(key="ucf50_dir_box").value == text
        assert at.session_state["ucf50_dir"] == text
        if text:  # a folder that does not exist: its own error, not the one before
            assert any(Path(text).name in e.value for e in at.sidebar.error), text
        else:
            assert not at.sidebar.error
    at.sidebar.text_input(key="ucf50_dir_box").input(typed[2]).run()
    at.switch_page("pages/2_Evaluate.py").run()  # another page keeps the folder
    assert at.sidebar.text_input(key="ucf50_dir_box").value == typed[2]
    at.sidebar.text_input(key="ucf50_dir_box").input(typed[0]).run()  # and takes an edit
    assert at.sidebar.text_input(key="ucf50_dir_box").value == typed[0]


def test_a_card_of_wrong_types_is_a_warning_on_home(tmp_path):
    from app_common import forget_models

    copy_shipped("lrcn-paper4", tmp_path / "models", "broken", metrics=[])
    forget_models()
    at = app()
    assert not at.exception
    assert any("broken.json" in w.value and "'metrics'" in w.value for w in at.warning)
    assert "lrcn-paper4" in " ".join(m.value for m in at.markdown)  # the rest still lists
    forget_models()


def test_a_corrupt_clip_shows_its_message_and_the_app_keeps_working(tmp_path):
    bad = tmp_path / "UCF50"
    for cls in ("Punch", "Swing"):
        (bad / cls).mkdir(parents=True)
        (bad / cls / f"v_{cls}_g01_c01.avi").write_text("this is not a video\n" * 40)
    at = app()
    at.sidebar.text_input[0].input(str(bad)).run()
    at.switch_page("pages/1_Predict.py").run()
    at.selectbox(key="sample_class").set_value("Punch (UCF)").run()
    assert not at.exception
    assert any("not a video" in e.value for e in at.error)
    at.selectbox(key="sample_class").set_value("Swing (sample)").run()  # still works
    assert len(answers(at)) == 2


@pytest.mark.slow
def test_retrain_two_classes_then_save_with_name_checks(tmp_path):
    at = app()
    at.switch_page("pages/3_Retrain.py").run()
    assert not at.exception
    assert any("No runs yet" in i.value for i in at.info)
    at.multiselect(key="rt_classes").set_value(["Swing", "Punch"])
    at.number_input(key="rt_epochs").set_value(1)
    at.slider(key="rt_groups").set_value(3)
    at.button(key="rt_start").click().run()
    assert not at.exception
    job_id = at.query_params["job"]
    job = get_job(job_id[0] if isinstance(job_id, list) else job_id)
    assert job is not None and job.spec.classes == ["Swing", "Punch"]
    assert job.join(timeout=TIMEOUT).stage == "done", job.snapshot().error
    at.run()
    assert len(at.get("plotly_chart")) >= 3  # loss, accuracy, confusion matrix
    assert f"run {job.id}" in " ".join(t.value for t in at.text)  # the run on display
    assert len(runs_box(at).options) == 1
    # names a user can get wrong: a message each, nothing saved
    for bad, message in (("x" * 300, "at most 64 characters"), ("my model!", "only letters")):
        at.text_input(key="save_name_lrcn").input(bad)
        at.button[-1].click().run()
        assert any(message in e.value for e in at.error), message
    saved = tmp_path / "models"  # (.incoming, the registry's lock and temp files, may exist)
    assert not saved.exists() or not [p for p in saved.iterdir() if not p.name.startswith(".")]
    at.text_input(key="save_name_lrcn").input("retrained-lrcn")
    at.button[-1].click().run()
    assert (tmp_path / "models" / "retrained-lrcn.keras").exists()
    assert any("Saved" in s.value for s in at.success)
    at.text_input(key="save_name_lrcn").input("lrcn-paper4")  # a shipped model's name
    at.button[-1].click().run()
    assert any("shipped model" in e.value for e in at.error)
    # the freshly saved model is chosen on Predict
    at.switch_page("pages/1_Predict.py").run()
    assert "retrained-lrcn" in at.multiselect(key="models").value
    # and the run is still listed after visiting another page
    at.switch_page("pages/3_Retrain.py").run()
    assert "done" in runs_box(at).options[0]
    assert f"run {job.id}" in " ".join(t.value for t in at.text)


def test_evaluate_shows_metrics_tables_and_the_papers_figures():
    at = app()
    at.switch_page("pages/2_Evaluate.py").run()
    at.slider(key="eval_groups").set_value(2)
    at.run()
    assert any("**16 clips** per model" in c.value for c in at.caption)  # said before the click
    at.button(key="run_eval").click().run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels.count("Accuracy") == 2 and labels.count("Macro F1") == 2
    assert len(at.dataframe) >= 3  # two per-class tables and the card summary
    captions = " ".join(c.value for c in at.caption)
    assert "92.6 %" in captions and "81.0 %" in captions
    assert captions.count("(95 % CI ") >= 2 and "16 clips)" in captions
    assert all(v.endswith(" %") for v in (m.value for m in at.metric if m.label == "Accuracy"))
    # the pair (same classes, same clips) judged together, as Predict judges it
    together = [h.value for h in at.subheader if h.value.startswith("Together: ")]
    assert together and set(together[0][10:].split(" and ")) == {"lrcn-paper4", "convlstm-paper4"}
    assert "They agree" in labels and "Answered confidently" in labels
    assert "16 fresh synthetic clips (generator seed 1000). On Predict, the answer" in captions
