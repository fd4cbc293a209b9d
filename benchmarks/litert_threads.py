"""LiteRT thread count against the load: one thread vs one per core, interleaved.

    python benchmarks/litert_threads.py [--repeats 30]

Times one clip through each shipped model's cached LiteRT file with 1 thread and with
os.cpu_count() threads, alternating, and records the load average beside the figures; run
it on an idle and on a loaded machine (HAR_LITERT_THREADS=auto picks one thread when the
1-minute load average is above cores - 0.5). Writes benchmarks/results/litert_threads.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from machine import save_json  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/litert_threads.json")
    args = parser.parse_args()

    from har.config import SHIPPED_MODELS_DIR
    from har.inference import load_predictors
    from har.inference.litert import cache_paths
    from har.models.tflite import LiteModel

    names = ["lrcn-paper4", "convlstm-paper4"]
    load_predictors(names)  # converts once if the cache is empty
    cores = os.cpu_count() or 1
    results = {"cores": cores, "load_before": os.getloadavg(), "models": {}}
    for name in names:
        path = cache_paths(SHIPPED_MODELS_DIR / f"{name}.keras").tflite
        lites = {n: LiteModel(path, threads=n) for n in sorted({1, cores})}
        x = np.random.default_rng(0).random((1, *lites[1].input_shape), dtype=np.float32)
        times = {n: [] for n in lites}
        load = os.getloadavg()
        for _ in range(args.repeats):
            for n, lite in lites.items():
                start = time.perf_counter()
                lite(x)
                times[n].append(time.perf_counter() - start)
        row = {
            f"{n}_threads_ms": {
                "median": round(statistics.median(t) * 1e3, 3),
                "min": round(min(t) * 1e3, 3),
                "max": round(max(t) * 1e3, 3),
            }
            for n, t in times.items()
        }
        row["load"] = [round(v, 2) for v in load]
        results["models"][name] = row
        print(
            f"{name:16s} "
            + "  ".join(
                f"{k}: {v['median']:.2f} ms ({v['min']:.2f}-{v['max']:.2f})"
                for k, v in row.items()
                if k != "load"
            )
            + f"  load {load[0]:.1f}"
        )
    results["load_after"] = os.getloadavg()
    save_json(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
