"""har.layers' fast TimeDistributed and ConvLSTM2D against Keras's own, on the same inputs.

Tolerances: forward outputs and probabilities within ATOL = 1e-5 absolute; gradients within
GRAD_RTOL = 1e-4 of each gradient's largest entry; per-step fit losses within FIT_RTOL = 1e-4.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from har.config import INPUT_SHAPE, SAMPLES_DIR
from har.data.video import read_clip
from har.models import fast_layers as fast
from har.models.architectures import build_convlstm, build_lrcn
from har.models.registry import load_model
from har.models.walk import sublayers

ATOL = 1e-5
GRAD_RTOL = 1e-4
FIT_RTOL = 1e-4
BUILDERS = {"lrcn": build_lrcn, "convlstm": build_convlstm}


def rng_clips(n: int, shape=INPUT_SHAPE, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


def twin(stock_layer: layers.Layer, fast_cls: type, x: np.ndarray) -> layers.Layer:
    """A fast layer with the stock layer's config, weights and dropout seed states."""
    stock_layer(x)
    fast_layer = fast_cls.from_config(stock_layer.get_config())
    fast_layer(x)
    for source, target in zip(stock_layer.variables, fast_layer.variables, strict=True):
        target.assign(source)
    return fast_layer


def unnamed(config):
    """A layer config without its (session-numbered) names."""
    if isinstance(config, dict):
        return {k: unnamed(v) for k, v in config.items() if k != "name"}
    return config


