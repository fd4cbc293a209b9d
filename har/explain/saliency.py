"""Which pixels mattered: Grad-CAM on the last convolutional layer, or gradient x input."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from har.data.video import enlarge
from har.models.walk import sublayers
from har.utils.quiet import import_tensorflow


def gradcam_layer(model):
    """The last layer Grad-CAM fits: a TimeDistributed Conv2D, or a ConvLSTM2D returning
    sequences, whose output is per-frame maps (B, T, h, w, C); None when there is none."""
    import keras

    for layer in reversed(sublayers(model, recursive=False)):
        fits = (
            isinstance(layer, keras.layers.TimeDistributed)
            and isinstance(layer.layer, keras.layers.Conv2D)
            and layer.layer.data_format == "channels_last"
        ) or (
            isinstance(layer, keras.layers.ConvLSTM2D)
            and layer.return_sequences
            and layer.data_format == "channels_last"
        )
        if fits and len(getattr(layer, "output", np.zeros(0)).shape) == 5:
            return layer
    return None


@dataclass
class Saliency:
    """Per-frame saliency maps of one clip for one model, each in [0, 1]."""

    model: str
    class_name: str
    method: str  # "grad-cam" or "gradient x input"
    layer: str | None  # the layer Grad-CAM used
    maps: np.ndarray  # (T, H, W) float32 in [0, 1], each frame normalised by its own peak
    weights: np.ndarray  # (T,) each frame's peak over the clip's: how much the frame counts

    def describe(self) -> str:
        if self.method == "grad-cam":
            return f"Grad-CAM on layer {self.layer!r} for {self.class_name}"
        return f"gradient x input (no layer fits Grad-CAM) for {self.class_name}"


_SALIENCY_CACHE = 8
_SALIENCY_FNS: dict[int, tuple] = {}  # id(model) -> (model, compiled fn, layer, method)


def _saliency_fn(predictor):
    """A compiled (maps, probabilities) function for the predictor's model, cached."""
    key = id(predictor.model)
    cached = _SALIENCY_FNS.get(key)
    if cached is not None and cached[0] is predictor.model:
        return cached[1], cached[2], cached[3]
    import keras
    import tensorflow as tf

    model = predictor.model  # already on har.layers' fast drop-ins: its gradients trace fast
    layer = gradcam_layer(model)
    layers = sublayers(model, recursive=False)  # called one by one below
    last = layers[-1]
    logits = isinstance(last, keras.layers.Dense) and last.get_config().get("activation") in (
        "softmax",
    )
    sequential = isinstance(model, keras.Sequential)
    sub = None
    if layer is not None and not sequential:
        sub = keras.Model(model.inputs, [layer.output, model.output])
    _, height, width = predictor.spec.frames, predictor.spec.height, predictor.spec.width

    def forward(x):
        """(target layer's activations or None, class scores, probabilities)."""
        if sub is not None:
            acts, probs = sub(x, training=False)
            return acts, tf.math.log(probs + 1e-9), probs
        h, acts, score = x, None, None
        for i, lyr in enumerate(layers):
            if logits and i == len(layers) - 1:
                score = tf.matmul(h, lyr.kernel) + (lyr.bias if lyr.use_bias else 0.0)
                h = tf.nn.softmax(score)
            else:
                h = lyr(h, training=False)
            if lyr is layer:
                acts = h
        return acts, score if score is not None else tf.math.log(h + 1e-9), h

    def compute(x, cls):
        with tf.GradientTape(persistent=False) as tape:
            tape.watch(x)
            acts, score, probs = forward(x)
            # cls < 0: the predicted class
            chosen = tf.where(cls < 0, tf.argmax(probs, axis=1, output_type=tf.int32), cls)
            target = tf.reduce_sum(tf.gather(score, chosen, axis=1, batch_dims=1))
        if layer is not None:
            grads = tape.gradient(target, acts)  # (B, T, h, w, C)
            weights = tf.reduce_mean(grads, axis=(2, 3), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(weights * acts, axis=-1))  # (B, T, h, w)
            shape = tf.shape(cam)
            flat = tf.reshape(cam, (-1, shape[2], shape[3], 1))
            up = tf.image.resize(flat, (height, width), method="bilinear")
            maps = tf.reshape(up, (shape[0], shape[1], height, width))
        else:
            grads = tape.gradient(target, x)
            maps = tf.reduce_sum(tf.abs(grads * x), axis=-1)
        return maps, probs

    fn = tf.function(
        compute,
        input_signature=[
            tf.TensorSpec([None, *predictor.spec.shape], tf.float32),
            tf.TensorSpec([None], tf.int32),
        ],
        autograph=False,
    )
    method = "grad-cam" if layer is not None else "gradient x input"
    while len(_SALIENCY_FNS) >= _SALIENCY_CACHE:  # models reloaded: forget the oldest
        _SALIENCY_FNS.pop(next(iter(_SALIENCY_FNS)))
    _SALIENCY_FNS[key] = (predictor.model, fn, layer, method)
    return fn, layer, method


def saliency(predictor, pixels: np.ndarray, class_index: int | None = None) -> Saliency:
    """Saliency maps (T, H, W) in [0, 1] for a clip (T, H, W, 3) in the predictor's spec,
    for `class_index` (default: the predicted class)."""
    tf = import_tensorflow()  # quietly: a Predictor on LiteRT has not imported it yet
    fn, layer, method = _saliency_fn(predictor)
    x = tf.constant(predictor.spec.to_input(np.asarray(pixels)[None]))
    wanted = -1 if class_index is None else int(class_index)
    maps, probs = fn(x, tf.constant([wanted], tf.int32))
    class_index = int(np.argmax(probs.numpy()[0])) if class_index is None else class_index
    maps = np.nan_to_num(maps.numpy()[0].astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    maps = np.maximum(maps, 0.0)
    peaks = maps.reshape(len(maps), -1).max(axis=1)
    weights = peaks / peaks.max() if peaks.max() > 0 else np.zeros_like(peaks)
    maps = maps / np.where(peaks > 0, peaks, 1.0)[:, None, None]
    return Saliency(
        model=predictor.name,
        class_name=predictor.card.class_names[class_index],
        method=method,
        layer=layer.name if layer is not None else None,
        maps=maps.astype(np.float32),
        weights=weights.astype(np.float32),
    )


def overlay(frame: np.ndarray, heat: np.ndarray, size: int = 128, alpha: float = 0.5) -> np.ndarray:
    """An RGB frame upscaled to size x size with a saliency map (in [0, 1]) drawn over it."""
    big = enlarge(np.asarray(frame, np.uint8), size)
    heat = cv2.resize(np.asarray(heat, np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    color = cv2.applyColorMap(np.uint8(np.clip(heat, 0, 1) * 255), cv2.COLORMAP_JET)[..., ::-1]
    return cv2.addWeighted(big, 1 - alpha, color, alpha, 0)
