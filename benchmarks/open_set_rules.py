"""Which "unsure" rule catches actions a model never learned, without flagging its right answers?

    python benchmarks/open_set_rules.py SCORES [--share 0.10]

SCORES is the folder `benchmarks/real_recipe.py --open-set --scores SCORES` fills: for each
architecture, one model per left-out class (trained on the other classes), with the logits and
penultimate features of its validation, test and unseen clips (the left-out class's test
clips), and features of its training clips. No training happens here.

Every rule turns a clip into one confidence score; its threshold is chosen on the validation
clips exactly as the cards' is (har.evaluation.calibration.choose_threshold's rule: at most
`--share` of the correct validation answers fall below it). Reported on the test clips: the
share of right answers flagged, of wrong answers flagged, and of unseen clips flagged (the
target: at least 40 %). Rules:

- msp: the calibrated top probability, softmax(logits / T) with T fitted on validation (what
  the cards use today);
- energy: T * logsumexp(logits / T) (Liu et al., 2020);
- max_logit: the largest logit (Hendrycks et al., 2022);
- margin: calibrated top probability minus the second;
- knn: minus the distance from the clip's normalized features to their k-th nearest normalized
  training clip (Sun et al., 2022), k = 5;
- knn_and_msp: unsure when either the msp rule or the knn rule (each at half the share) flags;
- card (LRCN cards): what an LRCN card with a novelty limit does (har.evaluation.novelty, with
  its own functions: float16 reference, limit at `--share`, rounded up), or the confidence
  below the threshold at CONFIDENCE_SHARE (2.5 %);
- msp at other shares (msp@5%, msp@15%, msp@20%): the same score, another threshold;
- both models (when SCORES has both architectures' runs): the LRCN's answer, unsure when
  either model's msp rule flags or the two disagree on the class; and the same with the
  LRCN's card rule in place of its msp (what Predict does since the LRCN's cards have it).

Prints a table per architecture (mean over left-out classes) and writes
benchmarks/results/open_set_rules.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine, save_json  # noqa: E402

from har.evaluation.calibration import (  # noqa: E402
    calibrate,
    choose_threshold,
    fit_temperature,
)
from har.evaluation.novelty import (  # noqa: E402
    CONFIDENCE_SHARE,
    K,
    Novelty,
    kth_distance,
    normalized,
)

OUT = Path(__file__).resolve().parent / "results" / "open_set_rules.json"
PAIR = "the LRCN's card rule or the ConvLSTM's msp, or they disagree (Predict)"


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def logsumexp(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1)
    return m + np.log(np.exp(z - m[:, None]).sum(axis=1))


def scores(s: dict, part: str, temperature: float) -> dict[str, np.ndarray]:
    logits = s[f"{part}_logits"]
    p = calibrate(softmax(logits), temperature)
    top2 = np.sort(p, axis=1)[:, -2:]
    return {
        "msp": p.max(axis=1),
        "energy": temperature * logsumexp(logits / temperature),
        "max_logit": logits.max(axis=1),
        "margin": top2[:, 1] - top2[:, 0],
        "knn": -kth_distance(normalized(s["train_features"]), s[f"{part}_features"], K),
    }


def threshold(score: np.ndarray, correct: np.ndarray, share: float) -> float:
    """The score at most `share` of the correct answers fall below (choose_threshold's rule)."""
    ranked = np.sort(score[correct])
    if len(ranked) == 0:
        return float("inf")
    k = int(np.floor(share * len(ranked)))
    return float(ranked[min(k, len(ranked) - 1)])


def evaluate(path: Path, share: float) -> dict:
    s = dict(np.load(path))
    raw_val = softmax(s["val_logits"])
    temperature = fit_temperature(raw_val, s["y_val"])
    val, test, unseen = (scores(s, part, temperature) for part in ("val", "test", "unseen"))
    val_right = s["val_logits"].argmax(1) == s["y_val"]
    test_right = s["test_logits"].argmax(1) == s["y_test"]
    flags = {}
    for rule in val:
        t = threshold(val[rule], val_right, share)
        if rule == "msp":  # exactly the cards' threshold (rounded down to 1e-4)
            t = choose_threshold(calibrate(raw_val, temperature), s["y_val"], share)
        flags[rule] = (test[rule] < t, unseen[rule] < t)
    tm = threshold(val["msp"], val_right, share / 2)
    tk = threshold(val["knn"], val_right, share / 2)
    flags["knn_and_msp"] = (
        (test["msp"] < tm) | (test["knn"] < tk),
        (unseen["msp"] < tm) | (unseen["knn"] < tk),
    )
    card = Novelty.fit(s["train_features"], s["val_features"], val_right, share)
    t = choose_threshold(calibrate(raw_val, temperature), s["y_val"], CONFIDENCE_SHARE)
    flags["card"] = (
        (test["msp"] < t) | (card.distances(s["test_features"]) > card.limit),
        (unseen["msp"] < t) | (card.distances(s["unseen_features"]) > card.limit),
    )
    for other in (0.05, 0.15, 0.20):
        t = choose_threshold(calibrate(raw_val, temperature), s["y_val"], other)
        flags[f"msp@{other:.0%}"] = (test["msp"] < t, unseen["msp"] < t)
    rows = {}
    for rule, (on_test, on_unseen) in flags.items():
        rows[rule] = {
            "right_flagged": float(on_test[test_right].mean()),
            "wrong_flagged": float(on_test[~test_right].mean()) if (~test_right).any() else 0.0,
            "unseen_flagged": float(on_unseen.mean()),
        }
    return {
        "flags": flags,  # dropped before writing JSON
        "test_right": test_right,
        "unseen_answer": s["unseen_logits"].argmax(1),
        "test_answer": s["test_logits"].argmax(1),
        "test_clips": int(len(test_right)),
        "test_accuracy": float(test_right.mean()),
        "unseen_clips": int(len(s["unseen_logits"])),
        "temperature": temperature,
        "rules": rows,
    }


def both_models(results: dict) -> dict:
    """The LRCN's answer, unsure when either model's own rule flags or they disagree: with the
    LRCN's msp rule (before its cards had a novelty limit), and with its cards' rule (as
    Predict judges the pair since)."""
    lrcn = next((v for k, v in results.items() if k.startswith("lrcn-")), {})
    convlstm = next((v for k, v in results.items() if k.startswith("convlstm-")), {})
    rows = {}
    for left_out in sorted(set(lrcn) & set(convlstm)):
        a, b = lrcn[left_out], convlstm[left_out]
        right = a["test_right"]
        differ = (a["test_answer"] != b["test_answer"], a["unseen_answer"] != b["unseen_answer"])
        rules = {}
        for name, lrcn_rule in (("msp of both, or they disagree", "msp"), (PAIR, "card")):
            on_test = a["flags"][lrcn_rule][0] | b["flags"]["msp"][0] | differ[0]
            on_unseen = a["flags"][lrcn_rule][1] | b["flags"]["msp"][1] | differ[1]
            rules[name] = {
                "right_flagged": float(on_test[right].mean()),
                "wrong_flagged": float(on_test[~right].mean()) if (~right).any() else 0.0,
                "unseen_flagged": float(on_unseen.mean()),
            }
        rows[left_out] = {
            "test_clips": int(len(right)),
            "test_accuracy": float(right.mean()),
            "unseen_clips": int(len(a["unseen_answer"])),
            "rules": rules,
        }
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scores", type=Path, help="real_recipe.py --open-set --scores folder")
    parser.add_argument("--share", type=float, default=0.10)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    results: dict[str, dict] = {}
    for path in sorted(args.scores.glob("*-without-*.npz")):
        model, left_out = path.stem.split("-without-")
        results.setdefault(model, {})[left_out] = evaluate(path, args.share)
    if not results:
        print(f"No *-without-*.npz in {args.scores}.", file=sys.stderr)
        return 1
    pair = both_models(results)
    if pair:
        results["both models"] = pair
    for by_class in results.values():
        for row in by_class.values():
            for key in ("flags", "test_right", "unseen_answer", "test_answer"):
                row.pop(key, None)
    for model, by_class in results.items():
        first = next(iter(by_class.values()))["rules"]
        print(
            f"\n{model}: {len(by_class)} left-out classes "
            f"({', '.join(by_class)}); threshold: at most {args.share:.0%} of the correct "
            "validation answers below it"
        )
        print("| rule | unseen flagged | right flagged (test) | wrong flagged (test) |")
        print("| --- | ---: | ---: | ---: |")
        for rule in first:
            mean = {
                k: statistics.mean(c["rules"][rule][k] for c in by_class.values())
                for k in ("unseen_flagged", "right_flagged", "wrong_flagged")
            }
            print(
                f"| {rule} | {mean['unseen_flagged']:.0%} | {mean['right_flagged']:.0%} | "
                f"{mean['wrong_flagged']:.0%} |"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": {**machine(), "load_after": os.getloadavg()},
        "scores": str(args.scores),
        "share": args.share,
        "results": results,
    }
    save_json(args.out, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
