"""The one door for prediction: each model gets the frames its card asks for, from one decode."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import write_cv2_video

from har.data.video import read_clip
from har.errors import ModelError
from har.inference import InputSpec, Prediction, Predictor, predict_video
from har.inference.prediction import agreements
from har.models.card import ModelCard

ROOT = Path(__file__).resolve().parent.parent


def small_model(frames: int, size: int, classes: int, seed: int) -> keras.Model:
    """A real (untrained) video classifier for an input spec other than the paper's."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((frames, size, size, 3)),
            keras.layers.TimeDistributed(keras.layers.Conv2D(4, 3, activation="relu")),
            keras.layers.TimeDistributed(keras.layers.GlobalAveragePooling2D()),
            keras.layers.LSTM(4),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )


def card_for(model, name: str, color: str = "RGB") -> ModelCard:
    classes = [f"C{i}" for i in range(model.output_shape[-1])]
    return ModelCard(
        name=name,
        architecture="other",
        class_names=classes,
        input_shape=list(model.input_shape[1:]),
        color_order=color,
        parameters=model.count_params(),
        dataset={"kind": "test"},
        split={},
        metrics={},
        training={},
        created="",
        versions={},
        synthetic=False,
    )


def test_each_model_gets_its_own_frames_from_one_decode(tmp_path):
    video = write_cv2_video(tmp_path / "clip.avi", 90, "XVID")
    rgb20 = small_model(20, 64, 3, seed=1)
    bgr30 = small_model(30, 48, 2, seed=2)
    a = Predictor.from_model(rgb20, card_for(rgb20, "rgb20"))
    b = Predictor.from_model(bgr30, card_for(bgr30, "bgr30", color="BGR"))
    result = predict_video(video, [a, b])
    assert set(result.clips) == {(20, 64, 64), (30, 48, 48)}
    assert result.specs["bgr30"] == InputSpec(30, 48, 48, "BGR")
    # the same frames read_clip gives for each shape, and each model's own forward pass
    for predictor, model, n, size in ((a, rgb20, 20, 64), (b, bgr30, 30, 48)):
        clip = read_clip(video, n=n, size=(size, size))
        assert np.array_equal(result.clip_for(predictor.name).pixels, clip.pixels)
        x = clip.pixels.astype(np.float32) / 255.0
        if predictor.spec.color == "BGR":
            x = x[..., ::-1]
        expected = np.asarray(model(x[None], training=False))[0]
        assert np.allclose(result.predictions[predictor.name].probabilities, expected, atol=1e-6)
    # BGR really is fed reversed: the RGB order would give other probabilities
    wrong = np.asarray(bgr30(read_clip(video, 30, (48, 48)).frames[None], training=False))[0]
    assert not np.allclose(result.predictions["bgr30"].probabilities, wrong, atol=1e-7)
    # JSON-safe for the CLI
    data = json.loads(json.dumps(result.to_dict()))
    assert [p["model"] for p in data["predictions"]] == ["rgb20", "bgr30"]
    assert [c["models"] for c in data["clips"]] == [
        {"rgb20": "20 frames of 64x64 RGB, scaled x/255"},
        {"bgr30": "30 frames of 48x48 BGR, scaled x/255"},
    ]


def test_a_clip_of_the_wrong_shape_is_refused():
    model = small_model(20, 64, 2, seed=3)
    predictor = Predictor.from_model(model, card_for(model, "m"))
    with pytest.raises(ModelError, match="shape"):
        predictor.predict_batch(np.zeros((1, 30, 64, 64, 3), np.uint8))


@pytest.mark.parametrize(
    ("classes", "confidence", "uncertain"),
    [(2, 0.53, True), (2, 0.80, False), (4, 0.55, True), (4, 0.70, False), (10, 0.56, False)],
)
def test_uncertain_is_relative_to_the_number_of_classes(classes, confidence, uncertain):
    rest = (1.0 - confidence) / (classes - 1)
    probs = np.array([confidence] + [rest] * (classes - 1), np.float32)
    p = Prediction("m", "lrcn", [f"C{i}" for i in range(classes)], probs, 0.0)
    assert p.uncertain is uncertain


def answer(name: str, classes: list[str], top: str, confidence: float) -> Prediction:
    rest = (1.0 - confidence) / (len(classes) - 1)
    probs = np.array([confidence if c == top else rest for c in classes], np.float32)
    return Prediction(name, "lrcn", classes, probs, 0.0, uncertain_threshold=0.6)


def test_models_of_the_same_classes_that_disagree_make_the_answer_unsure():
    six, four = ["A", "B", "C"], ["W", "X", "Y", "Z"]
    predictions = {
        "real-lrcn": answer("real-lrcn", six, "A", 0.95),
        "real-convlstm": answer("real-convlstm", list(reversed(six)), "B", 0.90),
        "demo-lrcn": answer("demo-lrcn", four, "W", 0.99),  # other classes: not compared
    }
    (pair,) = agreements(predictions)
    assert pair.answers == {"real-lrcn": "A", "real-convlstm": "B"}
    assert not pair.agree and not pair.confident and pair.unsure == ()
    said = "The models disagree (real-lrcn says A, real-convlstm says B): treat the answer as"
    assert pair.describe().startswith(said)
    assert pair.to_dict() == {
        "models": ["real-lrcn", "real-convlstm"],
        "agree": False,
        "unsure": True,
        "answers": {"real-lrcn": "A", "real-convlstm": "B"},
    }

    predictions["real-convlstm"] = answer("real-convlstm", six, "A", 0.50)  # agrees, unsure
    (pair,) = agreements(predictions)
    assert pair.agree and not pair.confident and pair.unsure == ("real-convlstm",)
    assert pair.describe() == "Both models say A, but real-convlstm is unsure."

    predictions["real-convlstm"] = answer("real-convlstm", six, "A", 0.90)
    predictions["demo-convlstm"] = answer("demo-convlstm", four, "W", 0.9)
    first, second = agreements(predictions)
    assert first.confident and first.describe() == "Both models say A."
    assert second.answers == {"demo-lrcn": "W", "demo-convlstm": "W"} and second.confident
    assert agreements({"real-lrcn": predictions["real-lrcn"]}) == []  # one model: nothing to say


def test_an_unsure_answer_says_why_in_one_sentence_for_every_page():
    from har.inference import Prediction

    classes = ["a", "b", "c", "d"]
    sure = Prediction("m", "lrcn", classes, np.array([0.9, 0.05, 0.03, 0.02]), 0.0)
    assert not sure.uncertain and sure.unsure_reason() == ""
    fallback = Prediction("m", "lrcn", classes, np.array([0.4, 0.3, 0.2, 0.1]), 0.0)
    assert fallback.unsure_reason() == (
        "none of its classes fits well (confidence below 62%, halfway from chance (25%) to certain)"
    )
    fitted = Prediction(
        "m", "lrcn", classes, np.array([0.7, 0.1, 0.1, 0.1]), 0.0, uncertain_threshold=0.8
    )
    assert fitted.unsure_reason().endswith(
        "below 80%, the threshold fitted on its validation clips)"
    )
