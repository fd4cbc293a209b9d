"""har.training.evaluate: what the Evaluate page asks for, and the report it gets back."""

from __future__ import annotations

import pytest

from har.inference import Predictor
from har.training.evaluate import EvalSource, can_synthesize, evaluate_model


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
