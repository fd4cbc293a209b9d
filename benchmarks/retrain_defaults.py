"""Which Retrain form defaults learn something visible on synthetic data in about a minute.

    python benchmarks/retrain_defaults.py [--configs lrcn:paper:10:6 lrcn:augment:10:6 ...]

Each config (model:recipe:max epochs:groups per class) is one real run through
har.training.jobs (the page's path: its own process, synthetic clips generated and cached,
frames extracted, trained, tested), on the page's two default classes. Prints a table of
wall time, epochs, best validation accuracy and test accuracy, with the load average before
and after each run, and writes benchmarks/results/retrain_defaults.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import save_json  # noqa: E402

from har.data.synthetic import SYNTHETIC_CLASSES  # noqa: E402
from har.training.jobs import JobSpec, start_job  # noqa: E402
from har.training.recipe import TrainConfig  # noqa: E402


def run(arch: str, recipe: str, epochs: int, groups: int) -> dict:
    config = TrainConfig(architecture=arch, epochs=epochs, recipe=recipe)
    spec = JobSpec(list(SYNTHETIC_CLASSES[:2]), [arch], config, synthetic_groups=groups)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    job = start_job(spec)
    state = job.join(timeout=3600)
    seconds = time.perf_counter() - start
    history = state.history.get(arch, [])
    return {
        "config": f"{arch}:{recipe}:{epochs}:{groups}",
        "stage": state.stage,
        "error": state.error,
        "seconds": round(seconds, 1),
        "epochs_run": len(history),
        "best_val_accuracy": max((h.get("val_accuracy", 0) for h in history), default=None),
        "test_accuracy": state.reports.get(arch, {}).get("accuracy"),
        "test_clips": state.reports.get(arch, {}).get("num_clips"),
        "history": history,
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", nargs="+", default=["lrcn:augment:10:6", "lrcn:paper:10:6"])
    parser.add_argument("--keep-cache", action="store_true", help="use the usual frame cache")
    parser.add_argument("--out", default="retrain_defaults.json", help="file in benchmarks/results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HAR_RUNS_DIR"] = str(Path(tmp) / "runs")
        if not args.keep_cache:
            os.environ["HAR_CACHE_DIR"] = str(Path(tmp) / "cache")
        results = []
        for text in args.configs:
            arch, recipe, epochs, groups = text.split(":")
            results.append(run(arch, recipe, int(epochs), int(groups)))
            r = results[-1]
            print(
                f"{r['config']:<22} {r['stage']:<8} {r['seconds']:>7.1f} s  "
                f"{r['epochs_run']:>3} epochs  best val {r['best_val_accuracy']}  "
                f"test {r['test_accuracy']} of {r['test_clips']}  "
                f"load {r['load_before']} -> {r['load_after']}",
                flush=True,
            )
    save_json(
        ROOT / "benchmarks" / "results" / args.out, {"cpu_count": os.cpu_count(), "runs": results}
    )


if __name__ == "__main__":
    main()
