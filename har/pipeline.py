"""One experiment, end to end: folder -> split -> frames -> train -> test metrics -> model card.

The CLI's `train` and `evaluate`, the app's background jobs and the retrain script all go
through these two functions, so a model trained anywhere is trained the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from har import __version__
from har.config import COLOR_ORDER, INPUT_SHAPE
from har.datasets import Dataset, FrameCache, Split, load_frames, scan, split_clips
from har.evaluate import EvalReport, evaluate_predictions

SYNTHETIC_MARKER = "SYNTHETIC.json"


@dataclass
class PreparedData:
    """A dataset cut into train / validation / test, with frames loaded as uint8."""

    dataset: Dataset
    split: Split
    class_names: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def synthetic(self) -> bool:
        return (self.dataset.root / SYNTHETIC_MARKER).exists()

    def describe(self) -> dict:
        """The dataset and split, as recorded in a model card."""
        return {
            "dataset": {
                "kind": "synthetic" if self.synthetic else "ucf50",
                "root": str(self.dataset.root),
                "classes": self.class_names,
                "num_clips": len(self.split.train) + len(self.split.val) + len(self.split.test),
            },
            "split": {
                "mode": self.split.mode,
                "seed": self.split.seed,
                "train": len(self.split.train),
                "val": len(self.split.val),
                "test": len(self.split.test),
            },
        }


def prepare_data(
    root: str | Path,
    classes: Sequence[str] | None = None,
    split_mode: str = "group",
    seed: int = 27,
    cache: FrameCache | None = None,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = True,
) -> PreparedData:
    """Scan a UCF50-shaped folder, keep `classes` (all if None), split, and load frames.

    split_mode: "group", "random", or "all" (no training: every clip is a test clip).
    """
    dataset = scan(root)
    if classes:
        dataset = dataset.subset(classes)
    if split_mode == "all":  # a fresh, never-seen set: every clip is a test clip
        split = Split([], [], sorted(dataset.clips, key=lambda c: str(c.path)), "all", seed)
    else:
        split = split_clips(dataset.clips, mode=split_mode, seed=seed)
    class_names = list(dataset.classes)
    everything = split.train + split.val + split.test
    x, y = load_frames(everything, class_names, cache=cache, workers=workers, progress=progress)
    a, b = len(split.train), len(split.train) + len(split.val)
    return PreparedData(dataset, split, class_names, x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])


def train_and_evaluate(data: PreparedData, config, name: str, listener=None):
    """Train with `config` (a TrainConfig); return (TrainResult, EvalReport, ModelCard)."""
    from har.registry import ModelCard
    from har.train import train_model

    result = train_model(
        data.x_train,
        data.y_train,
        data.x_val,
        data.y_val,
        num_classes=len(data.class_names),
        config=config,
        listener=listener,
    )
    report = evaluate_predictions(
        data.y_test, predict_in_batches(result.model, data.x_test), data.class_names
    )
    described = data.describe()
    training = asdict(result.config)
    training.update(
        epochs_run=result.epochs_run,
        stopped_early=result.stopped_early,
        stopped_by_user=result.stopped_by_user,
        seconds=round(result.seconds, 1),
        history=result.history,
    )
    card = ModelCard(
        name=name,
        architecture=result.config.architecture,
        class_names=data.class_names,
        input_shape=list(INPUT_SHAPE),
        color_order=COLOR_ORDER,
        parameters=int(result.model.count_params()),
        dataset=described["dataset"],
        split=described["split"],
        metrics={"test": report.to_dict()},
        training=training,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        versions=library_versions(),
        synthetic=data.synthetic,
        notes=synthetic_note() if data.synthetic else "",
    )
    return result, report, card


def evaluate_on(predictor, data: PreparedData) -> EvalReport:
    """Test-split metrics of a loaded Predictor, in the predictor's own class order."""
    own = list(predictor.card.class_names)
    missing = [c for c in data.class_names if c not in own]
    if missing:
        from har.errors import ModelError

        raise ModelError(
            f"Model {predictor.card.name!r} was not trained on {missing}; "
            f"evaluate it on its own classes: {own}."
        )
    remap = np.array([own.index(c) for c in data.class_names])
    probabilities = predictor.predict_batch(data.x_test)
    return evaluate_predictions(remap[data.y_test], probabilities, own)


def predict_in_batches(model, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Class probabilities for uint8 clips (N, 20, 64, 64, 3), a batch at a time."""
    outputs = [
        np.asarray(model(x[i : i + batch_size].astype(np.float32) / 255.0, training=False))
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, model.output_shape[-1]))


def synthetic_note() -> str:
    return (
        "Trained on HAR Studio's synthetic clips (procedurally drawn figures), not on real "
        "video: it will not recognise real footage. Train on a real UCF50 folder with the "
        "same commands for a real model."
    )


def library_versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "har": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def read_synthetic_settings(root: str | Path) -> dict | None:
    """The generator settings a synthetic folder was made with, or None for real data."""
    marker = Path(root) / SYNTHETIC_MARKER
    return json.loads(marker.read_text()) if marker.exists() else None
