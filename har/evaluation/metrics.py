"""Test metrics with scikit-learn: accuracy, per-class precision/recall/F1, macro F1, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from har.evaluation.calibration import (
    default_threshold,
    expected_calibration_error,
    flagged_rates,
    reliability,
)


@dataclass
class EvalReport:
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    class_names: list[str]
    num_clips: int
    ece: float = 0.0  # expected calibration error of the probabilities scored
    reliability: list[dict] = field(default_factory=list)  # per confidence bin (calibration)
    flagged: dict = field(default_factory=dict)  # uncertain answers among right / wrong ones
    # per test clip, in order: its true class, the answer, whether the answer is unsure (for
    # comparing models on the same clips; not part of to_dict, so not written to cards)
    per_clip: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        data = asdict(self)
        del data["per_clip"]
        return data

    @property
    def accuracy_interval(self) -> tuple[float, float]:
        """The 95 % Wilson interval of the accuracy: how much it could move on other clips."""
        return wilson_interval(round(self.accuracy * self.num_clips), self.num_clips)


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for `correct` of `n` (stays inside [0, 1], fair at small n)."""
    if n <= 0:
        return (0.0, 1.0)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, float(centre - half)), min(1.0, float(centre + half)))


def format_accuracy(report: EvalReport | dict) -> str:
    """Accuracy in the one format used everywhere: '87.5 % (95 % CI 80.1-92.4 %, 96 clips)'."""
    data = report if isinstance(report, dict) else report.to_dict()
    n = int(data["num_clips"])
    low, high = wilson_interval(round(data["accuracy"] * n), n)
    return f"{data['accuracy'] * 100:.1f} % (95 % CI {low * 100:.1f}-{high * 100:.1f} %, {n} clips)"


def evaluate_predictions(
    y_true: Sequence[int],
    probabilities: np.ndarray,
    class_names: Sequence[str],
    uncertain_below: float | None = None,
    unsure: np.ndarray | None = None,
) -> EvalReport:
    """Metrics of `probabilities` (N, C) against integer labels, classes in output order;
    with a threshold, how often right and wrong answers are flagged uncertain (`unsure`, when
    given, says which are: Predictor.unsure, which also counts the distance to the training
    clips; else an answer below the threshold is)."""
    # scikit-learn takes about 1 s to import: only when something is scored
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(probabilities).argmax(axis=1) if len(y_true) else np.zeros(0, int)
    labels = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    present = [i for i in labels if support[i] > 0]
    threshold = default_threshold(len(labels)) if uncertain_below is None else uncertain_below
    confidence = np.asarray(probabilities).max(axis=1) if len(y_true) else np.zeros(0)
    flagged = confidence < threshold if unsure is None else np.asarray(unsure, bool)
    names = np.array(class_names)
    per_clip = {
        "truth": names[y_true].tolist(),
        "answer": names[y_pred].tolist(),
        "unsure": flagged.tolist(),
    }
    return EvalReport(
        accuracy=float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        macro_f1=float(np.mean(f1[present])) if present else 0.0,
        per_class=per_class,
        confusion=confusion_matrix(y_true, y_pred, labels=labels).astype(int).tolist(),
        class_names=list(class_names),
        num_clips=int(len(y_true)),
        ece=round(expected_calibration_error(probabilities, y_true), 4) if len(y_true) else 0.0,
        reliability=reliability(probabilities, y_true) if len(y_true) else [],
        flagged=flagged_rates(probabilities, y_true, uncertain_below, unsure)
        if uncertain_below is not None and len(y_true)
        else {},
        per_clip=per_clip,
    )
