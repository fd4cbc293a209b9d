"""Test metrics with scikit-learn: accuracy, per-class precision/recall/F1, macro F1, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


@dataclass
class EvalReport:
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    class_names: list[str]
    num_clips: int

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_predictions(
    y_true: Sequence[int], probabilities: np.ndarray, class_names: Sequence[str]
) -> EvalReport:
    """Metrics of `probabilities` (N, C) against integer labels, classes in output order."""
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
    return EvalReport(
        accuracy=float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        macro_f1=float(np.mean(f1[present])) if present else 0.0,
        per_class=per_class,
        confusion=confusion_matrix(y_true, y_pred, labels=labels).astype(int).tolist(),
        class_names=list(class_names),
        num_clips=int(len(y_true)),
    )
