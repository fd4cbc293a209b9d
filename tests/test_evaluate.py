"""har.training.evaluate: what the Evaluate page asks for, and the report it gets back."""

from __future__ import annotations

import pytest

from har.inference import Predictor
from har.training.evaluate import EvalSource, can_synthesize, evaluate_model, pair_report


def test_a_source_says_what_a_figure_was_measured_on():
    synthetic = EvalSource.synthetic(groups=3, seed=1000)
    assert synthetic.clips(["TaiChi", "Swing"]) == 12 and synthetic.split == "all"
    assert synthetic.describe(12) == "12 fresh synthetic clips (generator seed 1000)"
    folder = EvalSource.of_folder("/data/UCF101", "group", 27)
    assert folder.clips(["Archery"]) is None
    assert folder.describe(145) == "145 test clips of /data/UCF101 (group split, seed 27)"
    assert {synthetic: 1}[EvalSource.synthetic(3, 1000)] == 1  # a results key, as the page uses it


def test_only_classes_the_generator_can_draw_get_synthetic_clips():
    assert can_synthesize(["WalkingWithDog", "TaiChi", "Swing", "HorseRace"])
    assert not can_synthesize(["HorseRace", "Archery"])


@pytest.mark.slow  # generates and decodes 16 clips
def test_evaluate_model_on_fresh_synthetic_clips_reports_every_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("HAR_CACHE_DIR", str(tmp_path))  # nothing generated or cached before
    stages = []
    report = evaluate_model(
        Predictor.from_registry("lrcn-paper4"),
        EvalSource.synthetic(groups=2, seed=4242),
        lambda what, done, total: stages.append(what),
    )
    assert report["num_clips"] == 2 * 2 * 4 and report["skipped"] == []
    assert report["class_names"] == ["WalkingWithDog", "TaiChi", "Swing", "HorseRace"]
    assert sum(map(sum, report["confusion"])) == 16
    assert {"Generating clips", "Decoding clips", "Predicting clips"} <= set(stages)
    # each clip's answer, kept for judging models together; it agrees with the matrix
    answers = report["per_clip"]["answer"]
    columns = [sum(row[k] for row in report["confusion"]) for k in range(4)]
    assert [answers.count(c) for c in report["class_names"]] == columns
    assert len(report["per_clip"]["truth"]) == len(report["per_clip"]["unsure"]) == 16


def clips(classes, truth, answer, unsure) -> dict:
    return {"class_names": classes, "per_clip": {"truth": truth, "answer": answer,
                                                 "unsure": unsure}}  # fmt: skip


def test_models_of_the_same_classes_are_judged_together_as_predict_judges_them():
    truth = ["A", "A", "B", "B", "C"]
    lrcn = clips(["A", "B", "C"], truth, ["A", "A", "B", "C", "C"], [False] * 4 + [True])
    convlstm = clips(["C", "B", "A"], truth, ["A", "B", "B", "B", "C"], [False] * 5)
    other = clips(["X", "Y"], ["X"], ["Y"], [False])  # other classes: not part of the pair
    pair = pair_report({"lrcn": lrcn, "convlstm": convlstm, "demo": other})
    assert pair["models"] == ["lrcn", "convlstm"] and pair["num_clips"] == 5
    # agree on clips 0, 2, 4; clip 4 is unsure for lrcn: confident on clips 0 and 2
    assert pair["agree"] == 3 and pair["confident"] == 2 and pair["right_when_confident"] == 2
    assert pair["per_model"]["lrcn"] == {
        "right": 4, "right_unsure": 2, "wrong": 1, "wrong_unsure": 1,
    }  # fmt: skip
    assert pair["per_model"]["convlstm"] == {
        "right": 4, "right_unsure": 2, "wrong": 1, "wrong_unsure": 1,
    }  # fmt: skip
    low, high = pair["interval"]
    assert 0.0 < low < high == 1.0
    assert pair_report({"lrcn": lrcn, "demo": other}) is None  # nothing to compare
    shorter = clips(["A", "B", "C"], truth[:4], ["A"] * 4, [False] * 4)  # other clips
    assert pair_report({"lrcn": lrcn, "shorter": shorter}) is None
