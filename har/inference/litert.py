"""LiteRT behind the Predictor: a model converted once to a .tflite file, run with XNNPACK.

Measured side by side on a 2-core CPU (`python benchmarks/fast_layers.py`), LiteRT
runs one clip 2-3x faster than TensorFlow with har.models.fast_layers, with probabilities
equal to Keras's within `TOLERANCE` (1e-5; 1e-6 measured), and it starts without importing
TensorFlow at all. So a model loaded from the registry is converted on its first load
(TensorFlow is needed then, once), checked against Keras on a probe clip, and cached as
`<registry>/.litert/<sha256 of the .keras file>-<FORMAT>.tflite`: a changed model gets a new
entry, a copied one shares it. Its one output is the probabilities, then the features of the
layer before the last (har.models.tflite.with_features), which har.evaluation.novelty needs.
A model that cannot be converted (a layer with no LiteRT built-in) is remembered as such in
`<sha>-<FORMAT>.failed` and runs on TensorFlow.

`HAR_RUNTIME=tensorflow` turns LiteRT off; `HAR_RUNTIME=litert` makes a failed conversion an
error instead of a fallback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from har.errors import ModelError
from har.models.tflite import TOLERANCE, LiteModel, convert, with_features
from har.utils.files import atomic_path, remove_stale_temps, sha256_file

CACHE = ".litert"
FORMAT = "2"  # 2: probabilities, then features (1, unnamed: probabilities only)


RUNTIMES = ("auto", "litert", "tensorflow")


def runtime_setting() -> str:
    value = os.environ.get("HAR_RUNTIME", "auto").strip().lower() or "auto"
    if value not in RUNTIMES:
        raise ModelError(f"HAR_RUNTIME={value!r} is not one of: {', '.join(RUNTIMES)}.")
    return value


def available() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


class CacheEntry(NamedTuple):
    """Where one exact .keras file's conversion lives: its .tflite, or why it failed."""

    tflite: Path
    failed: Path


def cache_paths(keras_path: str | Path) -> CacheEntry:
    """<sha>-<FORMAT>.tflite and .failed in the model's registry folder's .litert/ (hashes the
    file: get it once per load and pass it on)."""
    folder = Path(keras_path).parent / CACHE
    key = f"{sha256_file(keras_path)[:32]}-{FORMAT}"
    return CacheEntry(folder / f"{key}.tflite", folder / f"{key}.failed")


def load_cached(entry: CacheEntry, input_shape, classes: int) -> LiteModel | None:
    """The cached LiteRT model, if one was made and still fits the card (its output: the
    card's classes, then any features)."""
    if not entry.tflite.is_file():
        return None
    try:
        lite = LiteModel(entry.tflite)
    except (ValueError, RuntimeError):  # a truncated or foreign file: make it again
        return None
    if lite.input_shape != tuple(input_shape) or lite.outputs < classes:
        return None
    return lite


def failed_before(entry: CacheEntry) -> str | None:
    """Why this exact .keras file could not be converted, if a conversion was tried."""
    return entry.failed.read_text(encoding="utf-8").strip() if entry.failed.is_file() else None


def make_cached(entry: CacheEntry, model) -> LiteModel:
    """Convert `model` (loaded from the entry's .keras), check it against Keras, cache it, load it.

    Raises ModelError with the reason if it cannot be converted or predicts differently; the
    reason is remembered so the next load goes straight to TensorFlow.
    """
    target, failed = entry
    probe = np.random.default_rng(0).random((2, *model.input_shape[1:]), dtype=np.float32)
    try:
        data = convert(model, features=True)
        lite = LiteModel(data)
        keras_out = np.asarray(with_features(model)(probe, training=False))
        diff = float(np.max(np.abs(lite(probe) - keras_out)))
        if diff > TOLERANCE:
            raise ModelError(f"LiteRT predicts differently from Keras (by {diff:.2g})")
    except ModelError as exc:
        _write(failed, str(exc).encode())
        raise
    _write(target, data)
    _prune(target.parent)
    return lite


def _write(path: Path, data: bytes) -> None:
    """Best effort: a read-only registry folder just means converting again next time."""
    try:
        path.parent.mkdir(exist_ok=True)
        with atomic_path(path, suffix=".part") as tmp:
            tmp.write_bytes(data)
    except OSError:
        pass


def _prune(folder: Path) -> None:
    """Remove entries whose .keras file is gone or changed (a model overwritten by a retrain),
    and those of another FORMAT."""
    remove_stale_temps(folder)
    live = {sha256_file(p)[:32] for p in folder.parent.glob("*.keras")}
    for entry in list(folder.glob("*.tflite")) + list(folder.glob("*.failed")):
        stale = entry.name[:32] not in live or entry.stem != f"{entry.name[:32]}-{FORMAT}"
        if not entry.name.startswith(".") and stale:
            entry.unlink(missing_ok=True)
