"""Where a model runs: LiteRT when it converts, TensorFlow when it cannot; one function decides.

`model.predict` builds a data pipeline and a step function on every call, which dominates
the time for one clip. A registry model runs on LiteRT (har.inference.litert: a .tflite
converted once and cached beside the model, probabilities equal to Keras's within
TOLERANCE), which needs no TensorFlow import. A model LiteRT cannot run, or one in memory
(just trained), runs on har.models.fast_layers in one tf.function with a fixed input
signature, traced and warmed once and called directly.

HAR_RUNTIME=tensorflow turns LiteRT off; HAR_RUNTIME=litert makes a failed conversion an
error instead of a fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from har.errors import ModelError
from har.inference import litert
from har.models.card import ModelCard
from har.models.registry import load_model
from har.models.tflite import with_features


@dataclass(frozen=True)
class Runtime:
    """A model ready to run: float32 input (N, *shape) -> one output (N, classes + features),
    the probabilities and then the features of the layer before the last (none for a model
    whose layer before the last is not flat)."""

    name: str  # "litert" or "tensorflow"
    forward: Callable[[np.ndarray], np.ndarray]
    classes: int
    features: int  # width of the features after the probabilities (0: none)
    note: str = ""  # why not LiteRT, when it is TensorFlow

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(probabilities (N, classes), features (N, features) or None)."""
        out = self.forward(x)
        return out[:, : self.classes], (out[:, self.classes :] if self.features else None)


def lite_runtime(lite, classes: int) -> Runtime:
    return Runtime("litert", lite, classes, lite.outputs - classes)


def tensorflow_runtime(fast_model, shape, note: str = "") -> Runtime:
    """One tf.function over the fast-layer model for inputs (None, *shape), traced and warmed."""
    import tensorflow as tf

    both = with_features(fast_model)
    # autograph=False: a plain Keras call needs no conversion (and it would warn).
    traced = tf.function(
        lambda x: both(x, training=False),
        input_signature=[tf.TensorSpec([None, *shape], tf.float32)],
        autograph=False,
    )
    traced(np.zeros([1, *shape], np.float32))  # trace and warm once
    classes = int(fast_model.outputs[0].shape[-1])
    width = int(both.outputs[0].shape[-1])

    def forward(x: np.ndarray) -> np.ndarray:
        return traced(x).numpy()

    return Runtime("tensorflow", forward, classes, width - classes, note)


def open_runtime(path: Path, card: ModelCard):
    """(Runtime, Keras model or None, card) for a registry model file.

    LiteRT from the cache without importing TensorFlow; on a first load the model is
    converted (and checked) once; TensorFlow if it cannot be, saying why.
    """
    setting, model = litert.runtime_setting(), None
    if setting == "tensorflow":
        reason = "HAR_RUNTIME=tensorflow"
    elif not litert.available():
        reason = "ai-edge-litert is not installed"
    else:
        entry = litert.cache_paths(path)  # hashes the file once
        lite = litert.load_cached(entry, card.input_shape, len(card.class_names))
        if lite is not None:
            return lite_runtime(lite, len(card.class_names)), None, card
        reason = litert.failed_before(entry)
        if reason is None:
            model, card = load_model(path)  # its checks against the card run here
            try:
                lite = litert.make_cached(entry, model)
                return lite_runtime(lite, len(card.class_names)), model, card
            except ModelError as exc:
                reason = str(exc)
    if setting == "litert":
        raise ModelError(f"{card.name} cannot run on LiteRT: {reason}.")
    if model is None:
        model, card = load_model(path)  # imports TensorFlow quietly
    from har.models.fast_layers import to_fast  # imports Keras: only after that

    fast = to_fast(model)
    return tensorflow_runtime(fast, card.input_shape, reason), fast, card
