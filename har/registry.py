"""Models on disk: <name>.keras beside its card <name>.json, both written atomically.

Shipped models live in the repository's models/; models a user trains go to
config.user_models_dir() and never replace a shipped one. Loading uses Keras safe mode.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from har.config import SHIPPED_MODELS_DIR, user_models_dir
from har.errors import ModelError
from har.fsutil import atomic_path, remove_stale_temps, write_json

INCOMING = ".incoming"  # temp files of saves in progress: never listed, cleaned when stale
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_NAME_LENGTH = 64


def check_name(name: str, directory: str | Path | None = None, overwrite: bool = False) -> str:
    """`name` if a model may be saved under it in `directory`; ModelError saying why not."""
    name = str(name).strip()
    if not name:
        raise ModelError("Give the model a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise ModelError(
            f"A model name may be at most {MAX_NAME_LENGTH} characters; this one has {len(name)}."
        )
    if not NAME.match(name) or name.endswith("."):
        raise ModelError(
            f"Model name {name!r} may use only letters, digits, '-', '_' and '.', "
            "starting with a letter or digit."
        )
    directory = Path(directory) if directory is not None else user_models_dir()
    if (SHIPPED_MODELS_DIR / f"{name}.keras").exists() and (
        directory.resolve() != SHIPPED_MODELS_DIR.resolve() or not overwrite
    ):
        raise ModelError(f"{name!r} is a shipped model's name; pick another name.")
    if not overwrite and (directory / f"{name}.keras").exists():
        raise ModelError(f"A model named {name!r} already exists; pick another name.")
    return name


def slugify(text: str, fallback: str = "model") -> str:
    """A valid model name made from any text: ASCII letters, digits, '-', '_' and '.'."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", ascii_text).strip("-._")
    return slug[:MAX_NAME_LENGTH].rstrip("-._") or fallback


def check_writable(directory: str | Path | None = None) -> Path:
    """The registry folder, created if needed, if a model can be written there; else ModelError."""
    import tempfile

    directory = Path(directory) if directory is not None else user_models_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise ModelError(
            f"Cannot save models in {directory} ({exc.strerror or exc}); choose another "
            "folder (--out, or HAR_MODELS_DIR)."
        ) from exc
    return directory


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
    scaling: str = "x/255"  # pixel scaling the model expects, applied after colour order
    source: dict = field(default_factory=dict)  # an imported model's file, SHA-256, date
    layers: list = field(default_factory=list)  # an imported model's layer table
    path: str = field(default="", compare=False)  # where it was loaded from; not saved

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("path")
        return d

    @classmethod
    def from_dict(cls, data: dict, source: str = "") -> ModelCard:
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
}


def _check_types(data, source: str) -> None:
    """ModelError naming the card and the first field of the wrong type."""
    source = str(Path(source).with_suffix(".json")) if source else "?"

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
    test = data["metrics"].get("test")
    if test is not None and not (
        isinstance(test, dict)
        and all(isinstance(test.get(k), int | float) for k in ("accuracy", "macro_f1"))
    ):
        raise bad("metrics.test", "an object with numeric accuracy and macro_f1")


def save_model(
    model, card: ModelCard, directory: str | Path | None = None, overwrite: bool = False
):
    """Write <dir>/<name>.keras and <name>.json; refuses to replace a model unless overwrite."""
    directory = Path(directory) if directory is not None else user_models_dir()
    check_name(card.name, directory, overwrite)
    target = directory / f"{card.name}.keras"
    with atomic_path(target, tmp_dir=directory / INCOMING) as tmp:
        model.save(tmp)
    write_json(directory / f"{card.name}.json", card.to_dict(), tmp_dir=directory / INCOMING)
    return target


def install_model(
    keras_file: str | Path, card: ModelCard, name: str, directory: str | Path | None = None
) -> Path:
    """Copy a saved .keras file and its card into the registry as `name`, without loading it.

    The app's server saves a model trained in another process this way: no TensorFlow needed.
    """
    directory = Path(directory) if directory is not None else user_models_dir()
    name = check_name(name, directory)
    target = directory / f"{name}.keras"
    with atomic_path(target, tmp_dir=directory / INCOMING) as tmp:
        shutil.copyfile(keras_file, tmp)
    write_json(directory / f"{name}.json", {**card.to_dict(), "name": name}, directory / INCOMING)
    return target


def _candidates(name_or_path: str | Path, directories) -> list[Path]:
    p = Path(name_or_path)
    if p.suffix in (".keras", ".json") or p.exists():
        return [p.with_suffix(".keras")]
    return [Path(d) / f"{name_or_path}.keras" for d in directories]


def default_directories() -> list[Path]:
    return [SHIPPED_MODELS_DIR, user_models_dir()]


