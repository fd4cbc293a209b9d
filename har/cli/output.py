"""What the `har` command prints: reports, skipped files, a progress bar per epoch."""

from __future__ import annotations

import sys

from tqdm import tqdm

from har.evaluation.metrics import format_accuracy


def report_skipped(data) -> None:
    """One summary line for the files left out, and each with its reason."""
    if not data.skipped:
        return
    print(f"skipped {len(data.skipped)} file(s) (use --strict to fail instead):", file=sys.stderr)
    for path, reason in data.skipped:
        print(f"  {path}: {reason}", file=sys.stderr)


def print_report(report, title: str) -> None:
    print(f"\n{title}: accuracy {format_accuracy(report)}, macro F1 {report.macro_f1:.3f}")
    flagged = report.flagged
    if flagged:
        print(
            f"  calibration error {report.ece:.3f}; flagged uncertain: "
            f"{flagged['right']:.0%} of {flagged['right_clips']} right answers, "
            f"{flagged['wrong']:.0%} of {flagged['wrong_clips']} wrong ones"
        )
    print(f"  {'class':<20} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>4}")
    for cls, m in report.per_class.items():
        print(
            f"  {cls:<20} {m['precision']:6.2f} {m['recall']:6.2f} {m['f1']:6.2f} {m['support']:4d}"
        )


class ProgressListener:
    """Training progress on the terminal: a tqdm bar per epoch with the epoch's metrics."""

    def __init__(self) -> None:
        self.bar = None

    def on_try(self, index: int, tries: int, seed: int) -> None:
        print(f"try {index + 1} of {tries}: seed {seed}", flush=True)

    def on_epoch_begin(self, epoch: int, total_epochs: int) -> None:

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
