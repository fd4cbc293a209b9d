"""Bring your own model: a Keras 2 `.h5` (read by har.models.keras2) into the registry, with a card.

The import finds which of the paper's architectures the file holds, its input (frames, size,
color order), checks the class names against its output, and saves a `.keras` that loads with
`safe_mode=True`, beside a card that says the model was trained outside HAR Studio.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import unicodedata
from pathlib import Path

import numpy as np

from har.config import SEQUENCE_LENGTH, user_models_dir
from har.errors import ModelError
from har.models.card import ModelCard
from har.models.keras2 import load_keras2, read_h5_config
from har.models.registry import MAX_NAME_LENGTH, check_name, install_model
from har.utils.files import sha256_file
from har.utils.versions import library_versions

IMPORTED_NOTE = "imported: trained outside HAR Studio, data and split unknown"


SCALING = "x/255"


COLORS = {"bgr": "BGR", "rgb": "RGB"}


def _kind(layer) -> str:
    from keras import layers

    if isinstance(layer, layers.Wrapper | layers.Bidirectional):
        inner = layer.forward_layer if isinstance(layer, layers.Bidirectional) else layer.layer
        return f"{type(layer).__name__}({type(inner).__name__})"
    return type(layer).__name__


def layer_table(model) -> list[dict]:
    """One row per layer: name, class, output shape, parameters (like model.summary())."""
    return [
        {
            "name": layer.name,
            "class": _kind(layer),
            "output_shape": list(layer.output.shape),
            "params": int(layer.count_params()),
        }
        for layer in model.layers
    ]


def _signature(model) -> list[tuple]:
    """The layer stack ignoring names and input size: classes and their sizes."""
    from keras import layers

    keys = ("filters", "kernel_size", "units", "pool_size", "rate", "activation", "padding")
    rows = []
    for layer in model.layers:
        target = layer.layer if isinstance(layer, layers.TimeDistributed) else layer
        config = target.get_config()
        rows.append((_kind(layer), *(str(config.get(k)) for k in keys)))
    return rows


def detect_architecture(model) -> tuple[str, bool]:
    """('convlstm' | 'lrcn' | 'other', whether the stack is exactly the paper's table)."""
    from har.models.architectures import build_model  # imports Keras

    kinds = [_kind(layer) for layer in model.layers]
    recurrent = any(k in ("LSTM", "GRU") for k in kinds)
    if any(k.startswith("ConvLSTM2D") for k in kinds) and not recurrent:
        architecture = "convlstm"
    elif recurrent and any(k.startswith("TimeDistributed(Conv2D") for k in kinds):
        architecture = "lrcn"
    else:
        return "other", False
    classes = int(model.output_shape[-1])
    paper = build_model(architecture, classes) if classes >= 2 else None
    return architecture, paper is not None and _signature(paper) == _signature(model)


def input_spec(model, source: str = "the model") -> dict:
    """Frames, height, width of a video model's input; ModelError if it is not a clip input."""
    if isinstance(model.input_shape, list):
        raise ModelError(f"{source} has several inputs; HAR Studio imports one-input models.")
    shape = list(model.input_shape)
    if len(shape) != 5:
        raise ModelError(
            f"{source} takes input {tuple(shape[1:])}, which has no time axis; HAR Studio "
            "imports video models taking (frames, height, width, 3)."
        )
    frames, height, width, channels = shape[1:]
    if channels != 3:
        raise ModelError(f"{source} takes {channels} channels per frame; it needs 3 (color).")
    if None in (frames, height, width):
        raise ModelError(
            f"{source} takes input {tuple(shape[1:])} with an unfixed size; re-save it with "
            f"a fixed input_shape, e.g. ({SEQUENCE_LENGTH}, 64, 64, 3)."
        )
    return {"frames": int(frames), "height": int(height), "width": int(width)}


def default_name(h5_path: str | Path, directory: str | Path | None = None) -> str:
    """A registry name from the file name: lower-case, '-' for runs of other characters."""
    ascii_stem = unicodedata.normalize("NFKD", Path(h5_path).stem).encode("ascii", "ignore")
    slug = re.sub(r"[^a-z0-9.]+", "-", ascii_stem.decode().lower())
    slug = re.sub(r"\.{2,}", ".", slug).strip("-.")
    slug = slug or "imported-model"
    for n in range(1, 1000):
        suffix = "" if n == 1 else f"-{n}"
        candidate = slug[: MAX_NAME_LENGTH - len(suffix)].rstrip("-.") + suffix
        try:
            return check_name(candidate, directory)
        except ModelError:
            continue
    raise ModelError(f"No free name like {slug!r}; pass --name.")


def _check_classes(classes) -> list[str]:
    names = [str(c).strip() for c in classes or []]
    if len(names) < 2 or any(not n for n in names):
        raise ModelError("Name the model's classes, two or more, in its training order.")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ModelError(f"Class names must differ; {', '.join(duplicated)} appears twice.")
    return names


def _training_summary(attrs: dict) -> dict:
    """What the file says about its training (Keras version, loss, optimizer); any of it
    malformed is left out, never an error: the card only reports it."""
    summary = {"keras_version": attrs.get("keras_version"), "backend": attrs.get("backend")}
    try:
        training = json.loads(attrs.get("training_config") or "null")
    except (ValueError, RecursionError):
        training = None
    if isinstance(training, dict):
        summary["loss"] = training.get("loss")
        optimizer = training.get("optimizer_config")
        summary["optimizer"] = optimizer.get("class_name") if isinstance(optimizer, dict) else None
    return {k: v for k, v in summary.items() if isinstance(v, str | int | float)}


def _saved_round_trip(model, folder: Path) -> Path:
    """Save as .keras, reload in safe mode with no custom objects, check it predicts the same."""
    import keras

    path = folder / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True, compile=False)
    x = np.random.default_rng(0).random((1, *model.input_shape[1:]), dtype=np.float32)
    a = np.asarray(model(x, training=False))
    b = np.asarray(reloaded(x, training=False))
    if not np.allclose(a, b, atol=1e-6):
        raise ModelError("The converted model predicts differently after saving; report this.")
    return path


