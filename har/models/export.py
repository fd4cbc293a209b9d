"""Export a registry model as a TensorFlow SavedModel or TFLite file, beside its card and a README.

TFLite files are har.litert's conversion (the one the Predictor runs): built-in ops only (no
Flex delegate needed on a phone), a batch of 1, the same maths in layers LiteRT has built-ins
for. Every export is checked against Keras.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from har import __version__
from har.errors import ModelError
from har.models.card import ModelCard
from har.models.registry import load_model
from har.models.tflite import TOLERANCE, LiteModel, convert
from har.utils.files import atomic_path, write_json

FORMATS = ("savedmodel", "tflite")


def export_model(
    name_or_path: str | Path, fmt: str = "savedmodel", out_dir: str | Path | None = None
) -> Path:
    """Write the model as `fmt` into `out_dir` with <name>.json and README.md; return its path.

    `out_dir` defaults to ./<name>-<fmt>; SavedModel goes to <out>/saved_model/, TFLite to
    <out>/<name>.tflite.
    """
    if fmt not in FORMATS:
        raise ModelError(f"Export format {fmt!r} is not one of: {', '.join(FORMATS)}.")
    from har.models.fast_layers import to_stock  # imports Keras

    model, card = load_model(name_or_path)
    model = to_stock(model)  # stock Keras layers only: what other tools' loaders know
    out = Path(out_dir) if out_dir is not None else Path.cwd() / f"{card.name}-{fmt}"
    if out.exists() and not out.is_dir():
        raise ModelError(f"{out} is a file; give a folder to export into.")
    try:
        return _export(model, card, fmt, out)
    except OSError as exc:
        reason = exc.strerror or exc
        raise ModelError(f"Cannot write to {out} ({reason}); pick another --out.") from exc


def _export(model, card: ModelCard, fmt: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    probe = np.random.default_rng(0).random((1, *card.input_shape), dtype=np.float32)
    expected = np.asarray(model(probe, training=False))
    if fmt == "savedmodel":
        target = out / "saved_model"
        _write_savedmodel(model, target, probe, expected)
    else:
        target = out / f"{card.name}.tflite"
        _write_tflite(model, target, probe, expected)
    write_json(out / f"{card.name}.json", card.to_dict())
    with atomic_path(out / "README.md") as tmp:
        tmp.write_text(readme(card, fmt, target.name), encoding="utf-8")
    return target


def _check(name: str, got, expected) -> None:
    diff = float(np.max(np.abs(np.asarray(got) - expected)))
    if diff > TOLERANCE:
        raise ModelError(f"The {name} export predicts differently from Keras (by {diff:.2g}).")


def _write_savedmodel(model, target: Path, probe, expected) -> None:
    import tensorflow as tf

    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        shutil.rmtree(tmp)
        model.export(str(tmp), format="tf_saved_model", verbose=False)
        loaded = tf.saved_model.load(str(tmp))  # keep a reference: it owns the variables
        _check("SavedModel", loaded.serve(probe), expected)
        del loaded
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_tflite(model, target: Path, probe, expected) -> None:
    try:
        data = convert(model)
    except ModelError as exc:
        raise ModelError(f"This model cannot be converted to TFLite: {exc}.") from exc
    _check("TFLite", LiteModel(data)(probe), expected)
    with atomic_path(target) as tmp_file:
        tmp_file.write_bytes(data)


def readme(card: ModelCard, fmt: str, artifact: str) -> str:
    """The README written beside an export: what goes in, what comes out, where it came from."""
    frames, height, width, _ = card.input_shape
    batch = "1" if fmt == "tflite" else "N"
    lines = [
        f"# {card.name}",
        "",
        f"A {card.architecture} action classifier exported by HAR Studio {__version__} "
        f"as {'TFLite (built-in ops only)' if fmt == 'tflite' else 'a TensorFlow SavedModel'}: "
        f"`{artifact}`. Its card is `{card.name}.json`.",
        "",
        "## Input",
        "",
        f"float32 tensor ({batch}, {frames}, {height}, {width}, 3): {frames} frames of one video, "
        f"evenly spaced (window = max(frame_count // {frames}, 1), frame i at i * window), "
        f"each resized to {width}x{height} (OpenCV INTER_AREA), channels in "
        f"**{card.color_order}** order, pixels scaled **{card.scaling}**.",
        "",
        "## Output",
        "",
        f"float32 ({batch}, {len(card.class_names)}): class probabilities, in this order:",
        "",
        *[f"{i}. {name}" for i, name in enumerate(card.class_names)],
        "",
        "## Run it",
        "",
        "```python",
    ]
    if fmt == "tflite":
        lines += [
            "import tensorflow as tf  # or ai_edge_litert's Interpreter",
            f'interpreter = tf.lite.Interpreter(model_path="{artifact}")',
            "interpreter.allocate_tensors()",
            'interpreter.set_tensor(interpreter.get_input_details()[0]["index"], clip)',
            "interpreter.invoke()",
            'probabilities = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])',
        ]
    else:
        lines += [
            "import tensorflow as tf",
            f'model = tf.saved_model.load("{artifact}")',
            "probabilities = model.serve(clips)  # also signatures['serving_default']",
        ]
    lines += ["```", ""]
    if card.notes:
        lines += ["## Notes", "", card.notes, ""]
    if card.source:
        lines += [
            "## Source",
            "",
            f"Imported from `{card.source.get('file')}` "
            f"(SHA-256 {card.source.get('sha256')}) on {card.source.get('imported')}.",
            "",
        ]
    return "\n".join(lines)
