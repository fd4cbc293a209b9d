"""One experiment, end to end: folder -> split -> frames -> train -> test metrics -> model card.

The CLI's `train` and `evaluate`, the app's background jobs and the retrain script all go
through these two functions, so a model trained anywhere is trained the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from har.config import COLOR_ORDER, INPUT_SHAPE, SEQUENCE_LENGTH
from har.data.frame_cache import FrameCache, load_frames
from har.data.own_datasets import is_own_dataset
from har.data.synthetic.marker import CARD_NOTE, is_synthetic
from har.data.ucf import Dataset, Split, scan, split_clips
from har.data.video import sample_indices
from har.errors import DatasetError, ModelError
from har.evaluation.calibration import (
    FLAGGED_CORRECT_SHARE,
    calibrate,
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
    flagged_rates,
    negative_log_likelihood,
)
from har.evaluation.metrics import EvalReport, evaluate_predictions
from har.evaluation.novelty import ARCHITECTURES as NOVELTY_ARCHITECTURES
from har.evaluation.novelty import CONFIDENCE_SHARE, K, Novelty
from har.inference.predictor import Predictor
from har.models.card import ModelCard
from har.training import distribute
from har.training.tries import check_tries, train_tries
from har.utils.progress import Progress
from har.utils.versions import library_versions


@dataclass
class PreparedData:
    """A dataset cut into train / validation / test, with frames loaded as uint8."""

    dataset: Dataset
    split: Split
    class_names: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason) left out

    @property
    def synthetic(self) -> bool:
        return is_synthetic(self.dataset.root)

    @property
    def kind(self) -> str:
        """The data's kind: "own" (made on Your classes) or "real" (a UCF50-shaped folder)."""
        return "own" if is_own_dataset(self.dataset.root) else "real"

    def to_dict(self) -> dict:
        """The dataset and split, as recorded in a model card (JSON-safe)."""
        return {
            "dataset": {
                "kind": "synthetic" if self.synthetic else self.kind,
                "name": self.dataset.root.name,
                "root": str(self.dataset.root),
                "classes": self.class_names,
                "num_clips": len(self.split.train) + len(self.split.val) + len(self.split.test),
            },
            "split": {
                "mode": self.split.mode,
                "seed": self.split.seed,
                "train": len(self.split.train),
                "val": len(self.split.val),
                "test": len(self.split.test),
                "groups": {
                    part: _groups(clips)
                    for part, clips in (
                        ("train", self.split.train),
                        ("val", self.split.val),
                        ("test", self.split.test),
                    )
                },
            },
        }


def _groups(clips) -> dict[str, list[int]]:
    """Class -> the sorted group numbers of `clips` (which actors and places went where)."""
    found: dict[str, set[int]] = {}
    for clip in clips:
        found.setdefault(clip.label, set()).add(clip.group)
    return {label: sorted(groups) for label, groups in sorted(found.items())}


