"""The sample clips shipped in samples/, by class."""

from __future__ import annotations

from pathlib import Path

from har.config import (
    SAMPLES_DIR,
    VIDEO_EXTENSIONS,
)


def list_samples(root: str | Path = SAMPLES_DIR) -> dict[str, list[Path]]:
    """The shipped sample clips by class: samples/<Class>_<n>.mp4."""
    found: dict[str, list[Path]] = {}
    for path in sorted(Path(root).glob("*")):
        if path.suffix.lower() in VIDEO_EXTENSIONS and "_" in path.stem:
            found.setdefault(path.stem.rsplit("_", 1)[0], []).append(path)
    return found


def is_builtin_sample(path: str | Path, root: str | Path = SAMPLES_DIR) -> bool:
    """Whether `path` is one of the shipped sample clips: synthetic (drawn figures), so the
    synthetic pair answers it by default."""
    try:
        return Path(path).resolve().parent == Path(root).resolve()
    except OSError:
        return False
