"""The training process of a run: `python -m har.training.worker RUN_DIR`.

It reads the run's spec.json, generates synthetic data if asked, extracts frames, trains each
model, tests it, saves it into the run folder and appends what happens to events.jsonl
(har.training.events). The server reads those files (har.training.jobs).

Stop: the worker checks the stop file after every batch and between models. A Stop it has not
honoured within har.training.jobs.STOP_GRACE_SECONDS (a long validation pass, ConvLSTM's first
batch, frame extraction) ends with the server killing it; so each epoch's best-so-far model
is on disk already (on_checkpoint), and every file here is written atomically.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

from har.config import SEQUENCE_LENGTH
from har.data.synthetic import cached_dataset
from har.errors import HarError
from har.models.registry import save_model, update_card
from har.training.events import EventLog, Kind
from har.training.experiment import model_card, prepare_data, train_and_evaluate
from har.training.jobs import BATCH_EVENT_INTERVAL, JobSpec
from har.utils.quiet import import_tensorflow


# --- the worker process --------------------------------------------------------------------
class _EventListener:
    """har.train's TrainingListener that writes progress events and honours the stop file."""

    def __init__(self, log: EventLog, arch: str, stop_file: Path, card_now=None) -> None:
        self.log, self.arch, self.stop_file = log, arch, stop_file
        self.card_now = card_now  # (model, epochs run, history) -> the card a stop now gives
        self.last_batch_event = 0.0
        self.writer = None
        self.history: dict[str, list[float]] = {}
        self.saved_sha = ""  # of the checkpoint's .keras, once one is written

    def on_epoch_begin(self, epoch: int, total_epochs: int) -> None:
        self.log.emit(Kind.EPOCH_BEGIN, arch=self.arch, epoch=epoch, total_epochs=total_epochs)

    def on_batch_end(self, epoch: int, batch: int, total_batches: int, logs: dict) -> None:
        now = time.monotonic()
        if now - self.last_batch_event >= BATCH_EVENT_INTERVAL or batch + 1 == total_batches:
            self.last_batch_event = now
            self.log.emit(Kind.BATCH, arch=self.arch, batch=batch + 1, total_batches=total_batches)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.log.emit(Kind.EPOCH, arch=self.arch, logs={"epoch": epoch + 1, **logs})
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        self.tensorboard(epoch + 1, logs)

    def on_checkpoint(self, epoch: int, model, improved: bool) -> None:
        """Keep on disk what a Stop at this moment keeps: the best weights so far, and the card
        saying after how many epochs. The server may kill this process any time after a Stop
        (har.training.jobs); the pair is written atomically under the run folder's lock, which
        the server takes before it kills, so a kill never leaves half of it."""
        if self.card_now is None or not (improved or self.saved_sha):
            return

        card = self.card_now(model, epoch + 1, self.history)
        keras_file = self.stop_file.parent / f"{self.arch}.keras"
        if improved:
            save_model(model, card, keras_file.parent, overwrite=True)
            self.saved_sha = card.keras_sha256
        else:  # the same weights, one more epoch run
            card.name, card.keras_sha256 = self.arch, self.saved_sha
            update_card(keras_file, card)

    def tensorboard(self, step: int, logs: dict) -> None:
        """The epoch's logs as TensorBoard scalars too: `tensorboard --logdir <runs folder>`.

        Only where the tensorboard package is installed (tf.summary needs it); never a reason
        for a run to fail.
        """
        if self.writer is False or importlib.util.find_spec("tensorboard") is None:
            return
        import tensorflow as tf

        if self.writer is None:
            folder = self.stop_file.parent / "tensorboard" / self.arch
            self.writer = tf.summary.create_file_writer(str(folder))
        try:
            with self.writer.as_default():
                for key, value in logs.items():
                    tf.summary.scalar(key, value, step=step)
            self.writer.flush()
        except Exception as exc:  # noqa: BLE001 - the curves are in events.jsonl anyway
            print(f"TensorBoard files not written: {exc}", file=sys.stderr)
            self.writer = False

    def should_stop(self) -> bool:
        return self.stop_file.exists()


