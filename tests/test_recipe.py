"""The training recipes: augmentation that is consistent per clip, seeded and off at test time;
temperature scaling and the uncertainty threshold; cards that carry both."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from har.errors import ModelError, TrainingError
from har.evaluation.calibration import (
    MAX_TEMPERATURE as MAX_T,
)
from har.evaluation.calibration import (
    MIN_TEMPERATURE as MIN_T,
)
from har.evaluation.calibration import (
    calibrate,
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
    flagged_rates,
    negative_log_likelihood,
)
from har.inference import InputSpec, Predictor
from har.models.architectures import build_model
from har.models.card import ModelCard
from har.models.registry import load_card, save_model
from har.training.augment import DEFAULT_AUGMENTATION, augment_clip, view_indices
from har.training.fit import augmented_dataset, make_dataset
from har.training.recipe import RECIPES, TrainConfig

RNG = np.random.default_rng(3)


def one_image_clip(frames=20, size=64) -> np.ndarray:
    """A clip whose frames are all the same textured image: any per-frame difference after
    augmentation would be an augmentation that treats frames differently."""
    image = RNG.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return np.repeat(image[None], frames, axis=0)


def test_the_paper_recipe_is_kept_and_the_augmented_one_is_the_default():
    paper = TrainConfig("convlstm", recipe="paper").resolved()
    assert (paper.epochs, paper.patience, paper.batch_size) == (50, 10, 4)
    lrcn = TrainConfig("lrcn", recipe="paper").resolved()
    assert (lrcn.epochs, lrcn.patience, lrcn.learning_rate) == (70, 15, 1e-3)
    assert TrainConfig("lrcn").recipe == "augment" and RECIPES["augment"].augment
    assert TrainConfig("lrcn").train_frames > 20 == TrainConfig("lrcn", recipe="paper").train_frames
    assert TrainConfig.from_dict({"architecture": "lrcn"}).recipe == "paper"  # runs made before
    with pytest.raises(TrainingError, match="recipe"):
        TrainConfig("lrcn", recipe="magic").validate()
    # each model's card tells its own recipe: only the ConvLSTM's weights are averaged
    assert "averaged" in RECIPES["augment"].describe(TrainConfig("convlstm").weight_average)
    assert "averaged" not in RECIPES["augment"].describe(TrainConfig("lrcn").weight_average)
    with pytest.raises(TrainingError, match="seed"):
        TrainConfig("lrcn", seed=-1).validate()


def test_a_view_is_evenly_spaced_inside_the_video_and_spans_most_of_it():
    for seed in range(30):
        idx = view_indices(80, 20, tf.constant([seed, 1], tf.int64), 0.75).numpy()
        stride = np.diff(idx)
        assert len(idx) == 20 and idx.min() >= 0 and idx.max() <= 79
        assert len(set(stride)) == 1 and stride[0] in (3, 4)  # 3/4 of the span at least
    starts = {int(view_indices(80, 20, tf.constant([s, 2], tf.int64), 0.75)[0]) for s in range(40)}
    assert len(starts) > 3  # temporal jitter: the start moves


def test_augmentation_treats_every_frame_of_a_clip_alike():
    clip = tf.constant(one_image_clip(), tf.float32) / 255.0
    changed = 0
    for seed in range(8):
        out = augment_clip(clip, tf.constant([seed, 7], tf.int64), DEFAULT_AUGMENTATION).numpy()
        assert out.shape == clip.shape and 0.0 <= out.min() and out.max() <= 1.0
        assert np.abs(out - out[:1]).max() < 1e-6  # one crop, flip and color change for all
        changed += np.abs(out - clip.numpy()).mean() > 0.01
    assert changed >= 6  # and it does change the clip


def test_augmentation_keeps_labels_and_is_reproducible_with_a_seed():
    # Dark clips are class 0, bright ones class 1; no crop, flip or color change in the
    # recipe can make a dark clip bright, so a label that moved to another clip would show.
    dark = RNG.integers(0, 60, (6, 40, 64, 64, 3), dtype=np.uint8)
    bright = RNG.integers(200, 256, (6, 40, 64, 64, 3), dtype=np.uint8)
    x, y = np.concatenate([dark, bright]), np.array([0] * 6 + [1] * 6)

    def batches(seed):
        ds = augmented_dataset(x, y, 2, batch_size=4, seed=seed, frames=20)
        return [(a.numpy(), b.numpy()) for a, b in ds.take(6)]

    first = batches(5)
    for clips, labels in first:
        assert clips.shape == (4, 20, 64, 64, 3)
        assert np.array_equal(clips.mean(axis=(1, 2, 3, 4)) > 0.5, labels.argmax(1) == 1)
    again, other = batches(5), batches(6)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first, other, strict=True))


def test_validation_and_test_clips_are_never_augmented():
    x = RNG.integers(0, 256, (3, 20, 64, 64, 3), dtype=np.uint8)
    (clips, labels), *_ = list(make_dataset(x, np.array([0, 1, 0]), 2, 8, None))
    assert np.array_equal(clips.numpy(), x.astype(np.float32) / 255.0)
    model = build_model("lrcn", 2)
    card = card_for(model)
    predictor = Predictor.from_model(model, card)
    expected = np.asarray(model(x.astype(np.float32) / 255.0, training=False))
    assert np.allclose(predictor.predict_batch(x), expected, atol=1e-5)
    assert np.array_equal(predictor.predict_batch(x), predictor.predict_batch(x))


def overconfident(n=400, classes=4, accuracy=0.7, seed=0):
    """Labels and probabilities of a model right `accuracy` of the time but always ~99 % sure."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    right = rng.random(n) < accuracy
    guess = np.where(right, labels, (labels + rng.integers(1, classes, n)) % classes)
    logits = rng.normal(0, 1, (n, classes))
    logits[np.arange(n), guess] += 7.0
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True), labels