def prepare_data(
    root: str | Path,
    classes: Sequence[str] | None = None,
    split_mode: str = "group",
    seed: int = 27,
    cache: FrameCache | None = None,
    workers: int | None = None,
    progress: Progress = True,
    strict: bool = False,
    shard=None,
    train_frames: int = SEQUENCE_LENGTH,
) -> PreparedData:
    """Scan a UCF50-shaped folder, keep `classes` (all if None), split, and load frames.

    split_mode: "group", "random", or "all" (no training: every clip is a test clip).
    Validation and test clips get the models' 20 frames; training clips `train_frames`
    evenly spaced frames (more than 20 for a recipe with temporal jitter: a second pass over
    them, which a callable `progress` sees continue the first one's count).
    Lenient unless `strict`: misnamed and undecodable files are left out and listed in
    PreparedData.skipped; the split then fails only if a class has too few clips left.
    With a har.distribute.Shard, only this worker's share is extracted (see load_shard).
    """
    dataset = scan(root)
    if classes:
        dataset = dataset.subset(classes)
    skipped = [(str(dataset.root / f), why) for f, why in dataset.problems()]
    if strict and skipped:
        raise DatasetError(
            f"{len(skipped)} file(s) could not be used; first: {skipped[0][0]} "
            f"({skipped[0][1]}). Fix them, or run without --strict to skip them."
        )
    split = _split(dataset, split_mode, seed)  # before extraction: a bad split costs no time
    if shard is not None:
        return load_shard(
            dataset, split, shard, cache, workers, progress, strict, skipped, train_frames
        )
    everything = split.train + split.val + split.test
    second_pass = len(split.train) if train_frames != SEQUENCE_LENGTH else 0
    first_progress, second_progress = _one_count(progress, len(everything), second_pass)
    failures: list = []
    x, y = load_frames(
        everything,
        list(dataset.classes),
        cache,
        workers,
        first_progress,
        None if strict else failures,
    )
    if failures:  # undecodable clips are found only by decoding: split again without them
        bad = {everything[i].path for i, _ in failures}
        skipped += [(str(everything[i].path), str(exc)) for i, exc in failures]
        dataset = replace(dataset, clips=[c for c in dataset.clips if c.path not in bad])
        gone = [c for c in dataset.classes if not any(k.label == c for k in dataset.clips)]
        if gone:
            raise DatasetError(
                f"No clip of {', '.join(gone)} could be decoded ({len(bad)} failed; first: "
                f"{skipped[-len(bad)][0]}); re-encode them or choose other classes."
            )
        split = _split(dataset, split_mode, seed)
    if failures:
        row = {c.path: i for i, c in enumerate(everything)}
        picks = [[row[c.path] for c in p] for p in (split.train, split.val, split.test)]
    else:  # the loaded order is the split's: views, no copy of the frames
        a, b = len(split.train), len(split.train) + len(split.val)
        picks = [slice(0, a), slice(a, b), slice(b, None)]
    parts = [(x[p], y[p]) for p in picks]
    if train_frames != SEQUENCE_LENGTH and split.train:
        parts[0] = load_frames(
            split.train, list(dataset.classes), cache, workers, second_progress, frames=train_frames
        )
    return PreparedData(
        dataset, split, list(dataset.classes), *(a for pair in parts for a in pair), skipped
    )


def _one_count(progress: Progress, first: int, second: int) -> tuple[Progress, Progress]:
    """The progress of prepare_data's two passes (every clip at the models' frames, then the
    training clips again at more, for temporal jitter) as one count 0..first+second for a
    callable, so a progress bar runs once; a terminal bar (True) shows each pass."""
    if not callable(progress) or not second:
        return progress, progress
    return (
        lambda done, _total: progress(done, first + second),
        lambda done, total: progress(first + done, first + total),  # total: undecodable out
    )


def load_shard(
    dataset, split, shard, cache, workers, progress, strict, skipped, train_frames=SEQUENCE_LENGTH
) -> PreparedData:
    """A worker's share: every shard.count-th train and val clip; the test split on the chief.

    The split is every worker's, so it is never redone: an undecodable clip is only left
    out of this worker's share (har.distribute evens the steps out across workers).
    """
    parts = [shard.take(split.train), shard.take(split.val), split.test if shard.chief else []]
    arrays = []
    for k, clips in enumerate(parts):
        failures: list = []
        x, y = load_frames(
            clips,
            list(dataset.classes),
            cache,
            workers,
            progress,
            None if strict else failures,
            frames=train_frames if k == 0 else SEQUENCE_LENGTH,
        )
        bad = {i for i, _ in failures}
        skipped += [(str(clips[i].path), str(exc)) for i, exc in failures]
        keep = [i for i in range(len(clips)) if i not in bad]
        arrays += [x[keep], y[keep]] if bad else [x, y]
    return PreparedData(dataset, split, list(dataset.classes), *arrays, skipped)


def _split(dataset: Dataset, mode: str, seed: int) -> Split:
    if mode == "all":  # a fresh, never-seen set: every clip is a test clip
        return Split([], [], sorted(dataset.clips, key=lambda c: str(c.path)), "all", seed)
    return split_clips(dataset.clips, mode=mode, seed=seed)