def lower_priority() -> None:
    """Yield the CPU to the web server's predictions: nice HAR_TRAIN_NICE (default 10).

    With the kernel's autogroups (Linux's default on desktops and many servers), a process in
    its own session, as start_job makes the worker, competes with the server as a group, and
    a nice inside the group changes nothing between the two: the group's nice is set too.
    """
    nice = int(os.environ.get("HAR_TRAIN_NICE", "10"))
    if nice <= 0:
        return
    os.nice(nice)
    if os.environ.get("HAR_TRAIN_AUTOGROUP", "1") == "0":  # benchmarks: the process's nice only
        return
    try:
        Path("/proc/self/autogroup").write_text(str(nice))
    except OSError:
        pass  # no autogroups here: the process's own nice is what counts


def extracting_message(train_frames: int) -> str:
    """What the extraction stage does: one pass, or (temporal jitter) a second one over the
    training clips, which the stage's one count includes."""

    if train_frames == SEQUENCE_LENGTH:
        return "Extracting frames"
    return (
        f"Extracting frames ({SEQUENCE_LENGTH} a clip; the training clips again at "
        f"{train_frames}, for temporal jitter)"
    )


def _card_maker(data, config, arch: str):
    """(model, epochs run, history) -> the card of a model stopped by the user at that point."""
    from har.training.fit import TrainResult

    config = config.resolved()
    start = time.perf_counter()

    def card_now(model, epochs_run: int, history: dict):
        result = TrainResult(
            model=model,
            history={k: list(v) for k, v in history.items()},
            epochs_run=epochs_run,
            stopped_early=False,
            stopped_by_user=True,
            seconds=time.perf_counter() - start,
            config=config,
        )
        return model_card(data, result, arch)

    return card_now


def run_worker(run_dir: Path) -> int:
    """The training process: generate data if asked, extract frames, train, test, save."""
    run_dir = Path(run_dir)
    lower_priority()
    log = EventLog(run_dir / "events.jsonl")
    stop_file = run_dir / "stop"

    def set_stage(name: str, message: str, **extra) -> None:
        log.emit(Kind.STAGE, stage=name, message=message, **extra)

    try:
        spec = JobSpec.from_dict(json.loads((run_dir / "spec.json").read_text()))
        root = spec.data_root
        if spec.synthetic_groups:
            set_stage("generating", "Generating synthetic clips")
            root = cached_dataset(
                spec.classes,
                groups=spec.synthetic_groups,
                seed=spec.synthetic_seed,
                progress=lambda done, total: log.emit(Kind.GENERATE, done=done, total=total),
            )

        set_stage("preparing", "Loading TensorFlow")
        threads = os.environ.get("HAR_TRAIN_THREADS")
        tf = import_tensorflow(run_op=not threads)  # threads are set before TF's first op
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(threads))

        set_stage("extracting", extracting_message(spec.config.train_frames))
        data = prepare_data(
            root,
            spec.classes,
            split_mode=spec.split_mode,
            seed=spec.config.seed,
            train_frames=spec.config.train_frames,  # temporal jitter needs more than 20
            progress=lambda done, total: log.emit(Kind.EXTRACT, done=done, total=total),
        )
        log.emit(Kind.SPLIT, split=data.to_dict()["split"], skipped=data.skipped)
        for arch in spec.architectures:
            if stop_file.exists():
                break
            set_stage("training", f"Training {arch.upper()}", arch=arch)
            config = replace(spec.config, architecture=arch)
            listener = _EventListener(log, arch, stop_file, _card_maker(data, config, arch))
            result, report, card = train_and_evaluate(data, config, f"{arch}-retrained", listener)
            with_weights = result.epochs_run > 0
            if with_weights:
                save_model(result.model, replace(card, name=arch), run_dir, overwrite=True)
            log.emit(
                Kind.REPORT,
                arch=arch,
                report=report.to_dict() if report is not None else None,
                model={
                    "epochs_run": result.epochs_run,
                    "stopped_by_user": result.stopped_by_user,
                    "stopped_early": result.stopped_early,
                    "saved": with_weights,
                },
            )
        stopped = stop_file.exists()
        log.emit(
            Kind.END,
            stage="stopped" if stopped else "done",
            message="Stopped by user" if stopped else "Finished",
        )
        return 0
    except HarError as exc:
        log.emit(Kind.END, stage="failed", error=str(exc), message="Failed")
        return 1
    except Exception as exc:  # noqa: BLE001 - the page must get a sentence, not silence
        traceback.print_exc()
        log.emit(
            Kind.END,
            stage="failed",
            error=f"Training failed unexpectedly: {exc} (details in {run_dir / 'worker.log'})",
            message="Failed",
        )
        return 1


if __name__ == "__main__":
    sys.exit(run_worker(Path(sys.argv[1])))
