"""Constants from the paper and the places the package reads and writes."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

from har.errors import DatasetError

# Input of both models (paper, section 4): 20 frames, 64x64, RGB, scaled to [0, 1].
SEQUENCE_LENGTH = 20
IMAGE_HEIGHT = 64
IMAGE_WIDTH = 64
CHANNELS = 3
INPUT_SHAPE = (SEQUENCE_LENGTH, IMAGE_HEIGHT, IMAGE_WIDTH, CHANNELS)
COLOR_ORDER = "RGB"

# The four UCF50 classes the paper trains on.
PAPER_CLASSES = ("WalkingWithDog", "TaiChi", "Swing", "HorseRace")
# The paper's reported test accuracies on those four classes (random 75/25 split).
PAPER_ACCURACY = {"convlstm": 0.81, "lrcn": 0.9262}

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODELS_DIR = REPO_ROOT / "models"
SAMPLES_DIR = REPO_ROOT / "samples"


def user_data_dir() -> Path:
    """Where models the user trains are saved (never the shipped folder)."""
    return Path(os.environ.get("HAR_HOME", Path.home() / ".local" / "share" / "har-studio"))


def user_models_dir() -> Path:
    return Path(os.environ.get("HAR_MODELS_DIR", user_data_dir() / "models"))


def runs_dir() -> Path:
    """Where training runs started from the app keep their progress and models."""
    return Path(os.environ.get("HAR_RUNS_DIR", user_data_dir() / "runs"))


def cache_dir() -> Path:
    """Where extracted frames are cached, keyed by file and settings."""
    return Path(os.environ.get("HAR_CACHE_DIR", Path.home() / ".cache" / "har-studio"))


def ucf50_dir() -> Path | None:
    """The real UCF50 root if the user pointed HAR_UCF50_DIR at one."""
    value = os.environ.get("HAR_UCF50_DIR")
    return Path(value).expanduser() if value else None


def data_roots() -> list[Path]:
    """Folders the app's users may point it at: HAR_DATA_ROOTS (separated by os.pathsep), or
    by default the built-in data's cache, HAR_UCF50_DIR and the home folder of whoever runs it."""
    value = os.environ.get("HAR_DATA_ROOTS")
    if value:
        roots = [Path(p.strip()).expanduser() for p in value.split(os.pathsep) if p.strip()]
        if not roots:
            raise DatasetError(
                f"HAR_DATA_ROOTS={value!r} names no folder; whoever runs the server should "
                f"set it to folders separated by {os.pathsep!r}."
            )
        return [p.resolve() for p in roots]
    roots = [cache_dir(), Path.home()]
    if ucf50_dir() is not None:
        roots.insert(0, ucf50_dir())
    return [p.resolve() for p in roots]


def check_data_root(path: str | Path) -> Path:
    """`path` resolved, if it lies inside one of data_roots(); DatasetError otherwise.

    The app lets any browser user type a folder; this keeps them inside what the person
    running the server chose to share (the CLI user has the shell anyway and is not limited).
    """
    try:
        resolved = Path(path).expanduser().resolve()
        resolved.exists()  # a name too long for the file system fails here, not in a page
    except (OSError, RuntimeError, ValueError) as exc:  # too long, a symlink loop, a NUL byte
        shown = str(path) if len(str(path)) <= 80 else str(path)[:77] + "..."
        reason = getattr(exc, "strerror", None) or exc
        raise DatasetError(f"{shown} cannot be a folder here ({reason}); check the path.") from exc
    roots = data_roots()
    if not _inside(resolved, roots):
        raise DatasetError(
            f"{path} is outside the folders this app may read ({', '.join(map(str, roots))}). "
            "Whoever runs the server can allow it with HAR_DATA_ROOTS."
        )
    _check_links(resolved, roots)
    return resolved


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _check_links(folder: Path, roots: list[Path]) -> None:
    """DatasetError if a class folder or a clip (two levels, the UCF layout) is a symbolic
    link that leads outside `roots`: the app would read there through it."""
    if not folder.is_dir():
        return
    try:
        entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
        for entry in list(entries):
            if entry.is_dir() and not entry.is_symlink():
                entries += [e for e in entry.iterdir() if e.is_symlink()]
        for entry in entries:
            if entry.is_symlink() and not _inside(entry.resolve(), roots):
                raise DatasetError(
                    f"{entry} links to {entry.resolve()}, outside the folders this app may "
                    "read; remove the link, or whoever runs the server can allow that folder "
                    "with HAR_DATA_ROOTS."
                )
    except OSError as exc:
        raise DatasetError(f"{folder} cannot be read ({exc.strerror}).") from exc


def media_cache_bytes() -> int:
    """The cap of each media cache (uploads, previews): HAR_MEDIA_CACHE_MB, default 2048."""
    text = os.environ.get("HAR_MEDIA_CACHE_MB", "2048")
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = math.nan
    if not (math.isfinite(megabytes) and megabytes >= 0):
        warnings.warn(f"HAR_MEDIA_CACHE_MB={text!r} is not a size in MB; using 2048.", stacklevel=2)
        megabytes = 2048.0
    return int(megabytes * 1024 * 1024)
