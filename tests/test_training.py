"""Training, evaluation, the registry and the Predictor with real TensorFlow on tiny data."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from conftest import write_cv2_video

from har.errors import ModelError, TrainingError
from har.evaluation.metrics import evaluate_predictions
from har.inference import Predictor, predict_video
from har.models.card import ModelCard
from har.models.registry import list_models, load_model, save_model
from har.training.fit import TrainingListener, train_model
from har.training.recipe import TrainConfig

RNG = np.random.default_rng(0)


def probabilities(model, x):
    """The model's own forward pass on uint8 clips, as a reference for the Predictor."""
    return np.asarray(model(x.astype(np.float32) / 255.0, training=False))


def tiny_data(n=8, classes=2):
    x = RNG.integers(0, 256, (n, 20, 64, 64, 3), dtype=np.uint8)
    y = np.arange(n) % classes
    return x, y


class Recorder(TrainingListener):
    def __init__(self, stop_after_batches=None):
        self.epochs, self.batches, self.ends = [], [], []
        self.stop_after = stop_after_batches

    def on_epoch_begin(self, epoch, total_epochs):
        self.epochs.append((epoch, total_epochs))

    def on_batch_end(self, epoch, batch, total_batches, logs):
        self.batches.append((epoch, batch, total_batches, logs["loss"]))

    def on_epoch_end(self, epoch, logs):
        self.ends.append(logs)

    def should_stop(self):
        return self.stop_after is not None and len(self.batches) >= self.stop_after


def test_paper_recipe_defaults_when_asked():
    assert TrainConfig("convlstm", recipe="paper").resolved().epochs == 50
    assert TrainConfig("convlstm", recipe="paper").resolved().patience == 10
    lrcn = TrainConfig("lrcn", recipe="paper").resolved()
    assert (lrcn.epochs, lrcn.patience, lrcn.batch_size, lrcn.learning_rate) == (70, 15, 4, 1e-3)
    assert TrainConfig("lrcn", epochs=3, patience=1).resolved().epochs == 3


