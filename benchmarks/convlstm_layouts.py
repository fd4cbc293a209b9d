"""ConvLSTM on LiteRT: do other layouts of the gates avoid copies and run faster?

    python benchmarks/convlstm_layouts.py [--model convlstm-ucf6] [--rounds 200] [--threads 1]

The shipped conversion (har.models.fast_layers.ConvLSTM2D, unrolled) computes each step's four
gates with one recurrent convolution, then SPLITs the result into the gates (80 SPLITs for the
paper's 4 layers x 20 steps) and UNPACKs/PACKs the time axis. This converts the same weights
with other step functions, each the same maths (checked against Keras within
har.models.tflite.TOLERANCE), and times one clip per call, variants interleaved (the order
reversed every other round):

  current      the shipped layout
  one_sigmoid  tanh(z) = 2 sigmoid(2z) - 1: the c-gate's weights doubled, one LOGISTIC over
               all four gates before the SPLIT instead of three LOGISTICs and a TANH after it
  per_gate     four input and four recurrent convolutions per step, one per gate: no SPLIT
  slices       the gates as channel slices (STRIDED_SLICE) instead of a SPLIT
  time_slices  the time axis sliced per step and concatenated, instead of UNPACK/PACK

Prints op counts, the largest difference from Keras, medians with p10-p90 and the ratio to
the current layout; writes benchmarks/results/convlstm_layouts.json with the load average.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from machine import machine, save_json  # noqa: E402

from har.models import fast_layers, tflite  # noqa: E402
from har.models.registry import load_model  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "convlstm_layouts.json"


def _ops():
    from keras import ops

    return ops


def _projected(cell, sequences, kernel, bias):
    """The input convolution of all steps at once, (B, T, H, W, channels)."""
    ops = _ops()
    steps = sequences.shape[1]
    folded = ops.reshape(sequences, (-1, *sequences.shape[2:]))
    out = cell.input_conv(folded, kernel, None, padding=cell.padding) + bias
    return ops.reshape(out, (-1, steps, *out.shape[1:]))


def one_sigmoid(self, sequences, initial_state, mask, training=False):
    ops, cell = _ops(), self.cell
    scale = ops.convert_to_tensor(np.repeat([1.0, 1.0, 2.0, 1.0], cell.filters), "float32")
    steps = ops.unstack(_projected(cell, sequences, cell.kernel * scale, cell.bias * scale), axis=1)
    recurrent = cell.recurrent_kernel * scale
    h, c = initial_state
    outputs = []
    for x_t in steps:
        i, f, s_c, o = ops.split(ops.sigmoid(x_t + cell.recurrent_conv(h, recurrent)), 4, -1)
        c = f * c + i * (2.0 * s_c - 1.0)
        h = o * ops.tanh(c)
        outputs.append(h)
    return h, ops.stack(outputs, axis=1), [h, c]


def _cell_step(cell, z_i, z_f, z_c, z_o, c):
    i, f = cell.recurrent_activation(z_i), cell.recurrent_activation(z_f)
    c = f * c + i * cell.activation(z_c)
    return cell.recurrent_activation(z_o) * cell.activation(c), c


def per_gate(self, sequences, initial_state, mask, training=False):
    ops, cell = _ops(), self.cell
    kernels = ops.split(cell.kernel, 4, -1)
    recurrent = ops.split(cell.recurrent_kernel, 4, -1)
    biases = ops.split(cell.bias, 4, -1)
    gates = [
        ops.unstack(_projected(cell, sequences, k, b), axis=1)
        for k, b in zip(kernels, biases, strict=True)
    ]
    h, c = initial_state
    outputs = []
    for t in range(sequences.shape[1]):
        z = [gates[g][t] + cell.recurrent_conv(h, recurrent[g]) for g in range(4)]
        h, c = _cell_step(cell, *z, c)
        outputs.append(h)
    return h, ops.stack(outputs, axis=1), [h, c]


def slices(self, sequences, initial_state, mask, training=False):
    ops, cell, f = _ops(), self.cell, self.cell.filters
    steps = ops.unstack(_projected(cell, sequences, cell.kernel, cell.bias), axis=1)
    h, c = initial_state
    outputs = []
    for x_t in steps:
        z = x_t + cell.recurrent_conv(h, cell.recurrent_kernel)
        h, c = _cell_step(
            cell, z[..., :f], z[..., f : 2 * f], z[..., 2 * f : 3 * f], z[..., 3 * f :], c
        )
        outputs.append(h)
    return h, ops.stack(outputs, axis=1), [h, c]


def time_slices(self, sequences, initial_state, mask, training=False):
    ops, cell = _ops(), self.cell
    projected = _projected(cell, sequences, cell.kernel, cell.bias)
    h, c = initial_state
    outputs = []
    for t in range(sequences.shape[1]):
        z = projected[:, t] + cell.recurrent_conv(h, cell.recurrent_kernel)
        h, c = _cell_step(cell, *ops.split(z, 4, -1), c)
        outputs.append(h[:, None])
    return h, ops.concatenate(outputs, axis=1), [h, c]


LAYOUTS = {
    "current": None,
    "one_sigmoid": one_sigmoid,
    "per_gate": per_gate,
    "slices": slices,
    "time_slices": time_slices,
}


def convert(model, step) -> bytes:
    shipped = fast_layers.ConvLSTM2D.inner_loop
    if step is not None:
        fast_layers.ConvLSTM2D.inner_loop = step
    try:
        return tflite.convert(model)
    finally:
        fast_layers.ConvLSTM2D.inner_loop = shipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="convlstm-ucf6")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    from ai_edge_litert.interpreter import Interpreter

    info = machine()
    model, card = load_model(args.model)
    clip = np.random.default_rng(0).random((1, *model.input_shape[1:]), dtype=np.float32)
    reference = np.asarray(model(clip, training=False))
    runs, results = {}, {}
    for name, step in LAYOUTS.items():
        content = convert(model, step)
        interpreter = Interpreter(model_content=content, num_threads=args.threads)
        interpreter.allocate_tensors()
        kinds = collections.Counter(op["op_name"] for op in interpreter._get_ops_details())
        given = interpreter.get_input_details()[0]["index"]
        taken = interpreter.get_output_details()[0]["index"]

        def run(it=interpreter, given=given, taken=taken):
            it.set_tensor(given, clip)
            it.invoke()
            return it.get_tensor(taken).copy()

        difference = float(np.abs(run() - reference).max())
        if difference > tflite.TOLERANCE:
            raise SystemExit(f"{name}: {difference:.2e} from Keras, over {tflite.TOLERANCE}")
        runs[name] = run
        results[name] = {
            "ops": sum(kinds.values()),
            "op_kinds": dict(kinds.most_common()),
            "max_difference_from_keras": difference,
            "times_ms": [],
        }
    load_before = os.getloadavg()
    for r in range(args.rounds):
        for name in list(runs) if r % 2 == 0 else list(runs)[::-1]:
            start = time.perf_counter()
            runs[name]()
            results[name]["times_ms"].append((time.perf_counter() - start) * 1000)
    load_after = os.getloadavg()
    current = statistics.median(results["current"]["times_ms"])
    print(
        f"{card.name}, one clip per call, {args.threads} thread(s), {args.rounds} rounds, "
        f"load {load_before[0]:.1f} -> {load_after[0]:.1f}"
    )
    print(
        f"{'layout':12s} {'ops':>5s} {'median ms':>10s} {'p10-p90':>14s} {'speed vs current':>17s}"
    )
    for name, r in results.items():
        t = r["times_ms"]
        r["median_ms"] = round(statistics.median(t), 3)
        r["p10_ms"], r["p90_ms"] = (round(float(v), 3) for v in np.percentile(t, [10, 90]))
        r["speed_vs_current"] = round(current / r["median_ms"], 3)
        print(
            f"{name:12s} {r['ops']:5d} {r['median_ms']:10.2f} "
            f"{r['p10_ms']:6.2f}-{r['p90_ms']:<7.2f} {r['speed_vs_current']:16.2f}x"
        )
        del r["times_ms"]
    save_json(
        args.out,
        {
            "machine": info,
            "model": card.name,
            "threads": args.threads,
            "rounds": args.rounds,
            "load_before": load_before,
            "load_after": load_after,
            "layouts": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
