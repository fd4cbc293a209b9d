"""Training speed per step, without model.fit's epoch machinery: what settings could buy.

    python benchmarks/train_step.py [--steps 12]

For each model, batch size (4, the paper's; 16) and XLA on/off, times `train_on_batch` on a
random batch after two warm-up steps; prints clips/s (median step) and writes
benchmarks/results/train_step.json. On this project's 2-core VM whole fit() epochs
sometimes take twice as long for the same work (reference and ours alike), while single
steps stay steady, so this is the cleaner view of how much faster a setting computes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from har.utils.quiet import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402
from machine import save_json  # noqa: E402

from har.models.architectures import build_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def step_times(arch: str, batch: int, xla: bool, steps: int) -> list[float]:
    keras.utils.set_random_seed(1)
    model = build_model(arch, 4)
    model.compile(optimizer="adam", loss="categorical_crossentropy", jit_compile=xla)
    x = np.random.default_rng(0).random((batch, 20, 64, 64, 3), dtype=np.float32)
    y = keras.utils.to_categorical(np.arange(batch) % 4, 4)
    for _ in range(2):
        model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/train_step.json")
    args = parser.parse_args()
    rows = []
    print("| model | batch | XLA | clips/s | vs batch 4 without XLA |")
    print("| --- | ---: | :---: | ---: | ---: |")
    for arch in ("lrcn", "convlstm"):
        base = None
        for batch in (4, 16):
            for xla in (False, True):
                times = step_times(arch, batch, xla, args.steps)
                rate = batch / statistics.median(times)
                base = base or rate
                rows.append({"model": arch, "batch": batch, "xla": xla, "clips_per_s": rate,
                             "raw_step_seconds": times})  # fmt: skip
                print(f"| {arch} | {batch} | {'yes' if xla else 'no'} | {rate:.1f} "
                      f"| {rate / base:.2f}x |", flush=True)  # fmt: skip
    save_json(args.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
