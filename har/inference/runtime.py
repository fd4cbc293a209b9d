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


@dataclass(frozen=True)
class Runtime:
    """A model ready to run: float32 input (N, *shape) -> probabilities (N, classes)."""

    name: str  # "litert" or "tensorflow"
    run: Callable[[np.ndarray], np.ndarray]
    note: str = ""  # why not LiteRT, when it is TensorFlow


def tensorflow_runtime(fast_model, shape, note: str = "") -> Runtime:
    """One tf.function over the fast-layer model for inputs (None, *shape), traced and warmed."""
    import tensorflow as tf

    # autograph=False: a plain Keras call needs no conversion (and it would warn).
    forward = tf.function(
        lambda x: fast_model(x, training=False),
        input_signature=[tf.TensorSpec([None, *shape], tf.float32)],
        autograph=False,
    )
    forward(np.zeros([1, *shape], np.float32))  # trace and warm once

    def run(x: np.ndarray) -> np.ndarray:
        return forward(x).numpy()

    return Runtime("tensorflow", run, note)


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
            return Runtime("litert", lite), None, card
        reason = litert.failed_before(entry)
        if reason is None:
            model, card = load_model(path)  # its checks against the card run here
            try:
                return Runtime("litert", litert.make_cached(entry, model)), model, card
            except ModelError as exc:
                reason = str(exc)
    if setting == "litert":
        raise ModelError(f"{card.name} cannot run on LiteRT: {reason}.")
    if model is None:
        model, card = load_model(path)  # imports TensorFlow quietly
    from har.models.fast_layers import to_fast  # imports Keras: only after that

    fast = to_fast(model)
    return tensorflow_runtime(fast, card.input_shape, reason), fast, card
