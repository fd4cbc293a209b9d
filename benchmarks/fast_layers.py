"""Stock Keras layers against har.layers' fast TimeDistributed / ConvLSTM2D, in one process.

    python benchmarks/fast_layers.py [--quick] [--per-layer]

Variants are timed interleaved (A B A B ...), so load from other users of the machine hits
them alike; the table shows medians with min-max. Rows: single-clip inference (stock
`model.predict`, stock and fast models in a compiled tf.function (what the Predictor runs a
model on when LiteRT cannot), and LiteRT from har.litert's conversion (what the Predictor
runs a registry model on), 32-clip batches, and training clips/s
(train_on_batch, Adam, categorical cross-entropy) at batch 4 and 16, and whole `fit`
epochs over a tf.data pipeline (how har.train trains) at the same batch sizes. Writes
benchmarks/results/fast_layers.json. Timing targets live here, never in tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from har.utils.quiet import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402

from har.config import INPUT_SHAPE  # noqa: E402
from har.models.architectures import build_model  # noqa: E402
from har.models.fast_layers import to_fast  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine, save_json  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARCHS = ("lrcn", "convlstm")
# (model, row, variant, baseline) -> at least this speedup; single-clip rows also a ms cap.
TARGETS = {
    ("lrcn", "training, batch 4"): 5.0,
    ("convlstm", "training, batch 4"): 2.0,
    ("lrcn", "fit epochs, batch 4"): 5.0,
    ("convlstm", "fit epochs, batch 4"): 2.0,
    ("lrcn", "single clip"): 20.0,
    ("convlstm", "single clip"): 5.0,
}
MS_CAPS = {"lrcn": 6.0, "convlstm": 40.0}
LITERT = "LiteRT (the Predictor)"


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 2) -> dict:
    """Seconds per call of each function, timed A B A B ... after `warmup` rounds."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def compiled_forward(model: keras.Model):
    """The call har.inference.Predictor makes: one tf.function, fixed signature, no autograph."""
    fn = tf.function(
        lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec([None, *INPUT_SHAPE], tf.float32)],
        autograph=False,
    )
    return lambda x: fn(x).numpy()


def litert_forward(model: keras.Model):
    """What the Predictor runs for a registry model: har.litert's conversion on LiteRT."""
    from har.models.tflite import LiteModel, convert

    return LiteModel(convert(model))


def pair(arch: str) -> tuple[keras.Model, keras.Model]:
    keras.utils.set_random_seed(1)
    stock = build_model(arch, 4, fast=False)
    return stock, to_fast(stock)


