"""The shipped pair on its own test clips: what "the models disagree" costs and catches.

    python benchmarks/pair_agreement.py --data ../shared/ucf-real [--models lrcn-ucf6 convlstm-ucf6]

Both models are evaluated on the test clips of the split on their cards (what `har evaluate`
and the Evaluate page do), and judged together by har.training.evaluate.pair_report, the
figures Evaluate shows under "Together": the answer is unsure unless both give the same class
and neither is unsure on its own (har.inference's Agreement, as on Predict). Reported: each
model's accuracy and how often its own threshold flags its right and wrong answers; how often
the two agree and answer confidently; the first model's accuracy on the confident answers; and
how many right and wrong answers the pair calls unsure. What the pair catches on actions
neither model learned is benchmarks/open_set_rules.py's (it needs leave-one-class-out
trainings). Prints a table and writes benchmarks/results/pair_agreement.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine, save_json  # noqa: E402

from har.inference import Predictor  # noqa: E402
from har.training.evaluate import EvalSource, evaluate_model, pair_report  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "pair_agreement.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="UCF50/UCF101-shaped folder")
    parser.add_argument("--models", nargs=2, default=["lrcn-ucf6", "convlstm-ucf6"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    predictors = {name: Predictor.from_registry(name) for name in args.models}
    split = next(iter(predictors.values())).card.split
    source = EvalSource.of_folder(args.data, split["mode"], split["seed"])
    reports = {name: evaluate_model(p, source) for name, p in predictors.items()}
    pair = pair_report(reports)
    if pair is None:
        print("The two models must know the same classes.", file=sys.stderr)
        return 1
    n, confident = pair["num_clips"], pair["confident"]
    print(
        f"{source.describe(n)}: the pair agrees on {pair['agree'] / n:.0%}, answers confidently "
        f"on {confident / n:.0%} ({confident} clips), and {args.models[0]} is right on "
        f"{pair['right_when_confident'] / max(confident, 1):.1%} of those"
    )
    print("| model | accuracy | own flag: right / wrong | pair unsure: right / wrong |")
    print("| --- | ---: | --- | --- |")
    rows = {}
    for name, m in pair["per_model"].items():
        flagged = reports[name]["flagged"]
        rows[name] = {
            "accuracy": reports[name]["accuracy"],
            "own_flag_right": flagged.get("right"),
            "own_flag_wrong": flagged.get("wrong"),
            "pair_unsure_right": m["right_unsure"] / max(m["right"], 1),
            "pair_unsure_wrong": m["wrong_unsure"] / max(m["wrong"], 1),
        }
        r = rows[name]
        print(
            f"| {name} | {r['accuracy']:.1%} | {r['own_flag_right']:.0%} / "
            f"{r['own_flag_wrong']:.0%} | {r['pair_unsure_right']:.0%} / "
            f"{r['pair_unsure_wrong']:.0%} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": {**machine(), "load_after": os.getloadavg()},
        "data": str(args.data),
        "source": source.describe(n),
        "pair": pair,
        "models_detail": rows,
    }
    save_json(args.out, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
