"""Build the tutorial's LRCN and ConvLSTM with real Keras 2 (tf-keras) and save them as .h5.

Run as a script in its own process (Keras 2 and 3 never share one): python keras2_models.py
SPEC.json. Each spec entry names a model, its builder, input size and classes, and a .npy
clip of BGR frames / 255; the script trains one step, saves <name>.h5 and writes the Keras 2
probabilities on that clip to <name>.probs.npy. "old_format" entries are saved as Keras 2 up
to 2.12 / 2.3 wrote them: layers inside TimeDistributed without a module, and a Sequential
config without an InputLayer (the input shape on the first layer's batch_input_shape).
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras import layers  # noqa: E402


# fmt: off
def tutorial_lrcn(shape, n):
    """The tutorial's LRCN, as widely copied."""
    model = keras.Sequential()
    model.add(layers.TimeDistributed(layers.Conv2D(16, (3, 3), padding="same", activation="relu"),
                                     input_shape=shape))
    model.add(layers.TimeDistributed(layers.MaxPooling2D((4, 4))))
    model.add(layers.TimeDistributed(layers.Dropout(0.25)))
    model.add(layers.TimeDistributed(layers.Conv2D(32, (3, 3), padding="same", activation="relu")))
    model.add(layers.TimeDistributed(layers.MaxPooling2D((4, 4))))
    model.add(layers.TimeDistributed(layers.Dropout(0.25)))
    model.add(layers.TimeDistributed(layers.Conv2D(64, (3, 3), padding="same", activation="relu")))
    model.add(layers.TimeDistributed(layers.MaxPooling2D((2, 2))))
    model.add(layers.TimeDistributed(layers.Dropout(0.25)))
    model.add(layers.TimeDistributed(layers.Conv2D(64, (3, 3), padding="same", activation="relu")))
    model.add(layers.TimeDistributed(layers.MaxPooling2D((2, 2))))
    model.add(layers.TimeDistributed(layers.Flatten()))
    model.add(layers.LSTM(32))
    model.add(layers.Dense(n, activation="softmax"))
    return model


def tutorial_convlstm(shape, n):
    """The tutorial's ConvLSTM, as widely copied."""
    model = keras.Sequential()
    model.add(layers.ConvLSTM2D(filters=4, kernel_size=(3, 3), activation="tanh",
                                data_format="channels_last", recurrent_dropout=0.2,
                                return_sequences=True, input_shape=shape))
    model.add(layers.MaxPooling3D(pool_size=(1, 2, 2), padding="same", data_format="channels_last"))
    model.add(layers.TimeDistributed(layers.Dropout(0.2)))
    for filters in (8, 14, 16):
        model.add(layers.ConvLSTM2D(filters=filters, kernel_size=(3, 3), activation="tanh",
                                    data_format="channels_last", recurrent_dropout=0.2,
                                    return_sequences=True))
        model.add(layers.MaxPooling3D(pool_size=(1, 2, 2), padding="same",
                                      data_format="channels_last"))
        if filters != 16:
            model.add(layers.TimeDistributed(layers.Dropout(0.2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(n, activation="softmax"))
    return model


def mixed_rnn(shape, n):
    """Not the tutorial's: the other layers people put in video models, hard_sigmoid included."""
    return keras.Sequential([
        layers.TimeDistributed(layers.Conv2D(4, 3, activation="hard_sigmoid"), input_shape=shape),
        layers.TimeDistributed(layers.BatchNormalization()),
        layers.TimeDistributed(layers.GlobalAveragePooling2D()),
        layers.Bidirectional(layers.LSTM(5, return_sequences=True,
                                         recurrent_activation="hard_sigmoid")),
        layers.GRU(6, return_sequences=True, recurrent_activation="hard_sigmoid"),
        layers.SimpleRNN(4),
        layers.Dense(n, activation="softmax"),
    ])
# fmt: on

BUILDERS = {"lrcn": tutorial_lrcn, "convlstm": tutorial_convlstm, "mixed": mixed_rnn}


@contextmanager
def old_format():
    """Serialize as tf.keras did before 2.13 (wrapped layers) and 2.4 (no InputLayer entry)."""
    from tf_keras.src.engine.sequential import Sequential
    from tf_keras.src.layers.rnn.base_wrapper import Wrapper
    from tf_keras.src.saving.legacy import serialization

    originals = Wrapper.get_config, Sequential.get_config

    def wrapper_config(self):
        base = keras.layers.Layer.get_config(self)
        return {**base, "layer": serialization.serialize_keras_object(self.layer)}

    def sequential_config(self):
        config = originals[1](self)
        config["layers"] = [c for c in config["layers"] if c["class_name"] != "InputLayer"]
        return config

    Wrapper.get_config, Sequential.get_config = wrapper_config, sequential_config
    try:
        yield
    finally:
        Wrapper.get_config, Sequential.get_config = originals


def main(spec_path: str) -> None:
    specs = json.loads(Path(spec_path).read_text())
    out = Path(spec_path).parent
    for spec in specs:
        keras.utils.set_random_seed(spec.get("seed", 0))
        clip = np.load(spec["clip"]).astype("float32")  # (1, T, H, W, 3), BGR / 255
        n = len(spec["classes"])
        model = BUILDERS[spec["builder"]](tuple(clip.shape[1:]), n)
        model.compile(loss="categorical_crossentropy", optimizer="Adam", metrics=["accuracy"])
        # One step on four BGR clips: the video, mirrored, reversed in time, color-swapped.
        x = np.concatenate([clip, clip[:, :, :, ::-1], clip[:, ::-1], clip[..., ::-1]])
        y = keras.utils.to_categorical(np.arange(4) % n, n)
        model.fit(x, y, epochs=1, batch_size=4, verbose=0)
        with old_format() if spec.get("old_format") else nullcontext():
            model.save(out / spec["file"])
        np.save(out / f"{spec['name']}.probs.npy", model.predict(clip, verbose=0))
    print(keras.__version__)


if __name__ == "__main__":
    main(sys.argv[1])
