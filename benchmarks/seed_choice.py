"""Would choosing among training seeds by validation loss have given better models?

    python benchmarks/seed_choice.py [RECORDS.json ...]

Reads the per-run records real_recipe.py wrote (default: every
benchmarks/results/real_recipe*.json) and, for each set of runs of one model and recipe on one
machine (its seeds differ in nothing else), compares the run `har train --tries N` would keep
(the lowest best validation loss; har.training.tries) with the set's mean test accuracy. The
test clips play no part in the choice; they only score it here. A record found in several files
counts once, under the first file. No training: prints a table and writes
benchmarks/results/seed_choice.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import save_json  # noqa: E402


def run_sets(files: list[Path]) -> dict[tuple, list[dict]]:
    """(file stem, model, recipe) -> that set's runs, each record counted once."""
    seen, sets = set(), {}
    for path in files:
        payload = json.loads(path.read_text())
        for r in payload["records"]:
            key = (r["model"], r["recipe"], r["seed"], round(r["test_accuracy"], 4))
            key += (round(r["best_val_loss"], 4),)
            if key in seen:
                continue
            seen.add(key)
            run = {k: r[k] for k in ("seed", "test_accuracy", "best_val_loss", "epochs_run")}
            run["test_clips"] = r.get("test_clips")
            sets.setdefault((path.stem, r["model"], r["recipe"]), []).append(run)
    return sets


def choice(runs: list[dict]) -> dict:
    kept = min(runs, key=lambda r: r["best_val_loss"])
    accuracies = [r["test_accuracy"] for r in runs]
    mean = statistics.fmean(accuracies)
    return {
        "seeds": [r["seed"] for r in runs],
        "best_val_loss": [round(r["best_val_loss"], 3) for r in runs],
        "test_accuracy": [round(a, 4) for a in accuracies],
        "test_clips": runs[0]["test_clips"],
        "mean": round(mean, 4),
        "kept_seed": kept["seed"],
        "kept_accuracy": round(kept["test_accuracy"], 4),
        "gain_points": round(100 * (kept["test_accuracy"] - mean), 1),
        "kept_is_best": kept["test_accuracy"] == max(accuracies),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("records", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS / "seed_choice.json")
    args = parser.parse_args()
    files = args.records or sorted(RESULTS.glob("real_recipe*.json"))
    rows = []
    for (stem, model, recipe), runs in run_sets(files).items():
        if len(runs) > 1:
            rows.append({"records": stem, "model": model, "recipe": recipe, **choice(runs)})
    header = "seed: validation loss -> test accuracy"
    print(f"| records (file) | model | recipe | {header} | mean | kept | gain |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: |")
    for r in rows:
        runs = ", ".join(
            f"{s}: {v:.3f} -> {a:.1%}"
            for s, v, a in zip(r["seeds"], r["best_val_loss"], r["test_accuracy"], strict=True)
        )
        print(
            f"| {r['records']} | {r['model']} | {r['recipe']} | {runs} | {r['mean']:.1%} "
            f"| seed {r['kept_seed']}: {r['kept_accuracy']:.1%} | {r['gain_points']:+.1f} |"
        )
    save_json(args.out, {"files": [p.name for p in files], "sets": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
