"""Ours against the paper's reference approach, on the same inputs, in one run.

    python benchmarks/run.py            # full: about 36 minutes on 2 cores (training: 30)
    python benchmarks/run.py --quick    # fewer repeats, 48 training clips, no accuracy

Prints a Markdown table and writes JSON (machine, versions, raw timings, medians, ratios).
Ratios are measured in one run, medians of several repetitions; no timing is asserted in
the test suite (tests/test_benchmark_parity.py checks only that results agree).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402
from machine import machine, save_json  # noqa: E402

from har.utils.quiet import import_tensorflow  # noqa: E402

tf = import_tensorflow()
import keras  # noqa: E402

from har.data.encode import write_mp4  # noqa: E402
from har.data.frame_cache import FrameCache, load_frames  # noqa: E402
from har.data.synthetic import generate_dataset, render_clip  # noqa: E402
from har.data.ucf import scan  # noqa: E402
from har.data.video import read_clip  # noqa: E402
from har.inference import Predictor  # noqa: E402
from har.models.architectures import build_model  # noqa: E402
from har.models.card import ModelCard  # noqa: E402
from har.training.fit import TrainingListener, train_model  # noqa: E402
from har.training.recipe import TrainConfig  # noqa: E402


def timed(fn, repeats: int) -> tuple[list[float], object]:
    out, times = None, []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def write_ucf50_like_avi(path: Path, frames, gop: int) -> Path:
    """MPEG-4 part 2 in AVI with the XVID tag, 320x240, 25 fps, like UCF50's files.
    `gop` is the keyframe interval: XviD's default allows up to 300, OpenCV writes 12."""
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_tag = "XVID"
        stream.options = {"qscale": "4"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def clip_frames(seconds: float, size=(320, 240)) -> list:
    return list(render_clip("TaiChi", 1, 1, seed=5, size=size, seconds=seconds))


def bench_extraction(tmp: Path, repeats: int) -> list[dict]:
    rows = []
    seven = clip_frames(7.0)
    videos = {
        "AVI 320x240 MPEG-4, 7 s, keyframe every 250 (UCF50-like)": write_ucf50_like_avi(
            tmp / "ucf50_like.avi", seven, 250
        ),
        "AVI 320x240 MPEG-4, 7 s, keyframe every 12 (OpenCV's default)": write_ucf50_like_avi(
            tmp / "short_gop.avi", seven, 12
        ),
        "MP4 320x240 H.264, 30 s": write_mp4(tmp / "long.mp4", clip_frames(30.0), fps=25),
    }
    for name, path in videos.items():
        read_clip(path), reference.frames_extraction(path)  # warm the decoders
        ref_t, _ = timed(lambda p=path: reference.frames_extraction(p), repeats)
        ours_t, ours = timed(lambda p=path: read_clip(p), repeats)
        corrected = reference.frames_extraction_corrected(path)
        raw = reference.frames_extraction(path)
        rows.append(
            {
                "metric": f"frame extraction, {name}",
                "unit": "ms/clip",
                "reference": statistics.median(ref_t) * 1000,
                "ours": statistics.median(ours_t) * 1000,
                "raw_reference": ref_t,
                "raw_ours": ours_t,
                "identical_frames": bool(np.array_equal(ours.pixels, corrected)),
                "max_abs_diff_vs_corrected_reference": int(
                    np.abs(ours.pixels.astype(int) - corrected.astype(int)).max()
                ),
                "reference_dtype": str(raw.dtype),
                "target": 5.0 if "UCF50-like" in name else None,
            }
        )
    return rows


def _card(model, classes) -> ModelCard:
    return ModelCard(
        name="bench",
        architecture=model.name,
        class_names=classes,
        input_shape=[20, 64, 64, 3],
        color_order="RGB",
        parameters=model.count_params(),
        dataset={},
        split={},
        metrics={},
        training={},
        created="",
        versions={},
        synthetic=True,
    )


def bench_inference(repeats: int) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    clips = rng.random((32, 20, 64, 64, 3), dtype=np.float32)
    for arch in ("convlstm", "lrcn"):
        keras.utils.set_random_seed(1)
        model = build_model(arch, 4, fast=False)  # the reference runs the stock Keras layers
        predictor = Predictor.from_model(model, _card(model, ["a", "b", "c", "d"]))
        reference.predict_clip(model, clips[0])  # warm both
        ref_t, ref_p = timed(lambda m=model: reference.predict_clip(m, clips[0]), repeats)
        ours_t, ours_p = timed(lambda p=predictor: p.predict_clip(clips[0]), repeats)
        rows.append(
            {
                "metric": f"single-clip inference, {arch}",
                "unit": "ms/clip",
                "reference": statistics.median(ref_t) * 1000,
                "ours": statistics.median(ours_t) * 1000,
                "raw_reference": ref_t,
                "raw_ours": ours_t,
                "max_abs_prob_diff": float(np.abs(ref_p - ours_p.probabilities).max()),
                "target": 3.0,
            }
        )
        reps = max(3, repeats // 4)
        ref_b, _ = timed(lambda m=model: m.predict(clips, batch_size=32, verbose=0), reps)
        ours_b, _ = timed(lambda p=predictor: p.predict_batch(clips), reps)
        rows.append(
            {
                "metric": f"batched inference (32 clips), {arch}",
                "unit": "clips/s",
                "reference": 32 / statistics.median(ref_b),
                "ours": 32 / statistics.median(ours_b),
                "raw_reference": ref_b,
                "raw_ours": ours_b,
                "higher_is_better": True,
                "target": None,
            }
        )
    return rows


class KerasEpochTimer(keras.callbacks.Callback):
    """Seconds per epoch of a plain Keras fit (the reference)."""

    def __init__(self):
        super().__init__()
        self.times, self._start = [], 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


class EpochTimer(TrainingListener):
    """Seconds per epoch through har.train's listener hook."""

    def __init__(self):
        self.times, self._start = [], 0.0

    def on_epoch_begin(self, epoch, total_epochs):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        self.times.append(time.perf_counter() - self._start)


def bench_training(x, y, x_val, y_val, epochs: int, with_accuracy: bool) -> list[dict]:
    """Clips/s over an epoch (the first epoch, which traces, is left out)."""
    rows = []
    num_classes = int(y.max()) + 1
    n_train = len(x)
    for arch in ("lrcn", "convlstm"):
        runs = {}
        # reference: float32 arrays (the train part plus the validation part it splits off)
        features = np.concatenate([x, x_val]).astype(np.float32) / 255.0
        labels = keras.utils.to_categorical(np.concatenate([y, y_val]), num_classes)
        keras.utils.set_random_seed(27)
        model = build_model(arch, num_classes, fast=False)  # the paper's stock Keras layers
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        timer = KerasEpochTimer()
        hist = reference.fit(model, features, labels, epochs, [timer])
        runs["reference (NumPy, batch 4)"] = (timer.times[1:], hist.history["val_accuracy"][-1])
        del features
        for label, batch in (("ours (tf.data, batch 4)", 4), ("ours (tf.data, batch 16)", 16)):
            timer = EpochTimer()
            result = train_model(
                x,
                y,
                x_val,
                y_val,
                num_classes,
                TrainConfig(arch, epochs=epochs, batch_size=batch, patience=epochs),
                timer,
            )
            runs[label] = (timer.times[1:], result.history["val_accuracy"][-1])
        ref_times, ref_acc = runs["reference (NumPy, batch 4)"]
        for label, (times, acc) in runs.items():
            if label.startswith("reference"):
                continue
            rows.append(
                {
                    "metric": f"training, {arch}, {label}",
                    "unit": "clips/s",
                    "reference": n_train / statistics.median(ref_times),
                    "ours": n_train / statistics.median(times),
                    "raw_reference": ref_times,
                    "raw_ours": times,
                    "higher_is_better": True,
                    "val_accuracy_reference": ref_acc if with_accuracy else None,
                    "val_accuracy_ours": acc if with_accuracy else None,
                    "epochs": epochs,
                    "target": 1.5 if "batch 16" in label else None,
                }
            )
    return rows


def bench_dataset(tmp: Path, repeats: int) -> list[dict]:
    root = generate_dataset(
        tmp / "prep",
        ["TaiChi", "Punch", "Swing", "Lunges"],
        groups=5,
        clips_per_group=2,
        workers=1,
        progress=False,
    )
    clips = scan(root).clips
    names = ["Lunges", "Punch", "Swing", "TaiChi"]
    cold, warm = [], []
    for r in range(repeats):
        cache = FrameCache(tmp / f"cache{r}")
        start = time.perf_counter()
        load_frames(clips, names, cache, progress=False)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        load_frames(clips, names, cache, progress=False)
        warm.append(time.perf_counter() - start)
    ref, _ = timed(
        lambda: [reference.frames_extraction(c.path) for c in clips], max(1, repeats // 2)
    )
    n = len(clips)
    return [
        {
            "metric": f"dataset preparation, {n} clips: reference (serial seeks) vs ours cold",
            "unit": "s",
            "reference": statistics.median(ref),
            "ours": statistics.median(cold),
            "raw_reference": ref,
            "raw_ours": cold,
            "target": None,
        },
        {
            "metric": f"dataset preparation, {n} clips: ours cold vs ours warm (cache hit)",
            "unit": "s",
            "reference": statistics.median(cold),
            "ours": statistics.median(warm),
            "raw_reference": cold,
            "raw_ours": warm,
            "target": 20.0,
        },
    ]


def ratio(row: dict) -> float:
    if row.get("higher_is_better"):
        return row["ours"] / row["reference"]
    return row["reference"] / row["ours"]


def table(rows: list[dict]) -> str:
    lines = [
        "| metric | unit | reference | ours | ratio | target | met |",
        "| --- | --- | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in rows:
        target = r.get("target")
        met = "" if target is None else ("yes" if ratio(r) >= target else "no")
        lines.append(
            f"| {r['metric']} | {r['unit']} | {r['reference']:.3g} | {r['ours']:.3g} "
            f"| {ratio(r):.2f}x | {'' if target is None else f'{target}x'} | {met} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int)
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("data/synthetic-4"),
        help="synthetic folder for the training rows (made if missing)",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/latest.json"))
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else 15)
    info = machine()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("extraction...", flush=True)
        rows += bench_extraction(tmp, repeats)
        print("inference...", flush=True)
        rows += bench_inference(max(repeats, 20))
        print("dataset preparation...", flush=True)
        rows += bench_dataset(tmp, 3)
        print("training...", flush=True)
        if not args.data.exists():
            generate_dataset(
                args.data,
                ["WalkingWithDog", "TaiChi", "Swing", "HorseRace"],
                groups=25,
                clips_per_group=4,
                progress=False,
            )
        from har.data.ucf import split_clips

        dataset = scan(args.data)
        split = split_clips(dataset.clips, "group", seed=27)
        limit = 48 if args.quick else len(split.train)
        x, y = load_frames(split.train[:limit], dataset.classes, progress=False)
        xv, yv = load_frames(split.val[: max(8, limit // 4)], dataset.classes, progress=False)
        rows += bench_training(
            x, y, xv, yv, epochs=3 if args.quick else 6, with_accuracy=not args.quick
        )
    info["load_after"] = os.getloadavg()
    for r in rows:
        r["ratio"] = ratio(r)
    print()
    print(
        f"Machine: {info['cpu']}, {info['cores']} cores; TensorFlow {info['tensorflow']}; "
        f"load {info['load_before'][0]:.1f} before, {info['load_after'][0]:.1f} after"
    )
    print(table(rows))
    for r in rows:
        extra = {
            k: r[k]
            for k in (
                "identical_frames",
                "max_abs_diff_vs_corrected_reference",
                "max_abs_prob_diff",
                "val_accuracy_reference",
                "val_accuracy_ours",
            )
            if r.get(k) is not None
        }
        if extra:
            print(f"  {r['metric']}: {extra}")
    save_json(args.out, {"machine": info, "quick": args.quick, "repeats": repeats, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
