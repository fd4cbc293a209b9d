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
