"""A model's layers as a table and a drawing, read from its .keras file without TensorFlow.

The home page draws each shipped model at a glance (Graphviz DOT, which st.graphviz_chart
renders without an extra install); reading the archive's config.json and weight shapes
takes milliseconds, where loading the model would import TensorFlow.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from har.errors import ModelError


@dataclass(frozen=True)
class LayerRow:
    """One layer as the paper's tables list it."""

    name: str
    kind: str  # "Conv2D", "ConvLSTM2D", ...; "TimeDistributed(Conv2D)" prints as "Conv2D"
    detail: str  # the settings that matter: "16 filters 3x3, tanh"
    per_frame: bool  # applied to every frame alone (TimeDistributed)
    output_shape: tuple  # without the batch axis
    params: int


def _detail(cls: str, cfg: dict) -> str:
    parts = []
    if "filters" in cfg:
        kernel = "x".join(str(k) for k in cfg.get("kernel_size", ()))
        parts.append(f"{cfg['filters']} filters {kernel}".strip())
    if "units" in cfg:
        parts.append(f"{cfg['units']} units")
    if "pool_size" in cfg:
        parts.append("pool " + "x".join(str(k) for k in cfg["pool_size"]))
    if "rate" in cfg:
        parts.append(f"drop {cfg['rate']:.0%}")
    if cfg.get("activation") not in (None, "linear"):
        parts.append(str(cfg["activation"]))
    return ", ".join(parts)


def snake_case(name: str) -> str:
    """Keras's own rule for a layer class's name in the weights file (ConvLSTM2D:
    conv_lstm2d), numbered per class in layer order (dense, dense_1, ...)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _params(weights: zipfile.ZipFile) -> dict[str, int]:
    """Weights per layer key of model.weights.h5 (snake_case names), from dataset shapes."""
    counts: dict[str, int] = {}
    with weights.open("model.weights.h5") as raw, h5py.File(raw, "r") as h5:
        layers = h5.get("layers")
        if layers is None:
            return counts
        for name, group in layers.items():
            total = 0

            def add(_path, obj):
                nonlocal total
                if isinstance(obj, h5py.Dataset):
                    total += int(np.prod(obj.shape))

            group.visititems(add)
            counts[name] = total
    return counts


def layer_rows(path: str | Path) -> list[LayerRow]:
    """The layers of a .keras file in order, with output shapes and parameter counts."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            params = _params(archive)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelError(f"Could not read the layers of {Path(path).name}: {exc}") from exc
    layers = config.get("config", {}).get("layers", [])
    shape = input_shape_of(layers)
    seen: dict[str, int] = {}
    rows = []
    for layer in layers:
        cls, cfg = layer["class_name"], layer["config"]
        if cls == "InputLayer":
            continue
        key = snake_case(cls)
        count = seen.get(key, 0)
        seen[key] = count + 1
        weights_key = key if count == 0 else f"{key}_{count}"
        per_frame = cls == "TimeDistributed"
        inner_cls, inner = (
            (cfg["layer"]["class_name"], cfg["layer"]["config"])
            if per_frame
            else (
                cls,
                cfg,
            )
        )
        if per_frame and shape:
            shape = (shape[0], *output_shape(inner_cls, inner, shape[1:]))
        elif shape:
            shape = output_shape(inner_cls, inner, shape)
        rows.append(
            LayerRow(
                name=cfg["name"],
                kind=inner_cls,
                detail=_detail(inner_cls, inner),
                per_frame=per_frame,
                output_shape=tuple(shape),
                params=params.get(weights_key, 0),
            )
        )
    return rows


