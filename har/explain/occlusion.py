"""Which frames mattered: each of a clip's frames in turn replaced by the clip's mean frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OCCLUSION_REPLACEMENT = "mean frame"  # what an occluded frame is replaced by


def occlusion_variants(pixels: np.ndarray) -> np.ndarray:
    """(T, T, H, W, 3): variant t is the clip with frame t replaced by the clip's mean frame."""
    pixels = np.asarray(pixels)
    mean = pixels.astype(np.float32).mean(axis=0)
    mean = np.round(mean).astype(pixels.dtype) if pixels.dtype == np.uint8 else mean
    variants = np.repeat(pixels[None], len(pixels), axis=0)
    variants[np.arange(len(pixels)), np.arange(len(pixels))] = mean
    return variants


@dataclass
class Occlusion:
    """How much the predicted class's probability drops when each frame is occluded."""

    model: str
    class_name: str
    probability: float  # on the original clip
    drops: np.ndarray  # (T,) probability - probability with frame t occluded
    replacement: str = OCCLUSION_REPLACEMENT

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "class": self.class_name,
            "probability": round(self.probability, 6),
            "replacement": self.replacement,
            "drops": [round(float(d), 6) for d in self.drops],
        }


def occlusion(predictor, pixels: np.ndarray) -> Occlusion:
    """Occlusion for one clip (T, H, W, 3) in the predictor's spec: the original and all T
    occluded variants in one predict_batch call."""
    pixels = np.asarray(pixels)
    batch = np.concatenate([pixels[None], occlusion_variants(pixels)])
    probs = predictor.predict_batch(batch, batch_size=len(batch))
    cls = int(np.argmax(probs[0]))
    return Occlusion(
        model=predictor.name,
        class_name=predictor.card.class_names[cls],
        probability=float(probs[0, cls]),
        drops=(probs[0, cls] - probs[1:, cls]).astype(np.float32),
    )
