"""Training with the paper's recipe as the default, every knob overridable, metrics live.

Recipe: Adam, categorical cross-entropy, batch 4, early stopping on validation loss with
the best weights restored (patience 10 ConvLSTM / 15 LRCN), at most 50 / 70 epochs.
Clips stay uint8 in memory and are scaled to [0, 1] inside a tf.data pipeline (4x less
memory than float arrays, and the input work overlaps the model's with prefetch).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from har.errors import TrainingError
from har.models.architectures import build_model
from har.training.recipe import PAPER_EPOCHS, PAPER_PATIENCE, TrainConfig  # noqa: F401 (re-exported)


class TrainingListener:
    """Receives progress while a model trains; override what you need."""

    def on_epoch_begin(self, epoch: int, total_epochs: int) -> None: ...

    def on_batch_end(self, epoch: int, batch: int, total_batches: int, logs: dict) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...

    def should_stop(self) -> bool:
        return False


@dataclass
class TrainResult:
    model: keras.Model
    history: dict[str, list[float]]
    epochs_run: int
    stopped_early: bool
    stopped_by_user: bool
    seconds: float
    config: TrainConfig = field(repr=False, default=None)


class _UserStop(Exception):
    """Raised out of fit() at the batch where the user asked to stop."""


class _ListenerCallback(keras.callbacks.Callback):
    """Forwards Keras events to a TrainingListener and honours its stop request at once.

    Setting model.stop_training would still run the epoch's validation pass (seconds for
    ConvLSTM); a stop leaves fit() at the batch instead, keeping the finished epochs' logs.
    """

    def __init__(self, listener, total_epochs: int, total_batches: int) -> None:
        super().__init__()
        self.listener, self.total_epochs, self.total_batches = listener, total_epochs, total_batches
        self.epoch = 0
        self.stopped_by_user = False
        self.history: dict[str, list[float]] = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.listener.on_epoch_begin(epoch, self.total_epochs)

    def on_train_batch_end(self, batch, logs=None):
        self.listener.on_batch_end(self.epoch, batch, self.total_batches, _floats(logs))
        if self.listener.should_stop():
            self.stopped_by_user = True
            raise _UserStop

    def on_epoch_end(self, epoch, logs=None):
        for key, value in _floats(logs).items():
            self.history.setdefault(key, []).append(value)
        self.listener.on_epoch_end(epoch, _floats(logs))


def _floats(logs) -> dict:
    return {k: float(v) for k, v in (logs or {}).items()}


def make_dataset(
    x: np.ndarray, y: np.ndarray, num_classes: int, batch_size: int, shuffle_seed: int | None
) -> tf.data.Dataset:
    """uint8 clips -> float32 in [0, 1], one-hot labels, batched and prefetched."""
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    ds = ds.map(
        lambda a, b: (tf.cast(a, tf.float32) / 255.0, tf.one_hot(b, num_classes)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def train_model(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    num_classes: int,
    config: TrainConfig,
    listener: TrainingListener | None = None,
    strategy=None,
) -> TrainResult:
    """Build the configured model and fit it; early stopping restores the best weights.

    With a tf.distribute `strategy`, the model is built in its scope and trained on this
    worker's share of the clips by har.distribute (batch_size is then per replica).
    """
    config = config.resolved()
    keras.utils.set_random_seed(config.seed)
    if strategy is not None:  # checks a worker's share against every other's first
        return _train_distributed(
            x_train, y_train, x_val, y_val, num_classes, config, listener, strategy
        )
    if len(x_train) == 0:
        raise TrainingError("No training clips: the chosen classes and split left none.")
    if len(x_val) == 0:
        raise TrainingError(
            "No validation clips: early stopping needs some; add clips or groups per class."
        )
    if len(np.unique(y_train)) < 2:
        raise TrainingError("The training clips cover fewer than two classes; pick more data.")
    model = build_model(config.architecture, num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    train_ds = make_dataset(x_train, y_train, num_classes, config.batch_size, config.seed)
    val_ds = make_dataset(x_val, y_val, num_classes, max(config.batch_size, 16), None)
    early = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.patience, restore_best_weights=True
    )
    callbacks: list[keras.callbacks.Callback] = [early]
    bridge = None
    if listener is not None:
        total_batches = -(-len(x_train) // config.batch_size)
        bridge = _ListenerCallback(listener, config.epochs, total_batches)
        callbacks.append(bridge)
    start = time.perf_counter()
    try:
        history = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=config.epochs,
            callbacks=callbacks,
            shuffle=False,  # the tf.data pipeline shuffles, seeded
            verbose=0,
        )
        hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    except _UserStop:
        hist = bridge.history
        if early.best_weights is not None:
            model.set_weights(early.best_weights)  # a user stop keeps the best epoch too
    seconds = time.perf_counter() - start
    stopped_by_user = bool(bridge and bridge.stopped_by_user)
    epochs_run = len(hist.get("loss", []))
    return TrainResult(
        model=model,
        history=hist,
        epochs_run=epochs_run,
        stopped_early=early.stopped_epoch > 0,
        stopped_by_user=stopped_by_user,
        seconds=seconds,
        config=config,
    )


def _train_distributed(x_train, y_train, x_val, y_val, num_classes, config, listener, strategy):
    from har.training.distribute import fit_distributed

    with strategy.scope():
        model = build_model(config.architecture, num_classes)
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        model.optimizer.build(model.trainable_variables)
    start = time.perf_counter()
    outcome = fit_distributed(
        strategy, model, x_train, y_train, x_val, y_val, num_classes, config, listener
    )
    return TrainResult(model=model, seconds=time.perf_counter() - start, config=config, **outcome)
