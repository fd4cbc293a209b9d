"""Files: atomic writes (a temp file renamed into place) and the checks before reading one.

No heavy imports here: the CLI checks its inputs with these before loading TensorFlow.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from har.errors import HarError, VideoError


@contextmanager
def atomic_path(
    path: str | Path, suffix: str | None = None, tmp_dir: str | Path | None = None
) -> Iterator[Path]:
    """Yield a temp path beside `path` (or in `tmp_dir`, on the same disk); on success rename
    it over `path`, on error delete it.

    A crash never leaves half a file at `path`. `suffix` defaults to the target's suffix,
    since some writers (Keras, FFmpeg) pick the format from the extension. The temp name
    starts with ".<pid>." so remove_stale_temps can tell a dead writer's leftovers.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tmp_dir) if tmp_dir is not None else path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        suffix=suffix if suffix is not None else path.suffix,
        prefix=f".{os.getpid()}.{path.name}.",
        dir=folder,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete temp files in `folder` whose writing process is gone (killed mid-write)."""
    removed = []
    for tmp in Path(folder).glob(".*"):
        pid = tmp.name.split(".")[1] if tmp.name.count(".") >= 2 else ""
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_json(path: str | Path, data: Any, tmp_dir: str | Path | None = None) -> Path:
    """Write `data` as indented JSON, atomically."""
    with atomic_path(path, tmp_dir=tmp_dir) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return Path(path)


def check_input_file(path: str | Path, what: str = "video") -> Path:
    """`path` if it is a readable, non-empty regular file; VideoError saying what is wrong."""
    p = Path(path)
    if not p.exists():
        raise VideoError(f"No such file: {p}. Check the path or pick the {what} again.")
    if p.is_dir():
        raise VideoError(f"{p} is a folder, not a {what} file.")
    mode = p.stat().st_mode
    if not stat.S_ISREG(mode):
        raise VideoError(f"{p} is not a regular file (a pipe or a device); save the {what} first.")
    if p.stat().st_size == 0:
        raise VideoError(f"{p.name} is empty (0 bytes); pick or upload the {what} again.")
    if not os.access(p, os.R_OK):
        raise VideoError(f"{p.name} cannot be read (permission denied).")
    return p


MAX_NAME_BYTES = 150  # a kept file name's length in bytes: room below the usual 255 for temp names


def safe_filename(name: str, fallback: str = "upload", max_bytes: int = MAX_NAME_BYTES) -> str:
    """A user's file name made safe to store: no folders, no hidden name, odd characters as
    '_', at most `max_bytes` bytes in UTF-8 (cut in the stem: the extension stays)."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    safe = "".join(c if c.isalnum() or c in "._- " else "_" for c in base).strip()
    suffix = Path(safe).suffix if safe.count(".") else ""
    if len(suffix) > 12 or not suffix[1:].isalnum():
        suffix = ""
    stem = safe[: len(safe) - len(suffix)].strip(". ")
    room = max(max_bytes - len(suffix.encode()), 1)
    stem = stem.encode()[:room].decode("utf-8", errors="ignore").rstrip(". ")
    return (stem or fallback) + suffix


def check_writable_folder(
    path: str | Path, error=None, doing: str = "write files", hint: str = "give another folder"
) -> Path:
    """`path`, created if needed, if files can be written in it; else `error` (HarError by
    default) saying "Cannot <doing> in <path> (why); <hint>."

    Called before long work, so a wrong --out fails in milliseconds, not after the work.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise (error or HarError)(
            f"Cannot {doing} in {folder} ({exc.strerror or exc}); {hint}."
        ) from exc
    return folder


def touch(path: Path) -> None:
    """Mark a cached file as just used (its access time; the modification time stays)."""
    os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))


def prune(folder: str | Path, max_bytes: int) -> list[Path]:
    """Delete the least recently used files under `folder` until it holds at most max_bytes."""
    files = [p for p in Path(folder).rglob("*") if p.is_file()]
    stats = [(p.stat(), p) for p in files]
    entries = sorted(((max(s.st_atime, s.st_mtime), s.st_size, p) for s, p in stats), reverse=True)
    total, removed = 0, []
    for _, size, path in entries:  # newest first: keep while they fit
        total += size
        if total > max_bytes:
            path.unlink(missing_ok=True)
            removed.append(path)
            if path.parent != Path(folder) and not any(path.parent.iterdir()):
                path.parent.rmdir()
    return removed


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB blocks; remembered per process while the
    file keeps its inode, size and modification time (a card check on every listing and the
    LiteRT cache key then hash each model file once, not on every call)."""
    st = os.stat(path)
    return _sha256(str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256(path: str, inode: int, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
