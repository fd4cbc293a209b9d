"""Uploaded videos on disk: kept under their own name, in a cache with a size cap."""

from __future__ import annotations

import hashlib
from pathlib import Path

from har.config import cache_dir, media_cache_bytes
from har.errors import DiskFullError, VideoError
from har.utils.files import atomic_path, prune, safe_filename, touch


def save_upload(name: str, data: bytes, directory: str | Path | None = None) -> Path:
    """Keep an uploaded video on disk under its own file name (in a folder keyed by content).

    Messages and captions then name the user's file, not a hash.
    """
    if not data:
        raise VideoError(f"{name} is empty (0 bytes); upload the video again.")
    folder = Path(directory) if directory is not None else cache_dir() / "uploads"
    path = folder / hashlib.sha1(data).hexdigest()[:16] / safe_filename(name)
    try:
        if not path.exists():
            with atomic_path(path) as tmp:
                tmp.write_bytes(data)
            prune(folder, max(media_cache_bytes(), len(data)))
        touch(path)
    except OSError as exc:  # a full or read-only cache disk: say so, keep the app running
        raise DiskFullError(
            f"Cannot keep {safe_filename(name)} in {folder} ({exc.strerror or exc}); free some "
            "disk space or set HAR_CACHE_DIR to a folder with room."
        ) from exc
    return path


def forget_upload(path: str | Path) -> None:
    """Delete an upload that turned out not to be a usable video (and its folder)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass
