"""Run history: every Retrain run kept, summarised, compared and exported.

A run is its folder (har.training.jobs): the settings in spec.json, the curves, metrics,
confusion matrices and status in events.jsonl, the models beside them. This module only reads
those (and deletes a whole folder on request); it never rewrites a run. Runs are found by
their id (the folder name), never by a name or a label, which two runs may share.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field

from har.errors import RunError
from har.models.registry import slugify
from har.training.jobs import TrainingJob, forget_job, get_job, list_jobs

CURVE_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass
class RunSummary:
    """One row of the runs table: what a run was asked to do and what it gave."""

    id: str
    name: str
    models: list[str]
    data: str
    classes: list[str]
    recipe: str
    batch_size: int
    learning_rate: float
    status: str
    started: float
    seconds: float | None  # None while running
    epochs_run: dict[str, int] = field(default_factory=dict)  # per model
    best_val_accuracy: dict[str, float] = field(default_factory=dict)
    test_accuracy: dict[str, float] = field(default_factory=dict)
    damaged_lines: int = 0

    def row(self) -> dict:
        """The summary as plain text and numbers, one column each, for a table or the CLI."""
        return {
            "id": self.id,
            "name": self.name,
            "model": " + ".join(m.upper() for m in self.models),
            "data": self.data,
            "classes": ", ".join(self.classes),
            "epochs run": _per_model(self.epochs_run, "{}"),
            "batch": self.batch_size,
            "learning rate": self.learning_rate,
            "recipe": self.recipe,
            "best val accuracy": _per_model(self.best_val_accuracy, "{:.0%}"),
            "test accuracy": _per_model(self.test_accuracy, "{:.0%}"),
            "duration (s)": None if self.seconds is None else round(self.seconds),
            "status": self.status,
        }


def _per_model(values: dict, fmt: str) -> str:
    """ "80%" for one model, "LRCN 80% · CONVLSTM 70%" for several, "" for none."""
    if len(values) == 1:
        return fmt.format(next(iter(values.values())))
    return " · ".join(f"{m.upper()} {fmt.format(v)}" for m, v in values.items())


def display_name(job: TrainingJob) -> str:
    """The user's name for the run, else one made of its models and recipe."""
    spec = job.spec
    return spec.name or f"{'+'.join(spec.architectures)} {spec.config.recipe}"


def file_stem(job: TrainingJob) -> str:
    """A file name for what a run exports (a chart's PNG): its name as a slug, then its id's
    end, which two runs of one name do not share."""

    return f"{slugify(display_name(job), 'run')}-{job.id[-6:]}"


def data_label(job: TrainingJob) -> str:
    spec = job.spec
    if spec.synthetic_groups:
        return f"synthetic, {spec.synthetic_groups} groups/class"
    return str(spec.data_root or "?").rstrip("/").rsplit("/", 1)[-1]


def summarize(job: TrainingJob) -> RunSummary:
    state = job.snapshot()
    spec = job.spec
    best = {}
    for arch, history in state.history.items():
        values = [h["val_accuracy"] for h in history if _number(h.get("val_accuracy"))]
        if values:
            best[arch] = max(values)
    return RunSummary(
        id=job.id,
        name=display_name(job),
        models=list(spec.architectures),
        data=data_label(job),
        classes=list(spec.classes),
        recipe=spec.config.recipe,
        batch_size=spec.config.batch_size,
        learning_rate=spec.config.learning_rate,
        status=state.stage if state.finished else "running",
        started=state.started,
        seconds=state.ended - state.started if state.finished and state.started else None,
        epochs_run={a: len(h) for a, h in state.history.items()},
        best_val_accuracy=best,
        test_accuracy={
            a: r["accuracy"] for a, r in state.reports.items() if _number(r.get("accuracy"))
        },
        damaged_lines=state.damaged_lines,
    )


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def list_runs() -> list[RunSummary]:
    """Every run, newest first."""
    return [summarize(job) for job in list_jobs()]


def find_run(ref: str) -> TrainingJob:
    """A run by its id, or by the start of its id if only one run's id starts so."""
    job = get_job(ref)
    if job is not None:
        return job
    matches = [j for j in list_jobs() if ref and j.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise RunError(f"{len(matches)} runs have an id starting with {ref!r}; give more of it.")
    raise RunError(f"No run with id {ref!r}; `har runs` lists them.")


def settings(job: TrainingJob) -> dict:
    """A run's settings, flat, as compared between runs."""
    spec, config = job.spec, job.spec.config
    return {
        "models": " + ".join(spec.architectures),
        "data": data_label(job),
        "classes": ", ".join(spec.classes),
        "split": spec.split_mode,
        "recipe": config.recipe,
        "max epochs": config.epochs or "recipe's",
        "batch": config.batch_size,
        "learning rate": config.learning_rate,
        "patience": "recipe's" if config.patience is None else config.patience,
        "seed": config.seed,
    }


def differing_settings(jobs: Sequence[TrainingJob]) -> list[dict]:
    """One row per setting whose value is not the same in every run: {"setting", id: value}."""
    table = [settings(j) for j in jobs]
    rows = []
    for key in table[0] if table else []:
        values = [t[key] for t in table]
        if len({str(v) for v in values}) > 1:
            rows.append({"setting": key, **{j.id: v for j, v in zip(jobs, values, strict=True)}})
    return rows


def curve_rows(job: TrainingJob) -> list[dict]:
    """Per model and epoch: the train and validation loss and accuracy (and any other log)."""
    rows = []
    for arch, history in job.snapshot().history.items():
        for logs in history:
            rows.append({"run": job.id, "model": arch, **logs})
    return rows


def curves_csv(job: TrainingJob) -> str:
    """A run's curves as CSV: run, model, epoch, then loss, accuracy, val_loss, val_accuracy."""
    rows = curve_rows(job)
    columns = ["run", "model", "epoch", *CURVE_KEYS]
    columns += sorted({k for r in rows for k in r} - set(columns))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def delete_run(job_id: str) -> None:
    """Delete a finished run's folder (its models too, unless saved to the registry)."""
    job = get_job(job_id)
    if job is None:
        raise RunError(f"No run with id {job_id!r}.")
    if not job.snapshot().finished:
        raise RunError("This run is still training: stop it first, then delete it.")
    shutil.rmtree(job.dir)
    forget_job(job_id)
