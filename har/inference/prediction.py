"""Answers: a Prediction of one model on a clip; a VideoPrediction of several models on a video;
an Agreement between models that know the same classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from har.data.video import ClipFrames
from har.evaluation.calibration import default_threshold
from har.evaluation.novelty import K
from har.inference.spec import InputSpec
from har.utils.text import ordinal, percent

RUNTIME_NAMES = {"litert": "LiteRT", "tensorflow": "TensorFlow"}  # for people


@dataclass
class Prediction:
    """One model's answer on one clip."""

    model_name: str
    architecture: str
    class_names: list[str]
    probabilities: np.ndarray
    model_seconds: float
    synthetic: bool = False
    runtime: str = "tensorflow"  # what ran it: "litert" or "tensorflow"
    uncertain_threshold: float | None = None  # from the model's card; None: the default rule
    calibrated: bool = False  # probabilities tempered with the card's fitted temperature
    distance: float | None = None  # to the training clips (har.evaluation.novelty), if measured
    distance_above: float | None = None  # the card's novelty limit, if it has one
    neighbour: int = K  # the distance is to the clip's neighbour-th nearest training clip

    @property
    def top_class(self) -> str:
        return self.class_names[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.probabilities))

    @property
    def uncertain_below(self) -> float:
        """The card's threshold, chosen on validation clips; without one, halfway between
        chance (1 / classes) and certainty: 75 % for 2 classes, 62.5 % for 4."""
        if self.uncertain_threshold is not None:
            return float(self.uncertain_threshold)
        return default_threshold(len(self.class_names))

    @property
    def unlike_training(self) -> bool:
        """Further from the training clips than the card's novelty limit."""
        if self.distance is None or self.distance_above is None:
            return False
        return self.distance > self.distance_above

    @property
    def below_threshold(self) -> bool:
        """Less confident than the card's threshold (or the halfway default)."""
        return self.confidence < self.uncertain_below

    @property
    def uncertain(self) -> bool:
        return self.below_threshold or self.unlike_training

    def unsure_reason(self) -> str:
        """Why this answer is unsure, for people ("" when it is not): every page says it alike."""
        reasons = []
        if self.below_threshold:
            why = (
                "the threshold fitted on its validation clips"
                if self.uncertain_threshold is not None
                else f"halfway from chance ({percent(1 / len(self.class_names))}) to certain"
            )
            reasons.append(
                f"none of its classes fits well (confidence below {self.uncertain_below:.0%}, "
                f"{why})"
            )
        if self.unlike_training:
            reasons.append(
                f"the clip is unlike the clips it learned from (distance {self.distance:.2f} "
                f"to the {ordinal(self.neighbour)} nearest of them, above "
                f"{self.distance_above:.2f}, the limit fitted on its validation clips)"
            )
        return "; ".join(reasons)

    def unsure_short(self) -> str:
        """Why this answer is unsure, in a few words for a live view ("" when it is not)."""
        reasons = []
        if self.below_threshold:
            reasons.append(f"none of its classes fits well (< {self.uncertain_below:.0%})")
        if self.unlike_training:
            reasons.append("unlike the clips it learned from")
        return "; ".join(reasons)

    def ranked(self) -> list[tuple[str, float]]:
        """(class, probability) from most to least likely."""
        order = np.argsort(-self.probabilities)
        return [(self.class_names[i], float(self.probabilities[i])) for i in order]

    def to_dict(self) -> dict:
        """JSON-safe: plain floats, rounded, classes from most to least likely."""
        return {
            "model": self.model_name,
            "architecture": self.architecture,
            "synthetic": self.synthetic,
            "top_class": self.top_class,
            "confidence": round(self.confidence, 6),
            "uncertain": self.uncertain,
            "uncertain_below": round(self.uncertain_below, 6),
            "calibrated": self.calibrated,
            "distance": None if self.distance is None else round(self.distance, 6),
            "distance_above": self.distance_above,
            "probabilities": {c: round(p, 6) for c, p in self.ranked()},
            "model_seconds": round(self.model_seconds, 6),
            "runtime": self.runtime,
        }


