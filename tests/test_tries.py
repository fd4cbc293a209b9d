"""Several training runs, one model (har.training.tries): the lowest validation loss is kept."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from conftest import run_cli

from har.config import SHIPPED_MODELS_DIR
from har.errors import TrainingError
from har.models.card import ModelCard, card_markdown, describe
from har.training.fit import TrainingListener, train_model
from har.training.recipe import MAX_SEED, TrainConfig
from har.training.tries import MAX_TRIES, best_val_loss, check_tries, train_tries

RNG = np.random.default_rng(3)
X = RNG.integers(0, 256, (8, 20, 64, 64, 3), dtype=np.uint8)
Y = np.arange(8) % 2


class Tries(TrainingListener):
    def __init__(self, stop_after_batches=None):
        self.tries, self.batches = [], 0
        self.stop_after = stop_after_batches

    def on_try(self, index, tries, seed):
        self.tries.append((index, tries, seed))

    def on_batch_end(self, epoch, batch, total_batches, logs):
        self.batches += 1

    def should_stop(self):
        return self.stop_after is not None and self.batches >= self.stop_after


def train(listener):
    return lambda config: train_model(X, Y, X[:4], Y[:4], 2, config, listener)


def val_loss(model) -> float:
    probs = np.asarray(model(X[:4].astype(np.float32) / 255.0, training=False))
    return float(keras.losses.categorical_crossentropy(np.eye(2)[Y[:4]], probs).numpy().mean())


@pytest.mark.slow  # two trainings and a third stopped
def test_the_lowest_validation_loss_is_kept_and_a_user_stop_ends_the_tries():
    listener = Tries(stop_after_batches=5)  # two batches an epoch: stops inside the 3rd try
    config = TrainConfig("lrcn", epochs=1, seed=5)
    kept, selection = train_tries(train(listener), config, 4, listener)
    assert listener.tries == [(0, 4, 5), (1, 4, 6), (2, 4, 7)]  # no 4th try after the stop
    losses = {t["seed"]: t["best_val_loss"] for t in selection["tries"]}
    assert losses[7] is None  # stopped before its validation pass
    assert losses[5] != losses[6]  # two seeds, two different runs
    chosen = min((5, 6), key=losses.get)
    assert selection["chosen_seed"] == chosen == kept.config.seed
    assert selection["rule"] == "lowest validation loss" and not kept.stopped_by_user
    # the model handed back is the kept run's, not the last one trained
    assert val_loss(kept.model) == pytest.approx(losses[chosen], abs=1e-3)
    assert best_val_loss(kept) == pytest.approx(losses[chosen], abs=1e-4)
    assert [t["epochs_run"] for t in selection["tries"]] == [1, 1, 0]


@pytest.mark.parametrize(
    ("tries", "seed", "strategy", "words"),
    [
        (0, 1, None, "between 1 and"),
        (MAX_TRIES + 1, 1, None, "between 1 and"),
        (2, MAX_SEED, None, "go past the largest"),
        (2, 1, "mirrored", "one machine"),
    ],
)
def test_impossible_tries_are_refused_before_any_work(tries, seed, strategy, words):
    with pytest.raises(TrainingError, match=words):
        check_tries(tries, seed, strategy)


def test_cli_refuses_tries_with_a_strategy_before_reading_data(tmp_path, capsys):
    code, _, err = run_cli(
        capsys,
        *("train", "--data", tmp_path / "no such folder", "--model", "lrcn"),
        *("--tries", "2", "--strategy", "mirrored"),
    )
    assert code == 1 and "one machine" in err and "no such folder" not in err
    with pytest.raises(SystemExit):
        run_cli(capsys, "train", "--data", tmp_path, "--model", "lrcn", "--tries", "0")


def test_the_card_says_which_runs_there_were_and_tolerates_a_foreign_record():
    card = ModelCard.from_dict(json.loads((SHIPPED_MODELS_DIR / "lrcn-ucf6.json").read_text()))
    assert "Kept the run" not in card_markdown(card) and "training runs" not in describe(card)
    card.training["selection"] = {
        "rule": "lowest validation loss",
        "chosen_seed": 2,
        "tries": [
            {"seed": 1, "best_val_loss": 0.9, "epochs_run": 40, "seconds": 60.0},
            {"seed": 2, "best_val_loss": 0.8123, "epochs_run": 52, "seconds": 70.0},
            {"seed": 3, "best_val_loss": None, "epochs_run": 1, "seconds": 3.0},
        ],
    }
    text = card_markdown(card)
    assert "Kept the run of seed 2 out of 3 (seeds 1, 2, 3; best validation loss" in text
    assert "0.900, 0.812, n/a" in text and "test clips played no part" in text
    assert "kept of 3 training runs by validation loss" in describe(card, bold=True)
    card.training["selection"] = {"tries": "<b>not a list of runs</b>", "chosen_seed": "x"}
    assert "Kept the run" not in card_markdown(card) and "training runs" not in describe(card)
