"""A model card: what a model is, what it learned from, how it scored, and the input it takes.

Saved as <name>.json beside <name>.keras; checked against CARD_TYPES when read.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from har.config import SHIPPED_MODELS_DIR
from har.errors import ModelError
from har.evaluation.metrics import format_accuracy
from har.evaluation.novelty import Novelty
from har.utils.text import escape_markdown, ordinal

# What a model may be called: it names files, so letters, digits, '-', '_' and '.'
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class ModelCard:
    name: str
    architecture: str
    class_names: list[str]
    input_shape: list[int]
    color_order: str
    parameters: int
    dataset: dict
    split: dict
    metrics: dict
    training: dict
    created: str
    versions: dict
    synthetic: bool
    notes: str = ""
    scaling: str = "x/255"  # pixel scaling the model expects, applied after color order
    source: dict = field(default_factory=dict)  # an imported model's file, SHA-256, date
    layers: list = field(default_factory=list)  # an imported model's layer table
    # temperature and uncertainty threshold fitted on validation clips (har.evaluation.calibration)
    calibration: dict = field(default_factory=dict)
    # SHA-256 of the .keras file the card was saved with: a card and a file that do not
    # belong together are refused (registry.load_card); empty on cards from before
    keras_sha256: str = ""
    path: str = field(default="", compare=False)  # where it was loaded from; not saved

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("path")
        return d

    @classmethod
    def from_dict(cls, data: dict, source: str = "") -> ModelCard:
        if not isinstance(data, dict):
            raise ModelError(f"Model card {_card_file(source)} is not a JSON object; retrain it.")
        required = [
            f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
        ]
        missing = [name for name in required if name not in data]
        if missing:
            raise ModelError(f"Model card {source or '?'} lacks {', '.join(missing)}; retrain it.")
        _check_types(data, source)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}, path=source)

    @property
    def shipped(self) -> bool:
        return Path(self.path).parent.resolve() == SHIPPED_MODELS_DIR.resolve()


# The types a card's fields must have: the app and the CLI read them without further checks.
CARD_TYPES = {
    "name": str,
    "architecture": str,
    "class_names": list,
    "input_shape": list,
    "color_order": str,
    "parameters": int,
    "dataset": dict,
    "split": dict,
    "metrics": dict,
    "training": dict,
    "created": str,
    "versions": dict,
    "synthetic": bool,
    "notes": str,
    "scaling": str,
    "source": dict,
    "layers": list,
    "calibration": dict,
    "keras_sha256": str,
}


def _card_file(source: str) -> str:
    return str(Path(source).with_suffix(".json")) if source else "?"


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_types(data, source: str) -> None:
    """ModelError naming the card and the first field of the wrong type or value."""
    source = _card_file(source)

    def bad(field_name: str, wanted: str) -> ModelError:
        return ModelError(f"Model card {source}: {field_name!r} must be {wanted}; fix it.")

    if not isinstance(data, dict):
        raise ModelError(f"Model card {source} is not a JSON object; retrain the model.")
    for key, kind in CARD_TYPES.items():
        value = data.get(key)
        if key in data and (not isinstance(value, kind) or (kind is int and value is True)):
            raise bad(key, f"a JSON {kind.__name__}")
    if not data["class_names"] or not all(isinstance(c, str) for c in data["class_names"]):
        raise bad("class_names", "a list of class names")
    shape = data["input_shape"]
    if len(shape) != 4 or not all(isinstance(v, int) and v > 0 for v in shape):
        raise bad("input_shape", "[frames, height, width, channels]")
    if not NAME.match(data["name"]) or len(data["name"]) > 64:
        raise bad("name", "a model name (letters, digits, '-', '_' and '.')")
    test = data["metrics"].get("test")
    if test is not None and not (
        isinstance(test, dict)
        and all(_number(test.get(k)) for k in ("accuracy", "macro_f1"))
        and isinstance(test.get("num_clips"), int)
        and not isinstance(test.get("num_clips"), bool)
        and test["num_clips"] > 0
        and 0 <= test["accuracy"] <= 1
    ):
        raise bad("metrics.test", "an object with accuracy in [0, 1], macro_f1 and num_clips")
    calibration = data.get("calibration") or {}
    if calibration and not (
        _number(calibration.get("temperature"))
        and calibration["temperature"] > 0
        and _number(calibration.get("uncertain_below"))
    ):
        raise bad("calibration", "an object with a positive temperature and uncertain_below")
    if calibration.get("novelty") is not None:
        try:
            Novelty.from_dict(calibration["novelty"])
        except ValueError as exc:
            raise bad("calibration.novelty", f"a novelty limit this program wrote ({exc})") from exc


def trained_on(card: ModelCard) -> str:
    """Where a model's knowledge comes from, in the words every page and command uses."""
    kind = card.dataset.get("kind", "?")
    if card.synthetic:
        return "trained on synthetic clips"
    if kind == "imported":
        return "imported: trained outside HAR Studio, data and split unknown"
    if kind == "own":  # a dataset made on Your classes
        return f"trained on your own clips ({Path(card.dataset.get('root', '?')).name})"
    if kind in ("real", "ucf50"):  # "ucf50": cards written before the name was general
        name = card.dataset.get("name") or Path(str(card.dataset.get("root", ""))).name
        return f"trained on real footage ({name or 'a video folder'})"
    return f"trained on {kind} data"


