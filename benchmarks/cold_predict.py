"""Cold `har predict` on one clip with both shipped models: fresh processes, wall time.

    python benchmarks/cold_predict.py [--repeats 5]

Times, interleaved (A B A B ...), fresh processes of
  - `har predict samples/TaiChi_1.mp4 --json` as shipped (LiteRT, converted models cached),
  - the same with HAR_RUNTIME=tensorflow (the Predictor on TensorFlow's fast layers),
  - `python -c pass` and `python -c "import har.cli"`: what starting Python and importing
    the CLI cost, so what remains of a run is visible;
and, once, the first run after the LiteRT cache is removed (it converts both models).
Decode and model times are the ones `--json` reports. Writes benchmarks/results/cold_predict.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import save_json  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "samples" / "TaiChi_1.mp4"
CACHE = ROOT / "models" / ".litert"
TARGET_S = 3.0
HAR = str(Path(sys.executable).with_name("har"))  # the console script a user runs
PREDICT = [HAR, "predict", str(CLIP), "--json"]


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, dict | None]:
    start = time.perf_counter()
    done = subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")
    return wall, json.loads(done.stdout) if "--json" in cmd else None


def phases(report: dict) -> dict:
    model = sum(p["model_seconds"] for p in report["predictions"])
    return {
        "decode_s": report["decode_seconds"],
        "model_s": model,
        "runtimes": sorted({p["runtime"] for p in report["predictions"]}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/cold_predict.json")
    args = parser.parse_args()
    shutil.rmtree(CACHE, ignore_errors=True)
    first_wall, first_report = timed(PREDICT)  # converts both models, then predicts
    variants = {
        "har predict (LiteRT, cached)": (PREDICT, None),
        "har predict, HAR_RUNTIME=tensorflow": (PREDICT, {"HAR_RUNTIME": "tensorflow"}),
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        "python -c 'import har.cli'": ([sys.executable, "-c", "import har.cli"], None),
    }
    walls: dict[str, list[float]] = {name: [] for name in variants}
    reports: dict[str, list[dict]] = {name: [] for name in variants}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for name, (cmd, env) in variants.items():
            wall, report = timed(cmd, env)
            walls[name].append(wall)
            if report is not None:
                reports[name].append(phases(report))
    load_after = os.getloadavg()

    lite, tf_name = "har predict (LiteRT, cached)", "har predict, HAR_RUNTIME=tensorflow"
    medians = {name: statistics.median(ts) for name, ts in walls.items()}
    print(f"load {load_before[0]:.1f} before, {load_after[0]:.1f} after; {args.repeats} runs each")
    print("| fresh process | median s | min-max s | decode ms | model ms (both) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, ts in walls.items():
        got = reports[name]
        decode = f"{statistics.median(r['decode_s'] for r in got) * 1e3:.0f}" if got else ""
        model = f"{statistics.median(r['model_s'] for r in got) * 1e3:.1f}" if got else ""
        spread = f"{min(ts):.2f}-{max(ts):.2f}"
        print(f"| {name} | {medians[name]:.2f} | {spread} | {decode} | {model} |")
    first = phases(first_report)
    print(f"| first run, empty LiteRT cache (converts both) | {first_wall:.2f} | | "
          f"{first['decode_s'] * 1e3:.0f} | {first['model_s'] * 1e3:.1f} |")  # fmt: skip
    verdict = "met" if medians[lite] <= TARGET_S else "NOT met"
    print(
        f"\ncold har predict {medians[lite]:.2f} s (target <= {TARGET_S:g} s: {verdict}); "
        f"{medians[tf_name] / medians[lite]:.1f}x less than on TensorFlow"
    )
    result = {
        "load_before": load_before,
        "load_after": load_after,
        "walls": walls,
        "phases": reports,
        "medians": medians,
        "first_run_empty_cache": {"wall": first_wall, **first},
    }
    save_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