def assert_grads_close(got, want):
    for g, w in zip(got, want, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape
        scale = max(float(np.abs(w).max()), 1e-12)
        assert float(np.abs(g - w).max()) <= GRAD_RTOL * scale


def gradients(model, x, y, training=False):
    with tf.GradientTape() as tape:
        loss = keras.losses.categorical_crossentropy(y, model(x, training=training))
        loss = tf.reduce_mean(loss)
    return tape.gradient(loss, model.trainable_variables)


@pytest.mark.parametrize(
    "inner",
    [
        lambda: layers.Conv2D(6, (3, 3), padding="same", activation="relu"),
        lambda: layers.Conv2D(4, (3, 3), strides=2),
        lambda: layers.MaxPooling2D((2, 2)),
        lambda: layers.Flatten(),
        lambda: layers.Dense(5),
    ],
    ids=["conv-same", "conv-stride2", "maxpool", "flatten", "dense"],
)
def test_time_distributed_matches_stock(inner):
    x = rng_clips(3, (5, 9, 9, 3))
    stock = layers.TimeDistributed(inner())
    quick = twin(stock, fast.TimeDistributed, x)
    assert quick.get_config() == stock.get_config()
    assert quick.count_params() == stock.count_params()
    for training in (False, True):
        np.testing.assert_allclose(
            quick(x, training=training), stock(x, training=training), rtol=0, atol=ATOL
        )
    with tf.GradientTape(persistent=True) as tape:
        a, b = tf.reduce_sum(quick(x) ** 2), tf.reduce_sum(stock(x) ** 2)
    if stock.trainable_variables:
        assert_grads_close(
            tape.gradient(a, quick.trainable_variables), tape.gradient(b, stock.trainable_variables)
        )


def test_time_distributed_keeps_the_per_step_loop_for_batch_norm_in_training():
    x = rng_clips(4, (5, 6, 6, 3))
    stock = layers.TimeDistributed(layers.BatchNormalization())
    quick = twin(stock, fast.TimeDistributed, x)
    # per-step batch statistics and 5 moving-average updates, exactly as Keras does them
    np.testing.assert_allclose(quick(x, training=True), stock(x, training=True), atol=ATOL)
    for a, b in zip(quick.weights, stock.weights, strict=True):
        np.testing.assert_allclose(a, b, atol=ATOL)
    np.testing.assert_allclose(quick(x, training=False), stock(x, training=False), atol=ATOL)


def test_one_walk_finds_the_layers_inside_models_wrappers_and_bidirectionals():
    inner = keras.Sequential(
        [layers.Conv2D(2, 3, name="inner_conv"), layers.BatchNormalization(name="inner_bn")],
        name="nested",
    )
    model = keras.Sequential(
        [
            keras.Input((4, 8, 8, 3)),
            layers.TimeDistributed(inner, name="td"),
            layers.TimeDistributed(layers.Flatten(name="flat"), name="td_flat"),
            layers.Bidirectional(layers.LSTM(3, name="rnn"), name="bi"),
            layers.Dense(2, name="out"),
        ]
    )
    names = [layer.name for layer in sublayers(model)]
    assert names[:4] == ["td", "nested", "inner_conv", "inner_bn"]  # depth first, in order
    assert names[4:6] == ["td_flat", "flat"] and names[-1] == "out"
    assert {n for n in names if n.startswith(("forward", "backward"))} == {
        "forward_rnn",
        "backward_rnn",
    }  # a recurrent layer's cell is part of it, not walked
    assert not any("cell" in n for n in names)
    assert [layer.name for layer in sublayers(model, recursive=False)] == [
        layer.name for layer in model.layers
    ]
    # the fast TimeDistributed sees a BatchNormalization however deep it sits
    deep = fast.TimeDistributed(keras.Sequential([layers.Dense(2), layers.BatchNormalization()]))
    x = rng_clips(2, (3, 4))
    deep(x)
    assert not deep._folds(x, training=True, mask=None) and deep._folds(x, False, None)


def test_time_distributed_dropout_drops_every_frame_independently():
    x = np.ones((8, 20, 8, 8, 3), np.float32)
    layer = fast.TimeDistributed(layers.Dropout(0.25, seed=1))
    np.testing.assert_array_equal(layer(x, training=False), x)
    y = np.asarray(layer(x, training=True))
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs(float((y == 0).mean()) - 0.25) < 0.01
    assert not np.array_equal(y[:, 0], y[:, 1])  # a mask per frame, as the stock loop draws


CONV_LSTM_CASES = {
    "sequences": dict(filters=5, kernel_size=3, return_sequences=True),
    "last": dict(filters=5, kernel_size=3),
    "same-stride2": dict(filters=4, kernel_size=3, padding="same", strides=2),
    "backwards-state": dict(filters=3, kernel_size=(3, 2), go_backwards=True, return_state=True),
    "no-bias": dict(filters=4, kernel_size=3, use_bias=False, return_sequences=True),
    "dropouts": dict(
        filters=4, kernel_size=3, dropout=0.3, recurrent_dropout=0.2, seed=7, return_sequences=True
    ),
    "dropouts-wide": dict(filters=20, kernel_size=3, recurrent_dropout=0.3, seed=8),
}


@pytest.mark.parametrize("case", CONV_LSTM_CASES, ids=list(CONV_LSTM_CASES))
def test_conv_lstm_matches_stock_forward_and_gradients(case):
    x = rng_clips(2, (6, 10, 10, 3))
    keras.utils.set_random_seed(3)
    stock = layers.ConvLSTM2D(**CONV_LSTM_CASES[case])
    quick = twin(stock, fast.ConvLSTM2D, x)
    assert quick.get_config() == stock.get_config()
    assert [v.shape for v in quick.weights] == [v.shape for v in stock.weights]
    assert quick.count_params() == stock.count_params()
    # training=True with dropout draws Keras's own masks from identical seed states
    for training in (False, True):
        for a, b in zip(
            keras.tree.flatten(quick(x, training=training)),
            keras.tree.flatten(stock(x, training=training)),
            strict=True,
        ):
            np.testing.assert_allclose(a, b, rtol=0, atol=ATOL)
        with tf.GradientTape(persistent=True) as tape:
            a = sum(tf.reduce_sum(t**2) for t in keras.tree.flatten(quick(x, training=training)))
            b = sum(tf.reduce_sum(t**2) for t in keras.tree.flatten(stock(x, training=training)))
        assert_grads_close(
            tape.gradient(a, quick.trainable_variables), tape.gradient(b, stock.trainable_variables)
        )


def test_conv_lstm_honours_a_time_mask():
    x = rng_clips(2, (5, 8, 8, 2))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    stock = layers.ConvLSTM2D(3, 3, return_sequences=True)
    quick = twin(stock, fast.ConvLSTM2D, x)
    np.testing.assert_allclose(quick(x, mask=mask), stock(x, mask=mask), rtol=0, atol=ATOL)


@pytest.mark.parametrize("arch", BUILDERS)
def test_paper_models_have_the_stock_weights_config_and_parameters(arch):
    stock, quick = BUILDERS[arch](4, fast=False), BUILDERS[arch](4)
    assert [type(a).__name__ for a in quick.layers] == [type(b).__name__ for b in stock.layers]
    assert any(isinstance(layer, (fast.TimeDistributed, fast.ConvLSTM2D)) for layer in quick.layers)
    assert [w.shape for w in quick.weights] == [w.shape for w in stock.weights]
    assert quick.count_params() == stock.count_params()
    for a, b in zip(quick.layers, stock.layers, strict=True):
        assert unnamed(a.get_config()) == unnamed(b.get_config())
    quick.set_weights(stock.get_weights())  # both ways
    stock.set_weights(quick.get_weights())


@pytest.mark.parametrize("arch", [pytest.param("convlstm", marks=pytest.mark.slow), "lrcn"])
def test_paper_models_forward_and_gradients_match_stock(arch):
    keras.utils.set_random_seed(11)
    stock = BUILDERS[arch](4, fast=False)
    quick = fast.to_fast(stock)
    x, y = rng_clips(2), keras.utils.to_categorical([1, 3], 4)
    np.testing.assert_allclose(
        quick(x, training=False), stock(x, training=False), rtol=0, atol=ATOL
    )
    # dropout disabled: training=False gives the deterministic loss
    assert_grads_close(gradients(quick, x, y), gradients(stock, x, y))


def mini_convlstm() -> keras.Model:
    """A small stock ConvLSTM stack with input and recurrent dropout in both mask layouts."""
    return keras.Sequential(
        [
            keras.Input((6, 12, 12, 3)),
            layers.ConvLSTM2D(4, 3, dropout=0.2, recurrent_dropout=0.2, return_sequences=True),
            layers.MaxPooling3D((1, 2, 2)),
            layers.ConvLSTM2D(20, 3, recurrent_dropout=0.2),  # 80 gate channels: per gate
            layers.Flatten(),
            layers.Dense(4, activation="softmax"),
        ]
    )


def mini_lrcn() -> keras.Model:
    """A small stock LRCN: a per-frame CNN in TimeDistributed, then an LSTM."""
    return keras.Sequential(
        [
            keras.Input((6, 16, 16, 3)),
            layers.TimeDistributed(layers.Conv2D(8, 3, padding="same", activation="relu")),
            layers.TimeDistributed(layers.MaxPooling2D(4)),
            layers.TimeDistributed(layers.Conv2D(8, 3, padding="same", activation="relu")),
            layers.TimeDistributed(layers.Flatten()),
            layers.LSTM(8),
            layers.Dense(4, activation="softmax"),
        ]
    )


FIT_MODELS = {"lrcn-mini": mini_lrcn, "convlstm-mini": mini_convlstm}


@pytest.mark.slow
@pytest.mark.parametrize("which", FIT_MODELS)
def test_seeded_fit_follows_the_stock_loss_trajectory(which):
    # No TimeDistributed(Dropout): folded, it draws another random stream than the stock
    # per-step loop. ConvLSTM2D's dropout and recurrent dropout (Keras's own masks, seed
    # states copied by to_fast) are on.
    keras.utils.set_random_seed(5)
    stock = FIT_MODELS[which]()
    quick = fast.to_fast(stock)
    x = rng_clips(8, stock.input_shape[1:], seed=2)
    y = keras.utils.to_categorical(np.arange(8) % 4, 4)
    losses = {}
    for name, model in (("stock", stock), ("fast", quick)):
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy")
        losses[name] = [
            float(model.train_on_batch(x[i : i + 4], y[i : i + 4]))
            for _ in range(2)
            for i in (0, 4)
        ]
    np.testing.assert_allclose(losses["fast"], losses["stock"], rtol=FIT_RTOL)
    assert losses["stock"][-1] != losses["stock"][0]  # it did train


@pytest.mark.parametrize("arch", BUILDERS)
def test_fast_model_saves_and_loads_in_safe_mode(arch, tmp_path):
    model = BUILDERS[arch](4)
    path = tmp_path / f"{arch}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    x = rng_clips(1)
    np.testing.assert_allclose(loaded(x), model(x), rtol=0, atol=ATOL)


@pytest.mark.parametrize("name", ["lrcn-paper4", "convlstm-paper4"])
def test_to_fast_on_shipped_models_gives_equal_probabilities(name):
    stock, card = load_model(name)
    assert not any(
        isinstance(layer, fast.ConvLSTM2D | fast.TimeDistributed) for layer in stock.layers
    )
    quick = fast.to_fast(stock)
    assert any(isinstance(layer, fast.ConvLSTM2D | fast.TimeDistributed) for layer in quick.layers)
    sample = read_clip(sorted(SAMPLES_DIR.glob("HorseRace_*.mp4"))[0]).pixels / np.float32(255)
    x = np.concatenate([sample[None].astype(np.float32), rng_clips(2)])
    want = stock(x, training=False)
    np.testing.assert_allclose(quick(x, training=False), want, rtol=0, atol=ATOL)
    back = fast.to_stock(quick)
    assert [type(a) for a in back.layers] == [type(b) for b in stock.layers]
    np.testing.assert_allclose(back(x, training=False), want, rtol=0, atol=ATOL)
