"""Does averaging several views of a clip at test time help the shipped real models?

    python benchmarks/test_time_views.py --data ../shared/ucf-real [--split-seed 27]
        [--models lrcn-ucf6 convlstm-ucf6]

Test-time augmentation keeps the paper's architectures: the model is the same, it only sees
each clip more than once. For every validation and test clip of the models' group split, 80
evenly spaced frames are decoded once (the training recipe's temporal jitter draws from the
same 80); view "tK" is every 4th of them from offset K (20 frames, about the paper's spacing),
"tKf" the same frames mirrored. Each combination of views is averaged (mean of the
log-probabilities), then calibrated and thresholded exactly as the cards are: temperature and
uncertainty threshold fitted on the validation clips, accuracy, ECE and the flagged shares on
the test clips. Prints a table; writes benchmarks/results/test_time_views.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from machine import machine, save_json  # noqa: E402

from har.data.ucf import scan, split_clips  # noqa: E402
from har.data.video import read_clips  # noqa: E402
from har.evaluation import calibration  # noqa: E402
from har.inference import Predictor  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "test_time_views.json"
DENSE = 80  # frames decoded per clip; every 4th gives 20
COMBINATIONS = {
    "t0 (one view)": ["t0"],
    "t0 mirrored": ["t0f"],
    "t0 + mirrored": ["t0", "t0f"],
    "2 offsets": ["t0", "t2"],
    "4 offsets": ["t0", "t1", "t2", "t3"],
    "2 offsets + mirrored": ["t0", "t2", "t0f", "t2f"],
    "4 offsets + mirrored": ["t0", "t1", "t2", "t3", "t0f", "t1f", "t2f", "t3f"],
}


def dense_frames(clips, classes) -> tuple[np.ndarray, np.ndarray]:
    pixels = [read_clips(c.path, [(DENSE, (64, 64))])[0].pixels for c in clips]
    return np.stack(pixels), np.array([classes.index(c.label) for c in clips])


def views(x: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for k in range(4):
        out[f"t{k}"] = np.ascontiguousarray(x[:, k::4])
        out[f"t{k}f"] = np.ascontiguousarray(x[:, k::4, :, ::-1])
    return out


def average(probabilities: list[np.ndarray]) -> np.ndarray:
    z = np.mean([np.log(np.clip(p, 1e-12, 1.0)) for p in probabilities], axis=0)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def score(val: np.ndarray, y_val, test: np.ndarray, y_test) -> dict:
    temperature = calibration.fit_temperature(val, y_val)
    cal_val = calibration.calibrate(val, temperature)
    cal_test = calibration.calibrate(test, temperature)
    threshold = calibration.choose_threshold(cal_val, y_val)
    flagged = calibration.flagged_rates(cal_test, y_test, threshold)
    return {
        "val_accuracy": float((val.argmax(1) == y_val).mean()),
        "test_accuracy": float((test.argmax(1) == y_test).mean()),
        "test_right": int((test.argmax(1) == y_test).sum()),
        "temperature": round(float(temperature), 4),
        "threshold": round(float(threshold), 4),
        "test_ece": round(float(calibration.expected_calibration_error(cal_test, y_test)), 4),
        "flagged_right": flagged["right"],
        "flagged_wrong": flagged["wrong"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the models' UCF folder")
    parser.add_argument("--split-seed", type=int, default=27)
    parser.add_argument("--models", nargs="+", default=["lrcn-ucf6", "convlstm-ucf6"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    info = machine()
    dataset = scan(args.data)
    split = split_clips(dataset.clips, mode="group", seed=args.split_seed)
    classes = list(dataset.classes)
    start = time.perf_counter()
    x_val, y_val = dense_frames(split.val, classes)
    x_test, y_test = dense_frames(split.test, classes)
    print(
        f"{len(y_val)} validation and {len(y_test)} test clips decoded "
        f"in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    results = {}
    for name in args.models:
        predictor = Predictor.from_registry(name)
        if list(predictor.card.class_names) != classes:
            raise SystemExit(f"{name} does not have the folder's classes {classes}")
        val = {k: predictor.predict_batch(v, calibrated=False) for k, v in views(x_val).items()}
        test = {k: predictor.predict_batch(v, calibrated=False) for k, v in views(x_test).items()}
        results[name] = {
            label: score(
                average([val[k] for k in keys]), y_val, average([test[k] for k in keys]), y_test
            )
            for label, keys in COMBINATIONS.items()
        }
    lines = [
        "| model | views | validation accuracy | test accuracy | test ECE | "
        "flagged: right / wrong |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for name, rows in results.items():
        for label, r in rows.items():
            lines.append(
                f"| {name} | {label} | {r['val_accuracy'] * 100:.1f} % | "
                f"{r['test_accuracy'] * 100:.1f} % ({r['test_right']}/{len(y_test)}) | "
                f"{r['test_ece']:.3f} | {r['flagged_right'] * 100:.0f} % / "
                f"{r['flagged_wrong'] * 100:.0f} % |"
            )
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "machine": info,
        "data": str(args.data),
        "split": {"mode": "group", "seed": args.split_seed, "val": len(y_val), "test": len(y_test)},
        "combinations": COMBINATIONS,
        "results": results,
        "load_at_end": round(os.getloadavg()[0], 2),
    }
    save_json(args.out, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
