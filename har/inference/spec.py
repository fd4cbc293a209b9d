"""What a model takes as input, read from its card: frames, size, color order, scaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from har.errors import ModelError
from har.models.card import ModelCard

COLOR_ORDERS = ("RGB", "BGR")
SCALING = "x/255"  # the one pixel scaling HAR Studio feeds


@dataclass(frozen=True)
class InputSpec:
    """What a model takes: frames per clip, frame size, color order; pixels scaled x/255."""

    frames: int
    height: int
    width: int
    color: str = "RGB"  # "RGB", or "BGR" for models trained on frames as OpenCV reads them

    @classmethod
    def of(cls, card: ModelCard) -> InputSpec:
        frames, height, width, channels = (int(v) for v in card.input_shape)
        if channels != 3:
            raise ModelError(f"{card.name} takes {channels} channels; HAR Studio feeds 3 (color).")
        color = str(card.color_order).upper()
        if color not in COLOR_ORDERS:
            raise ModelError(
                f"{card.name}'s card gives the color order {card.color_order!r}; HAR Studio "
                f"feeds {' or '.join(COLOR_ORDERS)}: fix the card's color_order."
            )
        if card.scaling != SCALING:
            raise ModelError(
                f"{card.name}'s card says its pixels are scaled {card.scaling!r}; HAR Studio "
                f"scales them {SCALING} (to [0, 1]) only: fix the card or retrain the model."
            )
        return cls(frames, height, width, color)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.frames, self.height, self.width, 3)

    @property
    def sampling(self) -> tuple[int, int, int]:
        """(frames, width, height): models that share it share one sample of the video."""
        return (self.frames, self.width, self.height)

    def describe(self) -> str:
        return f"{self.frames} frames of {self.width}x{self.height} {self.color}, scaled x/255"

    def to_input(self, pixels: np.ndarray) -> np.ndarray:
        """float32 model input from RGB clips (N, T, H, W, 3): uint8 are scaled x/255."""
        pixels = np.asarray(pixels)
        if tuple(pixels.shape[1:]) != self.shape:
            raise ModelError(f"Expected clips of shape {self.shape}, got {pixels.shape[1:]}.")
        if self.color == "BGR":
            pixels = pixels[..., ::-1]
        if pixels.dtype == np.uint8:
            return pixels.astype(np.float32) / np.float32(255.0)
        return np.ascontiguousarray(pixels, dtype=np.float32)


DEFAULT_SPEC = InputSpec(20, 64, 64)
