"""Fit a model with a recipe: live events, Stop at the batch, the best weights kept.

Clips stay uint8 in memory and become float32 in [0, 1] inside a tf.data pipeline (4x less
memory than float arrays; the input work overlaps the model's with prefetch). With the
"augment" recipe the pipeline also draws each clip's view and augmentation
(har.training.augment) from a seeded generator, so a run is reproducible from its seed;
validation and test clips are never augmented.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from har.config import SEQUENCE_LENGTH
from har.data.video import sample_indices
from har.errors import TrainingError
from har.models.architectures import build_model
from har.training.augment import DEFAULT_AUGMENTATION, Augmentation, mixup, training_clip
from har.training.distribute import fit_distributed
from har.training.recipe import TrainConfig


class TrainingListener:
    """Receives progress while a model trains; override what you need."""

    def on_epoch_begin(self, epoch: int, total_epochs: int) -> None: ...

    def on_batch_end(self, epoch: int, batch: int, total_batches: int, logs: dict) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...

    def on_checkpoint(self, epoch: int, model: keras.Model, improved: bool) -> None:
        """After on_epoch_end: `model` as the epoch left it; `improved` when its val_loss is the
        best so far (the weights early stopping would restore, worth keeping now)."""

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
        self.best_val_loss = float("inf")  # as EarlyStopping(monitor="val_loss") compares

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
        val_loss = _floats(logs).get("val_loss", float("nan"))
        improved = val_loss < self.best_val_loss  # never for NaN
        if improved:
            self.best_val_loss = val_loss
        checkpoint = getattr(self.listener, "on_checkpoint", None)  # listeners may be duck-typed
        if checkpoint is not None:
            checkpoint(epoch, self.model, improved)


def _floats(logs) -> dict:
    return {k: float(v) for k, v in (logs or {}).items()}


def make_dataset(
    x: np.ndarray, y: np.ndarray, num_classes: int, batch_size: int, shuffle_seed: int | None
) -> tf.data.Dataset:
    """uint8 clips as they are -> float32 in [0, 1], one-hot labels, batched and prefetched."""
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    ds = ds.map(
        lambda a, b: (tf.cast(a, tf.float32) / 255.0, tf.one_hot(b, num_classes)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def augmented_dataset(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    batch_size: int,
    seed: int,
    frames: int = SEQUENCE_LENGTH,
    spec: Augmentation = DEFAULT_AUGMENTATION,
    mix: float = 0.0,
) -> tf.data.Dataset:
    """An endless stream of augmented training clips: every pass over `x` in a new seeded order,
    each clip a new view (temporal jitter over x's frames) with its own crop, flip and colors;
    with `mix` > 0, clips are blended in pairs (mixup, Beta(mix, mix) weights).

    `x` holds each video's frames, uint8 (N, D, H, W, 3) with D >= frames (D > frames gives
    temporal jitter). A generator feeds indices and seeds, so no copy of `x` enters the graph.
    """

    def draws():
        rng = np.random.default_rng(seed)
        while True:
            for i in rng.permutation(len(x)):
                yield x[i], y[i], rng.integers(0, 2**31 - 1, size=2)

    signature = (
        tf.TensorSpec(x.shape[1:], tf.uint8),
        tf.TensorSpec((), tf.int64),
        tf.TensorSpec((2,), tf.int64),
    )
    ds = tf.data.Dataset.from_generator(draws, output_signature=signature)
    ds = ds.map(
        lambda clip, label, s: (
            training_clip(clip, s, frames, spec),
            tf.one_hot(label, num_classes),
            s,
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    ds = ds.batch(batch_size)
    if mix > 0:  # blend clips within a batch; the batch's first seed draws the weights
        ds = ds.map(lambda x, y, s: mixup(x, y, s[0] + 1, mix), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda x, y, s: (x, y))
    return ds.prefetch(tf.data.AUTOTUNE)


def compile_model(model: keras.Model, config: TrainConfig, average: bool = True) -> keras.Model:
    """The recipe's optimizer and loss on `model` (built in a distribution scope if any).

    With the recipe's weight averaging (and `average`), the optimizer keeps an exponential
    moving average of the weights (Keras's use_ema); train_model swaps it in at each epoch's
    end, so validation, early stopping and checkpoints see the averaged weights."""
    recipe = config.spec
    momentum = config.weight_average if average else 0.0
    ema = {"use_ema": True, "ema_momentum": momentum} if momentum else {}
    if recipe.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(
            config.learning_rate, weight_decay=recipe.weight_decay, **ema
        )
    else:
        optimizer = keras.optimizers.Adam(config.learning_rate, **ema)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
    )
    return model


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
    recipe = config.spec
    model = compile_model(build_model(config.architecture, num_classes), config)
    steps = -(-len(x_train) // config.batch_size)
    if recipe.augment:
        train_ds = augmented_dataset(
            x_train,
            y_train,
            num_classes,
            config.batch_size,
            config.seed,
            model.input_shape[1],
            Augmentation(**recipe.augmentation),
            recipe.mixup,
        )
    else:
        if x_train.shape[1] != model.input_shape[1]:  # more frames than the model takes
            x_train = x_train[:, sample_indices(x_train.shape[1], model.input_shape[1])]
        train_ds = make_dataset(x_train, y_train, num_classes, config.batch_size, config.seed)
    val_ds = make_dataset(x_val, y_val, num_classes, max(config.batch_size, 16), None)
    early = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.patience, restore_best_weights=True
    )
    callbacks: list[keras.callbacks.Callback] = [early]
    if config.weight_average:  # first: every later callback sees the averaged weights
        callbacks.insert(0, keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if recipe.reduce_lr_patience:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss",
                factor=0.5,
                patience=recipe.reduce_lr_patience,
                min_lr=recipe.min_learning_rate,
            )
        )
    bridge = None
    if listener is not None:
        bridge = _ListenerCallback(listener, config.epochs, steps)
        callbacks.append(bridge)
    start = time.perf_counter()
    try:
        history = model.fit(
            train_ds,
            steps_per_epoch=steps if recipe.augment else None,  # the augmented stream is endless
            validation_data=val_ds,
            epochs=config.epochs,
            callbacks=callbacks,
            shuffle=False,  # the tf.data pipeline shuffles, seeded
            verbose=0,
        )
        hist = {
            k: [float(v) for v in vals]
            for k, vals in history.history.items()
            if k != "learning_rate"
        }
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
    with strategy.scope():  # (its own loop: no weight averaging there, the card says so)
        model = compile_model(build_model(config.architecture, num_classes), config, False)
        model.optimizer.build(model.trainable_variables)
    start = time.perf_counter()
    outcome = fit_distributed(
        strategy, model, x_train, y_train, x_val, y_val, num_classes, config, listener
    )
    return TrainResult(model=model, seconds=time.perf_counter() - start, config=config, **outcome)
