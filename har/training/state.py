"""What a run's events say so far, folded into one JobState: one handler per kind of event."""

from __future__ import annotations

from dataclasses import dataclass, field

from har.training.events import Kind

FINISHED = ("done", "stopped", "failed")


@dataclass
class JobState:
    """Everything the events of a run say so far, folded into one picture."""

    stage: str = "queued"  # queued, generating, preparing, extracting, training, then FINISHED
    message: str = "Starting"
    extract_done: int = 0
    extract_total: int = 0
    architecture: str = ""
    epoch: int = 0  # 0-based epoch in progress
    total_epochs: int = 0
    batch: int = 0  # batches done in the epoch in progress
    total_batches: int = 0
    history: dict[str, list[dict]] = field(default_factory=dict)  # arch -> per-epoch logs
    reports: dict[str, dict] = field(default_factory=dict)  # arch -> EvalReport.to_dict()
    models: dict[str, dict] = field(default_factory=dict)  # arch -> {"epochs_run", ...}
    split: dict = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason) left out
    error: str = ""
    started: float = 0.0
    ended: float = 0.0
    stop_requested: bool = False
    damaged_lines: int = 0  # lines of events.jsonl that could not be read, skipped

    @property
    def finished(self) -> bool:
        return self.stage in FINISHED

    def progress_line(self) -> str:
        """Where the run is, in words (never 'epoch 1/0')."""
        if self.stage == "training" and self.total_epochs:
            where = f"{self.architecture.upper()}: epoch {self.epoch + 1}/{self.total_epochs}"
            if self.total_batches:
                return f"{where}, batch {self.batch}/{self.total_batches}"
            return f"{where}, building the model and running its first batch"
        if self.stage in ("generating", "extracting") and self.extract_total:
            return f"{self.message}: {self.extract_done}/{self.extract_total}"
        return self.message


# --- how each kind of event changes a run's state (har.training.events.Kind) ---------------
def _on_stage(s: JobState, event: dict) -> None:
    if event["stage"] in FINISHED:
        raise ValueError("a run ends only with an end event")
    s.stage, s.message = str(event["stage"]), str(event["message"])
    if "arch" in event:  # a model's training begins
        s.architecture, s.total_epochs, s.epoch, s.batch, s.total_batches = (
            event["arch"],
            0,
            0,
            0,
            0,
        )
        s.history.setdefault(event["arch"], [])


def _on_count(s: JobState, event: dict) -> None:
    s.extract_done, s.extract_total = event["done"], event["total"]


def _on_split(s: JobState, event: dict) -> None:
    s.split = event["split"]
    s.skipped = [tuple(item) for item in event.get("skipped", [])]


def _on_epoch_begin(s: JobState, event: dict) -> None:
    s.epoch, s.total_epochs, s.batch = event["epoch"], event["total_epochs"], 0


def _on_batch(s: JobState, event: dict) -> None:
    s.batch, s.total_batches = event["batch"], event["total_batches"]


def _on_epoch(s: JobState, event: dict) -> None:
    s.history.setdefault(event["arch"], []).append(event["logs"])


def _on_report(s: JobState, event: dict) -> None:
    if event["report"] is not None:  # None: stopped by the user, not tested
        s.reports[event["arch"]] = event["report"]
    s.models[event["arch"]] = event["model"]


def _on_end(s: JobState, event: dict) -> None:
    if event["stage"] not in FINISHED:
        raise ValueError(f"unknown end stage {event['stage']!r}")
    s.stage, s.message = event["stage"], str(event.get("message", ""))
    s.error, s.ended = str(event.get("error", "")), event["t"]


HANDLERS = {  # kind -> how it changes the state; a kind not here is left alone
    Kind.STAGE: _on_stage,
    Kind.GENERATE: _on_count,
    Kind.EXTRACT: _on_count,
    Kind.SPLIT: _on_split,
    Kind.EPOCH_BEGIN: _on_epoch_begin,
    Kind.BATCH: _on_batch,
    Kind.EPOCH: _on_epoch,
    Kind.REPORT: _on_report,
    Kind.END: _on_end,
}