def output_shape(cls: str, cfg: dict, shape: tuple) -> tuple:
    """A layer's output shape (no batch axis) from its input's, for the layers the paper's
    models use; other layers are assumed to keep the shape."""
    if cls in ("Conv2D", "ConvLSTM2D", "MaxPooling2D", "MaxPooling3D"):
        pooling = cls.startswith("MaxPooling")
        window = list(cfg.get("pool_size") if pooling else cfg.get("kernel_size"))
        strides = list(cfg.get("strides") or window)
        spatial_from = len(shape) - 1 - len(window)  # the axes the window slides over
        out = list(shape)
        for axis, (k, st) in enumerate(zip(window, strides, strict=True)):
            d = shape[spatial_from + axis]
            if cfg.get("padding") == "same":
                out[spatial_from + axis] = math.ceil(d / st)
            else:
                out[spatial_from + axis] = (d - k) // st + 1
        if not pooling:
            out[-1] = cfg["filters"]
        if cls == "ConvLSTM2D" and not cfg.get("return_sequences", False):
            out = out[1:]
        return tuple(out)
    if cls == "Flatten":
        return (math.prod(shape),)
    if cls in ("LSTM", "GRU", "SimpleRNN"):
        return (shape[0], cfg["units"]) if cfg.get("return_sequences") else (cfg["units"],)
    if cls == "Dense":
        return (*shape[:-1], cfg["units"])
    return tuple(shape)


def input_shape_of(layers: list[dict]) -> tuple:
    """The model's input (frames, height, width, channels) from its config's layers."""
    for layer in layers:
        cfg = layer["config"]
        if layer["class_name"] == "InputLayer":
            shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
        else:
            shape = (layer.get("build_config") or {}).get("input_shape")
        if shape:
            return tuple(shape[1:])
    return ()


def input_shape(path: str | Path) -> tuple:
    """The input (frames, height, width, channels) of a .keras file."""
    with zipfile.ZipFile(path) as archive:
        return input_shape_of(json.loads(archive.read("config.json"))["config"]["layers"])


def _shape(shape: tuple) -> str:
    return "x".join(str(s) for s in shape)


def layer_lines(rows: list[LayerRow]) -> list[str]:
    """The drawing in words (its text alternative), one line per layer."""
    return [
        f"{r.kind}{' per frame' if r.per_frame else ''}"
        f"{f' ({r.detail})' if r.detail else ''}: out {_shape(r.output_shape)}, {r.params:,} "
        "parameters"
        for r in rows
    ]


def layer_graph(rows: list[LayerRow], input_shape: tuple = ()) -> str:
    """Graphviz DOT: the input, then each layer top to bottom; per-frame layers in one box
    (they run on each of the frames alone), dropout drawn light (it only acts in training)."""

    def quote(text: str) -> str:  # a DOT string; a newline becomes DOT's line break
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'

    lines = [
        "digraph model {",
        "  rankdir=TB; nodesep=0.2; ranksep=0.18;",
        '  node [shape=box, style="rounded,filled", fillcolor="#eaf2fb", color="#1f6fb4", '
        'fontname="Helvetica", fontsize=11, margin="0.12,0.04"];',
        '  edge [color="#555555", arrowsize=0.6];',
    ]
    first = (
        f"input: {input_shape[0]} frames of {_shape(input_shape[1:])}" if input_shape else "input"
    )
    lines.append(f'  n0 [label={quote(first)}, fillcolor="#ffffff"];')
    frame_nodes = []
    for i, r in enumerate(rows, start=1):
        label = f"{r.kind}" + (f" · {r.detail}" if r.detail else "")
        label += f"\n→ {_shape(r.output_shape)} · {r.params:,} params"
        style = (
            ', fillcolor="#f4f4f4", color="#999999", fontcolor="#555555"'
            if (r.kind == "Dropout")
            else ""
        )
        lines.append(f"  n{i} [label={quote(label)}{style}];")
        if r.per_frame:
            frame_nodes.append(f"n{i}")
    if frame_nodes:
        lines.append("  subgraph cluster_frames {")
        lines.append(
            '    label="on each frame alone"; style="dashed"; color="#888888"; fontsize=10;'
        )
        lines.append("    " + "; ".join(frame_nodes) + ";")
        lines.append("  }")
    lines.append("  " + " -> ".join(f"n{i}" for i in range(len(rows) + 1)) + ";")
    lines.append("}")
    return "\n".join(lines)
