"""The shipped pair on its own test clips: what "the models disagree" costs and catches.

    python benchmarks/pair_agreement.py --data ../shared/ucf-real [--models lrcn-ucf6 convlstm-ucf6]

Both models answer the test clips of the split on their cards (the same clips `har evaluate`
uses), through har.inference; each clip's answers are judged by har.inference's
`agreements`, as the Predict page and `har predict` judge them. Reported: each model's
accuracy and how often its own threshold flags its right and wrong answers; how often the two
agree; the accuracy of the answers the pair gives confidently (both agree, neither unsure);
and how many of the first model's right and wrong answers the pair calls unsure. What the pair
catches on actions neither model learned is benchmarks/open_set_rules.py's (it needs
leave-one-class-out trainings). Prints a table and writes benchmarks/results/pair_agreement.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

from har.inference import Prediction, Predictor  # noqa: E402
from har.inference.prediction import agreements  # noqa: E402
from har.training.experiment import prepare_data  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "pair_agreement.json"


def share(mask: np.ndarray, within: np.ndarray) -> float:
    return float(mask[within].mean()) if within.any() else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="UCF50/UCF101-shaped folder")
    parser.add_argument("--models", nargs=2, default=["lrcn-ucf6", "convlstm-ucf6"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    predictors = [Predictor.from_registry(name) for name in args.models]
    first = predictors[0].card
    if any(sorted(p.card.class_names) != sorted(first.class_names) for p in predictors):
        print("The two models must know the same classes.", file=sys.stderr)
        return 1
    if any(p.card.split != first.split for p in predictors):
        print("The two models must have the same split on their cards.", file=sys.stderr)
        return 1
    data = prepare_data(
        args.data, first.class_names, first.split["mode"], first.split["seed"], strict=True
    )
    truth = np.array(data.class_names)[data.y_test]
    answers = {}
    for p in predictors:
        probabilities = p.predict_batch(data.x_test)
        answers[p.name] = [
            Prediction(
                p.name,
                p.card.architecture,
                list(p.card.class_names),
                row,
                0.0,
                uncertain_threshold=p.uncertain_below,
            )
            for row in probabilities
        ]
    pairs = [agreements({name: answers[name][i] for name in answers})[0] for i in range(len(truth))]
    agree = np.array([a.agree for a in pairs])
    confident = np.array([a.confident for a in pairs])
    rows = {}
    for name, predictions in answers.items():
        right = np.array([p.top_class == t for p, t in zip(predictions, truth, strict=True)])
        unsure = np.array([p.uncertain for p in predictions])
        rows[name] = {
            "accuracy": float(right.mean()),
            "own_flag_right": share(unsure, right),
            "own_flag_wrong": share(unsure, ~right),
            "pair_unsure_right": share(~confident, right),
            "pair_unsure_wrong": share(~confident, ~right),
        }
    lead = answers[args.models[0]]
    lead_right = np.array([p.top_class == t for p, t in zip(lead, truth, strict=True)])
    result = {
        "models": args.models,
        "test_clips": int(len(truth)),
        "split": first.split["mode"],
        "split_seed": first.split["seed"],
        "agree": float(agree.mean()),
        "confident": float(confident.mean()),
        "accuracy_when_confident": share(lead_right, confident),
        "models_detail": rows,
    }
    print(
        f"{args.data}: {len(truth)} test clips ({first.split['mode']} split, seed "
        f"{first.split['seed']}); the pair agrees on {result['agree']:.0%}, answers "
        f"confidently {result['confident']:.0%}, and is right on "
        f"{result['accuracy_when_confident']:.1%} of those"
    )
    print("| model | accuracy | own flag: right / wrong | pair unsure: right / wrong |")
    print("| --- | ---: | --- | --- |")
    for name, r in rows.items():
        print(
            f"| {name} | {r['accuracy']:.1%} | {r['own_flag_right']:.0%} / "
            f"{r['own_flag_wrong']:.0%} | {r['pair_unsure_right']:.0%} / "
            f"{r['pair_unsure_wrong']:.0%} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": {**machine(), "load_after": os.getloadavg()}, "data": str(args.data)}
    args.out.write_text(json.dumps({**payload, **result}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
