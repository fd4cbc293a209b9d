"""What a model takes as input, read from its card: frames, size, color order, scaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from har.errors import ModelError
from har.models.card import ModelCard


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
        return cls(frames, height, width, str(card.color_order).upper())

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
