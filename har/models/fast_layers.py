"""Fast drop-ins for Keras's TimeDistributed and ConvLSTM2D: same weights, same maths.

Keras 3's TimeDistributed calls its layer once per timestep in a Python loop, and its
ConvLSTM2D cell runs 4 input and 4 recurrent convolutions per step. Here TimeDistributed
folds time into the batch (one call on B*T samples) and ConvLSTM2D computes the input
convolution of all steps at once and the 4 gates' recurrent convolutions as one. Variables,
their order, parameter counts and get_config are the stock layers', so weights move both
ways with set_weights, and `to_fast` / `to_stock` convert whole models.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops
from keras.src.backend import rnn as backend_rnn  # what keras.layers.RNN loops with

from har.models.walk import sublayers

# Layers whose training-mode call mixes samples of a batch (batch statistics, moving
# averages): folding time into the batch would change them, so they keep the per-step loop.
_CROSS_SAMPLE_IN_TRAINING = (layers.BatchNormalization,)
# Up to this many gate channels (4 * filters), recurrent dropout's 4 per-gate convolutions
# run as one block-diagonal convolution: 4x the multiply-adds (the zero blocks), but one wide
# convolution vectorises where four narrow ones (4-16 channels) do not. Per layer of the paper's
# ConvLSTM (train step, batch 4, a busy 2-core VM): faster for 4 and 16 filters, mixed for 8,
# slightly slower for 14; about 1.2x over the whole model.
BLOCK_DIAGONAL_MAX_CHANNELS = 64


@keras.saving.register_keras_serializable(package="har")
class TimeDistributed(layers.TimeDistributed):
    """keras.layers.TimeDistributed that runs its layer once on (B*T, ...) instead of T times.

    Exact for any layer that treats samples independently; falls back to the stock loop
    when a mask is passed, an inner axis is dynamic, or (in training) the layer mixes
    samples, e.g. BatchNormalization. Dropout inside draws one mask over all B*T frames:
    the same independent per-element drop as stock, from a different random stream.
    """

    def _folds(self, inputs, training, mask) -> bool:
        if mask is not None or None in tuple(inputs.shape[2:]):
            return False
        noise_shape = getattr(self.layer, "noise_shape", None)
        if noise_shape is not None and noise_shape[0] is not None:
            return False  # a fixed batch size in the noise shape cannot see B*T
        if training:
            inside = [self.layer, *sublayers(self.layer)]
            return not any(isinstance(s, _CROSS_SAMPLE_IN_TRAINING) for s in inside)
        return True

    def call(self, inputs, training=None, mask=None):
        if not self._folds(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        steps = inputs.shape[1] if inputs.shape[1] is not None else ops.shape(inputs)[1]
        kwargs = {"training": training} if self.layer._call_has_training_arg else {}
        outputs = self.layer.call(ops.reshape(inputs, (-1, *inputs.shape[2:])), **kwargs)
        return ops.reshape(outputs, (-1, steps, *outputs.shape[1:]))


@keras.saving.register_keras_serializable(package="har")
class ConvLSTM2D(layers.ConvLSTM2D):
    """keras.layers.ConvLSTM2D with the input convolution batched over time and fused gates.

    The input-to-hidden convolution of all T steps runs as one convolution before the loop,
    each step one recurrent convolution with 4*filters outputs instead of four, and a static
    time axis is unrolled. In training with (recurrent) dropout the gates keep Keras's own 4
    masks (and random stream): per-gate input convolutions, and per-gate recurrent ones or,
    for few filters, one block-diagonal convolution of the 4 masked copies of h.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        if cell.data_format != "channels_last":
            return super().inner_loop(sequences, initial_state, mask, training=training)
        steps = sequences.shape[1] if sequences.shape[1] is not None else ops.shape(sequences)[1]

        def fold(x):  # (B, T, H, W, C) -> (B*T, H, W, C)
            return ops.reshape(x, (-1, *x.shape[2:]))

        if training and 0.0 < cell.dropout < 1.0:
            masks = cell.get_dropout_mask(sequences[:, 0])  # one per gate, shared over time
            kernels = ops.split(cell.kernel, 4, axis=-1)
            gates = [
                cell.input_conv(fold(sequences * m[:, None]), k, None, padding=cell.padding)
                for m, k in zip(masks, kernels, strict=True)
            ]
            projected = ops.concatenate(gates, axis=-1)
        else:
            projected = cell.input_conv(fold(sequences), cell.kernel, None, padding=cell.padding)
        if cell.use_bias:
            projected = projected + cell.bias
        projected = ops.reshape(projected, (-1, steps, *projected.shape[1:]))

        recurrent = self._recurrent_term(initial_state[0], training)

        def step(x_t, states):
            h_tm1, c_tm1 = states
            z_i, z_f, z_c, z_o = ops.split(x_t + recurrent(h_tm1), 4, axis=-1)
            i = cell.recurrent_activation(z_i)
            f = cell.recurrent_activation(z_f)
            c = f * c_tm1 + i * cell.activation(z_c)
            o = cell.recurrent_activation(z_o)
            h = o * cell.activation(c)
            return h, [h, c]

        return backend_rnn(
            step,
            projected,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll or isinstance(sequences.shape[1], int),  # faster than while
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )

    def _recurrent_term(self, h_0, training):
        """h -> the 4 gates' recurrent convolutions of h at once (with Keras's 4 recurrent
        dropout masks when they apply)."""
        cell = self.cell
        if not (training and 0.0 < cell.recurrent_dropout < 1.0):
            return lambda h: cell.recurrent_conv(h, cell.recurrent_kernel)
        masks = cell.get_recurrent_dropout_mask(h_0)  # drawn by RNN.call, shared over time
        f = cell.filters
        if 4 * f <= BLOCK_DIAGONAL_MAX_CHANNELS:
            tiled = ops.tile(cell.recurrent_kernel, (1, 1, 4, 1))  # (kh, kw, 4f, 4f)
            block = tiled * ops.cast(np.kron(np.eye(4), np.ones((f, f))), tiled.dtype)
            stacked = ops.stack(masks, axis=-2)  # (B, H, W, 4, f)

            def block_diagonal(h):  # one convolution of the 4 masked copies of h side by side
                copies = ops.reshape(h[..., None, :] * stacked, (-1, *h.shape[1:-1], 4 * f))
                return cell.recurrent_conv(copies, block)

            return block_diagonal
        kernels = ops.split(cell.recurrent_kernel, 4, axis=-1)

        def per_gate(h):
            gates = [cell.recurrent_conv(h * m, k) for m, k in zip(masks, kernels, strict=True)]
            return ops.concatenate(gates, axis=-1)

        return per_gate


_TO_FAST = {layers.TimeDistributed: TimeDistributed, layers.ConvLSTM2D: ConvLSTM2D}
_TO_STOCK = {fast: stock for stock, fast in _TO_FAST.items()}


def _convert(model: keras.Model, mapping: dict) -> keras.Model:
    def clone(layer):
        cls = mapping.get(type(layer), type(layer))
        return cls.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    # `variables` are the weights plus the dropout seed states, so the copy also draws
    # the same random masks (ConvLSTM2D's recurrent dropout) as the original.
    for source, target in zip(model.variables, copy.variables, strict=True):
        target.assign(source)
    return copy


def to_fast(model: keras.Model) -> keras.Model:
    """A copy of `model` with stock TimeDistributed/ConvLSTM2D swapped for the fast ones."""
    return _convert(model, _TO_FAST)


def to_stock(model: keras.Model) -> keras.Model:
    """A copy of `model` with only stock Keras layers, loadable without har (for export)."""
    return _convert(model, _TO_STOCK)
