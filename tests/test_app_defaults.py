"""Which models answer on the app's pages: the real pair for real footage, the synthetic pair
for the built-in synthetic samples, and what Evaluate offers each."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP

from har.data.encode import write_mp4

pytestmark = pytest.mark.usefixtures("isolated_app")  # conftest: the app's folders per test


@pytest.fixture
def ucf_folder(tmp_path):
    """A UCF101-shaped folder with one small clip of each of two real classes."""
    rng = np.random.default_rng(0)
    for cls in ("Archery", "Surfing"):
        frames = [rng.integers(0, 255, (72, 96, 3), dtype=np.uint8) for _ in range(30)]
        write_mp4(tmp_path / "UCF101" / cls / f"v_{cls}_g01_c01.mp4", frames, fps=25)
    return tmp_path / "UCF101"


def answered_by(at) -> list[str]:
    """The models whose answers Predict shows (bold names above each answer)."""
    return [m.value.strip("*") for m in at.markdown if m.value.startswith("**") and "-" in m.value]


def test_predict_follows_the_clip_real_footage_to_the_real_pair_samples_to_the_synthetic(
    ucf_folder,
):
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.sidebar.text_input[0].input(str(ucf_folder)).run()
    at.switch_page("pages/1_Predict.py").run()
    assert not at.exception
    # the first clip is a built-in sample: the synthetic pair answers it, and the page says so
    assert at.multiselect(key="models").value == ["lrcn-paper4", "convlstm-paper4"]
    assert any("synthetic pair answers them" in c.value for c in at.caption)
    at.selectbox(key="sample_class").set_value("Archery (UCF)").run()
    assert not at.exception
    assert at.multiselect(key="models").value == ["lrcn-ucf6", "convlstm-ucf6"]
    assert sorted(answered_by(at)) == ["convlstm-ucf6", "lrcn-ucf6"]
    assert any("trained on real footage (UCF101, 6 classes)" in c.value for c in at.caption)
    at.selectbox(key="sample_class").set_value("TaiChi (sample)").run()
    assert at.multiselect(key="models").value == ["lrcn-paper4", "convlstm-paper4"]
    # a model the user adds stays chosen while the clip keeps its kind
    at.multiselect(key="models").set_value(["lrcn-paper4", "lrcn-ucf6"]).run()
    at.selectbox(key="sample_class").set_value("Swing (sample)").run()
    assert at.multiselect(key="models").value == ["lrcn-paper4", "lrcn-ucf6"]
    assert any("Swing is not one of its 6 classes" in c.value for c in at.caption)


def test_evaluate_offers_real_models_a_ucf_folder_and_never_synthetic_clips(ucf_folder):
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("pages/2_Evaluate.py").run()
    assert not at.exception
    # no UCF folder: the synthetic pair, on fresh synthetic clips
    assert at.multiselect(key="eval_models").value == ["lrcn-paper4", "convlstm-paper4"]
    assert at.radio(key="eval_source").options == ["Fresh synthetic clips (never seen in training)"]
    at.multiselect(key="eval_models").set_value(["lrcn-ucf6"]).run()
    assert any("set a UCF50 or UCF101 folder" in i.value for i in at.info)
    assert not any(b.key == "run_eval" for b in at.button)
    at.sidebar.text_input[0].input(str(ucf_folder)).run()
    assert at.radio(key="eval_source").options == ["UCF folder: test split"]


def test_a_model_of_the_users_choosing_stays_when_the_clip_changes_kind(ucf_folder, tmp_path):
    from conftest import copy_shipped

    from app_common import forget_models

    copy_shipped("lrcn-paper4", tmp_path / "models", "mine")
    forget_models()  # the loaders are cached per process, as in the server
    try:
        at = AppTest.from_file(APP, default_timeout=240).run()
        at.sidebar.text_input[0].input(str(ucf_folder)).run()
        at.switch_page("pages/1_Predict.py").run()
        at.multiselect(key="models").set_value(["lrcn-paper4", "mine"]).run()
        at.selectbox(key="sample_class").set_value("Surfing (UCF)").run()
        assert at.multiselect(key="models").value == ["lrcn-ucf6", "convlstm-ucf6", "mine"]
    finally:
        forget_models()
