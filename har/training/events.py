"""A run's events.jsonl: appended by one writer at a time, read leniently by everyone else.

The writer is the run's worker; once the server has killed a worker that ignored Stop, and
the worker is dead, the server appends the run's end (har.training.jobs). One JSON object per
line, each line written in one `os.write`, so a reader sees at most an
unterminated last line, which it leaves for later. A damaged line (not JSON, not an object,
no "type", random bytes) is skipped and counted, never a traceback: one bad line must not
hide the run list or the runs around it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from enum import StrEnum
from pathlib import Path

MAX_EVENT_BYTES = 1 << 20  # a longer line is damage, not an event


class Kind(StrEnum):
    """The nine kinds of event, each line's "type" (a str: it is written and compared as such)."""

    STAGE = "stage"  # the run enters a stage: stage, message (and arch when training starts)
    GENERATE = "generate"  # synthetic clips made so far: done, total
    EXTRACT = "extract"  # clips whose frames are extracted so far: done, total
    SPLIT = "split"  # the split's counts, and the files left out: split, skipped
    EPOCH_BEGIN = "epoch_begin"  # arch, epoch (0-based), total_epochs
    BATCH = "batch"  # batches done in the epoch: arch, batch, total_batches
    EPOCH = "epoch"  # an epoch's logs: arch, logs (epoch 1-based, loss, accuracy, val_...)
    REPORT = "report"  # a model's test report (None when stopped) and what was kept: arch, model
    END = "end"  # the run's last event: stage (done, stopped or failed), message, error


class EventLog:
    """Appends one JSON object per line, each in one write."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.lock = threading.Lock()

    def emit(self, kind: Kind, **data) -> None:
        line = json.dumps({"type": Kind(kind).value, "t": time.time(), **data}) + "\n"
        with self.lock:
            os.write(self.fd, line.encode())

    def close(self) -> None:
        os.close(self.fd)


def parse_event(line: bytes) -> dict | None:
    """One line as an event dict with a string "type" and a number "t", or None if damaged."""
    if len(line) > MAX_EVENT_BYTES:
        return None
    try:
        event = json.loads(line)
    except ValueError:  # not JSON, a cut line, bytes that are not UTF-8
        return None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return None
    t = event.get("t")
    if not isinstance(t, int | float) or isinstance(t, bool) or t != t:
        return None
    return event


def read_new_events(path: Path, offset: int) -> tuple[list[dict], int, int]:
    """Events after byte `offset`: (events, new offset, damaged lines skipped)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return [], offset, 0
    complete = chunk[: chunk.rfind(b"\n") + 1]  # an unterminated last line waits
    events, bad = [], 0
    for line in complete.splitlines():
        if not line.strip():
            continue
        event = parse_event(line)
        if event is None:
            bad += 1
        else:
            events.append(event)
    return events, offset + len(complete), bad
