"""Explain: where in a video an action happens, and why each model answered as it did.

Four views, for every model side by side: a timeline of predictions over sliding windows
of a long video (decoded once, streaming), which of a clip's frames mattered (occlusion),
which pixels mattered (Grad-CAM, or gradient x input where Grad-CAM does not fit), and
what-if variants of a clip that show whether a model uses motion or only appearance.
Every prediction goes through `har.inference.Predictor`; TensorFlow is imported lazily.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from har.errors import HarError, VideoError
from har.progress import Progress, reporting
from har.video import _capture, _header, check_video_file, count_packets, sample_indices

DEFAULT_WINDOW_SECONDS = 2.5  # about one action cycle of a UCF50 clip
DEFAULT_FPS = 25.0  # assumed when the file does not say, as har.video does
BATCH_WINDOWS = 32  # windows per predict_batch call
OCCLUSION_REPLACEMENT = "mean frame"  # what an occluded frame is replaced by
WHATIF_VARIANTS = ("original", "reversed", "shuffled", "still", "mirrored", "slowed")
WHATIF_NOTE = (
    "A large change from the original when the frames are reversed, shuffled or frozen "
    "(still) means the model uses the order and motion of the frames; a small change means "
    "it answers mostly from appearance (what is in a frame, not how it moves). Mirrored "
    "should change little for a model that learned the action rather than its direction; "
    "slowed tests whether it depends on the action's speed."
)


# ---------------------------------------------------------------- timeline


def window_bounds(frame_count: int, window: int, stride: int) -> list[tuple[int, int]]:
    """[start, stop) source frames of each window: full windows every `stride` frames, then
    one last partial window (start on the stride grid, stop at the end) if frames are left.

    A video shorter than one window is one window of the whole video.
    """
    if frame_count <= 0:
        raise VideoError("The video has no frames to slide a window over.")
    if window < 1 or stride < 1:
        raise HarError("The window and the stride must each be at least one frame.")
    if frame_count <= window:
        return [(0, frame_count)]
    bounds = [(s, s + window) for s in range(0, frame_count - window + 1, stride)]
    last_start = bounds[-1][0] + stride
    if bounds[-1][1] < frame_count and last_start < frame_count:
        bounds.append((last_start, frame_count))
    return bounds


def window_frames(
    fps: float, window: float, stride: float | None = None, unit: str = "seconds"
) -> tuple[int, int]:
    """(window, stride) in frames from seconds (or frames); the stride defaults to half."""
    if unit not in ("seconds", "frames"):
        raise HarError(f"Window unit must be 'seconds' or 'frames', not {unit!r}.")
    stride = window / 2 if stride is None else stride
    for value, what in ((window, "window"), (stride, "stride")):
        if not (math.isfinite(value) and value > 0):
            raise HarError(f"The {what} must be a positive number, not {value}.")
    rate = fps if fps > 0 else DEFAULT_FPS
    scale = rate if unit == "seconds" else 1.0
    return max(1, round(window * scale)), max(1, round(stride * scale))


@dataclass
class Timeline:
    """Every model's class probabilities on every window of one video."""

    source: str
    fps: float  # as the file says; 0.0 when unknown (25 assumed for seconds)
    frame_count: int  # decoded
    window: int  # frames per full window
    stride: int  # frames between window starts
    bounds: list[tuple[int, int]]  # [start, stop) source frames of each window
    class_names: dict[str, list[str]]  # model -> its classes
    probabilities: dict[str, np.ndarray]  # model -> (windows, classes)
    decode_seconds: float  # decoding, colour conversion and resizing (not the models)
    model_seconds: dict[str, float]  # model -> seconds in predict_batch
    specs: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # model -> sampling
    clips: dict[tuple[int, int, int], np.ndarray] | None = None  # sampling -> (windows, T,H,W,3)
    peak_frames: int = 0  # most resized frames held at once while decoding (memory bound)

    @property
    def rate(self) -> float:
        return self.fps if self.fps > 0 else DEFAULT_FPS

    @property
    def duration(self) -> float:
        return self.frame_count / self.rate

    @property
    def starts(self) -> list[float]:
        return [s / self.rate for s, _ in self.bounds]

    @property
    def ends(self) -> list[float]:
        return [e / self.rate for _, e in self.bounds]

    @property
    def centres(self) -> list[float]:
        return [(s + e) / 2 / self.rate for s, e in self.bounds]

    def top_classes(self, model: str) -> list[str]:
        names = self.class_names[model]
        return [names[i] for i in np.argmax(self.probabilities[model], axis=1)]

    def confidences(self, model: str) -> list[float]:
        return [float(v) for v in np.max(self.probabilities[model], axis=1)]

    def agreement(self) -> list[bool]:
        """Per window: do all models name the same top class?"""
        tops = [self.top_classes(m) for m in self.probabilities]
        return [len(set(column)) <= 1 for column in zip(*tops, strict=True)] if tops else []

    def window_indices(self, k: int, frames: int) -> list[int]:
        """The source frames window k sampled for a model of `frames` frames."""
        start, stop = self.bounds[k]
        return [start + i for i in sample_indices(stop - start, frames)]

    def to_dict(self) -> dict:
        """JSON-safe: seconds, per window each model's top class, confidence, probabilities."""
        agree = self.agreement()
        tops = {m: self.top_classes(m) for m in self.probabilities}
        return {
            "video": self.source,
            "fps": round(self.fps, 3),
            "frame_count": self.frame_count,
            "duration_seconds": round(self.duration, 3),
            "window_frames": self.window,
            "stride_frames": self.stride,
            "window_seconds": round(self.window / self.rate, 3),
            "stride_seconds": round(self.stride / self.rate, 3),
            "decode_seconds": round(self.decode_seconds, 4),
            "peak_frames_held": self.peak_frames,
            "model_seconds": {m: round(s, 4) for m, s in self.model_seconds.items()},
            "models": {m: list(c) for m, c in self.class_names.items()},
            "windows": [
                {
                    "index": k,
                    "start_frame": start,
                    "stop_frame": stop,
                    "start_seconds": round(start / self.rate, 3),
                    "end_seconds": round(stop / self.rate, 3),
                    "partial": stop - start < self.window and len(self.bounds) > 1,
                    "agree": agree[k],
                    "predictions": {
                        m: {
                            "top_class": tops[m][k],
                            "confidence": round(float(p[k].max()), 6),
                            "probabilities": {
                                c: round(float(v), 6)
                                for c, v in zip(self.class_names[m], p[k], strict=True)
                            },
                        }
                        for m, p in self.probabilities.items()
                    },
                }
                for k, (start, stop) in enumerate(self.bounds)
            ],
        }

    def rows(self) -> list[dict]:
        """One flat row per window and model (for CSV)."""
        out = []
        for w in self.to_dict()["windows"]:
            for m, p in w["predictions"].items():
                out.append(
                    {
                        "window": w["index"],
                        "start_seconds": w["start_seconds"],
                        "end_seconds": w["end_seconds"],
                        "model": m,
                        "top_class": p["top_class"],
                        "confidence": p["confidence"],
                        "agree": w["agree"],
                        **{f"p_{c}": v for c, v in p["probabilities"].items()},
                    }
                )
        return out