def bench_inference(arch: str, repeats: int) -> list[dict]:
    stock, fast = pair(arch)
    clips = np.random.default_rng(0).random((32, *INPUT_SHAPE), dtype=np.float32)
    one = clips[:1]
    stock_fn, fast_fn = compiled_forward(stock), compiled_forward(fast)
    lite = litert_forward(stock)
    variants = {
        "stock model.predict": lambda: stock.predict(one, verbose=0),
        "stock tf.function": lambda: stock_fn(one),
        "fast tf.function": lambda: fast_fn(one),
        LITERT: lambda: lite(one),
    }
    extra = {
        "max_abs_prob_diff": float(np.abs(fast_fn(clips) - stock_fn(clips)).max()),
        "litert_max_abs_prob_diff": float(np.abs(lite(clips) - stock_fn(clips)).max()),
    }
    rows = [
        row(
            arch,
            "single clip",
            "ms/clip",
            interleaved(variants, repeats),
            "stock model.predict",
            scale=1000.0,
            **extra,
        )
    ]
    batched = {
        "stock model.predict": lambda: stock.predict(clips, batch_size=32, verbose=0),
        "stock tf.function": lambda: stock_fn(clips),
        "fast tf.function": lambda: fast_fn(clips),
        LITERT: lambda: lite(clips),
    }
    times = interleaved(batched, max(3, repeats // 4), warmup=1)
    rows.append(row(arch, "32 clips", "clips/s", times, "stock tf.function", per=32))
    return rows


def bench_training(arch: str, batch: int, repeats: int) -> dict:
    stock, fast = pair(arch)
    x = np.random.default_rng(0).random((batch, *INPUT_SHAPE), dtype=np.float32)
    y = keras.utils.to_categorical(np.arange(batch) % 4, 4)
    fns = {}
    for name, model in (("stock", stock), ("fast", fast)):
        model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
        fns[name] = lambda m=model: m.train_on_batch(x, y)
    times = interleaved(fns, repeats)
    return row(arch, f"training, batch {batch}", "clips/s", times, "stock", per=batch)


def bench_fit(arch: str, batch: int, repeats: int, clips: int = 96) -> dict:
    """Clips/s of whole `fit` epochs over a tf.data pipeline, as har.train runs them (96
    clips: at batch 4, 24 steps an epoch; a real epoch of the shipped models has 60)."""
    stock, fast = pair(arch)
    x = np.random.default_rng(0).random((clips, *INPUT_SHAPE), dtype=np.float32)
    y = keras.utils.to_categorical(np.arange(clips) % 4, 4)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).prefetch(2)
    fns = {}
    for name, model in (("stock", stock), ("fast", fast)):
        model.compile(
            optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy", metrics=["accuracy"]
        )
        fns[name] = lambda m=model: m.fit(data, epochs=1, verbose=0, shuffle=False)
    times = interleaved(fns, repeats, warmup=1)
    return row(arch, f"fit epochs, batch {batch}", "clips/s", times, "stock", per=clips)


def bench_per_layer(arch: str, repeats: int) -> list[dict]:
    """Inference ms of each layer alone (a tf.function per layer), stock vs fast, batch 1."""
    stock, fast = pair(arch)
    x = tf.constant(np.random.default_rng(0).random((1, *INPUT_SHAPE), dtype=np.float32))
    rows = []
    for s_layer, f_layer in zip(stock.layers, fast.layers, strict=True):
        s_fn = tf.function(lambda t, la=s_layer: la(t, training=False), autograph=False)
        f_fn = tf.function(lambda t, la=f_layer: la(t, training=False), autograph=False)
        fns = {
            "stock": lambda fn=s_fn, t=x: fn(t).numpy(),
            "fast": lambda fn=f_fn, t=x: fn(t).numpy(),
        }
        times = interleaved(fns, repeats)
        inner = getattr(s_layer, "layer", None)
        label = type(s_layer).__name__ + (f"({type(inner).__name__})" if inner else "")
        rows.append(row(arch, f"layer {len(rows) + 1} {label}", "ms", times, "stock", scale=1e3))
        x = s_fn(x)
    return rows


def row(arch, metric, unit, times, baseline, per=None, scale=1.0, **extra) -> dict:
    """Medians (and min, max) in `unit`: seconds*scale, or `per`/seconds for throughput."""

    def value(t):
        return per / t if per else t * scale

    stats = {
        name: {
            "median": value(statistics.median(ts)),
            "min": min(map(value, ts)),
            "max": max(map(value, ts)),
        }
        for name, ts in times.items()
    }
    higher = per is not None
    base = stats[baseline]["median"]
    for s in stats.values():
        s["speedup"] = s["median"] / base if higher else base / s["median"]
    return {
        "model": arch,
        "metric": metric,
        "unit": unit,
        "baseline": baseline,
        "variants": stats,
        "raw_seconds": times,
        **extra,
    }


def verdict(r: dict) -> str:
    target = TARGETS.get((r["model"], r["metric"]))
    if target is None:
        return ""
    fast = r["variants"][LITERT if LITERT in r["variants"] else "fast"]
    ok = fast["speedup"] >= target
    text = f">={target:g}x"
    if r["metric"] == "single clip":
        ok = ok and fast["median"] <= MS_CAPS[r["model"]]
        text += f", <={MS_CAPS[r['model']]:g} ms"
    return f"{text}: {'met' if ok else 'NOT met'}"


def table(rows: list[dict]) -> str:
    lines = [
        "| model | metric | variant | median | min-max | unit | speedup | target |",
        "| --- | --- | --- | ---: | ---: | --- | ---: | --- |",
    ]
    for r in rows:
        for i, (name, s) in enumerate(r["variants"].items()):
            lines.append(
                f"| {r['model']} | {r['metric']} | {name} | {s['median']:.3g} "
                f"| {s['min']:.3g}-{s['max']:.3g} | {r['unit']} "
                f"| {s['speedup']:.2f}x vs {r['baseline']} | {verdict(r) if i == 0 else ''} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--per-layer", action="store_true", help="also time each layer alone")
    parser.add_argument("--models", nargs="+", choices=ARCHS, default=list(ARCHS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/fast_layers.json")
    args = parser.parse_args()
    repeats = 8 if args.quick else 25
    train_repeats = 3 if args.quick else 8
    info = machine()
    rows: list[dict] = []
    for arch in args.models:
        print(f"{arch}: inference...", flush=True)
        rows += bench_inference(arch, repeats)
        for batch in (4, 16):
            print(f"{arch}: training, batch {batch}...", flush=True)
            rows.append(bench_training(arch, batch, train_repeats))
            print(f"{arch}: fit epochs, batch {batch}...", flush=True)
            rows.append(bench_fit(arch, batch, max(3, train_repeats // 2)))
        if args.per_layer:
            print(f"{arch}: per layer...", flush=True)
            rows += bench_per_layer(arch, repeats)
    info["load_after"] = os.getloadavg()
    print()
    print(
        f"Machine: {info['cpu']}, {info['cores']} cores; TensorFlow {info['tensorflow']}, "
        f"Keras {info['keras']}; load {info['load_before'][0]:.1f} before, "
        f"{info['load_after'][0]:.1f} after"
    )
    print(table(rows))
    save_json(args.out, {"machine": info, "quick": args.quick, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
