"""The `har` command's arguments: every subcommand, its options and their checks."""

from __future__ import annotations

import argparse
from pathlib import Path

from har import __version__
from har.cli.commands import (
    cmd_calibrate,
    cmd_evaluate,
    cmd_explain,
    cmd_export,
    cmd_frames,
    cmd_import,
    cmd_models,
    cmd_predict,
    cmd_synth,
    cmd_timeline,
    cmd_train,
)
from har.cli.runs import add_parser as add_runs_parser
from har.config import PAPER_CLASSES
from har.training.recipe import DEFAULT_RECIPE, MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED, RECIPES
from har.training.tries import MAX_TRIES


def count(low: int, high: int):
    """An argparse type: a whole number in [low, high], or a usage error (exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, not {value}")
        return value

    return parse


def model_name(text: str) -> str:
    """An argparse type: a model name or path, not empty and not a bare folder like '/'."""
    stripped = text.strip()
    if not stripped or not Path(stripped).name or Path(stripped).name in (".", ".."):
        raise argparse.ArgumentTypeError(
            f"{text!r} names no model (must not be empty); `har models` lists them"
        )
    return stripped


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 10:
        raise argparse.ArgumentTypeError(f"must be above 0 and below 10, not {value}")
    return value


def add_models_option(p) -> None:
    """--model NAME (repeatable): the models to run; the same on predict, timeline, explain."""
    p.add_argument(
        "--model",
        action="append",
        dest="models",
        type=model_name,
        metavar="NAME",
        help="model name or .keras path (repeatable; default: the real pair lrcn-ucf6 and "
        "convlstm-ucf6, or the synthetic pair for a built-in sample)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="har", description="Human action recognition with the paper's ConvLSTM and LRCN."
    )
    parser.add_argument("--version", action="version", version=f"har {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("predict", help="predict the action in a video with one or more models")
    p.add_argument("video", type=Path)
    add_models_option(p)
    p.add_argument(
        "--top", type=count(1, 10_000), default=3, help="how many classes to print per model"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--out",
        type=Path,
        help="archive mode (also for a folder or a quoted glob): one row per video appended "
        "to this .csv or .jsonl; a rerun skips the videos already in it",
    )
    p.add_argument("--decoders", type=count(1, 256), help="decoder processes (default: cores)")
    p.add_argument("--batch", type=count(1, 1024), default=16, help="clips per model call")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("timeline", help="predict over sliding windows of a long video")
    p.add_argument("video", type=Path)
    p.add_argument(
        "--window", type=span, default=(2.5, "seconds"), help="seconds, or frames as 60f (2.5)"
    )
    p.add_argument("--stride", type=span, help="seconds, or frames as 30f (half the window)")
    add_models_option(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON")
    out.add_argument("--csv", action="store_true", help="print CSV, one row per window and model")
    p.set_defaults(func=cmd_timeline)

    p = sub.add_parser("explain", help="occlusion, saliency and what-if files for a video")
    p.add_argument("video", type=Path)
    add_models_option(p)
    p.add_argument("--out", type=Path, required=True, help="folder for the PNG, CSV and JSON files")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("train", help="train a model on a UCF50-shaped folder")
    p.add_argument("--data", type=Path, required=True, help="UCF50-shaped folder")
    p.add_argument(
        "--classes",
        nargs="+",
        metavar="CLASS",
        help=f"class subset (default: all; the paper used {' '.join(PAPER_CLASSES)})",
    )
    p.add_argument("--model", choices=["convlstm", "lrcn"], required=True, dest="architecture")
    p.add_argument(
        "--split",
        choices=["group", "random"],
        default="group",
        help="group: whole groups held out (honest, default); random: the paper's",
    )
    p.add_argument(
        "--recipe",
        choices=list(RECIPES),
        default=DEFAULT_RECIPE,
        help="augment (default): temporal jitter, crop/flip/color per clip, AdamW, label "
        "smoothing; paper: the paper's Adam without augmentation",
    )
    p.add_argument(
        "--epochs", type=count(1, MAX_EPOCHS), help="maximum epochs (default: the recipe's)"
    )
    p.add_argument(
        "--batch-size", type=count(1, MAX_BATCH_SIZE), default=4, help="default 4, as the paper"
    )
    p.add_argument("--learning-rate", type=positive_float, default=1e-3)
    p.add_argument(
        "--patience",
        type=count(0, MAX_EPOCHS),
        help="early-stopping patience (default: the recipe's)",
    )
    p.add_argument("--seed", type=count(0, MAX_SEED), default=27)
    p.add_argument(
        "--tries",
        type=count(1, MAX_TRIES),
        default=1,
        help="train with N seeds (--seed, --seed+1, ...; the split stays --seed's) and keep "
        "the run with the lowest validation loss; N times the time (default 1)",
    )
    p.add_argument("--name", help="registry name (default: <model>-<folder>)")
    p.add_argument("--out", type=Path, help="folder to save into (default: user models folder)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model")
    p.add_argument("--strict", action="store_true", help="fail on any unusable file")
    p.add_argument(
        "--workers", type=count(1, 256), help="frame-extraction workers (default: all cores)"
    )
    p.add_argument(
        "--strategy",
        choices=["default", "mirrored", "multiworker"],
        default="default",
        help="tf.distribute: mirrored (local GPUs), multiworker (TF_CONFIG); docs/distributed.md",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="test-split metrics of a model on a UCF50-shaped folder")
    p.add_argument("--model", required=True, dest="model_name", type=model_name, metavar="NAME")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument(
        "--split", choices=["group", "random"], help="default: the split the model was trained with"
    )
    p.add_argument(
        "--seed", type=count(0, MAX_SEED), help="default: the seed the model was trained with"
    )
    p.add_argument("--strict", action="store_true", help="fail on any unusable file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "calibrate",
        help="fit a model's confidence (temperature, uncertainty threshold; for an LRCN the "
        "distance limit to its training clips) on a folder's split and store it on its card",
    )
    p.add_argument("--model", required=True, dest="model_name", type=model_name, metavar="NAME")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument(
        "--split", choices=["group", "random"], help="default: the split the model was trained with"
    )
    p.add_argument(
        "--seed", type=count(0, MAX_SEED), help="default: the seed the model was trained with"
    )
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("models", help="list the models in the registry with their cards")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("frames", help="write the 20 frames the models see as images")
    p.add_argument("video", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--format", choices=["png", "jpg"], default="png")
    p.set_defaults(func=cmd_frames)

    p = sub.add_parser("synth", help="generate a UCF50-shaped synthetic action dataset")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--classes", nargs="+", metavar="CLASS", help="default: every synthetic class")
    p.add_argument("--groups", type=count(1, 99), default=25)
    p.add_argument("--clips-per-group", type=count(1, 99), default=4)
    p.add_argument("--difficulty", choices=["easy", "default", "hard"], default="default")
    p.add_argument("--seed", type=count(0, MAX_SEED), default=0)
    p.add_argument("--workers", type=count(1, 256))
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("import", help="import a Keras 2 .h5 model (e.g. the tutorial's) as native")
    p.add_argument("h5", type=Path, metavar="MODEL.h5")
    p.add_argument(
        "--classes", nargs="+", required=True, metavar="CLASS", help="class names, training order"
    )
    p.add_argument("--name", help="registry name (default: a slug of the file name)")
    p.add_argument(
        "--color",
        choices=["bgr", "rgb"],
        default="bgr",
        help="frame color order it was trained on (default bgr: OpenCV, the tutorial)",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export a model as a SavedModel or TFLite, with its card")
    p.add_argument("model_name", metavar="NAME", type=model_name, help="model name or .keras path")
    p.add_argument("--format", choices=["savedmodel", "tflite"], default="savedmodel", dest="fmt")
    p.add_argument("--out", type=Path, help="folder to write into (default: ./NAME-FORMAT)")
    p.set_defaults(func=cmd_export)

    add_runs_parser(sub)
    return parser


def span(text: str) -> tuple[float, str]:
    """An argparse type: seconds (2.5) or frames (60f), positive."""
    unit = "frames" if text.lower().endswith("f") else "seconds"
    try:
        value = float(text[:-1] if unit == "frames" else text.lower().removesuffix("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not seconds (2.5) or frames (60f)") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 3600, not {text}")
    return value, unit
