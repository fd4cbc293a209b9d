"""The real pair predicts as fast as the synthetic pair: one clip, each shipped model, LiteRT.

    python benchmarks/real_vs_demo_speed.py [--rounds 200]

Loads lrcn-ucf6, convlstm-ucf6, lrcn-paper4 and convlstm-paper4 through the Predictor (the one
door the app and CLI use), then times one 20-frame clip per call, interleaved model by model
in every round (the order reversed every other round) so a busy machine hurts all alike.
Prints median, spread and the real/synthetic ratio per architecture; writes
benchmarks/results/real_vs_demo_speed.json with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from machine import machine  # noqa: E402

from har.inference import Predictor  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAIRS = {"lrcn": ("lrcn-ucf6", "lrcn-paper4"), "convlstm": ("convlstm-ucf6", "convlstm-paper4")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/real_vs_demo_speed.json"
    )
    args = parser.parse_args()
    names = [n for pair in PAIRS.values() for n in pair]
    predictors = {n: Predictor.from_registry(n) for n in names}
    clip = np.random.default_rng(0).integers(0, 255, (20, 64, 64, 3), dtype=np.uint8)
    for p in predictors.values():  # warm
        p.predict_batch(clip[None])
    times: dict[str, list[float]] = {n: [] for n in names}
    load_start = os.getloadavg()
    order = list(predictors.items())
    for k in range(args.rounds):
        for name, p in order if k % 2 == 0 else order[::-1]:  # A B C D, D C B A: no position bias
            start = time.perf_counter()
            p.predict_batch(clip[None])
            times[name].append((time.perf_counter() - start) * 1000)
    load_end = os.getloadavg()
    rows = []
    print("| model | runtime | median ms | p10-p90 ms | real / synthetic |")
    print("| --- | --- | ---: | --- | ---: |")
    for arch, (real, demo) in PAIRS.items():
        for name in (real, demo):
            t = sorted(times[name])
            median = statistics.median(t)
            ratio = median / statistics.median(times[demo]) if name == real else None
            rows.append(
                {
                    "model": name,
                    "architecture": arch,
                    "runtime": predictors[name].runtime,
                    "median_ms": round(median, 3),
                    "p10_ms": round(t[len(t) // 10], 3),
                    "p90_ms": round(t[len(t) * 9 // 10], 3),
                    "real_over_synthetic": round(ratio, 3) if ratio else None,
                }
            )
            r = rows[-1]
            print(
                f"| {name} | {r['runtime']} | {median:.2f} | {r['p10_ms']:.2f}-{r['p90_ms']:.2f} "
                f"| {f'{ratio:.2f}x' if ratio else ''} |"
            )
    print(f"load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "rounds": args.rounds,
                "load_start": load_start,
                "load_end": load_end,
                "rows": rows,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
