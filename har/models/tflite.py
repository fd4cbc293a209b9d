"""A model as LiteRT (TFLite) built-ins: converted with identical maths, and run with XNNPACK.

The conversion keeps probabilities equal to Keras's within TOLERANCE; the Predictor runs
models this way (har.inference.litert caches the conversion) and `har export` writes it out.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from har.errors import ModelError
from har.utils.quiet import quiet_stderr

TOLERANCE = 1e-5  # largest probability difference LiteRT (or an export) may show against Keras


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

    from har.models.fast_layers import TimeDistributed, to_fast

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


def with_features(model):
    """`model` with one output: its probabilities, then the features of the layer before its
    last, (N, classes + features); the same weights. `model` itself when that layer's output
    is not one flat vector per clip (har.evaluation.novelty compares these features)."""
    import keras

    try:
        hidden = model.layers[-2].output if len(model.layers) >= 2 else None
    except (AttributeError, ValueError):  # a layer used twice has no single output
        hidden = None
    if hidden is None or len(hidden.shape) != 2:
        return model
    return keras.Model(model.inputs[0], keras.layers.Concatenate()([model.outputs[0], hidden]))


def convert(model, features: bool = False) -> bytes:
    """A .tflite (built-in ops only, batch 1, weights frozen in) computing `model`'s output;
    with `features`, with_features(model)'s (the Predictor's cache; an export has not).

    Batch 1 because LiteRT lowers the LSTM / ConvLSTM while-loops to built-ins only when
    their shapes are static; built-ins only, so it runs anywhere LiteRT does (no Flex ops).
    """
    import tensorflow as tf

    ready = lite_ready(model)
    if features:
        ready = with_features(ready)
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


THREADS_SETTING = "HAR_LITERT_THREADS"  # "auto" (default) or a number of threads


def thread_setting() -> int | None:
    """HAR_LITERT_THREADS as a thread count; None for "auto" (chosen per call by the load)."""
    value = os.environ.get(THREADS_SETTING, "auto").strip().lower() or "auto"
    if value == "auto":
        return None
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ModelError(f"{THREADS_SETTING}={value!r} is neither 'auto' nor a thread count.")
    return threads


def free_threads() -> int:
    """Threads for the next call: the cores the 1-minute load average leaves free, at least
    one. Measured (benchmarks/litert_threads.py): with the other core busy one LiteRT thread
    beats two (ConvLSTM 5.7 vs 9.8 ms a clip); on an idle machine two win."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        return cores
    return max(1, min(cores, cores - round(load)))


class LiteModel:
    """A LiteRT interpreter for one model; thread-safe (the app's sessions share it).

    Threads: `threads`, else HAR_LITERT_THREADS, else "auto": each call runs on an interpreter
    with free_threads() threads (made on first need, then kept), so on a shared server a
    busy CPU gets one thread and an idle one gets every core.
    """

    def __init__(self, source: bytes | str | Path, threads: int | None = None) -> None:
        self._source = source
        self._fixed = threads or thread_setting()
        first = _Interpreter(source, self._fixed or os.cpu_count() or 1)
        self._interpreters = {first.threads: first}
        self._lock = threading.Lock()
        self.input_shape, self.outputs = first.input_shape, first.outputs

    @property
    def threads(self) -> list[int]:
        """The thread counts of the interpreters made so far."""
        return sorted(self._interpreters)

    def interpreter(self, threads: int) -> _Interpreter:
        with self._lock:
            if threads not in self._interpreters:
                self._interpreters[threads] = _Interpreter(self._source, threads)
            return self._interpreters[threads]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The output (N, outputs) for float32 model input (N, *input_shape), one at a time:
        probabilities (and features after them, when converted with them)."""
        return self.interpreter(self._fixed or free_threads())(x)


class _Interpreter:
    def __init__(self, source: bytes | str | Path, threads: int) -> None:
        # where LiteRT has no wheel, only a LiteRT model needs it (litert.available() checks)
        from ai_edge_litert.interpreter import Interpreter

        self.threads = threads
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
        out = np.empty((len(x), self.outputs), np.float32)
        with self._lock:
            for i, one in enumerate(np.asarray(x, np.float32)):
                self._interpreter.set_tensor(self._in, one[None])
                self._interpreter.invoke()
                out[i] = self._interpreter.get_tensor(self._out)[0]
        return out
