"""LiteRT behind the Predictor: a model converted once to a .tflite file, run with XNNPACK.

Measured side by side on a 2-core CPU (`python benchmarks/fast_layers.py`), LiteRT
runs one clip 2-3x faster than TensorFlow with har.layers' fast layers, with probabilities
equal to Keras's within 1e-6, and it starts without importing TensorFlow at all. So a model
loaded from the registry is converted on its first load (TensorFlow is needed then, once),
checked against Keras on a probe clip, and cached beside the model as
`<registry>/.litert/<sha256 of the .keras file>.tflite`: a changed model gets a new entry, a
copied one shares it. A model that cannot be converted (a layer with no LiteRT built-in) is
remembered as such in `<sha>.failed` and runs on TensorFlow.

`HAR_RUNTIME=tensorflow` turns LiteRT off; `HAR_RUNTIME=litert` makes a failed conversion an
error instead of a fallback.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np

from har.errors import ModelError
from har.fsutil import atomic_path, remove_stale_temps
from har.tfquiet import quiet_stderr

CACHE = ".litert"
RUNTIMES = ("auto", "litert", "tensorflow")
TOLERANCE = 1e-5  # largest probability difference LiteRT (or an export) may show against Keras


def runtime_setting() -> str:
    value = os.environ.get("HAR_RUNTIME", "auto").strip().lower() or "auto"
    if value not in RUNTIMES:
        raise ModelError(f"HAR_RUNTIME={value!r} is not one of: {', '.join(RUNTIMES)}.")
    return value


def available() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def file_hash(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CacheEntry(NamedTuple):
    """Where one exact .keras file's conversion lives: its .tflite, or why it failed."""

    tflite: Path
    failed: Path


def cache_paths(keras_path: str | Path) -> CacheEntry:
    """<sha>.tflite and <sha>.failed in the model's registry folder's .litert/ (hashes the file:
    get it once per load and pass it on)."""
    folder = Path(keras_path).parent / CACHE
    key = file_hash(keras_path)[:32]
    return CacheEntry(folder / f"{key}.tflite", folder / f"{key}.failed")


def lite_ready(model):
    """The same inference maths in layers LiteRT has built-ins for, with the same weights:

    har.layers' fast layers (one convolution per layer over all frames, not one per frame);
    RNN dropout rates 0 (in inference they drop nothing, but Keras still draws the masks, a
    random-state update that cannot be frozen); and a time-wise 3-D pooling (pool 1 over
    time, which the ConvLSTM uses) as the identical per-frame 2-D pooling, since LiteRT has
    no 3-D pooling.
    """
    import keras
    from keras import layers

    from har.layers import TimeDistributed, to_fast

    def clone(layer):
        if (
            isinstance(layer, layers.MaxPooling3D | layers.AveragePooling3D)
            and layer.pool_size[0] == 1
            and layer.strides[0] == 1
        ):
            max_pool = isinstance(layer, layers.MaxPooling3D)
            pool = layers.MaxPooling2D if max_pool else layers.AveragePooling2D
            return TimeDistributed(
                pool(layer.pool_size[1:], layer.strides[1:], layer.padding), name=layer.name
            )
        config = layer.get_config()
        if isinstance(layer, layers.RNN):
            config.update(dropout=0.0, recurrent_dropout=0.0)
        return layer.__class__.from_config(config)

    fast = to_fast(model)
    copy = keras.models.clone_model(fast, clone_function=clone)
    copy.set_weights(fast.get_weights())
    return copy


def convert(model) -> bytes:
    """A .tflite (built-in ops only, batch 1, weights frozen in) computing `model`'s output.

    Batch 1 because LiteRT lowers the LSTM / ConvLSTM while-loops to built-ins only when
    their shapes are static; built-ins only, so it runs anywhere LiteRT does (no Flex ops).
    """
    import tensorflow as tf

    ready = lite_ready(model)
    forward = tf.function(lambda x: ready(x, training=False), autograph=False)
    spec = tf.TensorSpec([1, *model.input_shape[1:]], tf.float32)
    # Without a trackable object the converter freezes the weights into constants, which is
    # what a read-only .tflite needs (with one it keeps them as variables LiteRT cannot read);
    # it warns that this path is deprecated, a line a user of the CLI should not see.
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        concrete = forward.get_concrete_function(spec)
        converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        with quiet_stderr():  # the MLIR converter's own notices
            return converter.convert()
    except Exception as exc:  # the converter's message is many lines of MLIR
        last = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"no LiteRT built-in for part of this model ({last})") from exc
    finally:
        absl.setLevel(level)


