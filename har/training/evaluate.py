"""Evaluate a loaded model on data chosen in the app: fresh synthetic clips or a folder's split.

The Evaluate page says which data it wants with an `EvalSource` and gets a report dict back;
it neither parses strings nor knows how clips are generated, scanned or decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from har.data.synthetic import SYNTHETIC_CLASSES, cached_dataset
from har.errors import DatasetError
from har.evaluation.metrics import wilson_interval
from har.inference.prediction import Agreement
from har.training.experiment import evaluate_on, prepare_data
from har.training.recipe import MAX_SEED
from har.utils.progress import Progress

CLIPS_PER_GROUP = 2  # fresh synthetic clips: two per group, as many groups as asked


@dataclass(frozen=True)
class EvalSource:
    """Fresh synthetic clips (`groups` per class, generator `seed`; every clip is tested), or
    the test part of a UCF-shaped `folder` (`split` "group" or "random", split `seed`)."""

    kind: str  # "synthetic" or "folder"
    seed: int
    groups: int = 0
    folder: str = ""
    split: str = "group"

    def __post_init__(self) -> None:

        if not 0 <= self.seed <= MAX_SEED:  # numpy and TensorFlow refuse others mid-run
            raise DatasetError(f"The seed must be between 0 and {MAX_SEED}, not {self.seed}.")

    @classmethod
    def synthetic(cls, groups: int, seed: int) -> EvalSource:
        return cls("synthetic", int(seed), groups=int(groups), split="all")

    @classmethod
    def of_folder(cls, folder: str | Path, split: str, seed: int) -> EvalSource:
        return cls("folder", int(seed), folder=str(folder), split=split)

    def clips(self, classes) -> int | None:
        """How many clips a synthetic source makes for `classes` (None for a folder)."""
        return self.groups * CLIPS_PER_GROUP * len(classes) if self.kind == "synthetic" else None

    def describe(self, num_clips: int) -> str:
        """What a figure was measured on, in the words the page prints under it."""
        if self.kind == "synthetic":
            return f"{num_clips} fresh synthetic clips (generator seed {self.seed})"
        return f"{num_clips} test clips of {self.folder} ({self.split} split, seed {self.seed})"


def can_synthesize(class_names) -> bool:
    """Whether the synthetic generator can draw every one of these classes."""
    return set(class_names) <= set(SYNTHETIC_CLASSES)


def evaluate_model(predictor, source: EvalSource, progress=None) -> dict:
    """The predictor's report on `source` (EvalReport as a dict, plus the skipped files).

    `progress(stage, done, total)` hears about generating, decoding and predicting."""

    def stage(what: str) -> Progress:
        return (lambda done, total: progress(what, done, total)) if progress else False

    classes = predictor.card.class_names
    if source.kind == "synthetic":
        root = cached_dataset(
            classes,
            groups=source.groups,
            clips_per_group=CLIPS_PER_GROUP,
            seed=source.seed,
            progress=stage("Generating clips"),
        )
    else:
        root = source.folder
    data = prepare_data(
        root, classes, split_mode=source.split, seed=source.seed, progress=stage("Decoding clips")
    )
    if progress:
        progress("Predicting clips", len(data.x_test), len(data.x_test))
    report = evaluate_on(predictor, data)
    return {**report.to_dict(), "per_clip": report.per_clip, "skipped": data.skipped}


def pair_report(reports: dict[str, dict]) -> dict | None:
    """Two or more models of the same classes on the same clips, judged as Predict judges them
    (har.inference's Agreement: the answer is unsure unless all agree and none is unsure).

    `reports` maps model names to evaluate_model's reports on one source, the first model
    leading; None unless at least two share the first one's classes and clips. Returns the
    models, the clips, how often they agree and answer confidently, the first model's
    accuracy on the confident answers (with its 95 % interval), and per model how many of its
    right and wrong answers the pair calls unsure.
    """
    usable = {n: r for n, r in reports.items() if r.get("per_clip", {}).get("truth")}
    if not usable:
        return None
    lead = next(iter(usable.values()))
    same = {
        n: r["per_clip"]
        for n, r in usable.items()
        if sorted(r["class_names"]) == sorted(lead["class_names"])
        and r["per_clip"]["truth"] == lead["per_clip"]["truth"]
    }
    if len(same) < 2:
        return None
    truth = lead["per_clip"]["truth"]
    pairs = [
        Agreement(
            answers={n: c["answer"][i] for n, c in same.items()},
            unsure=tuple(n for n, c in same.items() if c["unsure"][i]),
        )
        for i in range(len(truth))
    ]
    confident = [a.confident for a in pairs]
    first = next(iter(same.values()))
    right_when_confident = sum(
        ok for ok, a, t in zip(confident, first["answer"], truth, strict=True) if ok and a == t
    )
    models = {}
    for name, clips in same.items():
        right = [a == t for a, t in zip(clips["answer"], truth, strict=True)]
        models[name] = {
            "right": sum(right),
            "right_unsure": sum(r and not c for r, c in zip(right, confident, strict=True)),
            "wrong": len(right) - sum(right),
            "wrong_unsure": sum(not r and not c for r, c in zip(right, confident, strict=True)),
        }
    return {
        "models": list(same),
        "num_clips": len(truth),
        "agree": sum(a.agree for a in pairs),
        "confident": sum(confident),
        "right_when_confident": right_when_confident,
        "interval": wilson_interval(right_when_confident, sum(confident)),
        "per_model": models,
    }
