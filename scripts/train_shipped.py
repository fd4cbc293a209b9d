"""Retrain shipped models from scratch, seeded: `make models` and `make real-models` run this.

For each architecture it trains on the group split (the shipped model) and, unless
--skip-random, separately on the paper's random 75/25 split (only its test metrics are kept,
in the shipped card under metrics["random_split"], so the README can show both). Writes
models/<name>.keras + .json + .md and models/results-<suffix>.md.

    make models                       # the synthetic pair: paper recipe, data/synthetic-4
    make real-models REAL=<folder>    # lrcn-ucf6, convlstm-ucf6 from real UCF101 clips
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from har.config import PAPER_CLASSES, SHIPPED_MODELS_DIR  # noqa: E402
from har.models.card import card_markdown  # noqa: E402
from har.models.registry import save_model
from har.training.experiment import prepare_data, train_and_evaluate  # noqa: E402
from har.training.recipe import DEFAULT_RECIPE, RECIPES, TrainConfig  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="synthetic (or UCF50) folder")
    parser.add_argument("--classes", nargs="+", default=list(PAPER_CLASSES))
    parser.add_argument("--suffix", default="paper4", help="name suffix: <arch>-<suffix>")
    parser.add_argument("--models", nargs="+", default=["lrcn", "convlstm"])
    parser.add_argument("--seed", type=int, default=27, help="the split's seed")
    parser.add_argument("--train-seed", type=int, help="the training's seed (default: --seed)")
    parser.add_argument("--skip-random", action="store_true", help="no random-split run")
    parser.add_argument("--recipe", choices=list(RECIPES), default=DEFAULT_RECIPE)
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: the recipe's)")
    parser.add_argument(
        "--tries",
        type=int,
        default=1,
        help="train seeds train-seed, +1, ...; keep the lowest validation loss",
    )
    parser.add_argument("--dataset-name", help="what the data is, for the cards (default: folder)")
    parser.add_argument("--out", type=Path, default=SHIPPED_MODELS_DIR)
    args = parser.parse_args()

    from har.cli.output import ProgressListener

    frames = TrainConfig("lrcn", recipe=args.recipe).train_frames
    splits = {
        "group": prepare_data(args.data, args.classes, "group", args.seed, train_frames=frames)
    }
    if not args.skip_random:
        splits["random"] = prepare_data(
            args.data, args.classes, "random", args.seed, train_frames=frames
        )
    rows = []
    for arch in args.models:
        name = f"{arch}-{args.suffix}"
        seed = args.seed if args.train_seed is None else args.train_seed
        config = TrainConfig(architecture=arch, seed=seed, recipe=args.recipe, epochs=args.epochs)
        result, report, card = train_and_evaluate(
            splits["group"], config, name, ProgressListener(), tries=args.tries
        )
        if args.dataset_name:
            card.dataset["name"] = args.dataset_name
        rows.append((name, "group", len(splits["group"].x_test), report, result.epochs_run))
        if "random" in splits:
            r_result, r_report, r_card = train_and_evaluate(  # the kept run's seed, one try
                splits["random"], result.config, f"{name}-random", ProgressListener()
            )
            card.metrics["random_split"] = {
                "note": "A second model of the same architecture, trained and tested on the "
                "paper's random 75/25 split of the same clips; not the shipped weights.",
                "split": r_card.split,
                "epochs_run": r_result.epochs_run,
                "test": r_report.to_dict(),
            }
            rows.append(
                (name, "random", len(splits["random"].x_test), r_report, r_result.epochs_run)
            )
        # saved with Keras's own layers: the shipped files load in plain Keras, without har
        path = save_model(result.model, card, args.out, overwrite=True)
        (args.out / f"{name}.md").write_text(card_markdown(card))
        print(f"saved {path}", flush=True)

    table = results_table(rows)
    print(table)
    results = args.out / f"results-{args.suffix}.md"
    results.write_text(keep_other_rows(table, results, {r[0] for r in rows}))
    return 0


def keep_other_rows(table: str, results: Path, retrained: set[str]) -> str:
    """`table` with the rows of models this run did not retrain kept from the existing file
    (`--models lrcn` must not drop the ConvLSTM's figures)."""
    if not results.exists():
        return table
    kept = [
        line
        for line in results.read_text().splitlines()[2:]
        if line.startswith("| ") and line.split("|")[1].strip() not in retrained
    ]
    return "\n".join([*table.rstrip("\n").splitlines(), *kept]) + "\n"


def results_table(rows) -> str:
    lines = [
        "| model | split | test clips | accuracy | macro F1 | epochs |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, split, n, report, epochs in rows:
        lines.append(
            f"| {name} | {split} | {n} | {report.accuracy:.1%} | {report.macro_f1:.3f} | {epochs} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
