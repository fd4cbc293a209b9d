"""Does the ConvLSTM stop too soon? One `augment` run with a higher epoch cap, judged at both caps.

    python benchmarks/epoch_cap.py --data ../shared/ucf-real [--seed 1] [--cap 80]

Trains once with at most --cap epochs and keeps, beside the weights early stopping restores,
the best weights of epochs 1-40 (the recipe's cap for the ConvLSTM): up to epoch 40 the two
runs are the same run, since nothing in the recipe depends on the cap. Both are then
calibrated on the validation clips and tested on the test clips by
har.training.experiment.calibrate_and_test, as every trained model is. Group split seed 27.
Prints both rows and writes benchmarks/results/epoch_cap.json. About 75 minutes for the
ConvLSTM on a 2-core VM.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine, save_json  # noqa: E402

from har.training.experiment import (  # noqa: E402
    calibrate_and_test,
    model_card,
    prepare_data,
    train_and_evaluate,
)
from har.training.fit import TrainingListener  # noqa: E402
from har.training.recipe import TrainConfig  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "epoch_cap.json"
SHORT_CAP = 40


class KeepShortCap(TrainingListener):
    """Copies the weights of the best validation loss among the first SHORT_CAP epochs."""

    def __init__(self) -> None:
        self.weights, self.epoch = None, None

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        print(f"epoch {epoch + 1}: val_loss {logs.get('val_loss', float('nan')):.4f}", flush=True)

    def on_checkpoint(self, epoch, model, improved) -> None:
        if improved and epoch < SHORT_CAP:
            self.weights, self.epoch = model.get_weights(), epoch + 1


def row(tag: str, report, card, best_epoch: int, best_val_loss: float) -> dict:
    test = card.calibration["test"]
    return {
        "cap": tag,
        "test_accuracy": report.accuracy,
        "test_clips": report.num_clips,
        "per_class_recall": {c: m["recall"] for c, m in report.per_class.items()},
        "best_epoch": best_epoch,
        "best_val_loss": best_val_loss,
        "temperature": card.calibration["temperature"],
        "uncertain_below": card.calibration["uncertain_below"],
        "calibration_test": test,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="UCF50/UCF101-shaped folder")
    parser.add_argument("--model", choices=["convlstm", "lrcn"], default="convlstm")
    parser.add_argument("--seed", type=int, default=1, help="training seed")
    parser.add_argument("--cap", type=int, default=80, help="the higher epoch cap")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    where = machine()
    config = TrainConfig(args.model, seed=args.seed, epochs=args.cap)
    data = prepare_data(args.data, None, "group", 27, train_frames=config.train_frames)
    keep = KeepShortCap()
    result, report, card = train_and_evaluate(data, config, "epoch-cap", listener=keep)
    losses = result.history["val_loss"]
    best = min(range(len(losses)), key=losses.__getitem__)
    rows = [row(f"up to {args.cap}", report, card, best + 1, losses[best])]
    # the same run's best weights among epochs 1-40, calibrated and tested the same way
    result.model.set_weights(keep.weights)
    short_card = model_card(data, result, "epoch-cap-40")
    short_report = calibrate_and_test(result.model, short_card, data)
    rows.append(row(f"up to {SHORT_CAP}", short_report, short_card, keep.epoch, min(losses[:40])))
    for r in rows:
        flagged = r["calibration_test"]["flagged"]
        print(
            f"{r['cap']:>9} epochs: best epoch {r['best_epoch']}, validation loss "
            f"{r['best_val_loss']:.3f}, test accuracy {r['test_accuracy']:.1%}; flagged "
            f"{flagged['right']:.0%} of right, {flagged['wrong']:.0%} of wrong answers"
        )
    where["load_after"] = os.getloadavg()
    save_json(
        args.out,
        {
            "machine": where,
            "model": args.model,
            "seed": args.seed,
            "epochs_run": result.epochs_run,
            "seconds": round(result.seconds, 1),
            "val_loss": losses,
            "runs": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
