"""The paper's training recipe as a plain settings object, importable without TensorFlow.

The app's server and the CLI's argument checks use it before any heavy import; har.train
runs it. Defaults: Adam, batch 4, early stopping on validation loss with the best weights
restored (patience 10 ConvLSTM / 15 LRCN), at most 50 / 70 epochs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from har.errors import TrainingError

PAPER_EPOCHS = {"convlstm": 50, "lrcn": 70}
PAPER_PATIENCE = {"convlstm": 10, "lrcn": 15}
MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 1024


@dataclass
class TrainConfig:
    architecture: str
    epochs: int | None = None  # None: the paper's 50 (ConvLSTM) / 70 (LRCN)
    batch_size: int = 4
    learning_rate: float = 1e-3
    patience: int | None = None  # None: the paper's 10 (ConvLSTM) / 15 (LRCN)
    seed: int = 27

    def validate(self) -> TrainConfig:
        """Refuse settings that cannot train, before any data is touched."""
        if self.architecture not in PAPER_EPOCHS:
            raise TrainingError(f"Unknown model {self.architecture!r}; choose convlstm or lrcn.")
        if self.epochs is not None and not 1 <= self.epochs <= MAX_EPOCHS:
            raise TrainingError(f"Epochs must be between 1 and {MAX_EPOCHS}, not {self.epochs}.")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise TrainingError(
                f"Batch size must be between 1 and {MAX_BATCH_SIZE}, not {self.batch_size}."
            )
        if not 0 < self.learning_rate < 10:
            raise TrainingError(f"Learning rate must be above 0, not {self.learning_rate}.")
        if self.patience is not None and self.patience < 0:
            raise TrainingError(f"Patience must be 0 or more, not {self.patience}.")
        return self

    def resolved(self) -> TrainConfig:
        """This config, checked, with the paper's defaults filled in."""
        self.validate()
        return replace(
            self,
            epochs=self.epochs or PAPER_EPOCHS[self.architecture],
            patience=self.patience
            if self.patience is not None
            else PAPER_PATIENCE[self.architecture],
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return cls(**data)
