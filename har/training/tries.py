"""Several training runs, one model: keep the run with the lowest validation loss.

The same recipe trains on the same split with seeds seed, seed + 1, ...; the run whose best
validation loss is lowest is kept. Only the validation clips choose: the test clips judge the
kept run alone, so its test figures stay an estimate for clips nobody chose on. On the real
clips, runs of the augment recipe that differ only in their seed land up to 17 points apart, and
keeping the lowest validation loss of three beat the three's mean in four of five such sets
(not with the paper's recipe; benchmarks/seed_choice.py, docs/benchmarks.md).
"""

from __future__ import annotations

import math
from dataclasses import replace

from har.errors import TrainingError
from har.training.recipe import MAX_SEED

MAX_TRIES = 10
RULE = "lowest validation loss"


def best_val_loss(result) -> float:
    """The lowest finite validation loss of a TrainResult (inf when there is none)."""
    losses = [v for v in result.history.get("val_loss", []) if math.isfinite(v)]
    return min(losses, default=math.inf)


def check_tries(tries: int, seed: int, strategy=None) -> None:
    """Refuse a number of tries that cannot run, before any data is touched."""
    if not 1 <= tries <= MAX_TRIES:
        raise TrainingError(f"Tries must be between 1 and {MAX_TRIES}, not {tries}.")
    if seed + tries - 1 > MAX_SEED:
        raise TrainingError(f"Seeds {seed}..{seed + tries - 1} go past the largest, {MAX_SEED}.")
    if tries > 1 and strategy is not None:
        raise TrainingError("Several tries train on one machine; leave --strategy at default.")


def train_tries(train, config, tries: int, listener=None):
    """`train(config)` returns a TrainResult; run it for `tries` seeds from config.seed on.

    Returns (the kept TrainResult, a record for the card: the rule, the chosen seed and each
    try's seed, best validation loss, epochs and seconds). A run the user stopped ends the
    tries; the best of those run so far is kept.
    """
    check_tries(tries, config.seed)
    kept, record = None, []
    for i in range(tries):
        run = replace(config, seed=config.seed + i)
        announce = getattr(listener, "on_try", None)  # listeners may be duck-typed
        if tries > 1 and announce is not None:
            announce(i, tries, run.seed)
        result = train(run)
        loss = best_val_loss(result)
        record.append(
            {
                "seed": run.seed,
                "best_val_loss": round(loss, 4) if math.isfinite(loss) else None,
                "epochs_run": result.epochs_run,
                "seconds": round(result.seconds, 1),
            }
        )
        if kept is None or loss < best_val_loss(kept):
            kept = result
        if result.stopped_by_user:
            break
    return kept, {"rule": RULE, "chosen_seed": kept.config.seed, "tries": record}