@dataclass(frozen=True)
class Agreement:
    """Whether models that know the same classes give the same answer on one clip.

    When two models trained on the same classes disagree, the clip is often an action
    neither learned: with one class left out of training in turn, counting a clip as unsure
    when either model is unsure or the two disagree catches more clips of the left-out
    action than either model's own threshold (benchmarks/open_set_rules.py). So a
    disagreement makes the pair's answer unsure, whatever each model's confidence.
    """

    answers: dict[str, str]  # model name -> its top class, in the order asked
    unsure: tuple[str, ...]  # the models among them whose own answer is unsure

    @property
    def agree(self) -> bool:
        return len(set(self.answers.values())) == 1

    @property
    def confident(self) -> bool:
        """All agree and none is unsure: the one case the pair's answer is not unsure."""
        return self.agree and not self.unsure

    def describe(self) -> str:
        """One sentence for people (model and class names as they are: escape for markup)."""
        names = list(self.answers)
        if not self.agree:
            said = ", ".join(f"{n} says {c}" for n, c in self.answers.items())
            return (
                f"The models disagree ({said}): treat the answer as unsure. Models trained on "
                "the same classes that disagree are often looking at an action none of them "
                "learned."
            )
        both = "Both models" if len(names) == 2 else f"All {len(names)} models"
        said = f"{both} say {next(iter(self.answers.values()))}"
        if self.unsure:
            return f"{said}, but {', '.join(self.unsure)} {_is(self.unsure)} unsure."
        return f"{said}."

    def to_dict(self) -> dict:
        return {
            "models": list(self.answers),
            "agree": self.agree,
            "unsure": not self.confident,
            "answers": dict(self.answers),
        }


def _is(names) -> str:
    return "is" if len(names) == 1 else "are"


def agreements(predictions: dict[str, Prediction]) -> list[Agreement]:
    """One Agreement per set of two or more models trained on the same classes."""
    groups: dict[tuple[str, ...], list[Prediction]] = {}
    for prediction in predictions.values():
        groups.setdefault(tuple(sorted(prediction.class_names)), []).append(prediction)
    return [
        Agreement(
            answers={p.model_name: p.top_class for p in group},
            unsure=tuple(p.model_name for p in group if p.uncertain),
        )
        for group in groups.values()
        if len(group) > 1
    ]


@dataclass
class VideoPrediction:
    """A video decoded once, its clips per input spec, and each model's prediction."""

    source: str
    clips: dict[tuple[int, int, int], ClipFrames]  # (frames, width, height) -> RGB frames
    decode_seconds: float
    predictions: dict[str, Prediction]  # model name -> Prediction, in the order asked
    specs: dict[str, InputSpec]  # model name -> the spec its clip was sampled for

    def clip_for(self, model_name: str | None = None) -> ClipFrames:
        """The frames a model saw, as RGB (the first sample's when no model is named)."""
        if model_name is None:
            return next(iter(self.clips.values()))
        return self.clips[self.specs[model_name].sampling]

    def users(self, sampling: tuple[int, int, int]) -> list[str]:
        """The models that were fed this sample."""
        return [n for n, s in self.specs.items() if s.sampling == sampling]

    def agreements(self) -> list[Agreement]:
        """Do the models that know the same classes agree? (one entry per such set)"""
        return agreements(self.predictions)

    def to_dict(self) -> dict:
        """JSON-safe, for `har predict --json`."""
        first = self.clip_for()
        return {
            "video": self.source,
            "frame_count": first.frame_count,
            "fps": round(first.fps, 3),
            "decode_seconds": round(self.decode_seconds, 6),
            "clips": [
                {
                    "frames": frames,
                    "size": [width, height],
                    "indices": clip.indices,
                    "padded": clip.padded,
                    "models": {n: self.specs[n].describe() for n in self.users(key)},
                }
                for key, clip in self.clips.items()
                for frames, width, height in [key]
            ],
            "predictions": [p.to_dict() for p in self.predictions.values()],
            "agreements": [a.to_dict() for a in self.agreements()],
        }