def test_temperature_scaling_makes_an_overconfident_model_honest():
    p, y = overconfident()
    t = fit_temperature(p, y)
    q = calibrate(p, t)
    assert t > 1.5  # softened
    assert negative_log_likelihood(q, y) < negative_log_likelihood(p, y) - 0.3
    assert expected_calibration_error(q, y) < expected_calibration_error(p, y) / 2
    assert np.array_equal(q.argmax(1), p.argmax(1))  # the answers themselves never change
    assert np.allclose(q.sum(1), 1, atol=1e-5)
    sharp, y2 = overconfident(accuracy=1.0, seed=1)
    assert fit_temperature(sharp, y2) < 1.0  # always right: it may be surer still


def test_the_threshold_flags_at_most_a_tenth_of_the_right_answers():
    p, y = overconfident(seed=2)
    q = calibrate(p, fit_temperature(p, y))
    threshold = choose_threshold(q, y)
    rates = flagged_rates(q, y, threshold)
    assert rates["right"] <= 0.10 + 1e-9
    assert threshold >= 0.25  # never below chance with 4 classes
    held_out, y_out = overconfident(seed=3)
    assert (
        flagged_rates(calibrate(held_out, fit_temperature(p, y)), y_out, threshold)["right"] < 0.2
    )


def card_for(model, **changes) -> ModelCard:
    fields = dict(
        name="m",
        architecture="lrcn",
        class_names=["a", "b"],
        input_shape=[20, 64, 64, 3],
        color_order="RGB",
        parameters=int(model.count_params()),
        dataset={"kind": "synthetic", "classes": ["a", "b"], "num_clips": 4},
        split={"mode": "group", "seed": 1, "train": 2, "val": 1, "test": 1},
        metrics={},
        training={},
        created="2026-12-02",
        versions={},
        synthetic=True,
    )
    return ModelCard(**{**fields, **changes})


def test_cards_carry_the_calibration_and_the_predictor_applies_it(tmp_path):
    model = build_model("lrcn", 2)
    calibration = {"temperature": 3.0, "uncertain_below": 0.9, "fitted_on": "validation (2)"}
    path = save_model(model, card_for(model, calibration=calibration), tmp_path)
    card = load_card(path)
    assert card.calibration == calibration and card.to_dict()["calibration"] == calibration
    x = RNG.integers(0, 256, (2, 20, 64, 64, 3), dtype=np.uint8)
    raw = np.asarray(model(x.astype(np.float32) / 255.0, training=False))
    predictor = Predictor.from_registry(path)
    assert np.allclose(predictor.predict_batch(x), calibrate(raw, 3.0), atol=1e-5)
    answer = predictor.predict_clip(x[0])
    assert answer.calibrated and answer.uncertain_below == 0.9
    assert answer.uncertain == (answer.confidence < 0.9)
    assert answer.to_dict()["uncertain_below"] == 0.9


def test_an_input_spec_is_enforced_not_guessed():
    model = build_model("lrcn", 2)
    assert InputSpec.of(card_for(model, color_order="bgr")).color == "BGR"
    with pytest.raises(ModelError, match="color order"):
        InputSpec.of(card_for(model, color_order="YUV"))
    with pytest.raises(ModelError, match="scaled"):
        InputSpec.of(card_for(model, scaling="x/127.5-1"))


@pytest.mark.slow
def test_har_calibrate_stores_a_fitted_temperature_on_a_models_card(tmp_path, capsys):
    from har.cli import main
    from har.data.synthetic import generate_dataset

    data = generate_dataset(
        tmp_path / "data", ["TaiChi", "Swing"], groups=3, clips_per_group=3, progress=False
    )
    model = build_model("lrcn", 2)
    card = card_for(model, class_names=["TaiChi", "Swing"], split={"mode": "group", "seed": 27})
    path = save_model(model, card, tmp_path / "models")
    assert main(["calibrate", "--model", str(path), "--data", str(data)]) == 0
    calibration = load_card(path).calibration
    assert MIN_T <= calibration["temperature"] <= MAX_T
    assert 0.5 <= calibration["uncertain_below"] <= 1.0  # never below chance for 2 classes
    assert calibration["fitted_on"] == "validation split (6 clips)"  # 1 group x 3 clips x 2
    assert calibration["test"]["num_clips"] == 6
    # an LRCN: the distance limit to its 6 training clips too, and the command says so
    assert calibration["novelty"]["reference_clips"] == 6
    assert "from its 5th-nearest of the 6 training clips" in capsys.readouterr().out
