"""What a benchmark ran on, recorded in its JSON: the CPU, cores, versions, date and load."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path


def machine() -> dict:
    """CPU model, core count, Python/TensorFlow/Keras versions, UTC date, load average now."""
    import keras
    import tensorflow as tf

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_before": os.getloadavg(),
    }


def save_json(path: Path, payload) -> Path:
    """Write a benchmark's results: its folder made, the file replaced whole (a run stopped
    half-way keeps the previous results), and say where."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    tmp.replace(path)
    print(f"wrote {path}", flush=True)
    return path
