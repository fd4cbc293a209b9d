"""Models on disk: <name>.keras beside its card <name>.json, both written atomically.

Shipped models live in the repository's models/; models a user trains go to
config.user_models_dir() and never replace a shipped one. Loading uses Keras safe mode.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from har.config import SHIPPED_MODELS_DIR, user_models_dir
from har.errors import ModelError
from har.models.card import NAME, ModelCard
from har.utils.files import (
    atomic_path,
    check_writable_folder,
    remove_stale_temps,
    sha256_file,
    write_json,
)
from har.utils.quiet import import_tensorflow

INCOMING = ".incoming"  # temp files of saves in progress: never listed, cleaned when stale
LOCK_FILE = ".registry.lock"  # in INCOMING: held across a save's name check and its writes


MAX_NAME_LENGTH = 64


# The shipped pairs. The real pair (trained on real UCF101 footage) answers uploads,
# recordings and UCF clips: the app's and the CLI's default. The synthetic pair is the demo
# for the built-in synthetic samples (drawn figures), which the real pair has never seen.
REAL_PAIR = ("lrcn-ucf6", "convlstm-ucf6")
DEMO_PAIR = ("lrcn-paper4", "convlstm-paper4")


def default_models(names, synthetic_clip: bool = False) -> list[str]:
    """The models that answer when the user names none: the real pair, or for a built-in
    synthetic clip the synthetic pair; whichever of them is installed, else the first two."""
    names = list(names)
    wanted = DEMO_PAIR if synthetic_clip else REAL_PAIR
    chosen = [n for n in wanted if n in names]
    if not chosen:
        chosen = [n for n in REAL_PAIR + DEMO_PAIR if n in names][:2]
    return chosen or names[:2]


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
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", ascii_text).strip("-._")
    return slug[:MAX_NAME_LENGTH].rstrip("-._") or fallback


def check_writable(directory: str | Path | None = None) -> Path:
    """The registry folder, created if needed, if a model can be written there; else ModelError."""
    directory = Path(directory) if directory is not None else user_models_dir()
    check_writable_folder(
        directory, ModelError, "save models", "choose another folder (--out, or HAR_MODELS_DIR)"
    )
    return directory


def save_model(
    model, card: ModelCard, directory: str | Path | None = None, overwrite: bool = False
):
    """Write <dir>/<name>.keras and <name>.json; refuses to replace a model unless overwrite.

    The .keras holds stock Keras layers only (the fast layers are swapped back: same weights),
    so every saved model loads in plain Keras, without har.
    """
    from har.models.fast_layers import to_stock  # imports Keras: listing cards does not

    return _write_pair(lambda tmp: to_stock(model).save(tmp), card, card.name, directory, overwrite)


def install_model(
    keras_file: str | Path, card: ModelCard, name: str, directory: str | Path | None = None
) -> Path:
    """Copy a saved .keras file and its card into the registry as `name`, without loading it.

    The app's server saves a model trained in another process this way: no TensorFlow needed.
    """
    return _write_pair(lambda tmp: shutil.copyfile(keras_file, tmp), card, name, directory)


@contextmanager
def registry_lock(directory: Path) -> Iterator[None]:
    """Hold the registry folder's lock: one save at a time, across threads and processes."""
    (directory / INCOMING).mkdir(parents=True, exist_ok=True)
    with open(directory / INCOMING / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_pair(
    write_keras, card: ModelCard, name: str, directory: str | Path | None, overwrite=False
) -> Path:
    """The one way a model enters a folder: name check and both files in one locked step.

    Both files are written to temp files first (a full disk fails before either is in
    place); the card, which records the .keras file's SHA-256, is renamed into place before
    the .keras, so a crash between the two renames leaves no listed model and no taken name.
    `card` gets the name and checksum it was saved with.
    """
    directory = Path(directory) if directory is not None else user_models_dir()
    target = directory / f"{name}.keras"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with registry_lock(directory):
            name = check_name(name, directory, overwrite)
            with (
                atomic_path(target, tmp_dir=directory / INCOMING) as keras_tmp,
                atomic_path(target.with_suffix(".json"), tmp_dir=directory / INCOMING) as card_tmp,
            ):
                write_keras(keras_tmp)
                card.name, card.keras_sha256 = name, sha256_file(keras_tmp)
                card_tmp.write_text(json.dumps(card.to_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:  # a full disk, a read-only folder: nothing was put in place
        raise ModelError(
            f"Cannot save the model as {name!r} in {directory} ({exc.strerror or exc}); free "
            "some space or choose another folder (--out, or HAR_MODELS_DIR)."
        ) from exc
    card.path = str(target)
    return target


def _candidates(name_or_path: str | Path, directories) -> list[Path]:
    text = str(name_or_path).strip()
    p = Path(text)
    if not text or not p.name or p.name in (".", ".."):  # '', '/', '.': no model's name
        raise ModelError(f"{text!r} names no model; `har models` lists those installed.")
    if p.suffix in (".keras", ".json") or p.exists():
        return [p.with_suffix(".keras")]
    return [Path(d) / f"{text}.keras" for d in directories]


def default_directories() -> list[Path]:
    return [SHIPPED_MODELS_DIR, user_models_dir()]


def load_card(keras_path: Path) -> ModelCard:
    """The card beside `keras_path`, checked; ModelError if it is missing, malformed, or
    records the checksum of another .keras file (two saves crossed, or a file replaced)."""
    card_path = keras_path.with_suffix(".json")
    if not card_path.exists():
        raise ModelError(f"{keras_path.name} has no model card ({card_path.name}); retrain it.")
    try:
        data = json.loads(card_path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ModelError(f"Model card {card_path} is not valid JSON ({exc}).") from exc
    except OSError as exc:
        raise ModelError(f"Model card {card_path} cannot be read ({exc.strerror}).") from exc
    card = ModelCard.from_dict(data, str(keras_path))
    if card.keras_sha256 and sha256_file(keras_path) != card.keras_sha256:
        raise ModelError(
            f"{keras_path.name} is not the file its card {card_path.name} was written for "
            "(another checksum); save or import the model again."
        )
    return card


def update_card(keras_path: str | Path, card: ModelCard) -> Path:
    """Rewrite the card beside `keras_path` (atomically): a model calibrated again, say."""
    keras_path = Path(keras_path)
    return write_json(
        keras_path.with_suffix(".json"), card.to_dict(), tmp_dir=keras_path.parent / INCOMING
    )


def find_model(name_or_path: str | Path, directories=None) -> tuple[Path, ModelCard]:
    """(.keras path, its card) for a registry name or a .keras/.json path, without loading it."""
    directories = directories or default_directories()
    found = [p for p in _candidates(name_or_path, directories) if p.exists()]
    if not found:
        raise ModelError(f"No model {str(name_or_path)!r}; `har models` lists those installed.")
    return found[0], load_card(found[0])


def load_model(name_or_path: str | Path, directories=None):
    """(keras.Model, ModelCard) for a registry name or a .keras/.json path."""
    path, card = find_model(name_or_path, directories)  # a wrong name fails before the import

    # A .keras file is a zip; a small one can claim gigabytes (a zip bomb), so its declared
    # sizes are checked before Keras unpacks it (zipfile never reads past a declared size).
    max_bytes = 1 << 30  # the paper's models are well under 1 MB; large imports stay far below
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        members = []  # not a zip: Keras says what is wrong below
    if len(members) > 10_000 or sum(m.file_size for m in members) > max_bytes:
        raise ModelError(
            f"{path.name} unpacks to {sum(m.file_size for m in members) / 2**20:,.0f} MB in "
            f"{len(members)} files, more than a model may ({max_bytes >> 20} MB); it is not "
            "loaded. Use the .keras file Keras saved."
        )
    import_tensorflow()
    import keras

    import har.models.fast_layers  # noqa: F401  (registers har>TimeDistributed, har>ConvLSTM2D for loading)

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
    if model.count_params() != card.parameters:
        raise ModelError(
            f"{path.name} has {model.count_params():,} parameters but its card says "
            f"{card.parameters:,}; the card does not belong to this model."
        )
    return model, card


def fingerprint(directories=None) -> tuple:
    """What the registry holds as of now, cheaply (names, sizes and change times of its model
    files and cards): equal fingerprints, the same models. A long-running app reloads its
    models when this changes, so a card changed from outside (`har calibrate`) is seen."""
    found = []
    for directory in directories or default_directories():
        try:
            entries = sorted(Path(directory).iterdir())
        except OSError:
            entries = []
        for path in entries:
            if path.suffix in (".keras", ".json") and not path.name.startswith("."):
                try:
                    info = path.stat()
                except OSError:
                    continue
                found.append((str(path), info.st_size, info.st_mtime_ns))
    return tuple(found)


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
