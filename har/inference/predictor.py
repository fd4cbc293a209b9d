"""The one door for prediction: the app, the CLI, Evaluate and the benchmarks all come here.

Two verbs, as in MMAction2: load models (`Predictor.from_registry`, `load_predictors`) and
predict (`predict_video` for a file, `Predictor.predict_batch` for clips already decoded).
A video is decoded once and sampled once per distinct input spec, so a 20-frame and a
30-frame model share one pass. Each model gets the frames its card asks for: its frame
count, size, color order and scaling. Probabilities are calibrated with the temperature
on the model's card, and an answer below the card's threshold, or a clip further from the
training clips than the card's novelty limit (har.evaluation.novelty), is flagged uncertain.
Where the model runs (LiteRT or TensorFlow) is har.inference.runtime's choice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from har.data.video import ClipFrames, read_clips, sample_frames
from har.errors import ModelError
from har.evaluation.calibration import calibrate
from har.evaluation.novelty import K, Novelty, from_card
from har.inference.prediction import Prediction, VideoPrediction
from har.inference.runtime import Runtime, open_runtime, tensorflow_runtime
from har.inference.spec import DEFAULT_SPEC, InputSpec
from har.models.card import ModelCard
from har.models.registry import find_model, load_model


class Predictor:
    """A loaded model kept hot, with its card, input spec and calibration.

    Made one way, from a card and a Runtime: `from_registry` opens a registry model (LiteRT
    when it converts), `from_model` takes a model in memory (one just trained). `runtime`
    says where it runs, `runtime_note` why not LiteRT; `model` is the Keras model on the
    fast layers (gradients for Explain), loaded on first use.
    """

    def __init__(self, card: ModelCard, runtime: Runtime, model=None, path=None) -> None:
        self.card, self.path, self._model, self._runtime = card, path, model, runtime
        self._model_is_fast = runtime.name == "tensorflow"  # then `model` is the one it runs
        self.spec = InputSpec.of(card)
        self.temperature = float(card.calibration.get("temperature", 1.0))
        self.uncertain_below = card.calibration.get("uncertain_below")
        self.novelty: Novelty | None = from_card(card)
        if self.novelty is not None and runtime.features != self.novelty.features:
            raise ModelError(
                f"{card.name}'s card compares {self.novelty.features} features of its layer "
                f"before the last, but the model gives {runtime.features}."
            )

    @classmethod
    def from_registry(cls, name_or_path: str | Path) -> Predictor:
        path, card = find_model(name_or_path)
        runtime, model, card = open_runtime(path, card)
        return cls(card, runtime, model, path)

    @classmethod
    def from_model(cls, model, card: ModelCard) -> Predictor:
        """A model in memory, on TensorFlow with the fast layers (same weights and maths)."""
        from har.models.fast_layers import to_fast  # Keras: never on the LiteRT path

        fast = to_fast(model)
        return cls(card, tensorflow_runtime(fast, InputSpec.of(card).shape), fast)

    @property
    def runtime(self) -> str:
        return self._runtime.name

    @property
    def runtime_note(self) -> str:
        return self._runtime.note

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def model(self):
        """The Keras model on the fast layers (gradients for Explain), loaded once."""
        from har.models.fast_layers import to_fast  # Keras: never on the LiteRT path

        if not self._model_is_fast:
            self._model = to_fast(self._model or load_model(self.path)[0])
            self._model_is_fast = True
        return self._model

    def predict_batch(
        self, clips: np.ndarray, batch_size: int = 32, calibrated: bool = True
    ) -> np.ndarray:
        """Probabilities (N, classes) for RGB clips (N, T, H, W, 3), uint8 or float in [0, 1];
        calibrated with the card's temperature unless `calibrated=False` (the raw softmax)."""
        return self.score_batch(clips, batch_size, calibrated)[0]

    def score_batch(
        self, clips: np.ndarray, batch_size: int = 32, calibrated: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(probabilities as predict_batch gives them, each clip's distance to the training
        clips): the distances are None unless the card has a novelty limit."""
        raw, features = self.outputs_batch(clips, batch_size)
        distances = None if self.novelty is None else self.novelty.distances(features)
        return (calibrate(raw, self.temperature) if calibrated else raw), distances

    def outputs_batch(
        self, clips: np.ndarray, batch_size: int = 32
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(raw softmax (N, classes), features of the layer before the last (N, F) or None
        when the model has none): what calibration and the novelty limit are fitted on."""
        clips = np.asarray(clips)
        parts = [
            self._runtime.run(self.spec.to_input(clips[i : i + batch_size]))
            for i in range(0, len(clips), batch_size)
        ]
        if not parts:
            none = None if not self._runtime.features else np.zeros((0, self._runtime.features))
            return np.zeros((0, len(self.card.class_names)), np.float32), none
        raw = np.concatenate([p for p, _ in parts])
        features = None if parts[0][1] is None else np.concatenate([f for _, f in parts])
        return raw, features

    def with_card(self, card: ModelCard) -> Predictor:
        """The same loaded model judged by another card's calibration (one just fitted)."""
        return Predictor(card, self._runtime, self._model, self.path)

    def unsure(self, probabilities: np.ndarray, distances: np.ndarray | None) -> np.ndarray:
        """Which of these answers are unsure (as each one's Prediction.uncertain says)."""
        p = np.asarray(probabilities)
        return np.array(
            [
                self.prediction(p[i], None if distances is None else distances[i]).uncertain
                for i in range(len(p))
            ],
            bool,
        )

    def prediction(self, probabilities, distance=None, seconds: float = 0.0) -> Prediction:
        """This model's answer from its calibrated probabilities (and distance) on one clip."""
        return Prediction(
            model_name=self.card.name,
            architecture=self.card.architecture,
            class_names=list(self.card.class_names),
            probabilities=np.asarray(probabilities),
            model_seconds=seconds,
            synthetic=bool(self.card.synthetic),
            runtime=self.runtime,
            uncertain_threshold=self.uncertain_below,
            calibrated=self.temperature != 1.0,
            distance=None if distance is None else float(distance),
            distance_above=None if self.novelty is None else self.novelty.limit,
            neighbour=K if self.novelty is None else self.novelty.k,
        )

    def predict_clip(self, pixels: np.ndarray) -> Prediction:
        """Prediction for one RGB clip (T, H, W, 3) in this model's spec, timed."""
        start = time.perf_counter()
        probabilities, distances = self.score_batch(np.asarray(pixels)[None])
        seconds = time.perf_counter() - start
        return self.prediction(
            probabilities[0], None if distances is None else distances[0], seconds
        )


def load_predictors(names: Iterable[str | Path]) -> dict[str, Predictor]:
    """Load only the models asked for, by registry name or .keras path: name -> Predictor."""
    predictors = [Predictor.from_registry(name) for name in names]
    return {p.name: p for p in predictors}


def decode_video(
    path: str | Path, specs: Sequence[InputSpec]
) -> dict[tuple[int, int, int], ClipFrames]:
    """Decode `path` once and sample it once per distinct (frames, width, height); RGB."""
    keys = list(dict.fromkeys(s.sampling for s in specs)) or [DEFAULT_SPEC.sampling]
    clips = read_clips(path, [(n, (w, h)) for n, w, h in keys])
    return dict(zip(keys, clips, strict=True))


def predict_video(
    path: str | Path, predictors: Sequence[Predictor] | dict[str, Predictor]
) -> VideoPrediction:
    """Decode `path` once, then predict it with every model, each on its own frames."""
    models = list(predictors.values()) if isinstance(predictors, dict) else list(predictors)
    start = time.perf_counter()
    clips = decode_video(path, [p.spec for p in models])
    return _predict_clips(clips, models, time.perf_counter() - start, str(path))


def predict_frames(
    frames: Sequence[np.ndarray],
    predictors: Sequence[Predictor] | dict[str, Predictor],
    fps: float = 0.0,
    source: str = "camera",
) -> VideoPrediction:
    """predict_video for frames already in memory (BGR, oldest first: a camera's last seconds),
    sampled by the same code as a file, so the same frames get the same answers."""
    models = list(predictors.values()) if isinstance(predictors, dict) else list(predictors)
    start = time.perf_counter()
    keys = list(dict.fromkeys(p.spec.sampling for p in models)) or [DEFAULT_SPEC.sampling]
    sampled = sample_frames(frames, [(n, (w, h)) for n, w, h in keys], fps, source)
    clips = dict(zip(keys, sampled, strict=True))
    return _predict_clips(clips, models, time.perf_counter() - start, source)


def _predict_clips(clips, models: list[Predictor], decode_seconds: float, source: str):
    predictions = {p.name: p.predict_clip(clips[p.spec.sampling].pixels) for p in models}
    return VideoPrediction(
        source=source,
        clips=clips,
        decode_seconds=decode_seconds,
        predictions=predictions,
        specs={p.name: p.spec for p in models},
    )