def train_and_evaluate(
    data: PreparedData, config, name: str, listener=None, strategy=None, tries: int = 1
):
    """Train with `config` (a TrainConfig); return (TrainResult, EvalReport, ModelCard).

    A run the user stopped is not tested (the report is None, the card says so): a Stop
    must end the run in seconds, and the model can be evaluated on its own afterwards.
    With a tf.distribute `strategy`, only the chief tests (a worker returns report None).
    With `tries` > 1, seeds config.seed, config.seed + 1, ... each train and the run with the
    lowest validation loss is kept and tested (har.training.tries); its card lists every try.
    """
    from har.training.fit import train_model  # TensorFlow: preparing data does not need it

    check_tries(tries, config.seed, strategy)

    def train(run_config):
        return train_model(
            data.x_train,
            data.y_train,
            data.x_val,
            data.y_val,
            num_classes=len(data.class_names),
            config=run_config,
            listener=listener,
            strategy=strategy,
        )

    result, selection = train_tries(train, config, tries, listener)
    card = model_card(data, result, name, strategy)
    if tries > 1:
        card.training["selection"] = selection
    if result.stopped_by_user or not distribute.is_chief(strategy):
        return result, None, card
    return result, calibrate_and_test(result.model, card, data), card


def calibrate_and_test(model, card: ModelCard, data: PreparedData) -> EvalReport:
    """Fit a trained model's calibration on the validation clips and test it on the test
    clips, as the app will judge it; both go on `card` (calibration, metrics)."""
    raw = Predictor.from_model(model, card)  # no calibration on the card yet: raw softmax
    card.calibration = fit_calibration(
        *raw.outputs_batch(data.x_val), data.y_val, _train_features(raw, data)
    )
    judged = raw.with_card(card)
    test_raw, distances = judged.score_batch(data.x_test, calibrated=False)
    probabilities = calibrate(test_raw, card.calibration["temperature"])
    unsure = judged.unsure(probabilities, distances)
    threshold = card.calibration["uncertain_below"]
    report = evaluate_predictions(data.y_test, probabilities, data.class_names, threshold, unsure)
    card.metrics = {"test": report.to_dict()}
    card.calibration["test"] = calibration_report(
        test_raw, probabilities, data.y_test, threshold, unsure
    )
    return report


def _train_features(predictor, data: PreparedData) -> np.ndarray | None:
    """Features of the training clips (at the model's frames, as har.training.fit samples
    them) for a novelty limit, when the model's architecture gets one and gives features."""
    if predictor.card.architecture not in NOVELTY_ARCHITECTURES or len(data.x_train) < K:
        return None
    x = data.x_train
    frames = predictor.spec.shape[0]
    if x.shape[1] != frames:
        x = x[:, sample_indices(x.shape[1], frames)]
    return predictor.outputs_batch(x)[1]


def model_card(data: PreparedData, result, name: str, strategy=None):
    """The card of a trained model (a TrainResult), untested: metrics and calibration empty.

    A model the user stopped says so in its notes, with the epochs it ran. The worker also
    writes this card beside each best-so-far checkpoint (har.training.worker), as a stop at
    that moment would leave it.
    """
    described = data.to_dict()
    training = asdict(result.config)
    # the averaging momentum this model was trained with (har.distribute's loop has none)
    averaged = 0.0 if strategy is not None else result.config.weight_average
    training.update(
        recipe_details={
            **result.config.spec.to_dict(),
            "summary": result.config.spec.describe(averaged),
        },
        weight_average=averaged,
        epochs_run=result.epochs_run,
        stopped_early=result.stopped_early,
        stopped_by_user=result.stopped_by_user,
        seconds=round(result.seconds, 1),
        history=result.history,
        **distribute.to_dict(strategy, result.config.batch_size),
    )
    card = ModelCard(
        name=name,
        architecture=result.config.architecture,
        class_names=data.class_names,
        input_shape=list(INPUT_SHAPE),
        color_order=COLOR_ORDER,
        parameters=int(result.model.count_params()),
        dataset=described["dataset"],
        split=described["split"],
        metrics={},
        training=training,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        versions=library_versions(),
        synthetic=data.synthetic,
        notes=CARD_NOTE if data.synthetic else "",
    )
    if result.stopped_by_user:
        card.notes = (
            f"Stopped early by the user after {result.epochs_run} of {result.config.epochs} "
            "epochs; the best weights so far were kept; not evaluated on the test split. "
            + card.notes
        ).strip()
    return card


