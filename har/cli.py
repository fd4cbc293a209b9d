"""The `har` command: extract frames, train, evaluate, predict, list models, make synthetic data.

Errors a user can cause print one line and exit 1; bad arguments exit 2 (argparse).
TensorFlow is imported only by the subcommands that need it, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from har import __version__
from har.config import PAPER_CLASSES, SHIPPED_MODELS_DIR
from har.errors import HarError
from har.tfquiet import import_tensorflow

EXIT_USER_ERROR = 1


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in ("predict", "train", "evaluate"):
            import_tensorflow()
        return args.func(args) or 0
    except HarError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


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
    p.set_defaults(func=cmd_predict)

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
    p.add_argument("--epochs", type=int, help="maximum epochs (default: paper, 50 / 70)")
    p.add_argument("--batch-size", type=int, default=4, help="default 4, as the paper")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--patience", type=int, help="early-stopping patience (default: 10 / 15)")
    p.add_argument("--seed", type=int, default=27)
    p.add_argument("--name", help="registry name (default: <model>-<folder>)")
    p.add_argument("--out", type=Path, help="folder to save into (default: user models folder)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model")
    p.add_argument("--workers", type=int, help="frame-extraction workers (default: all cores)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="test-split metrics of a model on a UCF50-shaped folder")
    p.add_argument("--model", required=True, dest="model_name", metavar="NAME")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument(
        "--split", choices=["group", "random"], help="default: the split the model was trained with"
    )
    p.add_argument("--seed", type=int, help="default: the seed the model was trained with")
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
    p.add_argument("--groups", type=int, default=25)
    p.add_argument("--clips-per-group", type=int, default=4)
    p.add_argument("--difficulty", choices=["easy", "default", "hard"], default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int)
    p.set_defaults(func=cmd_synth)
    return parser


def cmd_predict(args: argparse.Namespace) -> int:
    from har.inference import Predictor
    from har.registry import list_models
    from har.video import read_clip

    names = args.models or [
        card.name for card in list_models() if (SHIPPED_MODELS_DIR / f"{card.name}.keras").exists()
    ]
    if not names:
        raise HarError("No models found; train one with `har train` or pass --model PATH.")
    predictors = [Predictor.from_registry(name) for name in names]
    clip = read_clip(args.video)  # decoded once, shared by every model
    results = [p.predict_frames(clip.pixels) for p in predictors]
    if args.json:
        print(
            json.dumps(
                {
                    "video": str(args.video),
                    "frames": {
                        "indices": clip.indices,
                        "frame_count": clip.frame_count,
                        "fps": clip.fps,
                        "padded": clip.padded,
                    },
                    "predictions": [
                        {
                            "model": p.card.name,
                            "architecture": p.card.architecture,
                            "synthetic": p.card.synthetic,
                            "top_class": r.top_class,
                            "confidence": round(float(r.confidence), 6),
                            "probabilities": {c: round(float(v), 6) for c, v in r.ranked()},
                            "model_seconds": round(r.model_seconds, 6),
                        }
                        for p, r in zip(predictors, results, strict=True)
                    ],
                },
                indent=2,
            )
        )
        return 0
    note = " (padded: fewer than 20 frames)" if clip.padded else ""
    print(
        f"{args.video}: {clip.frame_count} frames at {clip.fps:.1f} fps, "
        f"sampled {clip.indices[0]}..{clip.indices[-1]}{note}"
    )
    for predictor, result in zip(predictors, results, strict=True):
        tag = "  [trained on synthetic clips]" if predictor.card.synthetic else ""
        print(
            f"\n{predictor.card.name} ({predictor.card.architecture}){tag}, "
            f"{result.model_seconds * 1000:.1f} ms"
        )
        for cls, prob in result.ranked()[: args.top]:
            print(f"  {cls:<20} {prob:6.1%}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from har.pipeline import prepare_data, train_and_evaluate
    from har.registry import save_model
    from har.train import TrainConfig

    data = prepare_data(
        args.data, args.classes, split_mode=args.split, seed=args.seed, workers=args.workers
    )
    print(
        f"{len(data.class_names)} classes, split '{args.split}': "
        f"{len(data.x_train)} train / {len(data.x_val)} val / {len(data.x_test)} test clips"
    )
    config = TrainConfig(
        architecture=args.architecture,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        patience=args.patience,
        seed=args.seed,
    )
    name = args.name or f"{args.architecture}-{args.data.resolve().name}"
    result, report, card = train_and_evaluate(data, config, name, listener=ProgressListener())
    path = save_model(result.model, card, args.out, overwrite=args.overwrite)
    print(
        f"\nstopped after {result.epochs_run} epochs"
        f"{' (early stopping, best weights restored)' if result.stopped_early else ''}"
    )
    print_report(report, f"test split ({args.split}, {len(data.x_test)} clips)")
    print(f"saved {path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from har.inference import Predictor
    from har.pipeline import evaluate_on, prepare_data

    predictor = Predictor.from_registry(args.model_name)
    split = args.split or predictor.card.split.get("mode", "group")
    seed = args.seed if args.seed is not None else predictor.card.split.get("seed", 27)
    data = prepare_data(args.data, predictor.card.class_names, split_mode=split, seed=seed)
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
    from har.registry import list_models

    cards = list_models()
    if args.json:
        print(json.dumps([card.to_dict() for card in cards], indent=2))
        return 0
    if not cards:
        print("No models found. Train one with `har train`, or run `make models`.")
        return 0
    for card in cards:
        test = card.metrics.get("test", {})
        data = "synthetic" if card.synthetic else card.dataset.get("kind", "?")
        acc = f"{test['accuracy']:.1%}" if "accuracy" in test else "n/a"
        f1 = f"{test['macro_f1']:.3f}" if "macro_f1" in test else "n/a"
        print(
            f"{card.name:<24} {card.architecture:<8} {card.parameters:>7,} params  "
            f"{len(card.class_names)} classes  trained on {data}; test acc {acc}, "
            f"macro F1 {f1} ({card.split.get('mode', '?')} split, "
            f"{card.split.get('test', '?')} clips)"
        )
    return 0


def cmd_frames(args: argparse.Namespace) -> int:
    from har.media import save_frames
    from har.video import read_clip

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


def print_report(report, title: str) -> None:
    print(f"\n{title}: accuracy {report.accuracy:.1%}, macro F1 {report.macro_f1:.3f}")
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
