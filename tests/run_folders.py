"""Run folders written by hand, as a worker leaves them: fast stand-ins for finished runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

from conftest import copy_shipped

from har.config import runs_dir
from har.training.events import Kind
from har.training.jobs import JobSpec
from har.training.recipe import TrainConfig

CLASSES = ["WalkingWithDog", "TaiChi", "Swing", "HorseRace"]  # the shipped models' classes


def history(epochs: int, start_acc: float = 0.4) -> list[dict]:
    return [
        {
            "epoch": e + 1,
            "loss": 1.5 - 0.1 * e,
            "accuracy": min(1.0, start_acc + 0.1 * e),
            "val_loss": 1.6 - 0.1 * e,
            "val_accuracy": min(1.0, start_acc + 0.05 * e),
        }
        for e in range(epochs)
    ]


def fake_run(
    run_id: str,
    name: str = "",
    epochs: int = 3,
    batch: int = 4,
    stage: str = "done",
    model: bool = False,
    notes: str = "",
    t0: float | None = None,
) -> Path:
    """A finished LRCN run in runs_dir()/run_id; with `model`, a real .keras beside it (a copy
    of the shipped LRCN, its card's notes set to `notes` so a test can tell copies apart)."""
    run = runs_dir() / run_id
    run.mkdir(parents=True)
    config = TrainConfig("lrcn", epochs=epochs, batch_size=batch, recipe="paper")
    spec = JobSpec(CLASSES, ["lrcn"], config, synthetic_groups=6, name=name)
    (run / "spec.json").write_text(json.dumps(spec.to_dict()))
    t0 = t0 or time.time() - 100
    events = [
        {"type": Kind.STAGE, "t": t0, "stage": "extracting", "message": "Extracting frames"},
        {
            "type": Kind.SPLIT,
            "t": t0 + 1,
            "split": {"mode": "group", "train": 24, "val": 8, "test": 16},
            "skipped": [],
        },
        {
            "type": Kind.STAGE,
            "t": t0 + 2,
            "stage": "training",
            "message": "Training",
            "arch": "lrcn",
        },
    ]
    events += [
        {"type": Kind.EPOCH, "t": t0 + 3 + i, "arch": "lrcn", "logs": h}
        for i, h in enumerate(history(epochs))
    ]
    report = {
        "accuracy": 0.75,
        "macro_f1": 0.7,
        "num_clips": 16,
        "class_names": CLASSES,
        "confusion": [[4, 0, 0, 0], [1, 3, 0, 0], [0, 1, 3, 0], [0, 0, 2, 2]],
    }
    events.append(
        {
            "type": Kind.REPORT,
            "t": t0 + 50,
            "arch": "lrcn",
            "report": report,
            "model": {
                "epochs_run": epochs,
                "stopped_by_user": False,
                "stopped_early": False,
                "saved": model,
            },
        }
    )
    events.append({"type": Kind.END, "t": t0 + 60, "stage": stage, "message": "Finished"})
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    if model:
        copy_shipped("lrcn-paper4", run, "lrcn", notes=notes)
    return run
