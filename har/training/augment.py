"""Augmentation for real footage: one random change per clip, applied alike to all its frames.

A clip is a moment of one video, so every frame gets the same crop, flip and color change;
frames changed independently would add flicker no camera makes and teach the models nothing.
Temporal jitter takes the 20 frames from a denser sample of the video (DENSE_FRAMES evenly
spaced frames) with a random start and stride, so each video yields many clips over training.
Everything is drawn from a stateless seed: the same seed gives the same clip.
At test time nothing here runs: the models see the paper's 20 evenly spaced frames.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import tensorflow as tf

# Frames kept per video for temporal jitter: 4 views at the paper's stride, more at shorter ones.
DENSE_FRAMES = 80


@dataclass(frozen=True)
class Augmentation:
    """How much each clip may change; ranges are (low, high) and drawn uniformly."""

    min_stride_fraction: float = 0.75  # the 20 frames span at least this much of the video
    crop_area: tuple[float, float] = (0.55, 1.0)  # random resized crop: share of the frame
    crop_aspect: tuple[float, float] = (3 / 4, 4 / 3)
    flip: bool = True  # mirror left-right (none of the actions has a side)
    brightness: float = 0.15  # +- added to [0, 1] pixels
    contrast: tuple[float, float] = (0.7, 1.3)
    saturation: tuple[float, float] = (0.6, 1.4)
    grayscale: float = 0.0  # probability the clip loses its color (old and stage footage)
    erase: float = 0.0  # probability of one blanked box, the same in every frame
    erase_area: tuple[float, float] = (0.05, 0.25)

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT_AUGMENTATION = Augmentation()


def view_indices(dense: int, n: int, seed, min_stride_fraction: float) -> tf.Tensor:
    """n indices into `dense` frames: a random stride (full span down to the fraction) and start."""
    max_stride = max(dense // n, 1)
    min_stride = max(1, min(max_stride, math.floor(max_stride * min_stride_fraction)))
    seeds = tf.random.experimental.stateless_split(seed, 2)
    stride = tf.random.stateless_uniform(
        [], seeds[0], minval=min_stride, maxval=max_stride + 1, dtype=tf.int32
    )
    last_start = tf.maximum(dense - 1 - (n - 1) * stride, 0)
    start = tf.random.stateless_uniform(
        [], seeds[1], minval=0, maxval=last_start + 1, dtype=tf.int32
    )
    return tf.minimum(start + tf.range(n) * stride, dense - 1)


def augment_clip(frames: tf.Tensor, seed, spec: Augmentation) -> tf.Tensor:
    """float32 frames (T, H, W, 3) in [0, 1] -> the same clip, cropped, flipped and recolored.

    One draw per clip: every frame gets the same crop box, flip and color change.
    """
    t, h, w = frames.shape[0], frames.shape[1], frames.shape[2]
    s = tf.random.experimental.stateless_split(seed, 8)
    area = tf.random.stateless_uniform([], s[0], *spec.crop_area)
    log_aspect = tf.random.stateless_uniform(
        [], s[1], math.log(spec.crop_aspect[0]), math.log(spec.crop_aspect[1])
    )
    aspect = tf.exp(log_aspect)
    box_h = tf.minimum(tf.sqrt(area / aspect), 1.0)
    box_w = tf.minimum(tf.sqrt(area * aspect), 1.0)
    corner = tf.random.stateless_uniform([2], s[2]) * tf.stack([1.0 - box_h, 1.0 - box_w])
    box = tf.stack([corner[0], corner[1], corner[0] + box_h, corner[1] + box_w])
    out = tf.image.crop_and_resize(
        frames, tf.tile(box[None], [t, 1]), tf.range(t), (h, w), method="bilinear"
    )
    if spec.flip:
        flip = tf.random.stateless_uniform([], s[3]) < 0.5
        out = tf.cond(flip, lambda: tf.reverse(out, axis=[2]), lambda: out)
    color = tf.random.stateless_uniform([3], s[4])
    brightness = (color[0] * 2.0 - 1.0) * spec.brightness
    contrast = spec.contrast[0] + color[1] * (spec.contrast[1] - spec.contrast[0])
    saturation = spec.saturation[0] + color[2] * (spec.saturation[1] - spec.saturation[0])
    grey = tf.reduce_mean(out, axis=-1, keepdims=True)
    out = grey + (out - grey) * saturation
    mean = tf.reduce_mean(out)  # the clip's mean: one contrast change for all frames
    out = (out - mean) * contrast + mean + brightness
    if spec.grayscale > 0:
        grey = tf.reduce_mean(out, axis=-1, keepdims=True)
        out = tf.cond(
            tf.random.stateless_uniform([], s[5]) < spec.grayscale,
            lambda: tf.broadcast_to(grey, tf.shape(out)),
            lambda: out,
        )
    if spec.erase > 0:
        out = _erase(out, s[6], spec)
    return tf.clip_by_value(out, 0.0, 1.0)


def _erase(clip: tf.Tensor, seed, spec: Augmentation) -> tf.Tensor:
    """With probability spec.erase, one box (the same in every frame) set to the clip's mean."""
    h, w = clip.shape[1], clip.shape[2]
    u = tf.random.stateless_uniform([5], seed)
    area = spec.erase_area[0] + u[0] * (spec.erase_area[1] - spec.erase_area[0])
    box_h = tf.cast(tf.round(tf.sqrt(area) * h), tf.int32)
    box_w = tf.cast(tf.round(tf.sqrt(area) * w), tf.int32)
    top = tf.cast(u[1] * tf.cast(h - box_h, tf.float32), tf.int32)
    left = tf.cast(u[2] * tf.cast(w - box_w, tf.float32), tf.int32)
    rows = tf.logical_and(tf.range(h) >= top, tf.range(h) < top + box_h)
    cols = tf.logical_and(tf.range(w) >= left, tf.range(w) < left + box_w)
    inside = tf.logical_and(rows[:, None], cols[None, :])[None, :, :, None]
    inside = tf.logical_and(inside, u[3] < spec.erase)
    return tf.where(inside, tf.reduce_mean(clip), clip)


def mixup(clips: tf.Tensor, labels: tf.Tensor, seed, alpha: float):
    """Blend each clip of a batch with another one of the batch (and their one-hot labels), by
    a weight from Beta(alpha, alpha) folded to at least 1/2, so every clip stays mostly itself."""
    n = tf.shape(clips)[0]
    s = tf.random.experimental.stateless_split(seed, 2)
    a = tf.random.stateless_gamma([n], s[0], alpha)
    b = tf.random.stateless_gamma([n], s[1], alpha)
    weight = a / (a + b)
    weight = tf.maximum(weight, 1.0 - weight)
    partner = tf.roll(tf.range(n), shift=1, axis=0)
    w_clip = tf.reshape(weight, [-1, 1, 1, 1, 1])
    w_label = tf.reshape(weight, [-1, 1])
    mixed = w_clip * clips + (1.0 - w_clip) * tf.gather(clips, partner)
    return mixed, w_label * labels + (1.0 - w_label) * tf.gather(labels, partner)


def training_clip(dense_frames: tf.Tensor, seed, n: int, spec: Augmentation) -> tf.Tensor:
    """A random n-frame view of a video's dense uint8 frames, augmented; float32 in [0, 1]."""
    s = tf.random.experimental.stateless_split(seed, 2)
    idx = view_indices(dense_frames.shape[0], n, s[0], spec.min_stride_fraction)
    frames = tf.cast(tf.gather(dense_frames, idx), tf.float32) / 255.0
    return augment_clip(frames, s[1], spec)