def _open_stream(p: Path) -> cv2.VideoCapture:
    """A capture for one long sequential pass: FFmpeg's own threads (one per core)."""
    return _capture(p, cv2.CAP_PROP_N_THREADS, 0)


def _frame_count(p: Path, info: dict) -> int:
    """Frames in the file: demuxed packets, else the header, else a full grab pass."""
    count = count_packets(p) or info["frame_count"]
    if count > 0:
        return count
    cap = _open_stream(p)
    try:
        while cap.grab():
            count += 1
    finally:
        cap.release()
    return count


def timeline(
    path: str | Path,
    predictors: Mapping | Sequence,
    window: float = DEFAULT_WINDOW_SECONDS,
    stride: float | None = None,
    unit: str = "seconds",
    progress: Progress = False,
    keep_clips: bool = False,
    batch_windows: int = BATCH_WINDOWS,
) -> Timeline:
    """Slide a window over `path`, sample each window the paper's way for every model's
    input spec, and predict all windows in batches; one streaming decode.

    Only the resized frames some window still needs are kept, so memory is bounded by the
    windows in flight, not by the video's length (unless keep_clips keeps every window's
    frames, for showing them).
    """
    models = list(predictors.values()) if isinstance(predictors, Mapping) else list(predictors)
    if not models:
        raise HarError("Pick at least one model for the timeline.")
    p = check_video_file(path)
    cap = _open_stream(p)
    try:
        info = _header(cap)
    finally:
        cap.release()
    hint = _frame_count(p, info)
    if hint == 0:
        raise VideoError(f"{p.name} has no decodable video frames; re-encode it as H.264 MP4.")
    win, hop = window_frames(info["fps"], window, stride, unit)
    settings = dict(progress=progress, keep_clips=keep_clips, batch_windows=batch_windows)
    result = _timeline_pass(p, models, info, hint, win, hop, **settings)
    if result.frame_count != hint:  # the demuxer's count was wrong: redo from the true one
        result = _timeline_pass(p, models, info, result.frame_count, win, hop, **settings)
    if not result.bounds:
        raise VideoError(f"{p.name} decodes differently on each read; re-encode it.")
    result.source = str(path)
    return result