class LiteModel:
    """A LiteRT interpreter for one model; thread-safe (the app's sessions share it)."""

    def __init__(self, source: bytes | str | Path, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        threads = threads or os.cpu_count() or 1
        with quiet_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            if isinstance(source, bytes):
                self._interpreter = Interpreter(model_content=source, num_threads=threads)
            else:
                self._interpreter = Interpreter(model_path=str(source), num_threads=threads)
            self._interpreter.allocate_tensors()
        given = self._interpreter.get_input_details()[0]
        taken = self._interpreter.get_output_details()[0]
        self.input_shape = tuple(int(v) for v in given["shape"][1:])
        self.outputs = int(taken["shape"][-1])
        self._in, self._out = given["index"], taken["index"]
        self._lock = threading.Lock()
        self(np.zeros((1, *self.input_shape), np.float32))  # XNNPACK packs weights on first run

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (N, classes) for float32 model input (N, *input_shape), one at a time."""
        out = np.empty((len(x), self.outputs), np.float32)
        with self._lock:
            for i, one in enumerate(np.asarray(x, np.float32)):
                self._interpreter.set_tensor(self._in, one[None])
                self._interpreter.invoke()
                out[i] = self._interpreter.get_tensor(self._out)[0]
        return out


def load_cached(entry: CacheEntry, input_shape, classes: int) -> LiteModel | None:
    """The cached LiteRT model, if one was made and still fits the card."""
    if not entry.tflite.is_file():
        return None
    try:
        lite = LiteModel(entry.tflite)
    except (ValueError, RuntimeError):  # a truncated or foreign file: make it again
        return None
    if lite.input_shape != tuple(input_shape) or lite.outputs != classes:
        return None
    return lite


def failed_before(entry: CacheEntry) -> str | None:
    """Why this exact .keras file could not be converted, if a conversion was tried."""
    return entry.failed.read_text(encoding="utf-8").strip() if entry.failed.is_file() else None


def make_cached(entry: CacheEntry, model) -> LiteModel:
    """Convert `model` (loaded from the entry's .keras), check it against Keras, cache it, load it.

    Raises ModelError with the reason if it cannot be converted or predicts differently; the
    reason is remembered so the next load goes straight to TensorFlow.
    """
    target, failed = entry
    probe = np.random.default_rng(0).random((2, *model.input_shape[1:]), dtype=np.float32)
    try:
        data = convert(model)
        lite = LiteModel(data)
        diff = float(np.max(np.abs(lite(probe) - np.asarray(model(probe, training=False)))))
        if diff > TOLERANCE:
            raise ModelError(f"LiteRT predicts differently from Keras (by {diff:.2g})")
    except ModelError as exc:
        _write(failed, str(exc).encode())
        raise
    _write(target, data)
    _prune(target.parent)
    return lite


def _write(path: Path, data: bytes) -> None:
    """Best effort: a read-only registry folder just means converting again next time."""
    try:
        path.parent.mkdir(exist_ok=True)
        with atomic_path(path, suffix=".part") as tmp:
            tmp.write_bytes(data)
    except OSError:
        pass


def _prune(folder: Path) -> None:
    """Remove entries whose .keras file is gone or changed (a model overwritten by a retrain)."""
    remove_stale_temps(folder)
    live = {file_hash(p)[:32] for p in folder.parent.glob("*.keras")}
    for entry in list(folder.glob("*.tflite")) + list(folder.glob("*.failed")):
        if not entry.name.startswith(".") and entry.stem not in live:
            entry.unlink(missing_ok=True)
