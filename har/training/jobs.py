"""Training runs in their own process, which a UI can start, watch, stop and save from.

A run is a folder under runs_dir():

    spec.json      what to train (a JobSpec), written before the process starts
    events.jsonl   what happened, one JSON object per line (har.training.events), appended
                   by the worker; by the server only to end a run whose worker it killed
                   after a Stop, once that worker is dead (one writer at a time)
    stop           present once Stop was pressed; the worker checks it every batch
    pid            the worker's process id
    worker.log     the worker's own output (warnings, a traceback if it crashed)
    <arch>.keras   each trained model, with its card <arch>.json, saved by the worker: the
                   best so far after each epoch, then the final one (atomically, under the
                   lock in .incoming/, which the server takes before killing the worker)
    tensorboard/   the curves as TensorBoard event files (`tensorboard --logdir runs_dir()`)

The web server only starts the worker (`python -m har.training.worker RUN_DIR`) and reads
these files: training never shares the server's interpreter, GIL or memory; a watched run
costs the server one small file read a second; a server restart loses no run. The worker
runs at a lower CPU priority (nice 10) with TensorFlow's default threads, so it uses every
idle core yet yields to the server's predictions; HAR_TRAIN_THREADS caps its threads.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from har.config import REPO_ROOT, runs_dir
from har.data.own_datasets import is_own_dataset
from har.data.synthetic import SYNTHETIC_CLASSES
from har.data.ucf import scan, split_clips
from har.errors import DatasetError, ModelError, TrainingError
from har.models.registry import INCOMING, LOCK_FILE, install_model, load_card
from har.training.events import EventLog, Kind, read_new_events
from har.training.recipe import TrainConfig
from har.training.state import HANDLERS, JobState
from har.utils.files import remove_stale_temps, write_json

# A worker that has not ended this long after Stop (it checks at each batch, which a long
# validation pass, ConvLSTM's first batch or frame extraction can delay) is killed, and the
# server ends the run with the best weights the worker checkpointed.
STOP_GRACE_SECONDS = 1.5
KILL_LOCK_WAIT = 3.0  # seconds the server waits for a checkpoint being written to be complete
BATCH_EVENT_INTERVAL = 0.25  # seconds between progress events within an epoch


@dataclass
class JobSpec:
    """What a run trains: the data, the classes, the models and one recipe for all of them.

    Data is either a UCF50-shaped folder (`data_root`) or a synthetic set the worker makes
    first (`synthetic_groups` groups of two clips per class). `config.architecture` is
    replaced by each of `architectures` in turn.
    """

    classes: list[str]
    architectures: list[str]
    config: TrainConfig
    data_root: str | None = None
    synthetic_groups: int | None = None
    synthetic_seed: int = 7
    split_mode: str = "group"
    name: str = ""  # the user's name for the run (plain text, shown as text)

    def validate(self) -> JobSpec:
        """Every setting checked before a process starts, so a mistake costs no time."""
        if len(set(self.classes)) < 2:
            raise DatasetError("Pick at least two classes.")
        if not self.architectures:
            raise TrainingError("Pick at least one model.")
        for arch in self.architectures:
            replace(self.config, architecture=arch).validate()
        if self.split_mode not in ("group", "random"):
            raise DatasetError(f"Unknown split {self.split_mode!r}; choose group or random.")
        self.name = clean_name(self.name)
        if (self.data_root is None) == (self.synthetic_groups is None):
            raise DatasetError("Choose either a dataset folder or synthetic data.")

        if self.data_root is not None and is_own_dataset(self.data_root):
            # a small dataset made on Your classes: what the split lacks is said before a start
            split_clips(scan(self.data_root).subset(self.classes).clips, self.split_mode)
        if self.synthetic_groups is not None:
            unknown = [c for c in self.classes if c not in SYNTHETIC_CLASSES]
            if unknown:
                raise DatasetError(f"No synthetic class {', '.join(unknown)}.")
            if not 3 <= self.synthetic_groups <= 25:
                raise DatasetError("Synthetic data needs 3 to 25 groups per class.")
        return self

    def to_dict(self) -> dict:
        return {
            "classes": list(self.classes),
            "architectures": list(self.architectures),
            "config": self.config.to_dict(),
            "data_root": self.data_root,
            "synthetic_groups": self.synthetic_groups,
            "synthetic_seed": self.synthetic_seed,
            "split_mode": self.split_mode,
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, data: dict) -> JobSpec:
        if not isinstance(data, dict):
            raise ValueError("spec.json holds no object")
        return cls(**{**data, "config": TrainConfig.from_dict(data["config"])})

    def describe(self) -> str:
        """One line for the run list: models, classes, data, recipe."""
        data = (
            f"synthetic ({self.synthetic_groups} groups/class)"
            if self.synthetic_groups
            else Path(self.data_root or "?").name
        )
        return (
            f"{' + '.join(a.upper() for a in self.architectures)} · {', '.join(self.classes)} · "
            f"{data} · {self.split_mode} split · {self.config.recipe} recipe · up to "
            f"{self.config.epochs or 'the recipe'} epochs · batch {self.config.batch_size}"
        )


MAX_NAME = 60


def clean_name(name: str) -> str:
    """A run name as plain one-line text: control characters out, at most MAX_NAME long."""
    text = "".join(c if c.isprintable() else " " for c in str(name or ""))
    return " ".join(text.split())[:MAX_NAME]


# --- the server's side -------------------------------------------------------------------
_PROCESSES: dict[str, subprocess.Popen] = {}  # workers this process started
_RUNS: dict[str, TrainingJob] = {}
_RUNS_LOCK = threading.Lock()


class TrainingJob:
    """A run folder, read incrementally: snapshot() folds new events into the state."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = Path(run_dir)
        self.id = self.dir.name
        self.spec = JobSpec.from_dict(json.loads((self.dir / "spec.json").read_text()))
        self._state = JobState()
        self._offset = 0
        self._ended_on_disk = False  # an end event was read
        self._enforcer: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- what the UI calls -------------------------------------------------------------
    def snapshot(self) -> JobState:
        with self._lock:
            self._read_events()
            if not self._state.finished:
                self._check_process()
            return copy.deepcopy(self._state)

    def stop(self) -> None:
        """Ask the worker to stop; the run ends within about STOP_GRACE_SECONDS either way,
        with the best weights so far (the worker's own end, or the server's after a kill)."""
        (self.dir / "stop").touch()
        with self._lock:
            if self._enforcer is None:  # watches even if nobody looks at the run any more
                self._enforcer = threading.Thread(target=self._enforce_stop, daemon=True)
                self._enforcer.start()

    def join(self, timeout: float | None = None) -> JobState:
        """Wait until the run has finished (for tests and scripts); returns the final state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state = self.snapshot()
            if state.finished or (deadline is not None and time.monotonic() > deadline):
                return state
            time.sleep(0.2)

    def model_card(self, architecture: str):
        """The card of a model this run saved."""

        return load_card(self._model_file(architecture))

    def save(self, architecture: str, name: str, directory=None) -> Path:
        """Add a trained model to the registry under `name` (never over another model)."""

        path = self._model_file(architecture)
        return install_model(path, load_card(path), name, directory)

    # --- inside --------------------------------------------------------------------------
    def _model_file(self, architecture: str) -> Path:
        path = self.dir / f"{architecture}.keras"
        if not path.exists():
            raise ModelError(f"This run has no trained {architecture} model to save.")
        return path

    def _read_events(self) -> None:
        events, self._offset, bad = read_new_events(self.dir / "events.jsonl", self._offset)
        self._state.damaged_lines += bad
        for event in events:
            if self._state.finished and self._ended_on_disk:
                break  # nothing after a run's end changes it
            try:
                self._apply(event)
            except (KeyError, TypeError, ValueError, AttributeError):
                self._state.damaged_lines += 1  # a known type with fields missing or wrong
        self._state.stop_requested = (self.dir / "stop").exists()

    def _apply(self, event: dict) -> None:
        kind = event["type"]
        handler = HANDLERS.get(kind)
        if handler is None:
            return  # a kind this version does not know (a newer worker's): nothing to fold in
        self._state.started = self._state.started or event["t"]
        handler(self._state, event)
        if kind == Kind.END:
            self._ended_on_disk = True

    def _enforce_stop(self) -> None:
        """After a Stop: wait out the grace period while the worker lives, then end the run."""
        while _worker_alive(self.id, self.dir) and self._stop_age() <= STOP_GRACE_SECONDS:
            time.sleep(0.05)
        self.snapshot()

    def _stop_age(self) -> float:
        """Seconds since Stop was pressed (from the stop file: a restarted server knows too)."""
        try:
            return time.time() - (self.dir / "stop").stat().st_mtime
        except OSError:
            return -1.0

    def _check_process(self) -> None:
        """A worker that ignored Stop is killed and its run ended; one that died without an
        'end' event is reported failed."""
        alive = _worker_alive(self.id, self.dir)
        if alive and self._stop_age() > STOP_GRACE_SECONDS:
            self._end_stopped_run()
            return
        if not alive:
            self._read_events()  # the worker may have written its end just now
            if not self._state.finished:
                # Said here, never written into the run's files: a server that misjudges a
                # run (a damaged file, a reused pid) must not rewrite its history.
                s = self._state
                stopped = (self.dir / "stop").exists()
                s.stage = "stopped" if stopped else "failed"
                s.message = "Stopped by user" if stopped else "Failed"
                s.error = (
                    ""
                    if stopped
                    else "The training process ended unexpectedly (out of memory or killed); "
                    f"its output is in {self.dir / 'worker.log'}."
                )
                s.ended = s.ended or _last_write(self.dir)

    def _end_stopped_run(self) -> None:
        """Kill the worker that ignored Stop, then end its run on disk as stopped.

        The kill waits for the run folder's lock, which the worker holds while it writes a
        checkpoint: a kill never falls between a model and its card. Only once the worker is
        dead does the server write, so events.jsonl keeps one writer at a time; an end the
        worker wrote before it died is kept as it is.
        """
        with _run_lock(self.dir):
            if not _kill_worker(self.id, self.dir):
                return  # not our worker's process group, or it would not die: write nothing
            remove_stale_temps(self.dir / ".incoming")  # a write the kill cut short
            self._read_events()
            if self._state.finished:
                return
            s = self._state
            log = EventLog(self.dir / "events.jsonl")
            try:
                for arch in [a for a in s.history if a not in s.models]:
                    log.emit(Kind.REPORT, arch=arch, report=None, model=self._checkpoint(arch))
                training = bool(s.history)
                log.emit(
                    Kind.END,
                    stage="stopped",
                    message="Stopped by user" if training else "Stopped before training began",
                )
            finally:
                log.close()
            self._read_events()

    def _checkpoint(self, arch: str) -> dict:
        """What the killed worker left of `arch`: its best-so-far model, if an epoch finished."""

        model = {"epochs_run": 0, "stopped_by_user": True, "stopped_early": False, "saved": False}
        try:
            card = load_card(self.dir / f"{arch}.keras")
        except (ModelError, OSError):
            return model  # no epoch finished: nothing worth keeping
        return {**model, "epochs_run": int(card.training.get("epochs_run", 0)), "saved": True}


@contextlib.contextmanager
def _run_lock(run_dir: Path):
    """The run folder's save lock (har.models.registry's, which the worker's saves take),
    waited for at most KILL_LOCK_WAIT seconds: a worker frozen while holding it is killed
    anyway."""

    (run_dir / INCOMING).mkdir(parents=True, exist_ok=True)
    with open(run_dir / INCOMING / LOCK_FILE, "a") as handle:
        deadline = time.monotonic() + KILL_LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield
                    return
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _last_write(run_dir: Path) -> float:
    try:
        return (run_dir / "events.jsonl").stat().st_mtime
    except OSError:
        return time.time()


def _worker_alive(run_id: str, run_dir: Path) -> bool:
    proc = _PROCESSES.get(run_id)
    if proc is not None:
        return proc.poll() is None
    try:
        pid = int((run_dir / "pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    if not cmdline:  # a zombie, or a process still in exec (its arguments not yet mapped)
        return _process_state(pid) not in ("gone", "Z")
    return str(run_dir).encode() in cmdline  # the pid is still our worker, not a reused one


def _kill_worker(run_id: str, run_dir: Path) -> bool:
    """SIGKILL the worker's process group (start_job made it its leader); True once the
    worker is dead (and reaped, if this process started it)."""
    try:
        pid = int((run_dir / "pid").read_text())
        os.killpg(pid, signal.SIGKILL)
    except (OSError, ValueError):
        return False
    proc = _PROCESSES.get(run_id)
    if proc is not None:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + 30  # another server's child: dead once gone or a zombie
    while _process_state(pid) not in ("gone", "Z"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _process_state(pid: int) -> str:
    """A process's state letter from /proc ("R", "S", "Z", ...), or "gone"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def start_job(spec: JobSpec) -> TrainingJob:
    """Check the spec, write the run folder and start its worker process."""
    spec.validate()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = runs_dir() / f"{stamp}-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir(parents=True)
    write_json(run_dir / "spec.json", spec.to_dict())
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    with open(run_dir / "worker.log", "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "har.training.worker", str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: Stop can end it and its children
        )
    write_json(run_dir / "pid", proc.pid)
    _PROCESSES[run_dir.name] = proc
    # a finished worker is waited for at once, so it never lingers as a zombie (<defunct>)
    threading.Thread(target=proc.wait, daemon=True).start()
    return get_job(run_dir.name)


def get_job(job_id: str | None) -> TrainingJob | None:
    """The run with this id (a page refresh finds it by the id in its URL), or None."""
    if not job_id or "/" in job_id or job_id.startswith("."):
        return None
    run_dir = runs_dir() / job_id
    with _RUNS_LOCK:
        job = _RUNS.get(str(run_dir))
        if job is None:
            try:
                job = TrainingJob(run_dir)
            except (OSError, ValueError, KeyError, TypeError):
                return None
            _RUNS[str(run_dir)] = job
        return job


def list_jobs(limit: int | None = None) -> list[TrainingJob]:
    """The runs, newest first (the `limit` newest if given); unreadable folders left out."""
    root = runs_dir()
    if not root.is_dir():
        return []
    names = sorted((p.name for p in root.iterdir() if (p / "spec.json").exists()), reverse=True)
    return [job for job in map(get_job, names[:limit]) if job is not None]


def forget_job(job_id: str) -> None:
    """Drop a run from this process's memory (after its folder was deleted)."""
    with _RUNS_LOCK:
        _RUNS.pop(str(runs_dir() / job_id), None)