def load_card(keras_path: Path) -> ModelCard:
    card_path = keras_path.with_suffix(".json")
    if not card_path.exists():
        raise ModelError(f"{keras_path.name} has no model card ({card_path.name}); retrain it.")
    try:
        data = json.loads(card_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"Model card {card_path} is not valid JSON ({exc.msg}).") from exc
    return ModelCard.from_dict(data, str(keras_path))


def find_model(name_or_path: str | Path, directories=None) -> tuple[Path, ModelCard]:
    """(.keras path, its card) for a registry name or a .keras/.json path, without loading it."""
    directories = directories or default_directories()
    found = [p for p in _candidates(name_or_path, directories) if p.exists()]
    if not found:
        raise ModelError(f"No model {str(name_or_path)!r}; `har models` lists those installed.")
    return found[0], load_card(found[0])


def load_model(name_or_path: str | Path, directories=None):
    """(keras.Model, ModelCard) for a registry name or a .keras/.json path."""
    from har.tfquiet import import_tensorflow

    path, card = find_model(name_or_path, directories)  # a wrong name fails before the import
    import_tensorflow()
    import keras

    import har.layers  # noqa: F401  (registers har>TimeDistributed, har>ConvLSTM2D for loading)

    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # a corrupt or foreign file: say so in one sentence
        raise ModelError(f"{path.name} could not be loaded as a Keras model ({exc}).") from exc
    outputs = int(model.output_shape[-1])
    if outputs != len(card.class_names):
        raise ModelError(
            f"{path.name} predicts {outputs} classes but its card names "
            f"{len(card.class_names)}; the card does not belong to this model."
        )
    if list(model.input_shape[1:]) != list(card.input_shape):
        raise ModelError(
            f"{path.name} takes input {model.input_shape[1:]}, not the card's {card.input_shape}."
        )
    return model, card


def list_models(directories=None) -> list[ModelCard]:
    """Cards of every model found, shipped ones first, one per name.

    A broken pair, or a card that claims a name already listed (a shipped model's, say),
    is skipped with a warning naming its file; a dead writer's temp files are removed.
    """
    cards: dict[str, ModelCard] = {}
    for directory in directories or default_directories():
        if (Path(directory) / INCOMING).is_dir():
            remove_stale_temps(Path(directory) / INCOMING)
        for path in sorted(Path(directory).glob("*.keras")):
            if path.name.startswith("."):
                continue  # an interrupted write from before temp files moved to .incoming/
            try:
                card = load_card(path)
            except ModelError as exc:
                warnings.warn(str(exc), stacklevel=2)
                continue
            if card.name in cards:
                first = Path(cards[card.name].path).name
                warnings.warn(
                    f"{path} claims the name {card.name!r}, which {first} already has; "
                    "it is not listed (rename it or its card).",
                    stacklevel=2,
                )
                continue
            cards[card.name] = card
    return list(cards.values())


def trained_on(card: ModelCard) -> str:
    """Where a model's knowledge comes from, in the words every page and command uses."""
    kind = card.dataset.get("kind", "?")
    if card.synthetic:
        return "trained on synthetic clips"
    if kind == "imported":
        return "imported: trained outside HAR Studio, data and split unknown"
    return f"trained on {kind} data"


def describe(card: ModelCard, bold: bool = False) -> str:
    """One line for Home and `har models`: architecture, size, classes, data, test figures."""
    from har.evaluate import format_accuracy

    def b(text: str) -> str:
        return f"**{text}**" if bold else text

    parts = [
        b(card.architecture.upper()),
        f"{card.parameters:,} parameters",
        f"{len(card.class_names)} classes ({', '.join(card.class_names)})",
        trained_on(card),
    ]
    test = card.metrics.get("test")
    if test:
        parts.append(
            f"test accuracy {b(format_accuracy(test))}, macro F1 {test['macro_f1']:.3f}, "
            f"{card.split.get('mode', '?')} split"
        )
    elif card.dataset.get("kind") != "imported":
        parts.append("not tested")
    if card.training.get("stopped_by_user"):
        parts.append(b(f"stopped early by the user after {card.training.get('epochs_run')} epochs"))
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
        f"Data: {card.dataset['kind']}, {card.dataset['num_clips']} clips. Split: "
        f"{card.split['mode']} (seed {card.split['seed']}): {card.split['train']} train / "
        f"{card.split['val']} validation / {card.split['test']} test clips.",
        "",
        f"Test accuracy **{test['accuracy']:.1%}**, macro F1 **{test['macro_f1']:.3f}** "
        f"({card.split['mode']} split).",
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
    lines += [
        f"Training: Adam lr {t['learning_rate']}, batch {t['batch_size']}, up to "
        f"{t['epochs']} epochs, early stopping patience {t['patience']} "
        f"(best weights restored); ran {t['epochs_run']} epochs in {t['seconds']} s. "
        f"Created {card.created} with {card.versions}.",
        "",
    ]
    return "\n".join(lines)
