"""Training recipes as plain settings objects, importable without TensorFlow.

Two recipes train the same architectures (the paper's Tables 2 and 3, unchanged):

- "paper": the paper's recipe. Adam, batch 4, categorical cross-entropy, early stopping on
  validation loss with the best weights restored (patience 10 ConvLSTM / 15 LRCN), at most
  50 / 70 epochs, the 20 evenly spaced frames of every clip as they are.
- "augment" (the default): what lets the same models generalise from a few hundred real
  clips to footage of other actors and places. Each epoch every video yields a new clip:
  another start and stride of its 20 frames (temporal jitter) and one random crop, flip,
  color change (sometimes to grey) and blanked box shared by all 20 frames
  (har.training.augment); clips blended in pairs with their labels (mixup); AdamW with
  weight decay, label smoothing, the learning rate halved when validation stalls, a longer
  patience; for the ConvLSTM, its weights averaged over the last few hundred steps. On 595
  real UCF101 clips (145 test clips of held-out groups, 3 seeds, before the averaging) it took
  the LRCN from 62.8 to 80.5 % and the ConvLSTM from 65.5 to 77.9 % (benchmarks/real_recipe.py);
  the averaging took the ConvLSTM's seed 1 from 75.9 to 80.0 %, but over three seeds it
  scores 74.9 ± 6.5 % (within the spread).

The app's server and the CLI's argument checks use this module before any heavy import;
har.training.fit runs it. Every choice is recorded on the model card (`TrainConfig.to_dict`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from har.config import SEQUENCE_LENGTH
from har.errors import TrainingError

PAPER_EPOCHS = {"convlstm": 50, "lrcn": 70}
PAPER_PATIENCE = {"convlstm": 10, "lrcn": 15}
MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 1024
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Recipe:
    """How a model is fitted; the architecture is not part of it."""

    name: str
    summary: str
    epochs: dict[str, int]  # the default maximum per architecture
    patience: dict[str, int]  # early stopping patience per architecture
    optimizer: str = "adam"  # "adam", or "adamw" (decoupled weight decay)
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    augment: bool = False  # temporal jitter and one crop / flip / color change per clip
    reduce_lr_patience: int = 0  # halve the learning rate after this many stalled epochs; 0: never
    min_learning_rate: float = 0.0
    dense_frames: int = 0  # frames kept per training video for temporal jitter; 0: the model's
    augmentation: dict = field(default_factory=dict)  # har.training.augment.Augmentation fields
    mixup: float = 0.0  # Beta(mixup, mixup) blending of clip pairs; 0: none
    # Weight averaging per architecture: the model validated, kept and saved is an exponential
    # moving average of its weights over training steps (this momentum); absent or 0: none.
    weight_average: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self, momentum: float) -> str:
        """The summary as one model was trained with it: weight averaging is per architecture
        (TrainConfig.weight_average) and off in distributed training, so it is passed in."""
        if not momentum:
            return self.summary
        return f"{self.summary}; weights averaged over training steps (momentum {momentum})"


RECIPES = {
    "paper": Recipe(
        name="paper",
        summary="the paper's: Adam, no augmentation, early stopping on validation loss",
        epochs=PAPER_EPOCHS,
        patience=PAPER_PATIENCE,
    ),
    "augment": Recipe(
        name="augment",
        summary=(
            "temporal jitter; one crop, flip, color change and blanked box per clip; pairs of "
            "clips blended (mixup); AdamW with weight decay, label smoothing, learning rate "
            "halved on plateau, early stopping"
        ),
        epochs={"convlstm": 40, "lrcn": 100},
        patience={"convlstm": 12, "lrcn": 20},
        optimizer="adamw",
        weight_decay=0.05,
        label_smoothing=0.1,
        augment=True,
        reduce_lr_patience=6,
        min_learning_rate=5e-5,
        dense_frames=80,
        augmentation={
            "crop_area": (0.4, 1.0),
            "brightness": 0.2,
            "contrast": (0.6, 1.4),
            "grayscale": 0.2,
            "erase": 0.5,
        },
        mixup=0.4,
        # Measured on the real clips (docs/benchmarks.md): the ConvLSTM's validation loss
        # 1.013 -> 0.947 and test accuracy 75.9 -> 80.0 % (seed 1); the LRCN's is not set.
        weight_average={"convlstm": 0.995},
    ),
}
DEFAULT_RECIPE = "augment"


@dataclass
class TrainConfig:
    architecture: str
    epochs: int | None = None  # None: the recipe's maximum for the architecture
    batch_size: int = 4
    learning_rate: float = 1e-3
    patience: int | None = None  # None: the recipe's patience for the architecture
    seed: int = 27
    recipe: str = DEFAULT_RECIPE
    extra: dict = field(default_factory=dict)  # recorded, not interpreted (e.g. a benchmark tag)

    def validate(self) -> TrainConfig:
        """Refuse settings that cannot train, before any data is touched."""
        if self.architecture not in PAPER_EPOCHS:
            raise TrainingError(f"Unknown model {self.architecture!r}; choose convlstm or lrcn.")
        if self.recipe not in RECIPES:
            raise TrainingError(
                f"Unknown recipe {self.recipe!r}; choose one of: {', '.join(RECIPES)}."
            )
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
        if not 0 <= self.seed <= MAX_SEED:
            raise TrainingError(f"The seed must be between 0 and {MAX_SEED}, not {self.seed}.")
        return self

    @property
    def spec(self) -> Recipe:
        return RECIPES[self.recipe]

    @property
    def weight_average(self) -> float:
        """The recipe's weight-averaging momentum for this architecture (0: none)."""
        return float(self.spec.weight_average.get(self.architecture, 0.0))

    @property
    def train_frames(self) -> int:
        """Frames to extract per training video: more than the model's for temporal jitter."""
        return max(self.spec.dense_frames, SEQUENCE_LENGTH)

    def resolved(self) -> TrainConfig:
        """This config, checked, with the recipe's defaults filled in."""
        self.validate()
        recipe = self.spec
        return replace(
            self,
            epochs=self.epochs or recipe.epochs[self.architecture],
            patience=self.patience
            if self.patience is not None
            else recipe.patience[self.architecture],
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        # Runs and cards written before recipes existed trained with the paper's.
        return cls(**{"recipe": "paper", **data})
