"""The one door for prediction: the app, the CLI, Evaluate and the benchmarks all come here.

Two verbs, as in MMAction2: load models (`Predictor.from_registry`, `load_predictors`) and
predict (`predict_video` for a file, `Predictor.predict_batch` for clips already decoded).
A video is decoded once and sampled once per distinct input spec, so a 20-frame and a
30-frame model share one pass. Each model gets the frames its card asks for: its frame
count, size, color order and scaling. Probabilities are calibrated with the temperature
on the model's card, and an answer below the card's threshold is flagged uncertain.
Where the model runs (LiteRT or TensorFlow) is har.inference.runtime's choice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from har.data.video import ClipFrames, read_clips, sample_frames
from har.evaluation.calibration import calibrate
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
        clips = np.asarray(clips)
        if len(clips) == 0:
            return np.zeros((0, len(self.card.class_names)), np.float32)
        parts = [
            self._runtime.run(self.spec.to_input(clips[i : i + batch_size]))
            for i in range(0, len(clips), batch_size)
        ]
        raw = np.concatenate(parts)
        return calibrate(raw, self.temperature) if calibrated else raw

    def predict_clip(self, pixels: np.ndarray) -> Prediction:
        """Prediction for one RGB clip (T, H, W, 3) in this model's spec, timed."""
        start = time.perf_counter()
        probabilities = self.predict_batch(np.asarray(pixels)[None])[0]
        return Prediction(
            model_name=self.card.name,
            architecture=self.card.architecture,
            class_names=list(self.card.class_names),
            probabilities=probabilities,
            model_seconds=time.perf_counter() - start,
            synthetic=bool(self.card.synthetic),
            runtime=self.runtime,
            uncertain_threshold=self.uncertain_below,
            calibrated=self.temperature != 1.0,
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
