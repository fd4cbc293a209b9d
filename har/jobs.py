"""Background training runs that a UI can start, poll, stop and save, without blocking.

A TrainingJob runs har.pipeline in a thread and keeps a lock-protected state (stage,
progress, per-epoch metrics, results) that the Retrain page redraws every second. Jobs live
in a module-level table, so a browser refresh finds a running job again by its id.
"""

from __future__ import annotations

import copy
import threading
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from har.errors import HarError


@dataclass
class JobSpec:
    data_root: Path
    classes: list[str]
    architectures: list[str]  # "convlstm" and/or "lrcn"
    epochs: int = 10
    batch_size: int = 4
    split_mode: str = "group"
    seed: int = 27
    patience: int | None = None


@dataclass
class JobState:
    stage: str = "queued"  # queued, extracting, training, done, stopped, failed
    message: str = ""
    extract_done: int = 0
    extract_total: int = 0
    architecture: str = ""
    epoch: int = 0
    total_epochs: int = 0
    batch: int = 0
    total_batches: int = 0
    history: dict[str, list[dict]] = field(default_factory=dict)  # arch -> per-epoch logs
    reports: dict[str, dict] = field(default_factory=dict)  # arch -> EvalReport.to_dict()
    split: dict = field(default_factory=dict)
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.stage in ("done", "stopped", "failed")


class TrainingJob:
    def __init__(self, spec: JobSpec) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.spec = spec
        self._state = JobState()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._cards: dict = {}
        self._models: dict = {}
        self._thread = threading.Thread(target=self._run, name=f"train-{self.id}", daemon=True)

    # --- what the UI calls -------------------------------------------------------------
    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def snapshot(self) -> JobState:
        with self._lock:
            return copy.deepcopy(self._state)

    def save(self, architecture: str, name: str, directory=None) -> Path:
        """Add a finished model to the registry under `name` (never over a shipped model)."""
        from har.registry import save_model

        if architecture not in self._models:
            raise HarError(f"No trained {architecture} model in this run to save.")
        card = copy.deepcopy(self._cards[architecture])
        card.name = name
        return save_model(self._models[architecture], card, directory)

    # --- the thread ----------------------------------------------------------------------
    def _update(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._state, key, value)

    def _run(self) -> None:
        from har.pipeline import prepare_data, train_and_evaluate
        from har.train import TrainConfig

        spec = self.spec
        try:
            self._update(stage="extracting", message="Extracting frames")
            data = prepare_data(
                spec.data_root,
                spec.classes,
                split_mode=spec.split_mode,
                seed=spec.seed,
                progress=lambda done, total: self._update(extract_done=done, extract_total=total),
            )
            self._update(split=data.describe()["split"])
            for arch in spec.architectures:
                if self._stop.is_set():
                    break
                self._update(stage="training", architecture=arch, message=f"Training {arch}")
                with self._lock:
                    self._state.history[arch] = []
                config = TrainConfig(
                    architecture=arch,
                    epochs=spec.epochs,
                    batch_size=spec.batch_size,
                    patience=spec.patience,
                    seed=spec.seed,
                )
                result, report, card = train_and_evaluate(
                    data, config, f"{arch}-retrained", _JobListener(self, arch)
                )
                self._models[arch], self._cards[arch] = result.model, card
                with self._lock:
                    self._state.reports[arch] = report.to_dict()
            stopped = self._stop.is_set()
            self._update(
                stage="stopped" if stopped else "done",
                message="Stopped by user" if stopped else "Finished",
            )
        except HarError as exc:
            self._update(stage="failed", error=str(exc), message="Failed")
        except Exception as exc:  # noqa: BLE001 - a UI must get a sentence, not a dead thread
            traceback.print_exc()
            self._update(
                stage="failed", error=f"Training failed unexpectedly: {exc}", message="Failed"
            )


class _JobListener:
    """TrainingListener that writes progress into the job's state."""

    def __init__(self, job: TrainingJob, arch: str) -> None:
        self.job, self.arch = job, arch

    def on_epoch_begin(self, epoch: int, total_epochs: int) -> None:
        self.job._update(epoch=epoch, total_epochs=total_epochs, batch=0)

    def on_batch_end(self, epoch: int, batch: int, total_batches: int, logs: dict) -> None:
        self.job._update(batch=batch + 1, total_batches=total_batches)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        with self.job._lock:
            self.job._state.history[self.arch].append({"epoch": epoch + 1, **logs})

    def should_stop(self) -> bool:
        return self.job._stop.is_set()


_JOBS: dict[str, TrainingJob] = {}
_JOBS_LOCK = threading.Lock()


def start_job(spec: JobSpec) -> TrainingJob:
    job = TrainingJob(spec)
    with _JOBS_LOCK:
        _JOBS[job.id] = job
    return job.start()


def get_job(job_id: str | None) -> TrainingJob | None:
    with _JOBS_LOCK:
        return _JOBS.get(job_id or "")
