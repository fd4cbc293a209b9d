"""Confidence you can trust: temperature scaling, calibration error, and when to say "unsure".

A softmax trained to the last clip says 98 % when it is right 70 % of the time. Temperature
scaling (Guo et al., 2017) divides the model's log-probabilities by one number T fitted on
the validation split: the class ranking, hence the accuracy, is unchanged; the confidences
come to mean what they say. The threshold below which an answer is called uncertain is
chosen on the same validation clips: the confidence that only a small share of the correct
answers falls below. An answer below it reads "none of my classes fits well" rather than a
confident wrong class, which is what a clip of an action the model never learned should get.
"""

from __future__ import annotations

import math

import numpy as np

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0
RELIABILITY_BINS = 10
# Share of the validation clips a model answers correctly that may be flagged uncertain.
FLAGGED_CORRECT_SHARE = 0.10


def default_threshold(classes: int) -> float:
    """Without a threshold fitted on validation clips (the synthetic pair, imports): halfway
    from chance (1 / classes) to certainty, 75 % for 2 classes, 62.5 % for 4."""
    return (1.0 + 1.0 / classes) / 2.0


def calibrate(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T) per row: the same ranking; confidences softened (T > 1) or sharpened."""
    p = np.asarray(probabilities, dtype=np.float64)
    if temperature == 1.0:
        return p.astype(np.float32)
    z = np.log(np.clip(p, 1e-12, 1.0)) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean -log p(true class): lower when confident answers are right and wrong ones unsure."""
    p = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, 1.0))))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.05, 20] that minimises the negative log-likelihood of `labels`.

    The likelihood is unimodal in log T, so a golden-section search finds it to 1e-4.
    """
    if len(labels) == 0:
        return 1.0

    def loss(log_t: float) -> float:
        return negative_log_likelihood(calibrate(probabilities, math.exp(log_t)), labels)

    lo, hi = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    while hi - lo > 1e-4:
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    return round(math.exp((lo + hi) / 2), 4)


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = RELIABILITY_BINS):
    """Per confidence bin: [low, high), mean confidence, accuracy, clip count (empty bins kept)."""
    p = np.asarray(probabilities)
    labels = np.asarray(labels, dtype=int)
    confidence = p.max(axis=1) if len(p) else np.zeros(0)
    correct = p.argmax(axis=1) == labels if len(p) else np.zeros(0, bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for k in range(bins):
        inside = (confidence >= edges[k]) & (
            (confidence < edges[k + 1]) if k < bins - 1 else (confidence <= 1.0)
        )
        n = int(inside.sum())
        rows.append(
            {
                "low": float(edges[k]),
                "high": float(edges[k + 1]),
                "confidence": float(confidence[inside].mean()) if n else None,
                "accuracy": float(correct[inside].mean()) if n else None,
                "count": n,
            }
        )
    return rows


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = RELIABILITY_BINS
) -> float:
    """Mean |accuracy - confidence| over confidence bins, weighted by clips: 0 is calibrated."""
    rows = reliability(probabilities, labels, bins)
    total = sum(r["count"] for r in rows)
    if total == 0:
        return 0.0
    return float(
        sum(r["count"] * abs(r["accuracy"] - r["confidence"]) for r in rows if r["count"]) / total
    )


def choose_threshold(
    probabilities: np.ndarray, labels: np.ndarray, share: float = FLAGGED_CORRECT_SHARE
) -> float:
    """The confidence below which an answer is called uncertain: at most `share` of the correct
    answers on these (validation) clips fall below it. Never below chance (1 / classes)."""
    p = np.asarray(probabilities)
    classes = p.shape[1]
    chance = 1.0 / classes
    correct = p.argmax(axis=1) == np.asarray(labels, dtype=int)
    if not correct.any():
        return round((1.0 + chance) / 2.0, 4)  # the fallback rule: halfway to certainty
    confidence = np.sort(p.max(axis=1)[correct])
    k = int(math.floor(share * len(confidence)))  # this many correct answers may fall below
    threshold = float(confidence[k]) if k < len(confidence) else float(confidence[-1])
    return math.floor(max(threshold, chance) * 1e4) / 1e4  # rounded down: never flags more


def flagged_rates(
    probabilities: np.ndarray, labels: np.ndarray, threshold: float, flagged=None
) -> dict:
    """How often answers are flagged uncertain: among right answers and among wrong ones
    (`flagged` says which are, when another rule joins the threshold's)."""
    p = np.asarray(probabilities)
    labels = np.asarray(labels, dtype=int)
    flagged = p.max(axis=1) < threshold if flagged is None else np.asarray(flagged, bool)
    right = p.argmax(axis=1) == labels
    return {
        "right": float(flagged[right].mean()) if right.any() else 0.0,
        "wrong": float(flagged[~right].mean()) if (~right).any() else 0.0,
        "right_clips": int(right.sum()),
        "wrong_clips": int((~right).sum()),
    }
