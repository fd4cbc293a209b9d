"""The one door for prediction: the app, the CLI and the benchmarks all use Predictor.

`model.predict` builds a data pipeline and a step function on every call, which dominates
the time for one clip. Predictor compiles one tf.function with a fixed input signature
once, warms it, and calls it directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from har.config import INPUT_SHAPE
from har.errors import ModelError
from har.registry import ModelCard, load_model
from har.video import ClipFrames, read_clip


@dataclass
class Prediction:
    class_names: list[str]
    probabilities: np.ndarray
    top_class: str
    confidence: float
    decode_seconds: float
    model_seconds: float
    model_name: str
    clip: ClipFrames | None = None

    def ranked(self) -> list[tuple[str, float]]:
        """(class, probability) from most to least likely."""
        order = np.argsort(-self.probabilities)
        return [(self.class_names[i], float(self.probabilities[i])) for i in order]


class Predictor:
    """A loaded model kept hot, with its card."""

    def __init__(self, model, card: ModelCard) -> None:
        self.model, self.card = model, card

        def forward(x):
            return model(x, training=False)

        # autograph=False: a plain Keras call needs no conversion (and it would warn).
        self._forward = tf.function(
            forward,
            input_signature=[tf.TensorSpec([None, *INPUT_SHAPE], tf.float32)],
            autograph=False,
        )
        self._forward(tf.zeros([1, *INPUT_SHAPE], tf.float32))  # trace and warm once

    @classmethod
    def from_registry(cls, name_or_path: str | Path) -> Predictor:
        model, card = load_model(name_or_path)
        return cls(model, card)

    @staticmethod
    def _as_batch(frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        if frames.ndim == len(INPUT_SHAPE):
            frames = frames[None]
        if tuple(frames.shape[1:]) != INPUT_SHAPE:
            raise ModelError(f"Expected clips of shape {INPUT_SHAPE}, got {frames.shape[1:]}.")
        if frames.dtype == np.uint8:
            return frames.astype(np.float32) / np.float32(255.0)
        return frames.astype(np.float32, copy=False)

    def predict_batch(self, frames: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Probabilities (N, C) for clips (N, 20, 64, 64, 3), uint8 or float in [0, 1]."""
        frames = np.asarray(frames)
        if len(frames) == 0:
            return np.zeros((0, len(self.card.class_names)), np.float32)
        parts = [
            self._forward(self._as_batch(frames[i : i + batch_size])).numpy()
            for i in range(0, len(frames), batch_size)
        ]
        return np.concatenate(parts)

    def predict_frames(
        self, frames: np.ndarray, clip: ClipFrames | None = None, decode_seconds: float = 0.0
    ) -> Prediction:
        """Prediction for one clip's frames (20, 64, 64, 3)."""
        start = time.perf_counter()
        probs = self._forward(self._as_batch(frames)).numpy()[0]
        model_seconds = time.perf_counter() - start
        top = int(np.argmax(probs))
        return Prediction(
            class_names=list(self.card.class_names),
            probabilities=probs,
            top_class=self.card.class_names[top],
            confidence=float(probs[top]),
            decode_seconds=decode_seconds,
            model_seconds=model_seconds,
            model_name=self.card.name,
            clip=clip,
        )

    def predict_video(self, path: str | Path) -> Prediction:
        start = time.perf_counter()
        clip = read_clip(path)
        decode_seconds = time.perf_counter() - start
        return self.predict_frames(clip.pixels, clip, decode_seconds)