@pytest.mark.parametrize("arch", ["lrcn", pytest.param("convlstm", marks=pytest.mark.slow)])
def test_one_epoch_reports_batches_and_epoch_metrics(arch):
    x, y = tiny_data(8)
    listener = Recorder()
    result = train_model(x, y, x[:4], y[:4], 2, TrainConfig(arch, epochs=1), listener)
    assert listener.epochs == [(0, 1)]
    assert [b[1] for b in listener.batches] == [0, 1] and listener.batches[0][2] == 2
    assert set(listener.ends[0]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert result.epochs_run == 1 and not result.stopped_by_user
    assert result.history["loss"] == [pytest.approx(listener.ends[0]["loss"])]
    assert result.model.output_shape == (None, 2)


@pytest.mark.slow
def test_user_stop_ends_training_after_the_current_batch():
    x, y = tiny_data(16)
    listener = Recorder(stop_after_batches=5)  # 4 batches an epoch: stop in the second
    result = train_model(x, y, x[:4], y[:4], 2, TrainConfig("lrcn", epochs=5), listener)
    assert result.stopped_by_user and result.epochs_run == 1
    assert len(listener.batches) == 5
    assert len(listener.ends) == 1  # no validation pass for the epoch that was cut short
    assert len(result.history["val_loss"]) == 1


@pytest.mark.slow
def test_early_stopping_restores_the_best_weights():
    """With patience 1 and a learning rate that ruins the model after epoch 1, the weights
    that come back are those of the best validation loss, not the last epoch's."""
    x, y = tiny_data(8)
    config = TrainConfig("lrcn", epochs=6, patience=1, learning_rate=1.0)
    result = train_model(x, y, x[:4], y[:4], 2, config)
    val = result.history["val_loss"]
    assert result.stopped_early and result.epochs_run < 6
    best = min(val)
    probs = probabilities(result.model, x[:4])
    restored = float(keras.losses.categorical_crossentropy(np.eye(2)[y[:4]], probs).numpy().mean())
    assert restored == pytest.approx(best, rel=1e-3, abs=1e-4)


def test_training_refuses_empty_validation_and_one_class():
    x, y = tiny_data(8)
    with pytest.raises(TrainingError, match="validation"):
        train_model(x, y, x[:0], y[:0], 2, TrainConfig("lrcn", epochs=1))
    with pytest.raises(TrainingError, match="two classes"):
        train_model(x, np.zeros(8, int), x[:2], y[:2], 2, TrainConfig("lrcn", epochs=1))


def test_metrics_on_a_case_worked_by_hand():
    # true: A A B B C ; predicted: A B B B A
    probs = np.eye(3)[[0, 1, 1, 1, 0]]
    report = evaluate_predictions([0, 0, 1, 1, 2], probs, ["A", "B", "C"])
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert report.per_class["A"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )
    assert report.per_class["B"]["precision"] == pytest.approx(2 / 3)
    assert report.per_class["C"]["f1"] == 0.0
    assert report.macro_f1 == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    json.dumps(report.to_dict())  # JSON-safe for model cards


def make_card(name, model, classes=("A", "B")):
    return ModelCard(
        name=name,
        architecture="lrcn",
        class_names=list(classes),
        input_shape=[20, 64, 64, 3],
        color_order="RGB",
        parameters=model.count_params(),
        dataset={"kind": "synthetic"},
        split={"mode": "group"},
        metrics={},
        training={},
        created="today",
        versions={},
        synthetic=True,
    )


@pytest.fixture(scope="module")
def tiny_model():
    x, y = tiny_data(8)
    return train_model(x, y, x[:4], y[:4], 2, TrainConfig("lrcn", epochs=1)).model


def test_registry_round_trip_gives_identical_predictions(tiny_model, tmp_path):
    path = save_model(tiny_model, make_card("tiny", tiny_model), tmp_path)
    assert path == tmp_path / "tiny.keras" and (tmp_path / "tiny.json").exists()
    model, card = load_model("tiny", [tmp_path])
    assert card.class_names == ["A", "B"] and card.synthetic
    x, _ = tiny_data(3)
    assert np.allclose(probabilities(model, x), probabilities(tiny_model, x), atol=1e-6)
    assert [c.name for c in list_models([tmp_path])] == ["tiny"]
    with pytest.raises(ModelError, match="already exists"):
        save_model(tiny_model, make_card("tiny", tiny_model), tmp_path)


def test_registry_refuses_bad_names_missing_and_mismatched_cards(tiny_model, tmp_path):
    with pytest.raises(ModelError, match="letters"):
        save_model(tiny_model, make_card("../evil", tiny_model), tmp_path)
    save_model(tiny_model, make_card("three", tiny_model, ("A", "B", "C")), tmp_path)
    with pytest.raises(ModelError, match="predicts 2 classes"):
        load_model("three", [tmp_path])
    (tmp_path / "three.json").unlink()
    with pytest.raises(ModelError, match="no model card"):
        load_model(tmp_path / "three.keras")
    with pytest.warns(UserWarning):
        assert list_models([tmp_path]) == []
    with pytest.raises(ModelError, match="No model"):
        load_model("absent", [tmp_path])


@pytest.mark.parametrize("arch", ["lrcn", pytest.param("convlstm", marks=pytest.mark.slow)])
def test_predictor_equals_model_predict(arch):
    x, y = tiny_data(4)
    model = train_model(x, y, x[:2], y[:2], 2, TrainConfig(arch, epochs=1)).model
    predictor = Predictor.from_model(model, make_card("p", model))
    reference = model.predict(x.astype(np.float32) / 255.0, verbose=0)
    assert np.allclose(predictor.predict_batch(x), reference, atol=1e-5)
    single = predictor.predict_clip(x[1])
    assert np.allclose(single.probabilities, reference[1], atol=1e-5)
    assert np.allclose(
        predictor.predict_clip(x[1].astype(np.float32) / 255).probabilities,
        single.probabilities,
        atol=1e-6,
    )
    assert single.top_class == ["A", "B"][int(np.argmax(reference[1]))]
    assert single.ranked()[0] == (single.top_class, pytest.approx(single.confidence))


def test_predict_video_decodes_and_times(tiny_model, tmp_path):
    predictor = Predictor.from_model(tiny_model, make_card("p", tiny_model))
    video = write_cv2_video(tmp_path / "clip.avi", 45, "XVID")
    result = predict_video(video, [predictor])
    assert result.clip_for("p").indices == list(range(0, 40, 2))
    prediction = result.predictions["p"]
    assert result.decode_seconds > 0 and prediction.model_seconds > 0
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ModelError, match="shape"):
        predictor.predict_clip(np.zeros((10, 64, 64, 3), np.uint8))


@pytest.mark.slow
def test_weight_averaging_validates_and_keeps_the_averaged_weights(monkeypatch):
    """A recipe that averages an architecture's weights: what early stopping validated is what
    is kept (the loss recomputed on the kept model is the best validation loss), and it is not
    the model the same seeded run trains without averaging."""
    from dataclasses import replace

    from har.training import recipe

    x, y = tiny_data(8)
    plain = train_model(x, y, x[:4], y[:4], 2, TrainConfig("lrcn", epochs=2, recipe="paper"))
    averaged_recipe = replace(recipe.RECIPES["paper"], weight_average={"lrcn": 0.5})
    monkeypatch.setitem(recipe.RECIPES, "paper", averaged_recipe)
    config = TrainConfig("lrcn", epochs=2, recipe="paper")
    assert config.weight_average == 0.5 and TrainConfig("convlstm").weight_average == 0.995
    result = train_model(x, y, x[:4], y[:4], 2, config)
    assert result.model.optimizer.use_ema
    probs = probabilities(result.model, x[:4])
    kept = float(keras.losses.categorical_crossentropy(np.eye(2)[y[:4]], probs).numpy().mean())
    assert kept == pytest.approx(min(result.history["val_loss"]), rel=1e-3, abs=1e-4)
    assert not all(
        np.allclose(a, b)
        for a, b in zip(result.model.get_weights(), plain.model.get_weights(), strict=True)
    )