def import_legacy(
    h5_path: str | Path,
    classes,
    name: str | None = None,
    color: str = "bgr",
    directory: str | Path | None = None,
) -> ModelCard:
    """Import a Keras 2 .h5 video classifier into the registry as a native .keras with its card.

    Nothing is written unless every check passes. `color` is the frame order it was trained
    on: 'bgr' (OpenCV, the tutorial) or 'rgb'.
    """
    path = Path(h5_path)
    class_names = _check_classes(classes)
    color_key = str(color).lower()
    if color_key not in COLORS:
        raise ModelError(f"Color order {color!r} is not one of: bgr, rgb.")
    directory = Path(directory) if directory is not None else user_models_dir()
    name = check_name(name, directory) if name else None
    _, attrs = read_h5_config(path)
    conversions: list[str] = []
    model = load_keras2(path, conversions)
    spec = input_spec(model, path.name)
    if len(model.output_shape) != 2:
        raise ModelError(
            f"{path.name} outputs shape {tuple(model.output_shape[1:])}, not one score per "
            "class; HAR Studio imports classifiers."
        )
    outputs = int(model.output_shape[-1])
    if outputs != len(class_names):
        raise ModelError(
            f"{path.name} predicts {outputs} classes but {len(class_names)} names were given; "
            f"pass exactly {outputs} class names, in training order."
        )
    architecture, matches_paper = detect_architecture(model)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    notes = IMPORTED_NOTE
    if any("hard_sigmoid" in c for c in conversions):
        notes += "; gate weights rescaled for Keras 3's hard_sigmoid (same predictions)"
    card = ModelCard(
        name=name or default_name(path, directory),
        architecture=architecture,
        class_names=class_names,
        input_shape=[spec["frames"], spec["height"], spec["width"], 3],
        color_order=COLORS[color_key],
        parameters=int(model.count_params()),
        dataset={"kind": "imported", "classes": class_names, "source_file": path.name},
        split={"mode": "unknown"},
        metrics={},
        training=_training_summary(attrs),
        created=now,
        versions=library_versions(),
        synthetic=False,
        notes=notes,
        scaling=SCALING,
        source={
            "file": path.name,
            "sha256": sha256_file(path),
            "imported": now,
            "format": f"Keras {attrs.get('keras_version', '?')} HDF5",
            "matches_paper_table": matches_paper,
            "conversions": conversions,
        },
        layers=layer_table(model),
    )
    with tempfile.TemporaryDirectory(prefix="har-import-") as tmp:
        keras_file = _saved_round_trip(model, Path(tmp))
        try:
            target = install_model(keras_file, card, card.name, directory)
        except OSError as exc:
            raise ModelError(
                f"Cannot save models in {directory} ({exc.strerror or exc}); set HAR_MODELS_DIR "
                "to a folder you can write."
            ) from exc
    card.path = str(target)
    return card
