"""What-if: the clip reversed, shuffled, frozen, mirrored and slowed, to show whether a model
uses motion or only appearance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WHATIF_VARIANTS = ("original", "reversed", "shuffled", "still", "mirrored", "slowed")


WHATIF_NOTE = (
    "A large change from the original when the frames are reversed, shuffled or frozen "
    "(still) means the model uses the order and motion of the frames; a small change means "
    "it answers mostly from appearance (what is in a frame, not how it moves). Mirrored "
    "should change little for a model that learned the action rather than its direction; "
    "slowed tests whether it depends on the action's speed."
)


def whatif_variants(pixels: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """The clip (T, H, W, 3) and its what-if variants, in WHATIF_VARIANTS order.

    shuffled: a seeded permutation that moves at least one frame; still: the middle frame
    T times; slowed: the first half's frames, each repeated, to make T.
    """
    pixels = np.asarray(pixels)
    t = len(pixels)
    order = np.random.default_rng(seed).permutation(t)
    if t > 1 and np.array_equal(order, np.arange(t)):
        order = np.roll(order, 1)
    return {
        "original": pixels,
        "reversed": pixels[::-1],
        "shuffled": pixels[order],
        "still": np.repeat(pixels[t // 2][None], t, axis=0),
        "mirrored": pixels[:, :, ::-1],
        "slowed": pixels[[i * max(t // 2, 1) // t for i in range(t)]],
    }


@dataclass
class WhatIf:
    """One model's probabilities on the original clip and each variant."""

    model: str
    class_names: list[str]
    probabilities: dict[str, np.ndarray]  # variant -> (classes,)

    @property
    def original_class(self) -> str:
        return self.class_names[int(np.argmax(self.probabilities["original"]))]

    def change(self, variant: str) -> float:
        """Total variation distance from the original's probabilities (0 same, 1 disjoint)."""
        return float(np.abs(self.probabilities[variant] - self.probabilities["original"]).sum() / 2)

    def rows(self) -> list[dict]:
        cls = int(np.argmax(self.probabilities["original"]))
        return [
            {
                "model": self.model,
                "variant": v,
                "top_class": self.class_names[int(np.argmax(p))],
                "confidence": round(float(p.max()), 6),
                "p_original_class": round(float(p[cls]), 6),
                "change": round(self.change(v), 6),
            }
            for v, p in self.probabilities.items()
        ]

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "original_class": self.original_class,
            "variants": self.rows(),
            "probabilities": {
                v: {c: round(float(x), 6) for c, x in zip(self.class_names, p, strict=True)}
                for v, p in self.probabilities.items()
            },
        }


def whatif(predictor, pixels: np.ndarray, seed: int = 0) -> WhatIf:
    """Probabilities on the clip and its variants: one predict_batch call."""
    variants = whatif_variants(pixels, seed)
    probs = predictor.predict_batch(np.stack(list(variants.values())), batch_size=len(variants))
    return WhatIf(
        model=predictor.name,
        class_names=list(predictor.card.class_names),
        probabilities=dict(zip(variants, probs, strict=True)),
    )
