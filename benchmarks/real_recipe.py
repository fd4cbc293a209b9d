"""The paper's recipe against the augmented one on real footage: same group split, several seeds.

    python benchmarks/real_recipe.py --data ../shared/ucf-real [--models lrcn convlstm]
        [--recipes paper augment] [--seeds 1 2 3] [--split-seed 27] [--open-set]
        [--open-set-seed 1] [--scores FOLDER]

Every run goes through har.training.experiment, exactly as `har train` trains: the folder's
group split (seed --split-seed, the same for every run), frames from the cache, the recipe,
temperature and uncertainty threshold fitted on the validation split, then the test split.
Runs are interleaved (seed by seed, recipe by recipe) so a busy machine hurts both alike.
--open-set also trains, per architecture and recipe, one model per left-out class on the other
classes, and counts how often clips of the left-out class (an action the model never saw) are
answered "uncertain" by the card's rule (Predictor.unsure, as the app judges): real clips of
other actions, the case a user meets most (training seed --open-set-seed, 1 by default;
another seed is kept under "<model>/<recipe>/seed N").
Prints a table (mean and spread over seeds) and writes benchmarks/results/real_recipe.json,
one record per run with its per-class accuracy, calibration, epochs, seconds and load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine, save_json  # noqa: E402

from har.config import SEQUENCE_LENGTH  # noqa: E402
from har.data.ucf import scan  # noqa: E402
from har.data.video import sample_indices  # noqa: E402
from har.inference import Predictor  # noqa: E402
from har.training.experiment import prepare_data, train_and_evaluate  # noqa: E402
from har.training.recipe import RECIPES, TrainConfig  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "real_recipe.json"


def run_one(data, arch: str, recipe: str, seed: int, epochs: int | None, keep=None) -> dict:
    config = TrainConfig(arch, recipe=recipe, seed=seed, epochs=epochs)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    result, report, card = train_and_evaluate(data, config, f"{arch}-{recipe}-{seed}")
    if keep is not None:  # the model itself, to look at (or ship: make real-models retrains it)
        from har.models.registry import save_model

        save_model(result.model, card, keep, overwrite=True)
    per_class = {c: m["recall"] for c, m in report.per_class.items()}
    return {
        "model": arch,
        "recipe": recipe,
        "recipe_details": config.spec.to_dict(),
        "seed": seed,
        "test_accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "test_clips": report.num_clips,
        "per_class_recall": per_class,
        "calibration": card.calibration,
        "epochs_run": result.epochs_run,
        "best_val_loss": min(result.history.get("val_loss", [float("nan")])),
        "final_train_accuracy": result.history.get("accuracy", [float("nan")])[-1],
        "seconds": round(time.perf_counter() - start, 1),
        "load_at_start": round(load, 2),
        "load_at_end": round(os.getloadavg()[0], 2),
    }


def open_set(
    folder: Path,
    arch: str,
    recipe: str,
    split_seed: int,
    epochs: int | None,
    scores=None,
    seed: int = 1,
) -> dict:
    """Train without each class in turn; how often its test clips are flagged uncertain.

    With `scores` (a folder), each left-out model's raw outputs are kept there as
    `<arch>-<recipe>-without-<class>.npz`: logits and penultimate features of the validation,
    test and unseen clips (and features of the training clips at the models' 20 frames), so
    other "unsure" rules can be compared without training again (benchmarks/open_set_rules.py).
    """
    classes = scan(folder).classes
    rows = {}
    for left_out in classes:
        kept = [c for c in classes if c != left_out]
        config = TrainConfig(arch, recipe=recipe, seed=seed, epochs=epochs)
        data = prepare_data(folder, kept, "group", split_seed, train_frames=config.train_frames)
        start = time.perf_counter()
        result, report, card = train_and_evaluate(data, config, f"{arch}-without-{left_out}")
        unseen = prepare_data(folder, [left_out, kept[0]], "group", split_seed)
        unseen_clips = unseen.x_test[unseen.y_test == 0]
        predictor = Predictor.from_model(result.model, card)
        probabilities, distances = predictor.score_batch(unseen_clips)
        threshold = card.calibration["uncertain_below"]
        rows[left_out] = {  # flagged as the product flags: the card's rule, novelty limit too
            "unseen_clips": int(len(probabilities)),
            "unseen_flagged": float(predictor.unsure(probabilities, distances).mean()),
            "known_flagged": report.flagged,
            "known_accuracy": report.accuracy,
            "threshold": threshold,
            "temperature": card.calibration["temperature"],
            "epochs_run": result.epochs_run,
            "seconds": round(time.perf_counter() - start, 1),
            "load_at_end": round(os.getloadavg()[0], 2),
        }
        if scores is not None:
            keep_scores(
                Path(scores) / f"{arch}-{recipe}-without-{left_out}.npz",
                result.model,
                data,
                unseen_clips,
                card,
            )
        print(f"  without {left_out}: {rows[left_out]}", flush=True)
    return rows


def keep_scores(path: Path, model, data, unseen_clips, card) -> None:
    """Logits and penultimate features of a trained model (its last layer is Dense softmax)."""
    import keras
    import numpy as np

    features_of = keras.Model(model.inputs, model.layers[-2].output)
    weights, bias = model.layers[-1].get_weights()
    every = sample_indices(data.x_train.shape[1], SEQUENCE_LENGTH)  # as har.training.fit does

    def outputs(clips):
        clips = np.asarray(clips)
        if len(clips) == 0:
            return np.zeros((0, weights.shape[0]), np.float32), np.zeros((0, len(bias)))
        feats = np.concatenate(
            [
                features_of.predict_on_batch(clips[i : i + 16].astype(np.float32) / 255.0)
                for i in range(0, len(clips), 16)
            ]
        )
        return feats, feats @ weights + bias

    arrays = {}
    for part, clips in (
        ("train", data.x_train[:, every]),
        ("val", data.x_val),
        ("test", data.x_test),
        ("unseen", unseen_clips),
    ):
        arrays[f"{part}_features"], arrays[f"{part}_logits"] = outputs(clips)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        **arrays,
        y_train=data.y_train,
        y_val=data.y_val,
        y_test=data.y_test,
        temperature=card.calibration["temperature"],
        threshold=card.calibration["uncertain_below"],
    )


def summary(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0] * 100:.1f}"
    return f"{statistics.mean(values) * 100:.1f} ± {statistics.stdev(values) * 100:.1f}"


def table(records: list[dict]) -> str:
    lines = [
        "| model | recipe | seeds | test accuracy (%) | per class (mean recall, %) | "
        "ECE before -> after | flagged: right / wrong | epochs | minutes |",
        "| --- | --- | ---: | ---: | --- | --- | --- | ---: | ---: |",
    ]
    keys = sorted({(r["model"], r["recipe"]) for r in records})
    for arch, recipe in keys:
        rs = [r for r in records if (r["model"], r["recipe"]) == (arch, recipe)]
        classes = list(rs[0]["per_class_recall"])
        per = ", ".join(
            f"{c} {statistics.mean(r['per_class_recall'][c] for r in rs) * 100:.0f}"
            for c in classes
        )
        cal = [r["calibration"]["test"] for r in rs]
        ece = (
            f"{statistics.mean(c['ece_before'] for c in cal):.3f} -> "
            f"{statistics.mean(c['ece_after'] for c in cal):.3f}"
        )
        flags = (
            f"{statistics.mean(c['flagged']['right'] for c in cal) * 100:.0f} % / "
            f"{statistics.mean(c['flagged']['wrong'] for c in cal) * 100:.0f} %"
        )
        lines.append(
            f"| {arch} | {recipe} | {len(rs)} | {summary([r['test_accuracy'] for r in rs])} | "
            f"{per} | {ece} | {flags} | "
            f"{statistics.mean(r['epochs_run'] for r in rs):.0f} | "
            f"{statistics.mean(r['seconds'] for r in rs) / 60:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="UCF50/UCF101-shaped folder")
    parser.add_argument("--classes", nargs="+", help="default: every class in the folder")
    parser.add_argument("--models", nargs="+", default=["lrcn", "convlstm"])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument(
        "--seeds", nargs="*", type=int, default=[1, 2, 3], help="none: only --open-set runs"
    )
    parser.add_argument("--split-seed", type=int, default=27)
    parser.add_argument("--epochs", type=int, help="cap every run's epochs (a quick look)")
    parser.add_argument("--open-set", action="store_true", help="leave-one-class-out runs too")
    parser.add_argument(
        "--open-set-seed", type=int, default=1, help="--open-set: the training seed (default 1)"
    )
    parser.add_argument(
        "--scores", type=Path, help="--open-set: keep each left-out model's logits here (npz)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--keep-models", type=Path, help="save every trained model here")
    parser.add_argument(
        "--resume", action="store_true", help="keep --out's runs of the same split; run the rest"
    )
    args = parser.parse_args()

    info = machine()
    frames = {r: TrainConfig("lrcn", recipe=r).train_frames for r in args.recipes}
    datasets = {
        n: prepare_data(args.data, args.classes, "group", args.split_seed, train_frames=n)
        for n in sorted(set(frames.values()) | {SEQUENCE_LENGTH})
    }
    split = datasets[SEQUENCE_LENGTH].to_dict()["split"]
    print(f"{args.data}: group split seed {args.split_seed}: {split}", flush=True)
    records, open_sets = [], {}
    if args.resume and args.out.exists():
        kept = json.loads(args.out.read_text())
        if kept.get("split") == split:  # same clips in the same parts
            records, open_sets = kept["records"], kept.get("open_set", {})
    records = [r for r in records if same_recipe(r)]
    done = {(r["model"], r["recipe"], r["seed"]) for r in records}
    for seed in args.seeds:
        for arch in args.models:
            for recipe in args.recipes:
                if (arch, recipe, seed) in done:
                    continue
                record = run_one(
                    datasets[frames[recipe]], arch, recipe, seed, args.epochs, args.keep_models
                )
                records.append(record)
                print(json.dumps(record), flush=True)
                save(args, info, split, records, open_sets)
    if args.open_set:
        for arch in args.models:
            for recipe in args.recipes:
                key = f"{arch}/{recipe}" + (
                    f"/seed {args.open_set_seed}" if args.open_set_seed != 1 else ""
                )
                if key in open_sets:
                    continue
                print(f"open set: {key}", flush=True)
                open_sets[key] = open_set(
                    args.data,
                    arch,
                    recipe,
                    args.split_seed,
                    args.epochs,
                    args.scores,
                    args.open_set_seed,
                )
                save(args, info, split, records, open_sets)
    print(table(records))
    for key, rows in open_sets.items():
        flagged = statistics.mean(r["unseen_flagged"] for r in rows.values())
        print(f"{key}: clips of a left-out class flagged uncertain: {flagged:.0%}")
    return 0


def same_recipe(record: dict) -> bool:
    """Was this kept run trained with today's recipe? Only what applies to its architecture
    counts (not the summary's words): adding weight averaging for the ConvLSTM does not make
    the LRCN's runs stale."""
    if record["recipe"] not in RECIPES:
        return False

    def own(details: dict) -> dict:
        details = {k: v for k, v in details.items() if k != "summary"}
        details["weight_average"] = details.get("weight_average", {}).get(record["model"], 0.0)
        return details

    current = json.loads(json.dumps(RECIPES[record["recipe"]].to_dict()))
    return own(record.get("recipe_details", {})) == own(current)


def save(args, info, split, records, open_sets) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": {**info, "load_after": os.getloadavg()},
        "data": str(args.data),
        "split": split,
        "records": records,
        "open_set": open_sets,
    }
    save_json(args.out, payload)


if __name__ == "__main__":
    sys.exit(main())
