"""The paper's two architectures, written layer by layer like its Tables 2 and 3.

Both take a clip of SEQUENCE_LENGTH frames, 64x64 RGB in [0, 1], and return class
probabilities. For 4 classes: ConvLSTM 44,524 parameters, LRCN 73,060. By default they use
har.layers' TimeDistributed and ConvLSTM2D: the same weights and maths as Keras's, faster;
`fast=False` builds them from stock Keras layers only.
"""

from __future__ import annotations

import keras
from keras import layers

from har.config import INPUT_SHAPE
from har.errors import ModelError
from har.models import fast_layers

ARCHITECTURES = ("convlstm", "lrcn")


# fmt: off
def build_convlstm(num_classes: int, fast: bool = True) -> keras.Model:
    """Table 2: four ConvLSTM2D blocks (4, 8, 14, 16 filters), each pooled and dropped out."""
    ConvLSTM2D = fast_layers.ConvLSTM2D if fast else layers.ConvLSTM2D
    TimeDistributed = fast_layers.TimeDistributed if fast else layers.TimeDistributed
    model = keras.Sequential(name="convlstm")
    model.add(keras.Input(shape=INPUT_SHAPE))
    #                 filters  kernel              out (None,20,62,62,4)   1,024 params
    model.add(ConvLSTM2D(4, (3, 3), activation="tanh", recurrent_dropout=0.2,
                         return_sequences=True))
    model.add(layers.MaxPooling3D(pool_size=(1, 2, 2), padding="same"))  # (20,31,31,4)
    model.add(TimeDistributed(layers.Dropout(0.2)))
    model.add(ConvLSTM2D(8, (3, 3), activation="tanh", recurrent_dropout=0.2,
                         return_sequences=True))                        # (20,29,29,8)  3,488
    model.add(layers.MaxPooling3D(pool_size=(1, 2, 2), padding="same"))  # (20,15,15,8)
    model.add(TimeDistributed(layers.Dropout(0.2)))
    model.add(ConvLSTM2D(14, (3, 3), activation="tanh", recurrent_dropout=0.2,
                         return_sequences=True))                        # (20,13,13,14) 11,144
    model.add(layers.MaxPooling3D(pool_size=(1, 2, 2), padding="same"))  # (20,7,7,14)
    model.add(TimeDistributed(layers.Dropout(0.2)))
    model.add(ConvLSTM2D(16, (3, 3), activation="tanh", recurrent_dropout=0.2,
                         return_sequences=True))                        # (20,5,5,16)  17,344
    model.add(layers.MaxPooling3D(pool_size=(1, 2, 2), padding="same"))  # (20,3,3,16)
    model.add(layers.Flatten())                                         # (2880,)
    model.add(layers.Dense(num_classes, activation="softmax"))          # 11,524 for 4 classes
    return model


def build_lrcn(num_classes: int, fast: bool = True) -> keras.Model:
    """Table 3: a per-frame CNN (16, 32, 64, 64 filters) in TimeDistributed, then LSTM(32)."""
    TimeDistributed = fast_layers.TimeDistributed if fast else layers.TimeDistributed
    model = keras.Sequential(name="lrcn")
    model.add(keras.Input(shape=INPUT_SHAPE))
    model.add(TimeDistributed(
        layers.Conv2D(16, (3, 3), padding="same", activation="relu")))   # (20,64,64,16)  448
    model.add(TimeDistributed(layers.MaxPooling2D((4, 4))))              # (20,16,16,16)
    model.add(TimeDistributed(layers.Dropout(0.25)))
    model.add(TimeDistributed(
        layers.Conv2D(32, (3, 3), padding="same", activation="relu")))   # (20,16,16,32) 4,640
    model.add(TimeDistributed(layers.MaxPooling2D((4, 4))))              # (20,4,4,32)
    model.add(TimeDistributed(layers.Dropout(0.25)))
    model.add(TimeDistributed(
        layers.Conv2D(64, (3, 3), padding="same", activation="relu")))   # (20,4,4,64) 18,496
    model.add(TimeDistributed(layers.MaxPooling2D((2, 2))))              # (20,2,2,64)
    model.add(TimeDistributed(layers.Dropout(0.25)))
    model.add(TimeDistributed(
        layers.Conv2D(64, (3, 3), padding="same", activation="relu")))   # (20,2,2,64) 36,928
    model.add(TimeDistributed(layers.MaxPooling2D((2, 2))))              # (20,1,1,64)
    model.add(TimeDistributed(layers.Flatten()))                         # (20,64)
    model.add(layers.LSTM(32))                                           # (32,)       12,416
    model.add(layers.Dense(num_classes, activation="softmax"))           # 132 for 4 classes
    return model
# fmt: on


def build_model(architecture: str, num_classes: int, fast: bool = True) -> keras.Model:
    """Build 'convlstm' or 'lrcn' for `num_classes` outputs (fast layers unless fast=False)."""
    builders = {"convlstm": build_convlstm, "lrcn": build_lrcn}
    if architecture not in builders:
        raise ModelError(f"Unknown architecture {architecture!r}; choose one of {ARCHITECTURES}.")
    if num_classes < 2:
        raise ModelError("A classifier needs at least two classes; pick two or more.")
    return builders[architecture](num_classes, fast=fast)