def fit_calibration(
    val_probabilities: np.ndarray,
    val_features: np.ndarray | None,
    y_val: np.ndarray,
    train_features: np.ndarray | None = None,
) -> dict:
    """Temperature and uncertainty threshold from the validation split, as recorded on a card.

    With the training clips' features (and the validation clips'), a novelty limit too
    (har.evaluation.novelty), and then the confidence threshold flags only CONFIDENCE_SHARE of
    the correct validation answers: the distance does most of the flagging.
    """
    temperature = fit_temperature(val_probabilities, y_val)
    calibrated = calibrate(val_probabilities, temperature)
    novelty = None
    if train_features is not None and val_features is not None and len(y_val):
        right = calibrated.argmax(axis=1) == np.asarray(y_val, dtype=int)
        novelty = Novelty.fit(train_features, val_features, right)
    share = CONFIDENCE_SHARE if novelty else FLAGGED_CORRECT_SHARE
    calibration = {
        "temperature": temperature,
        "uncertain_below": choose_threshold(calibrated, y_val, share),
        "fitted_on": f"validation split ({len(y_val)} clips)",
        "rule": (
            f"an answer is uncertain below the confidence that at most "
            f"{share * 100:g}% of the correct validation answers fall below"
        ),
    }
    if novelty:
        calibration["novelty"] = novelty.to_dict()
    return calibration


def calibration_report(raw, calibrated, labels, threshold: float, unsure=None) -> dict:
    """What calibration did on held-out clips: calibration error and likelihood before and
    after, and how often right and wrong answers are flagged uncertain (`unsure`: which are,
    when a novelty limit joins the threshold)."""
    return {
        "num_clips": int(len(labels)),
        "ece_before": round(expected_calibration_error(raw, labels), 4),
        "ece_after": round(expected_calibration_error(calibrated, labels), 4),
        "nll_before": round(negative_log_likelihood(raw, labels), 4),
        "nll_after": round(negative_log_likelihood(calibrated, labels), 4),
        "flagged": flagged_rates(calibrated, labels, threshold, unsure),
    }


def _own_labels(predictor, data: PreparedData) -> np.ndarray:
    """Map data's class indices onto the predictor's output order (a subset of its classes)."""
    own = list(predictor.card.class_names)
    missing = [c for c in data.class_names if c not in own]
    if missing:
        raise ModelError(
            f"Model {predictor.card.name!r} was not trained on {missing}; "
            f"evaluate it on its own classes: {own}."
        )
    return np.array([own.index(c) for c in data.class_names])


def evaluate_on(predictor, data: PreparedData) -> EvalReport:
    """Test-split metrics of a loaded Predictor, in the predictor's own class order."""
    remap = _own_labels(predictor, data)
    probabilities, distances = predictor.score_batch(data.x_test)
    return evaluate_predictions(
        remap[data.y_test],
        probabilities,
        list(predictor.card.class_names),
        predictor.uncertain_below,
        predictor.unsure(probabilities, distances),
    )


def calibrate_on(predictor, data: PreparedData) -> dict:
    """A card's calibration for `predictor`, fitted on data's validation split and reported on
    its test split (a model trained elsewhere, or one calibrated before recipes had it)."""
    remap = _own_labels(predictor, data)
    if len(data.y_val) == 0:
        raise DatasetError("Calibration needs validation clips; use a group or random split.")
    val_raw, val_features = predictor.outputs_batch(data.x_val)
    train_features = _train_features(predictor, data)
    calibration = fit_calibration(val_raw, val_features, remap[data.y_val], train_features)
    judged = predictor.with_card(replace(predictor.card, calibration=calibration))
    raw, distances = judged.score_batch(data.x_test, calibrated=False)
    calibrated = calibrate(raw, calibration["temperature"])
    calibration["test"] = calibration_report(
        raw,
        calibrated,
        remap[data.y_test],
        calibration["uncertain_below"],
        judged.unsure(calibrated, distances),
    )
    return calibration
