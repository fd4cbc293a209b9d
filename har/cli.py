"""The `har` command: extract frames, train, evaluate, predict, list models, make synthetic data.

Errors a user can cause print one line and exit 1; bad arguments exit 2 (argparse).
TensorFlow is imported only by the subcommands that need it, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from har import __version__
from har.config import PAPER_CLASSES, SHIPPED_MODELS_DIR
from har.errors import HarError
from har.recipe import MAX_BATCH_SIZE, MAX_EPOCHS
from har.tfquiet import import_tensorflow, quiet_native_logs

EXIT_USER_ERROR = 1


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    quiet_native_logs()
    warnings.showwarning = _one_line_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except HarError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:  # a disk full or a folder that cannot be written, not a bug
        where = f" ({error.filename})" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


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


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 10:
        raise argparse.ArgumentTypeError(f"must be above 0 and below 10, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="har", description="Human action recognition with the paper's ConvLSTM and LRCN."
    )
    parser.add_argument("--version", action="version", version=f"har {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("predict", help="predict the action in a video with one or more models")
    p.add_argument("video", type=Path)
    p.add_argument(
        "--model",
        action="append",
        dest="models",
        metavar="NAME",
        help="model name or .keras path (repeatable; default: every shipped model)",
    )
    p.add_argument("--top", type=int, default=3, help="how many classes to print per model")
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
    p.add_argument(
        "--model", action="append", dest="models", metavar="NAME", help="default: shipped models"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON")
    out.add_argument("--csv", action="store_true", help="print CSV, one row per window and model")
    p.set_defaults(func=cmd_timeline)

    p = sub.add_parser("explain", help="occlusion, saliency and what-if files for a video")
    p.add_argument("video", type=Path)
    p.add_argument(
        "--model", action="append", dest="models", metavar="NAME", help="default: shipped models"
    )
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
        "--epochs", type=count(1, MAX_EPOCHS), help="maximum epochs (default: paper, 50 / 70)"
    )
    p.add_argument(
        "--batch-size", type=count(1, MAX_BATCH_SIZE), default=4, help="default 4, as the paper"
    )
    p.add_argument("--learning-rate", type=positive_float, default=1e-3)
    p.add_argument(
        "--patience", type=count(0, MAX_EPOCHS), help="early-stopping patience (default: 10 / 15)"
    )
    p.add_argument("--seed", type=int, default=27)
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
    p.add_argument("--model", required=True, dest="model_name", metavar="NAME")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument(
        "--split", choices=["group", "random"], help="default: the split the model was trained with"
    )
    p.add_argument("--seed", type=int, help="default: the seed the model was trained with")
    p.add_argument("--strict", action="store_true", help="fail on any unusable file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

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
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=count(1, 256))
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("import", help="import a Keras 2 .h5 model (e.g. the tutorial's) as native")
    p.add_argument("h5", type=Path, metavar="MODEL.h5")
    p.add_argument(
        "--classes", nargs="+", required=True, metavar="CLASS", help="class names, training order"
    )
    p.add_argument("--name", help="registry name (default: a slug of the file name)")
    p.add_argument(
        "--colour",
        choices=["bgr", "rgb"],
        default="bgr",
        help="frame colour order it was trained on (default bgr: OpenCV, the tutorial)",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export a model as a SavedModel or TFLite, with its card")
    p.add_argument("model_name", metavar="NAME", help="model name or .keras path")
    p.add_argument("--format", choices=["savedmodel", "tflite"], default="savedmodel", dest="fmt")
    p.add_argument("--out", type=Path, help="folder to write into (default: ./NAME-FORMAT)")
    p.set_defaults(func=cmd_export)
    return parser


def cmd_predict(args: argparse.Namespace) -> int:
    from har import archive
    from har.fsutil import check_input_file

    many = args.out is not None or archive.is_archive_target(args.video)
    if many:
        videos = archive.plan(args.video, args.out)  # fails in milliseconds too
    else:
        check_input_file(args.video)  # a wrong path fails here, in milliseconds
    from har.registry import list_models
    from har.synthetic.marker import TAG as SYNTHETIC_TAG

    names = args.models or [
        card.name for card in list_models() if (SHIPPED_MODELS_DIR / f"{card.name}.keras").exists()
    ]
    if not names:
        raise HarError("No models found; train one with `har train` or pass --model PATH.")
    # no TensorFlow import here: models cached for LiteRT run without it (har.litert)
    from har.inference import RUNTIME_NAMES, load_predictors, predict_video

    if many:
        return archive.run(videos, load_predictors(names), args.out, args.decoders, args.batch)
    result = predict_video(args.video, load_predictors(names))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    clip = result.clip_for()
    note = f" (padded: fewer than {len(clip.indices)} frames)" if clip.padded else ""
    print(
        f"{args.video}: {clip.frame_count} frames at {clip.fps:.1f} fps, "
        f"sampled {clip.indices[0]}..{clip.indices[-1]}{note}"
    )
    for prediction in result.predictions.values():
        tag = f"  [{SYNTHETIC_TAG}]" if prediction.synthetic else ""
        print(
            f"\n{prediction.model_name} ({prediction.architecture}){tag}, "
            f"{prediction.model_seconds * 1000:.1f} ms on {RUNTIME_NAMES[prediction.runtime]}"
        )
        for cls, prob in prediction.ranked()[: args.top]:
            print(f"  {cls:<20} {prob:6.1%}")
    return 0


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


def _explain_models(models: list[str] | None) -> list[str]:
    """The models asked for, else every shipped one."""
    from har.registry import list_models

    names = models or [
        card.name for card in list_models() if (SHIPPED_MODELS_DIR / f"{card.name}.keras").exists()
    ]
    if not names:
        raise HarError("No models found; train one with `har train` or pass --model PATH.")
    return names


def cmd_timeline(args: argparse.Namespace) -> int:
    from har.fsutil import check_input_file

    check_input_file(args.video)
    (window, unit), stride = args.window, args.stride
    if stride is not None and stride[1] != unit:
        raise HarError("Give --window and --stride in the same unit (both seconds or both frames).")
    names = _explain_models(args.models)
    from har.explain import timeline
    from har.inference import load_predictors

    result = timeline(
        args.video,
        load_predictors(names),
        window=window,
        stride=None if stride is None else stride[0],
        unit=unit,
        progress=True,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    if args.csv:
        import csv

        rows = result.rows()
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return 0
    print(
        f"{args.video}: {result.frame_count} frames, {result.duration:.1f} s; "
        f"{len(result.bounds)} windows of {result.window / result.rate:.2f} s every "
        f"{result.stride / result.rate:.2f} s"
    )
    agree = result.agreement()
    for k, (start, end) in enumerate(zip(result.starts, result.ends, strict=True)):
        answers = "  ".join(
            f"{m}: {result.top_classes(m)[k]} {result.confidences(m)[k]:4.0%}"
            for m in result.probabilities
        )
        mark = "" if len(result.probabilities) < 2 else ("  agree" if agree[k] else "  DIFFER")
        print(f"{start:7.2f}-{end:7.2f} s  {answers}{mark}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from har.fsutil import check_input_file

    check_input_file(args.video)
    if args.out.exists() and not args.out.is_dir():
        raise HarError(f"--out {args.out} is a file; give a folder for the explanation files.")
    names = _explain_models(args.models)
    import_tensorflow()
    from har.explain import explain_clips, write_explanation
    from har.inference import load_predictors, predict_video

    predictors = load_predictors(names)
    result = predict_video(args.video, predictors)
    clips = {n: result.clip_for(n) for n in predictors}
    explanations = explain_clips(predictors, {n: c.pixels for n, c in clips.items()})
    paths = write_explanation(
        explanations, args.out, str(args.video), {n: c.indices for n, c in clips.items()}
    )
    for name, e in explanations.items():
        worst = int(e.occlusion.drops.argmax())
        print(
            f"{name}: {e.occlusion.class_name} {e.occlusion.probability:.0%}; "
            f"{e.saliency.describe()}; frame {worst} matters most "
            f"(-{e.occlusion.drops[worst]:.1%} when occluded)"
        )
    print(f"wrote {len(paths)} files to {args.out}: {', '.join(p.name for p in paths)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from har.recipe import TrainConfig
    from har.registry import check_name, check_writable, slugify

    # Everything a user can get wrong is checked before any frame is extracted.
    config = TrainConfig(
        architecture=args.architecture,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        patience=args.patience,
        seed=args.seed,
    ).validate()
    directory = check_writable(args.out)
    name = check_name(
        args.name or slugify(f"{args.architecture}-{args.data.resolve().name}"),
        directory,
        args.overwrite,
    )
    from har import distribute

    strategy = distribute.make_strategy(args.strategy)  # before TensorFlow's first op
    import_tensorflow()
    from har.pipeline import prepare_data, train_and_evaluate

    data = prepare_data(
        args.data,
        args.classes,
        split_mode=args.split,
        seed=args.seed,
        workers=args.workers,
        strict=args.strict,
        shard=distribute.worker_shard(strategy),
    )
    report_skipped(data)
    print(
        f"{len(data.class_names)} classes, split '{args.split}': "
        f"{len(data.x_train)} train / {len(data.x_val)} val / {len(data.x_test)} test clips"
    )
    if strategy is not None:
        print(distribute.summary(strategy, config.batch_size))
    result, report, card = train_and_evaluate(
        data, config, name, listener=ProgressListener(), strategy=strategy
    )
    distribute.dump_weights(result.model, distribute.worker_shard(strategy))
    if not distribute.is_chief(strategy):
        print(f"\nworker done after {result.epochs_run} epochs; the chief saves the model")
        return 0
    path = save_trained(result.model, card, directory, args.overwrite)
    print(
        f"\nstopped after {result.epochs_run} epochs"
        f"{' (early stopping, best weights restored)' if result.stopped_early else ''}"
    )
    print_report(report, f"test split ({args.split}, {len(data.x_test)} clips)")
    print(f"saved {path}")
    return 0


def save_trained(model, card, directory: Path, overwrite: bool) -> Path:
    """Save a finished run; if its name was taken meanwhile, save under a dated name instead."""
    import datetime as dt
    from dataclasses import replace

    from har.registry import save_model, user_models_dir

    try:
        return save_model(model, card, directory, overwrite=overwrite)
    except (HarError, OSError) as exc:
        fallback = f"{card.name[:40]}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        for place in (directory, user_models_dir()):
            try:
                path = save_model(model, replace(card, name=fallback), place)
            except (HarError, OSError):
                continue
            print(f"warning: could not save as {card.name!r} ({exc}); saved as {fallback!r}")
            return path
        raise


def cmd_evaluate(args: argparse.Namespace) -> int:
    from har.inference import Predictor
    from har.pipeline import evaluate_on, prepare_data

    predictor = Predictor.from_registry(args.model_name)
    split = args.split or predictor.card.split.get("mode", "group")
    seed = args.seed if args.seed is not None else predictor.card.split.get("seed", 27)
    data = prepare_data(
        args.data, predictor.card.class_names, split_mode=split, seed=seed, strict=args.strict
    )
    report_skipped(data)
    report = evaluate_on(predictor, data)
    if args.json:
        print(
            json.dumps(
                {
                    "model": predictor.card.name,
                    "data": str(args.data),
                    "split": split,
                    "seed": seed,
                    **report.to_dict(),
                },
                indent=2,
            )
        )
    else:
        print_report(
            report,
            f"{predictor.card.name} on {args.data} test split "
            f"({split}, seed {seed}, {len(data.x_test)} clips)",
        )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from har.registry import describe, list_models

    cards = list_models()
    if args.json:
        print(json.dumps([card.to_dict() for card in cards], indent=2))
        return 0
    if not cards:
        print("No models found. Train one with `har train`, or run `make models`.")
        return 0
    for card in cards:
        print(f"{card.name:<24} {describe(card)}")
    return 0


def cmd_frames(args: argparse.Namespace) -> int:
    from har.media import save_frames
    from har.video import read_clip

    if args.out.exists() and not args.out.is_dir():
        raise HarError(f"--out {args.out} is a file; give a folder for the frame images.")
    clip = read_clip(args.video)
    paths = save_frames(clip, args.out, fmt=args.format)
    print(f"wrote {len(paths)} frames to {args.out} (source frames {clip.indices})")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from har.synthetic import generate_dataset

    out = generate_dataset(
        args.out,
        classes=args.classes,
        groups=args.groups,
        clips_per_group=args.clips_per_group,
        difficulty=args.difficulty,
        seed=args.seed,
        workers=args.workers,
        progress=True,
    )
    print(f"synthetic dataset in {out}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    import_tensorflow()
    from har.legacy import import_legacy

    card = import_legacy(args.h5, args.classes, name=args.name, colour=args.colour)
    frames, height, width, _ = card.input_shape
    print(
        f"imported {args.h5.name} as {card.name!r} ({card.architecture}, "
        f"{card.parameters:,} params): {frames} frames of {width}x{height} "
        f"{card.color_order} {card.scaling}, classes {' '.join(card.class_names)}"
    )
    for line in card.source.get("conversions", []):
        print(f"  converted: {line}")
    print(f"saved {card.path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import_tensorflow()
    from har.export import export_model

    path = export_model(args.model_name, args.fmt, args.out)
    print(f"exported {args.model_name} as {args.fmt} to {path}")
    return 0


def report_skipped(data) -> None:
    """One summary line for the files left out, and each with its reason."""
    if not data.skipped:
        return
    print(f"skipped {len(data.skipped)} file(s) (use --strict to fail instead):", file=sys.stderr)
    for path, reason in data.skipped:
        print(f"  {path}: {reason}", file=sys.stderr)


def print_report(report, title: str) -> None:
    from har.evaluate import format_accuracy

    print(f"\n{title}: accuracy {format_accuracy(report)}, macro F1 {report.macro_f1:.3f}")
    print(f"  {'class':<20} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>4}")
    for cls, m in report.per_class.items():
        print(
            f"  {cls:<20} {m['precision']:6.2f} {m['recall']:6.2f} {m['f1']:6.2f} {m['support']:4d}"
        )


class ProgressListener:
    """Training progress on the terminal: a tqdm bar per epoch with the epoch's metrics."""

    def __init__(self) -> None:
        self.bar = None

    def on_epoch_begin(self, epoch: int, total_epochs: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            desc=f"epoch {epoch + 1}/{total_epochs}", unit="batch", leave=True, dynamic_ncols=True
        )

    def on_batch_end(self, epoch: int, batch: int, total_batches: int, logs: dict) -> None:
        if self.bar is not None:
            self.bar.total = total_batches
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{logs.get('loss', float('nan')):.3f}")

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items()})
            self.bar.close()

    def should_stop(self) -> bool:
        return False


if __name__ == "__main__":
    sys.exit(main())