def describe(card: ModelCard, bold: bool = False) -> str:
    """One line for Home and `har models`: architecture, size, classes, data, test figures.

    With `bold`, markdown for the app: the figures that matter in bold, and everything from
    the card (class names, dataset names) escaped, so it shows as text, never as markup.
    """
    text = escape_markdown if bold else str

    def b(value: str) -> str:
        return f"**{text(value)}**" if bold else value

    parts = [
        b(card.architecture.upper()),
        text(f"{card.parameters:,} parameters"),
        text(f"{len(card.class_names)} classes ({', '.join(card.class_names)})"),
        text(trained_on(card)),
    ]
    test = card.metrics.get("test")
    if test:
        parts.append(
            f"{text('test accuracy')} {b(format_accuracy(test))}"
            + text(f", macro F1 {test['macro_f1']:.3f}, {card.split.get('mode', '?')} split")
        )
    elif card.dataset.get("kind") != "imported":
        parts.append("not tested")
    if card.training.get("stopped_by_user"):
        parts.append(b(f"stopped early by the user after {card.training.get('epochs_run')} epochs"))
    selection = _selection(card.training.get("selection"))
    if selection:
        parts.append(text(f"kept of {len(selection[1])} training runs by validation loss"))
    return " · ".join(parts)


def card_markdown(card) -> str:
    """A human-readable model card beside the JSON one (shipped models' <name>.md)."""
    test = card.metrics["test"]
    lines = [
        f"# {card.name}",
        "",
        f"**{card.architecture.upper()}**, {card.parameters:,} parameters, input "
        f"{'x'.join(map(str, card.input_shape))} {card.color_order} in [0, 1].",
        "",
    ]
    if card.synthetic:
        lines += [f"> **Synthetic data.** {card.notes}", ""]
    lines += [
        f"Classes (output order): {', '.join(card.class_names)}.",
        "",
        f"Data: {trained_on(card)}, {card.dataset['num_clips']} clips. Split: "
        f"{card.split['mode']} (seed {card.split['seed']}): {card.split['train']} train / "
        f"{card.split['val']} validation / {card.split['test']} test clips.",
        "",
        *_group_lines(card.split.get("groups", {})),
        f"Test accuracy **{format_accuracy(test)}**, macro F1 **{test['macro_f1']:.3f}** "
        f"({card.split['mode']} split; the interval says how much it could move on other "
        "clips).",
        "",
        "| class | precision | recall | F1 | support |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for cls, m in test["per_class"].items():
        lines.append(
            f"| {cls} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |"
        )
    lines += ["", "Confusion matrix (rows: true, columns: predicted):", "", "```"]
    lines += [" ".join(f"{v:4d}" for v in row) for row in test["confusion"]]
    lines += ["```", ""]
    if "random_split" in card.metrics:
        r = card.metrics["random_split"]["test"]
        lines += [
            f"On the paper's random 75/25 split (a separately trained model of the same "
            f"architecture): accuracy {r['accuracy']:.1%}, macro F1 {r['macro_f1']:.3f}.",
            "",
        ]
    t = card.training
    recipe = t.get("recipe_details", {})
    lines += [
        f"Training: recipe `{t.get('recipe', 'paper')}`"
        + (f" ({recipe['summary']})" if recipe.get("summary") else "")
        + f"; {recipe.get('optimizer', 'adam').replace('adamw', 'AdamW').replace('adam', 'Adam')}"
        f" lr {t['learning_rate']}, batch {t['batch_size']}, up to {t['epochs']} epochs, early "
        f"stopping patience {t['patience']} (best weights restored); ran {t['epochs_run']} "
        f"epochs in {t['seconds']} s. Created {card.created} with {card.versions}.",
        "",
        *_selection_lines(t.get("selection")),
        *_calibration_lines(card.calibration),
    ]
    return "\n".join(lines)


def _selection(selection) -> tuple[int, list[str], list[str]] | None:
    """(chosen seed, each try's seed, each try's best validation loss) of a card's record of
    several training runs (har.training.tries); None if absent or not one har wrote."""
    try:
        seeds = [str(int(t["seed"])) for t in selection["tries"]]
        losses = [
            "n/a" if t["best_val_loss"] is None else f"{float(t['best_val_loss']):.3f}"
            for t in selection["tries"]
        ]
        return int(selection["chosen_seed"]), seeds, losses
    except (KeyError, TypeError, ValueError):
        return None


def _selection_lines(record) -> list[str]:
    """Which training runs there were and why this one; none without a record."""
    selection = _selection(record)
    if selection is None:
        return []
    chosen, seeds, losses = selection
    return [
        f"Kept the run of seed {chosen} out of {len(seeds)} (seeds {', '.join(seeds)}; best "
        f"validation loss {', '.join(losses)}): the one with the lowest validation loss. The "
        "test clips played no part in the choice.",
        "",
    ]


def _group_lines(groups: dict) -> list[str]:
    """Which groups (actors, places) of each class went to train, validation and test."""
    if not groups:
        return []
    lines = [
        "| class | train groups | validation groups | test groups |",
        "| --- | --- | --- | --- |",
    ]
    for cls in sorted({c for part in groups.values() for c in part}):
        cells = [
            ", ".join(map(str, groups.get(p, {}).get(cls, []))) for p in ("train", "val", "test")
        ]
        lines.append(f"| {cls} | {' | '.join(cells)} |")
    return [*lines, ""]


def _calibration_lines(calibration: dict) -> list[str]:
    if not calibration:
        return []
    lines = [
        f"Calibration: temperature {calibration['temperature']} fitted on the "
        f"{calibration.get('fitted_on', 'validation split')}; an answer below "
        f"{calibration['uncertain_below']:.1%} confidence is called uncertain "
        f"({calibration.get('rule', '')}).",
    ]
    novelty = calibration.get("novelty")
    if novelty:
        lines[0] += (
            f" A clip is also called uncertain when it is unlike the "
            f"{novelty['reference_clips']} training clips: its distance to the "
            f"{ordinal(novelty['k'])} nearest of them, in the features of the layer before the "
            f"last, above {novelty['distance_above']} ({novelty.get('rule', '')})."
        )
    test = calibration.get("test")
    if test:
        flagged = test["flagged"]
        lines.append(
            f"On the {test['num_clips']} test clips: expected calibration error "
            f"{test['ece_before']:.3f} before, {test['ece_after']:.3f} after; flagged uncertain: "
            f"{flagged['right']:.0%} of {flagged['right_clips']} right answers, "
            f"{flagged['wrong']:.0%} of {flagged['wrong_clips']} wrong ones."
        )
    return [*lines, ""]
