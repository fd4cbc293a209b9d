"""The novelty limit: a clip unlike every clip the model learned from is answered unsure.

har.evaluation.novelty (the distance and its limit), the card that carries them, the
Predictor's features output on LiteRT and on TensorFlow, and calibration that fits them.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from har.errors import ModelError
from har.evaluation import novelty
from har.evaluation.novelty import Novelty, choose_limit, kth_distance, normalized
from har.inference import Prediction, Predictor
from har.models.architectures import build_model
from har.models.card import _calibration_lines
from har.models.registry import load_card, save_model
from har.training.experiment import calibrate_on, evaluate_on
from tests.test_recipe import card_for

RNG = np.random.default_rng(11)


def test_the_distance_is_to_the_kth_nearest_training_clip():
    reference = normalized(np.eye(3, dtype=np.float32))  # three orthogonal unit vectors
    x = np.array([[1.0, 0.0, 0.0], [2.0, 2.0, 0.0]], np.float32)
    # x[0] is on reference[0] (distance 0) and sqrt(2) from the other two
    assert kth_distance(reference, x, k=1) == pytest.approx([0.0, np.sqrt(2 - np.sqrt(2))])
    assert kth_distance(reference, x, k=2)[0] == pytest.approx(np.sqrt(2))
    assert kth_distance(reference, x, k=9)[0] == pytest.approx(np.sqrt(2))  # k capped
    assert kth_distance(reference, np.zeros((0, 3))).shape == (0,)


def test_the_limit_lets_at_most_the_share_of_right_answers_lie_beyond_it():
    distances = np.arange(1, 21) / 20  # 0.05 .. 1.0
    right = np.ones(20, bool)
    right[-1] = False  # the furthest is a wrong answer: it does not count
    limit = choose_limit(distances, right, 0.10)
    beyond = (distances > limit) & right
    assert beyond.sum() <= 0.10 * right.sum() and beyond.sum() == 1
    assert choose_limit(distances, np.zeros(20, bool), 0.10) == 2.0  # nothing to learn from


def fitted(clips=12, features=8) -> Novelty:
    train = RNG.normal(size=(clips, features))
    val = RNG.normal(size=(10, features))
    return Novelty.fit(train, val, np.ones(10, bool))


def test_a_novelty_limit_round_trips_through_a_card_and_bad_ones_are_refused(tmp_path):
    model = build_model("lrcn", 2)
    limit = fitted(features=32)
    calibration = {"temperature": 1.5, "uncertain_below": 0.6, "novelty": limit.to_dict()}
    path = save_model(model, card_for(model, calibration=calibration), tmp_path)
    back = novelty.from_card(load_card(path))
    assert np.array_equal(back.reference, limit.reference) and back.limit == limit.limit
    assert "unlike the 12 training clips" in " ".join(_calibration_lines(calibration))

    good = json.loads(path.with_suffix(".json").read_text())
    for change in (
        {"reference": good["calibration"]["novelty"]["reference"][:-8]},  # cut short
        {"reference": "not base64!"},
        {"k": 13},  # more neighbours than clips
        {"k": True},
        {"distance_above": float("nan")},
        {"reference_clips": 10**9},
    ):
        bad = json.loads(json.dumps(good))
        bad["calibration"]["novelty"].update(change)
        path.with_suffix(".json").write_text(json.dumps(bad))
        with pytest.raises(ModelError, match="novelty"):
            load_card(path)


def test_an_answer_unlike_the_training_clips_is_unsure_and_says_why():
    answer = Prediction(
        "m", "lrcn", ["a", "b"], np.array([0.99, 0.01]), 0.0, uncertain_threshold=0.6,
        distance=0.5, distance_above=0.3,
    )  # fmt: skip
    assert answer.uncertain and answer.unlike_training
    assert answer.unsure_reason().startswith(
        "the clip is unlike the clips it learned from (distance 0.50 to the 5th nearest of them, "
        "above 0.30, the limit fitted on its validation clips)"
    )
    assert "none of its classes" not in answer.unsure_reason()
    assert answer.to_dict()["distance"] == 0.5 and answer.to_dict()["uncertain"]
    near = Prediction(
        "m", "lrcn", ["a", "b"], np.array([0.99, 0.01]), 0.0, uncertain_threshold=0.6,
        distance=0.2, distance_above=0.3,
    )  # fmt: skip
    assert not near.uncertain and near.unsure_reason() == "" and near.unsure_short() == ""
    assert answer.unsure_short() == "unlike the clips it learned from"
    both = Prediction(
        "m", "lrcn", ["a", "b"], np.array([0.55, 0.45]), 0.0, uncertain_threshold=0.6,
        distance=0.5, distance_above=0.3,
    )  # fmt: skip
    assert both.unsure_short() == (  # live mode names both reasons when both hold
        "none of its classes fits well (< 60%); unlike the clips it learned from"
    )
    assert "; the clip is unlike the clips it learned from" in both.unsure_reason()


@pytest.mark.parametrize("runtime", ["litert", "tensorflow"])
def test_the_predictor_measures_the_distance_from_the_models_own_features(
    tmp_path, monkeypatch, runtime
):
    monkeypatch.setenv("HAR_RUNTIME", runtime)
    keras.utils.set_random_seed(4)
    model = build_model("lrcn", 2)
    a, b = (RNG.integers(0, 256, (20, 64, 64, 3), dtype=np.uint8) for _ in range(2))
    b[:, :32] = 0  # half the frame black: another clip
    hidden = keras.Model(model.inputs[0], model.layers[-2].output)
    feats = np.asarray(hidden(np.stack([a, b]).astype(np.float32) / 255.0))
    apart = float(kth_distance(normalized(feats[:1]), feats[1:], k=1)[0])
    assert apart > 0.05  # the two clips' features differ (else this test shows nothing)
    # the reference: clip a's features five times (float16: ~5e-3 near 0); limit halfway to b
    limit = Novelty(normalized(np.repeat(feats[:1], 5, axis=0)), round(apart / 2, 4))
    calibration = {"temperature": 1.0, "uncertain_below": 0.5, "novelty": limit.to_dict()}
    path = save_model(model, card_for(model, calibration=calibration), tmp_path)
    predictor = Predictor.from_registry(path)
    assert predictor.runtime == runtime
    near, far = predictor.predict_clip(a), predictor.predict_clip(b)
    assert near.distance == pytest.approx(0.0, abs=1e-2) and not near.unlike_training
    assert far.distance == pytest.approx(apart, abs=2e-3) and far.unlike_training
    assert far.uncertain and far.distance_above == limit.limit
    probabilities, distances = predictor.score_batch(np.stack([a, b]))
    assert predictor.unsure(probabilities, distances).tolist() == [near.uncertain, True]


def test_a_card_whose_limit_does_not_fit_the_model_is_refused(tmp_path):
    model = build_model("lrcn", 2)
    calibration = {"temperature": 1.0, "uncertain_below": 0.5, "novelty": fitted(8).to_dict()}
    path = save_model(model, card_for(model, calibration=calibration), tmp_path)
    with pytest.raises(ModelError, match="8 features"):
        Predictor.from_registry(path)  # the LRCN's LSTM gives 32


def split_of(clips: int) -> tuple[np.ndarray, np.ndarray]:
    x = RNG.integers(0, 256, (clips, 20, 64, 64, 3), dtype=np.uint8)
    return x, np.arange(clips) % 2


@pytest.mark.parametrize("architecture", ["lrcn", pytest.param("convlstm", marks=pytest.mark.slow)])
def test_calibration_fits_a_novelty_limit_for_the_lrcn_only(tmp_path, architecture):
    keras.utils.set_random_seed(5)
    model = build_model(architecture, 2)
    path = save_model(model, card_for(model, architecture=architecture), tmp_path)
    predictor = Predictor.from_registry(path)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (split_of(n) for n in (7, 6, 4))
    data = SimpleNamespace(
        class_names=["a", "b"], x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
        x_test=x_test, y_test=y_test,
    )  # fmt: skip
    calibration = calibrate_on(predictor, data)
    if architecture == "convlstm":
        assert "novelty" not in calibration and "10%" in calibration["rule"]
        return
    assert calibration["novelty"]["reference_clips"] == 7
    assert calibration["novelty"]["features"] == 32 and "2.5%" in calibration["rule"]
    judged = predictor.with_card(
        card_for(model, calibration={k: v for k, v in calibration.items() if k != "test"})
    )
    report = evaluate_on(judged, data)
    _, distances = judged.score_batch(x_test)
    assert distances is not None and len(distances) == 4
    assert (
        report.per_clip["unsure"] == judged.unsure(judged.predict_batch(x_test), distances).tolist()
    )


def test_the_benchmarks_card_rule_is_the_products(tmp_path):
    """benchmarks/open_set_rules.py's `card` rule, from raw logits and features, flags exactly
    the answers the product flags with a card fitted on the same validation clips."""
    import sys

    from har.config import REPO_ROOT
    from har.evaluation.calibration import calibrate
    from har.training.experiment import fit_calibration

    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    import open_set_rules

    rng = np.random.default_rng(8)
    parts = {"train": 40, "val": 30, "test": 25, "unseen": 12}
    arrays = {f"{p}_features": rng.normal(size=(n, 8)) for p, n in parts.items()}
    arrays |= {f"{p}_logits": 2 * rng.normal(size=(n, 3)) for p, n in parts.items()}
    arrays |= {f"y_{p}": rng.integers(0, 3, n) for p, n in parts.items() if p != "unseen"}
    arrays["unseen_features"] += 3.0  # another action: features elsewhere
    np.savez(tmp_path / "lrcn-augment-without-x.npz", **arrays)
    flags = open_set_rules.evaluate(tmp_path / "lrcn-augment-without-x.npz", 0.10)["flags"]

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    calibration = fit_calibration(
        softmax(arrays["val_logits"]), arrays["val_features"], arrays["y_val"],
        arrays["train_features"],
    )  # fmt: skip
    limit = Novelty.from_dict(calibration["novelty"])
    flagged = []
    for k, part in enumerate(("test", "unseen")):
        probabilities = calibrate(softmax(arrays[f"{part}_logits"]), calibration["temperature"])
        distances = limit.distances(arrays[f"{part}_features"])
        product = [
            Prediction(
                "m", "lrcn", list("abc"), p, 0.0, distance=d, distance_above=limit.limit,
                uncertain_threshold=calibration["uncertain_below"],
            ).uncertain
            for p, d in zip(probabilities, distances, strict=True)
        ]  # fmt: skip
        assert flags["card"][k].tolist() == product
        flagged += product
    assert 0 < sum(flagged) < len(flagged)  # both kinds of answer occur
