"""The one door for prediction: the app, the CLI, Evaluate and the benchmarks all come here.

Two verbs, as in MMAction2: load models (`Predictor.from_registry`, `load_predictors`) and
predict (`predict_video` for a file, `Predictor.predict_batch` for clips already decoded).
A video is decoded once and sampled once per distinct input spec, so a 20-frame and a
30-frame model share one pass. Each model gets the frames its card asks for: its frame
count, size, color order and scaling.

`model.predict` builds a data pipeline and a step function on every call, which dominates
the time for one clip. A Predictor runs a registry model on LiteRT (har.litert: a .tflite
converted once and cached beside the model, probabilities equal to Keras's within 1e-5),
which needs no TensorFlow import; a model it cannot convert, or one in memory, runs on
har.layers' fast layers (same weights, same probabilities) in one tf.function with a fixed
input signature, traced and warmed once and called directly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from har.data.video import ClipFrames, read_clips
from har.errors import ModelError
from har.inference.prediction import Prediction, VideoPrediction
from har.inference.spec import DEFAULT_SPEC, InputSpec
from har.models.card import ModelCard
from har.models.registry import find_model, load_model


class Predictor:
    """A loaded model kept hot, with its card and input spec.

    A model from the registry runs on LiteRT when it can (har.litert: converted once, cached
    beside the model, checked against Keras); otherwise, and for a model in memory (one just
    trained), on TensorFlow with har.layers' fast layers. `runtime` says which, `runtime_note`
    why not LiteRT. `model` is the Keras model (fast layers), loaded on first use.
    """

    def __init__(self, model, card: ModelCard, runtime_note: str = "") -> None:
        from har.models.fast_layers import to_fast

        # The same weights in har.layers' TimeDistributed / ConvLSTM2D: identical
        # probabilities (tests/test_layers.py), 2-3x less time per clip.
        self._model, self.card, self.path = to_fast(model), card, None
        self.spec = InputSpec.of(card)
        self._lite, self._forward = None, None
        self.runtime, self.runtime_note = "tensorflow", runtime_note
        self._tf_forward(np.zeros([1, *self.spec.shape], np.float32))  # trace and warm once

    @classmethod
    def from_registry(cls, name_or_path: str | Path) -> Predictor:
        from har.inference import litert

        path, card = find_model(name_or_path)
        setting, model = litert.runtime_setting(), None
        if setting == "tensorflow":
            reason = "HAR_RUNTIME=tensorflow"
        elif not litert.available():
            reason = "ai-edge-litert is not installed"
        else:
            entry = litert.cache_paths(path)  # hashes the file once
            lite = litert.load_cached(entry, card.input_shape, len(card.class_names))
            if lite is not None:
                return cls._on_litert(card, path, lite)
            reason = litert.failed_before(entry)
            if reason is None:
                model, card = load_model(path)  # its checks against the card run here
                try:
                    return cls._on_litert(card, path, litert.make_cached(entry, model), model)
                except ModelError as exc:
                    reason = str(exc)
        if setting == "litert":
            raise ModelError(f"{card.name} cannot run on LiteRT: {reason}.")
        if model is None:
            model, card = load_model(path)
        predictor = cls(model, card, reason)
        predictor.path = path
        return predictor

    @classmethod
    def _on_litert(cls, card: ModelCard, path: Path, lite, model=None) -> Predictor:
        predictor = cls.__new__(cls)
        predictor._model, predictor.card, predictor.path = model, card, path
        predictor.spec = InputSpec.of(card)
        predictor._lite, predictor._forward = lite, None
        predictor.runtime, predictor.runtime_note = "litert", ""
        return predictor

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def model(self):
        """The Keras model on har.layers' fast layers (gradients for Explain), loaded once."""
        if self._model is None:
            from har.models.fast_layers import to_fast

            self._model = to_fast(load_model(self.path)[0])
        return self._model

    def _tf_forward(self, x: np.ndarray) -> np.ndarray:
        if self._forward is None:
            import tensorflow as tf

            fast = self.model
            # autograph=False: a plain Keras call needs no conversion (and it would warn).
            self._forward = tf.function(
                lambda x: fast(x, training=False),
                input_signature=[tf.TensorSpec([None, *self.spec.shape], tf.float32)],
                autograph=False,
            )
        return self._forward(x).numpy()

    def predict_batch(self, clips: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Probabilities (N, classes) for RGB clips (N, T, H, W, 3), uint8 or float in [0, 1]."""
        clips = np.asarray(clips)
        if len(clips) == 0:
            return np.zeros((0, len(self.card.class_names)), np.float32)
        run = self._lite if self._lite is not None else self._tf_forward
        parts = [
            run(self.spec.to_input(clips[i : i + batch_size]))
            for i in range(0, len(clips), batch_size)
        ]
        return np.concatenate(parts)

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
    decode_seconds = time.perf_counter() - start
    predictions = {p.name: p.predict_clip(clips[p.spec.sampling].pixels) for p in models}
    return VideoPrediction(
        source=str(path),
        clips=clips,
        decode_seconds=decode_seconds,
        predictions=predictions,
        specs={p.name: p.spec for p in models},
    )
