"""Predict latency while a ConvLSTM run compiles and trains, with and without the worker's
lower priority (Fault 11: another user's Predict was 3.7x slower during a run).

    python benchmarks/predict_while_training.py [--rounds 3] [--seconds 20]

This process plays the web server: both shipped default models loaded once (as the Predict
page keeps them), then `predict_video` on a sample clip (decode + both models), timed. Each
round measures, in a rotating order,
  - idle: no run going;
  - each worker setting in SETTINGS: a ConvLSTM run started as the Retrain page starts it
    (har.training.jobs.start_job, 2 synthetic classes, batch 1), Predict timed from the moment
    the worker enters training (building the model and compiling its first batch, then
    training) for --seconds, one prediction every INTERVAL; then the run is stopped.
The worker's priority comes from HAR_TRAIN_NICE (0: none; 10: the shipped default, which
also sets the nice of the worker's autogroup: with the kernel's autogroups, a process in its
own session competes as a group, so a plain nice(10) there does not yield to the server) and
HAR_TRAIN_THREADS (TensorFlow's intra- and inter-op threads); HAR_TRAIN_AUTOGROUP=0 leaves the
autogroup alone, as the worker did before. The 1-minute load average is
recorded beside every timing. Writes benchmarks/results/predict_while_training.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

CLIP = ROOT / "samples" / "TaiChi_1.mp4"
CLASSES = ["WalkingWithDog", "TaiChi"]
# worker settings compared: name -> environment of the worker
SETTINGS = {
    "nice 0 (no mitigation)": {"HAR_TRAIN_NICE": "0"},
    "nice 10, process only (before)": {"HAR_TRAIN_NICE": "10", "HAR_TRAIN_AUTOGROUP": "0"},
    "nice 10, process and autogroup (now)": {"HAR_TRAIN_NICE": "10"},
    "now + 1 TensorFlow thread": {"HAR_TRAIN_NICE": "10", "HAR_TRAIN_THREADS": "1"},
}
KNOBS = ("HAR_TRAIN_NICE", "HAR_TRAIN_AUTOGROUP", "HAR_TRAIN_THREADS")
TARGET = 2.0  # Predict during a run within 2x of Predict alone
INTERVAL = 0.25  # seconds between predictions in a window, as a user clicking through clips


def load_predictors() -> dict:
    from har.inference import Predictor
    from har.models.registry import REAL_PAIR, find_model

    return {name: Predictor.from_registry(find_model(name)[0]) for name in REAL_PAIR}


def predict_once(predictors: dict) -> dict:
    from har.inference import predict_video

    start = time.perf_counter()
    predict_video(CLIP, predictors)
    return {"seconds": time.perf_counter() - start, "load1": os.getloadavg()[0]}


def window(predictors: dict, seconds: float, phase=lambda: "idle") -> list[dict]:
    """Predict every INTERVAL for `seconds`, each timing labelled with phase()."""
    timings, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        label = phase()
        timing = predict_once(predictors)
        timing["phase"] = label
        timings.append(timing)
        time.sleep(INTERVAL)
    return timings


def busy_window(predictors: dict, data_root: Path, env: dict, seconds: float) -> list[dict]:
    """Start a ConvLSTM run with `env`; Predict for `seconds` from the moment it enters
    training (building and compiling the model, then its first epochs); stop it."""
    from har.training.jobs import JobSpec, start_job
    from har.training.recipe import TrainConfig

    saved = {k: os.environ.pop(k, None) for k in KNOBS}
    os.environ.update(env)
    try:
        config = TrainConfig("convlstm", epochs=50, batch_size=1, patience=50, recipe="paper")
        job = start_job(JobSpec(CLASSES, ["convlstm"], config, data_root=str(data_root)))
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value
    try:
        deadline = time.monotonic() + 600
        while job.snapshot().stage != "training":
            if job.snapshot().finished or time.monotonic() > deadline:
                raise RuntimeError(f"the run never trained: {job.snapshot().error}")
            time.sleep(0.05)

        def phase() -> str:
            state = job.snapshot()
            return "training" if state.total_batches else "compiling"

        return window(predictors, seconds, phase)
    finally:
        job.stop()
        job.join(timeout=60)


def summary(timings: list[dict]) -> dict:
    seconds = [t["seconds"] for t in timings]
    loads = [t["load1"] for t in timings]
    return {
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "n": len(seconds),
        "load1_median": statistics.median(loads),
        "load1_range": [min(loads), max(loads)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0, help="per window")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/predict_while_training.json"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for key in ("HAR_CACHE_DIR", "HAR_RUNS_DIR"):
            os.environ[key] = str(Path(tmp) / key.lower())
        from har.data.synthetic import cached_dataset

        data_root = cached_dataset(CLASSES, groups=6, clips_per_group=2, seed=7)
        predictors = load_predictors()
        for _ in range(2):
            predict_once(predictors)  # warm: the page's models have answered before
        conditions = ["idle", *SETTINGS]
        raw: dict[str, list[dict]] = {c: [] for c in conditions}
        about = machine()
        for r in range(args.rounds):
            order = conditions[r % len(conditions) :] + conditions[: r % len(conditions)]
            for condition in order:
                if condition == "idle":
                    got = window(predictors, args.seconds)
                else:
                    got = busy_window(predictors, data_root, SETTINGS[condition], args.seconds)
                for t in got:
                    t["round"] = r
                raw[condition] += got
                median = summary(got)["median_s"] * 1000
                print(f"round {r} {condition}: median {median:.1f} ms, n {len(got)}", flush=True)
    table = {c: summary(v) for c, v in raw.items()}
    for c, v in raw.items():  # the compiling part of each window on its own too
        compiling = [t for t in v if t["phase"] == "compiling"]
        if c != "idle" and compiling:
            table[f"{c}, compiling"] = summary(compiling)
    idle = table["idle"]["median_s"]
    print("\n| condition | median ms | min-max ms | n | load1 median (range) | vs idle |")
    print("| --- | ---: | ---: | ---: | --- | ---: |")
    for c, s in table.items():
        s["over_idle"] = s["median_s"] / idle
        load = f"{s['load1_median']:.1f} ({s['load1_range'][0]:.1f}-{s['load1_range'][1]:.1f})"
        print(
            f"| {c} | {s['median_s'] * 1000:.1f} | {s['min_s'] * 1000:.1f}-"
            f"{s['max_s'] * 1000:.1f} | {s['n']} | {load} | {s['over_idle']:.2f}x |"
        )
    print(f"\ngoal: Predict during a run within {TARGET:.0f}x of Predict alone")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"machine": about, "summary": table, "raw": raw, "target": TARGET}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
