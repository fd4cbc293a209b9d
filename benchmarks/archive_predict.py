"""Throughput of `har predict DIR --out` (har.archive) on 200 synthetic clips, in videos/s.

    python benchmarks/archive_predict.py [--clips 200] [--models lrcn-paper4 convlstm-paper4]

Rows: the one-by-one baseline (har.inference.predict_video per file, as `har predict VIDEO`
in a loop without the start-up), then har.archive.predict_archive with 1 and 2 decoder
processes. Models are loaded once, outside the timing; each archive run writes a fresh
CSV and is checked to hold one row per clip. Writes benchmarks/results/archive_predict.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path

from machine import save_json  # noqa: E402

from har.data.synthetic import SYNTHETIC_CLASSES, cached_dataset
from har.inference.folder import find_videos, predict_archive
from har.utils.quiet import import_tensorflow

# TensorFlow is imported in main(), not here: decoder processes start by importing this file.

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "archive_predict.json"


def clips(n: int) -> list[Path]:
    """n synthetic clips (4 classes x groups x 5), made once in the frame cache folder."""
    groups = -(-n // 20)
    root = cached_dataset(SYNTHETIC_CLASSES[:4], groups=groups, clips_per_group=5, progress=True)
    return find_videos(root)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--models", nargs="+", default=["lrcn-paper4", "convlstm-paper4"])
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    tf = import_tensorflow()
    import keras

    from har.inference import load_predictors, predict_video

    videos = clips(args.clips)
    predictors = load_predictors(args.models)
    load_before = os.getloadavg()
    rows = []

    start = time.perf_counter()
    for video in videos:
        predict_video(video, predictors)
    seconds = time.perf_counter() - start
    rows.append({"variant": "one by one (predict_video)", "decoders": 0, "seconds": seconds})

    for decoders in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "rows.csv"
            summary = predict_archive(videos, predictors, out, decoders, args.batch, False)
            written = list(csv.DictReader(out.open()))
            assert len(written) == len(videos), (len(written), len(videos))
            assert summary.predicted == len(videos), summary.failed[:3]
        rows.append(
            {
                "variant": f"archive, {decoders} decoder process(es), batch {args.batch}",
                "decoders": decoders,
                "seconds": summary.seconds,
            }
        )
    for row in rows:
        row["videos_per_second"] = len(videos) / row["seconds"]
        row["speedup"] = rows[0]["seconds"] / row["seconds"]

    print(f"\n{len(videos)} clips, models {', '.join(args.models)}, {os.cpu_count()} cores")
    print(f"{'variant':<44} {'seconds':>8} {'videos/s':>9} {'speedup':>8}")
    for row in rows:
        print(
            f"{row['variant']:<44} {row['seconds']:8.1f} {row['videos_per_second']:9.1f} "
            f"{row['speedup']:7.2f}x"
        )
    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_before": list(load_before),
            "load_after": list(os.getloadavg()),
        },
        "clips": len(videos),
        "models": args.models,
        "rows": rows,
    }
    save_json(RESULTS, result)


if __name__ == "__main__":
    main()
