"""Unlike anything it learned from: how far a clip lies from the clips a model was trained on.

A softmax must spread its probability over the classes it knows, so a clip of an action the
model never learned can still get one class at 90 %. The model's own features tell more: the
LRCN's LSTM output for a clip of a new action lies far from the outputs of its training clips.
The score (Sun et al., 2022, "Out-of-distribution detection with deep nearest neighbors") is
the distance from the clip's normalized features to its K-th nearest normalized training
clip; its limit is chosen on the validation clips as the confidence threshold is: at most
FLAGGED_CORRECT_SHARE of the correct validation answers lie further.

Measured with one class left out of training in turn (benchmarks/open_set_rules.py on
`benchmarks/real_recipe.py --open-set --scores`): for the LRCN this distance flags 41-51 % of
the clips of the left-out class where its confidence flags 37-39 %, at a like share of right
answers flagged; for the ConvLSTM it flags 35 % where its confidence flags 57 %. So only the
LRCN's cards carry it (ARCHITECTURES). With it, an answer is unsure when the clip is further
than the limit or its confidence is below a lower threshold (CONFIDENCE_SHARE of the correct
validation answers): a clip like the training clips but between two classes is still unsure.

The card keeps the training clips' normalized features as float16 (362 clips x 32 features
is 23 KB, base64 in the card's JSON), so a model and what it is compared with travel together.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass

import numpy as np

from har.evaluation.calibration import FLAGGED_CORRECT_SHARE

ARCHITECTURES = ("lrcn",)  # the models whose cards get a novelty limit (see above)
K = 5  # the neighbour whose distance counts
CONFIDENCE_SHARE = 0.025  # with a novelty limit: the confidence threshold's share (see above)
MAX_REFERENCE = 20_000 * 256  # floats a card may carry (a hostile card is refused, not loaded)


def normalized(features: np.ndarray) -> np.ndarray:
    x = np.asarray(features, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def kth_distance(reference: np.ndarray, features: np.ndarray, k: int = K) -> np.ndarray:
    """Distance (0 to 2) from each row of `features`, normalized, to its k-th nearest row of
    `reference` (already normalized)."""
    x = normalized(features)
    if len(x) == 0:
        return np.zeros(0, np.float32)
    ref = np.asarray(reference, dtype=np.float32)
    d = np.sqrt(np.maximum(2.0 - 2.0 * x @ ref.T, 0.0))
    k = min(k, d.shape[1])
    return np.partition(d, k - 1, axis=1)[:, k - 1]


def choose_limit(distances: np.ndarray, correct: np.ndarray, share: float) -> float:
    """The distance beyond which a clip is unlike the training clips: at most `share` of the
    correct (validation) answers lie further. Rounded up: never flags more."""
    d = np.sort(np.asarray(distances, dtype=np.float64)[np.asarray(correct, bool)])[::-1]
    if len(d) == 0:
        return 2.0  # no right answer to learn from: flag nothing on distance
    k = int(math.floor(share * len(d)))
    return math.ceil(float(d[min(k, len(d) - 1)]) * 1e4) / 1e4


def pack(reference: np.ndarray) -> str:
    return base64.b64encode(np.asarray(reference, "<f2").tobytes()).decode("ascii")


@dataclass(frozen=True)
class Novelty:
    """A card's novelty limit: the training clips' features and the distance beyond which a
    clip is called unlike them."""

    reference: np.ndarray  # (clips, features), normalized
    limit: float
    k: int = K

    @property
    def features(self) -> int:
        return int(self.reference.shape[1])

    def distances(self, features: np.ndarray) -> np.ndarray:
        return kth_distance(self.reference, features, self.k)

    @classmethod
    def fit(cls, train_features, val_features, val_correct, share=FLAGGED_CORRECT_SHARE):
        reference = normalized(train_features).astype(np.float16).astype(np.float32)
        limit = choose_limit(kth_distance(reference, val_features), val_correct, share)
        return cls(reference, limit)

    def to_dict(self, share: float = FLAGGED_CORRECT_SHARE) -> dict:
        clips, features = self.reference.shape
        return {
            "k": self.k,
            "distance_above": self.limit,
            "reference_clips": int(clips),
            "features": int(features),
            "reference": pack(self.reference),
            "rule": f"the distance at most {share:.0%} of the correct validation answers exceed",
        }

    @classmethod
    def from_dict(cls, data: dict) -> Novelty:
        """From a card; ValueError when it is not one this code wrote."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        k, clips, features = data.get("k"), data.get("reference_clips"), data.get("features")
        limit = data.get("distance_above")
        counts = (k, clips, features)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in counts):
            raise ValueError("k, reference_clips and features must be positive whole numbers")
        if k > clips or clips * features > MAX_REFERENCE:
            raise ValueError("reference too small for k, or too large")
        if not isinstance(limit, int | float) or isinstance(limit, bool) or not 0 <= limit <= 2:
            raise ValueError("distance_above must be a number from 0 to 2")
        text = data.get("reference")
        try:
            raw = base64.b64decode(text if isinstance(text, str) else "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("reference is not base64") from exc
        if len(raw) != clips * features * 2:
            raise ValueError("reference does not hold reference_clips x features numbers")
        reference = np.frombuffer(raw, "<f2").reshape(clips, features).astype(np.float32)
        if not np.isfinite(reference).all():
            raise ValueError("reference holds numbers that are not finite")
        return cls(reference, float(limit), k)


def from_card(card) -> Novelty | None:
    """The novelty limit on a card's calibration, if it has one (checked when the card loads)."""
    data = (card.calibration or {}).get("novelty")
    return Novelty.from_dict(data) if data else None