def _timeline_pass(
    p: Path, models, info, count, win, hop, progress, keep_clips, batch_windows
) -> Timeline:
    """One sequential decode; a placeholder with only the true count if `count` was wrong."""
    bounds = window_bounds(count, win, hop)
    samplings = list(dict.fromkeys(m.spec.sampling for m in models))
    # Which (frame, size) each window needs, and the last window that needs each frame.
    needs: list[dict[tuple[int, int, int], list[int]]] = []
    wanted: dict[int, set[tuple[int, int]]] = {}
    last_use: dict[int, int] = {}
    for k, (start, stop) in enumerate(bounds):
        per = {}
        for frames, w, h in samplings:
            idx = [start + i for i in sample_indices(stop - start, frames)]
            per[frames, w, h] = idx
            for i in idx:
                wanted.setdefault(i, set()).add((w, h))
                last_use[i] = k
        needs.append(per)
    release: dict[int, list[int]] = {}
    for i, k in last_use.items():
        release.setdefault(k, []).append(i)
    ready_at = [max(max(idx) for idx in per.values()) for per in needs]  # last frame needed

    probabilities = {m.name: [] for m in models}
    model_seconds = {m.name: 0.0 for m in models}
    pending: dict[tuple[int, int, int], list[np.ndarray]] = {s: [] for s in samplings}
    kept: dict[tuple[int, int, int], list[np.ndarray]] = {s: [] for s in samplings}

    def flush() -> None:
        for model in models:
            clips = pending[model.spec.sampling]
            if clips:
                t0 = time.perf_counter()
                probabilities[model.name].append(model.predict_batch(np.stack(clips)))
                model_seconds[model.name] += time.perf_counter() - t0
        for s in samplings:
            if keep_clips:
                kept[s].extend(pending[s])
            pending[s] = []

    found: dict[tuple[int, tuple[int, int]], np.ndarray] = {}
    next_window = 0
    decoded = peak = 0
    start_time = time.perf_counter()
    cap = _open_stream(p)
    step = max(1, count // 200)
    try:
        with reporting(progress, count, desc="timeline", unit="frame") as advance:
            while cap.grab():
                if decoded in wanted:
                    ok, frame = cap.retrieve()
                    if ok and frame is not None:
                        for size in wanted[decoded]:
                            found[decoded, size] = cv2.resize(
                                frame, size, interpolation=cv2.INTER_AREA
                            )
                while next_window < len(bounds) and ready_at[next_window] <= decoded:
                    for (frames, w, h), idx in needs[next_window].items():
                        missing = [i for i in idx if (i, (w, h)) not in found]
                        if missing:
                            raise VideoError(
                                f"Frame {missing[0]} of {p.name} could not be decoded; "
                                "re-encode it."
                            )
                        bgr = np.stack([found[i, (w, h)] for i in idx])
                        pending[frames, w, h].append(bgr[..., ::-1])  # BGR -> RGB
                    for i in release.get(next_window, []):
                        for size in wanted[i]:
                            found.pop((i, size), None)
                    next_window += 1
                    if len(pending[samplings[0]]) >= batch_windows:
                        flush()
                peak = max(peak, len(found))
                decoded += 1
                if decoded % step == 0 and decoded <= count:
                    advance(step)
            if decoded == count:
                advance(count - count // step * step)
    finally:
        cap.release()
    if decoded != count:  # the count we windowed by was wrong: the caller redoes the pass
        return _recount(p, decoded)
    flush()
    total = time.perf_counter() - start_time
    return Timeline(
        source=str(p),
        fps=info["fps"],
        frame_count=count,
        window=win,
        stride=hop,
        bounds=bounds,
        class_names={m.name: list(m.card.class_names) for m in models},
        probabilities={m.name: np.concatenate(probabilities[m.name]) for m in models},
        decode_seconds=total - sum(model_seconds.values()),
        model_seconds=model_seconds,
        specs={m.name: m.spec.sampling for m in models},
        clips={s: np.stack(v) for s, v in kept.items() if v} if keep_clips else None,
        peak_frames=peak,
    )


def _recount(p: Path, decoded: int) -> Timeline:
    """A placeholder saying only how many frames really decoded."""
    if decoded == 0:
        raise VideoError(f"{p.name} has no decodable video frames; re-encode it as H.264 MP4.")
    return Timeline(str(p), 0.0, decoded, 1, 1, [], {}, {}, 0.0, {})


# ---------------------------------------------------------------- occlusion


def occlusion_variants(pixels: np.ndarray) -> np.ndarray:
    """(T, T, H, W, 3): variant t is the clip with frame t replaced by the clip's mean frame."""
    pixels = np.asarray(pixels)
    mean = pixels.astype(np.float32).mean(axis=0)
    mean = np.round(mean).astype(pixels.dtype) if pixels.dtype == np.uint8 else mean
    variants = np.repeat(pixels[None], len(pixels), axis=0)
    variants[np.arange(len(pixels)), np.arange(len(pixels))] = mean
    return variants


@dataclass
class Occlusion:
    """How much the predicted class's probability drops when each frame is occluded."""

    model: str
    class_name: str
    probability: float  # on the original clip
    drops: np.ndarray  # (T,) probability - probability with frame t occluded
    replacement: str = OCCLUSION_REPLACEMENT

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "class": self.class_name,
            "probability": round(self.probability, 6),
            "replacement": self.replacement,
            "drops": [round(float(d), 6) for d in self.drops],
        }


def occlusion(predictor, pixels: np.ndarray) -> Occlusion:
    """Occlusion for one clip (T, H, W, 3) in the predictor's spec: the original and all T
    occluded variants in one predict_batch call."""
    pixels = np.asarray(pixels)
    batch = np.concatenate([pixels[None], occlusion_variants(pixels)])
    probs = predictor.predict_batch(batch, batch_size=len(batch))
    cls = int(np.argmax(probs[0]))
    return Occlusion(
        model=predictor.name,
        class_name=predictor.card.class_names[cls],
        probability=float(probs[0, cls]),
        drops=(probs[0, cls] - probs[1:, cls]).astype(np.float32),
    )


# ---------------------------------------------------------------- what-if


def whatif_variants(pixels: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """The clip (T, H, W, 3) and its what-if variants, in WHATIF_VARIANTS order.

    shuffled: a seeded permutation that moves at least one frame; still: the middle frame
    T times; slowed: the first half's frames, each repeated, to make T.
    """
    pixels = np.asarray(pixels)
    t = len(pixels)
    order = np.random.default_rng(seed).permutation(t)
    if t > 1 and np.array_equal(order, np.arange(t)):
        order = np.roll(order, 1)
    return {
        "original": pixels,
        "reversed": pixels[::-1],
        "shuffled": pixels[order],
        "still": np.repeat(pixels[t // 2][None], t, axis=0),
        "mirrored": pixels[:, :, ::-1],
        "slowed": pixels[[i * max(t // 2, 1) // t for i in range(t)]],
    }


@dataclass
class WhatIf:
    """One model's probabilities on the original clip and each variant."""

    model: str
    class_names: list[str]
    probabilities: dict[str, np.ndarray]  # variant -> (classes,)

    @property
    def original_class(self) -> str:
        return self.class_names[int(np.argmax(self.probabilities["original"]))]

    def change(self, variant: str) -> float:
        """Total variation distance from the original's probabilities (0 same, 1 disjoint)."""
        return float(np.abs(self.probabilities[variant] - self.probabilities["original"]).sum() / 2)

    def rows(self) -> list[dict]:
        cls = int(np.argmax(self.probabilities["original"]))
        return [
            {
                "model": self.model,
                "variant": v,
                "top_class": self.class_names[int(np.argmax(p))],
                "confidence": round(float(p.max()), 6),
                "p_original_class": round(float(p[cls]), 6),
                "change": round(self.change(v), 6),
            }
            for v, p in self.probabilities.items()
        ]

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "original_class": self.original_class,
            "variants": self.rows(),
            "probabilities": {
                v: {c: round(float(x), 6) for c, x in zip(self.class_names, p, strict=True)}
                for v, p in self.probabilities.items()
            },
        }


def whatif(predictor, pixels: np.ndarray, seed: int = 0) -> WhatIf:
    """Probabilities on the clip and its variants: one predict_batch call."""
    variants = whatif_variants(pixels, seed)
    probs = predictor.predict_batch(np.stack(list(variants.values())), batch_size=len(variants))
    return WhatIf(
        model=predictor.name,
        class_names=list(predictor.card.class_names),
        probabilities=dict(zip(variants, probs, strict=True)),
    )


# ---------------------------------------------------------------- saliency


def gradcam_layer(model):
    """The last layer Grad-CAM fits: a TimeDistributed Conv2D, or a ConvLSTM2D returning
    sequences, whose output is per-frame maps (B, T, h, w, C); None when there is none."""
    import keras

    for layer in reversed(_flat_layers(model)):
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


def _flat_layers(model) -> list:
    return list(model.layers)


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


_SALIENCY_FNS: dict[int, tuple] = {}  # id(model) -> (model, compiled fn, layer, method)
_SALIENCY_CACHE = 8


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
    layers = _flat_layers(model)
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
    from har.tfquiet import import_tensorflow

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
    big = cv2.resize(np.asarray(frame, np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    heat = cv2.resize(np.asarray(heat, np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap(np.uint8(np.clip(heat, 0, 1) * 255), cv2.COLORMAP_JET)[..., ::-1]
    return cv2.addWeighted(big, 1 - alpha, colour, alpha, 0)


def frame_grid(images: Sequence[np.ndarray], columns: int = 10, gap: int = 2) -> np.ndarray:
    """Equal-sized RGB images tiled in rows of `columns`, on white."""
    h, w = images[0].shape[:2]
    rows = -(-len(images) // columns)
    grid = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, np.uint8)
    for k, img in enumerate(images):
        r, c = divmod(k, columns)
        grid[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = img
    return grid


# ---------------------------------------------------------------- all of it, for one clip


@dataclass
class ClipExplanation:
    """Occlusion, what-if and saliency of one clip for one model."""

    model: str
    pixels: np.ndarray  # (T, H, W, 3) RGB uint8: the frames the model saw
    occlusion: Occlusion
    whatif: WhatIf
    saliency: Saliency

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "occlusion": self.occlusion.to_dict(),
            "whatif": self.whatif.to_dict(),
            "saliency": {
                "method": self.saliency.method,
                "layer": self.saliency.layer,
                "class": self.saliency.class_name,
                "frame_weights": [round(float(w), 6) for w in self.saliency.weights],
            },
        }


def explain_clips(predictors: Mapping, clips: Mapping[str, np.ndarray], seed: int = 0) -> dict:
    """model name -> ClipExplanation, for each model's clip (T, H, W, 3) in its own spec."""
    out = {}
    for name, predictor in predictors.items():
        pixels = np.asarray(clips[name])
        out[name] = ClipExplanation(
            model=name,
            pixels=pixels,
            occlusion=occlusion(predictor, pixels),
            whatif=whatif(predictor, pixels, seed),
            saliency=saliency(predictor, pixels),
        )
    return out


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    from har.fsutil import atomic_path

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise VideoError(f"Could not encode {path.name} as PNG.")
    with atomic_path(path) as tmp:
        tmp.write_bytes(encoded.tobytes())
    return path


def _write_csv(path: Path, rows: list[dict]) -> Path:
    import csv
    import io

    from har.fsutil import atomic_path

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [])
    writer.writeheader()
    writer.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def write_explanation(
    explanations: Mapping[str, ClipExplanation],
    out_dir: str | Path,
    source: str = "",
    indices: Mapping[str, Sequence[int]] | None = None,
    size: int = 128,
) -> list[Path]:
    """Write the explanations for a slide: per model a frame grid with saliency overlays
    (PNG), occlusion and what-if as CSV and JSON, and explain.json tying them together."""
    from har.fsutil import write_json

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise HarError(f"--out {out} is a file; give a folder for the explanation files.")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    occlusion_rows, whatif_rows = [], []
    for name, e in explanations.items():
        frames = e.pixels
        written.append(
            _write_png(
                out / f"frames_{_slug(name)}.png",
                frame_grid(
                    [cv2.resize(f, (size, size), interpolation=cv2.INTER_NEAREST) for f in frames]
                ),
            )  # fmt: skip
        )
        written.append(
            _write_png(
                out / f"saliency_{_slug(name)}.png",
                frame_grid(
                    [overlay(f, m, size) for f, m in zip(frames, e.saliency.maps, strict=True)]
                ),
            )
        )
        source_index = list((indices or {}).get(name, range(len(frames))))
        for t, drop in enumerate(e.occlusion.drops):
            occlusion_rows.append(
                {
                    "model": name,
                    "frame": t,
                    "source_frame": source_index[t],
                    "class": e.occlusion.class_name,
                    "probability": round(e.occlusion.probability, 6),
                    "drop": round(float(drop), 6),
                    "replacement": e.occlusion.replacement,
                    "saliency_weight": round(float(e.saliency.weights[t]), 6),
                }
            )
        whatif_rows.extend(e.whatif.rows())
    written.append(_write_csv(out / "occlusion.csv", occlusion_rows))
    written.append(
        write_json(
            out / "occlusion.json",
            {
                "replacement": OCCLUSION_REPLACEMENT,
                "models": [e.occlusion.to_dict() for e in explanations.values()],
            },
        )
    )
    written.append(_write_csv(out / "whatif.csv", whatif_rows))
    written.append(
        write_json(
            out / "whatif.json",
            {"note": WHATIF_NOTE, "models": [e.whatif.to_dict() for e in explanations.values()]},
        )
    )
    summary = {
        "video": source,
        "files": sorted(p.name for p in written) + ["explain.json"],
        "models": [e.to_dict() for e in explanations.values()],
    }
    written.append(write_json(out / "explain.json", summary))
    return written
