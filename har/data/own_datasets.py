"""Your own datasets: UCF-shaped folders of clips you record or upload, trained on Retrain.

    <user data>/datasets/<name>/<Class>/v_<Class>_gNN_cMM.mp4

One recording session or one upload batch (or one folder of an uploaded zip) is one group,
numbered across the dataset, so the group split holds whole sessions out, as UCF50's groups
are held out. `.har-dataset.json` beside the class folders remembers which session got which
group, the ids of recordings already stored (a recording sent twice is kept once) and each
clip's length and origin. Every change holds the dataset's lock and writes atomically; a class
rename is journalled and finished by the next reader if it was cut off.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from har.config import user_data_dir
from har.data.clip_import import (
    MIN_SECONDS,
    check_free_space,
    disk_errors,
    middle_frame_jpeg,
    store_clip,
    unpack,
)
from har.data.ucf import CLIP_NAME
from har.errors import DatasetError, DiskFullError, VideoError
from har.utils.files import write_json

META = ".har-dataset.json"
RENAME_JOURNAL = ".rename.json"
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
MAX_NAME = 40
MAX_DATASETS = 50
MAX_CLIPS_PER_CLASS = 1000
MAX_REMEMBERED = 5000  # recording ids kept to recognise a recording sent twice
GROUPS_FOR_SPLIT = 3  # a group split holds out whole groups: train, validation and test
SUGGESTED_CLIPS = (10, 30)  # per class: fewer learns little; more learns more, slowly


def datasets_dir() -> Path:
    return user_data_dir() / "datasets"


def dataset_cap_bytes() -> int:
    """Most disk one dataset may use: HAR_DATASET_MB, default 2048."""
    return int(float(os.environ.get("HAR_DATASET_MB", "2048")) * 1024 * 1024)


def check_name(name: str, what: str, taken: Iterable[str] = ()) -> str:
    """`name` stripped, if it can name a folder and a UCF clip; DatasetError saying why not."""
    name = (name or "").strip()
    if not name:
        raise DatasetError(f"Type a name for the {what}.")
    if len(name) > MAX_NAME:
        raise DatasetError(f"A {what} name has at most {MAX_NAME} characters.")
    if not NAME.match(name):
        raise DatasetError(
            f"A {what} name starts with a letter and has only letters, digits, - and _ "
            f"(no spaces, dots or slashes), like WaveHello."
        )
    clash = [t for t in taken if t.lower() == name.lower()]
    if clash:
        raise DatasetError(f"There is already a {what} named {clash[0]} (names ignore case).")
    return name


@dataclass(frozen=True)
class OwnClip:
    path: Path
    label: str
    group: int
    clip: int
    seconds: float = 0.0  # 0.0 when not recorded in the dataset's notes
    origin: str = ""  # "recorded", or the uploaded file's name

    @property
    def key(self) -> str:
        return f"{self.label}/{self.path.name}"


@dataclass(frozen=True)
class OwnClass:
    name: str
    clips: tuple[OwnClip, ...]

    @property
    def groups(self) -> list[int]:
        return sorted({c.group for c in self.clips})


@dataclass(frozen=True)
class OwnDataset:
    name: str
    root: Path
    classes: tuple[OwnClass, ...]
    disk_bytes: int = 0
    notes: dict = field(default_factory=dict, compare=False)

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def clip_count(self) -> int:
        return sum(len(c.clips) for c in self.classes)

    def get(self, name: str) -> OwnClass:
        for c in self.classes:
            if c.name == name:
                return c
        shown = name if NAME.match(str(name)) else "of that name"  # never echo markup
        raise DatasetError(f"Dataset {self.name} has no class {shown}.")

    def missing(self, mode: str = "group") -> list[str]:
        """What the dataset lacks before a model can train on it, one sentence each."""
        need = GROUPS_FOR_SPLIT if mode == "group" else 3
        gaps = []
        with_clips = [c for c in self.classes if c.clips]
        if len(with_clips) < 2:
            gaps.append(
                f"Two classes with clips are needed; {len(with_clips)} "
                f"{'has' if len(with_clips) == 1 else 'have'} clips so far."
            )
        for c in self.classes:
            have = len(c.groups) if mode == "group" else len(c.clips)
            if have < need:
                what = "group" if mode == "group" else "clip"
                gaps.append(
                    f"{c.name}: {have} {what}{'' if have == 1 else 's'}, {need - have} more "
                    f"needed for the {mode} split"
                    + (
                        " (record another session or upload another batch)."
                        if mode == "group"
                        else "."
                    )
                )
        return gaps


# --- reading ---------------------------------------------------------------------------
def _root(name: str) -> Path:
    check_name(name, "dataset")
    return datasets_dir() / name


def _read_notes(root: Path) -> dict:
    try:
        notes = json.loads((root / META).read_text())
    except (OSError, ValueError):
        notes = {}
    notes = notes if isinstance(notes, dict) else {}
    for key in ("groups", "recordings", "clips"):
        if not isinstance(notes.get(key), dict):
            notes[key] = {}
    return notes


def _scan(root: Path) -> OwnDataset:
    _finish_rename(root)
    notes = _read_notes(root)
    classes, total = [], 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and NAME.match(p.name)):
        clips = []
        for f in sorted(folder.iterdir()):
            m = CLIP_NAME.match(f.stem)
            if not f.is_file() or not m or m["cls"] != folder.name:
                continue
            total += f.stat().st_size
            note = notes["clips"].get(f"{folder.name}/{f.name}", {})
            clips.append(
                OwnClip(
                    f,
                    folder.name,
                    int(m["group"]),
                    int(m["clip"]),
                    float(note.get("seconds", 0.0)),
                    str(note.get("origin", "")),
                )
            )
        clips.sort(key=lambda c: (c.group, c.clip))
        classes.append(OwnClass(folder.name, tuple(clips)))
    return OwnDataset(root.name, root, tuple(classes), total, notes)


def list_datasets() -> list[OwnDataset]:
    """Every dataset in the user's data folder, by name."""
    folder = datasets_dir()
    if not folder.is_dir():
        return []
    return [_scan(p) for p in sorted(folder.iterdir()) if p.is_dir() and NAME.match(p.name)]


def open_dataset(name: str) -> OwnDataset:
    root = _root(name)
    if not root.is_dir():
        raise DatasetError(f"There is no dataset named {name}; create it first.")
    return _scan(root)


def retrain_sources() -> dict[str, tuple[Path, list[str]]]:
    """For Retrain's data choice: "Your dataset: <name>" -> (folder, classes with clips), for
    each dataset with two or more classes that have clips."""
    sources = {}
    for d in list_datasets():
        classes = [c.name for c in d.classes if c.clips]
        if len(classes) >= 2:
            sources[f"Your dataset: {d.name}"] = (d.root, classes)
    return sources


def is_own_dataset(root: str | Path) -> bool:
    """True for a folder made here (what a model card says it learned from)."""
    return (Path(root) / META).is_file()


# --- changing -------------------------------------------------------------------------
@contextmanager
def _locked(root: Path) -> Iterator[dict]:
    """The dataset's lock held, and its notes to change (written back on success)."""
    with open(root / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _finish_rename(root)
            notes = _read_notes(root)
            yield notes
            with disk_errors(root):
                write_json(root / META, notes)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def create_dataset(name: str) -> OwnDataset:
    existing = list_datasets()
    name = check_name(name, "dataset", [d.name for d in existing])
    if len(existing) >= MAX_DATASETS:
        raise DatasetError(f"There are {MAX_DATASETS} datasets already; delete one first.")
    root = datasets_dir() / name
    check_free_space(datasets_dir(), 0)
    root.mkdir(parents=True)
    write_json(root / META, {"created": dt.datetime.now().isoformat(timespec="seconds")})
    return _scan(root)


def delete_dataset(name: str) -> None:
    root = _root(name)
    if root.is_dir():
        shutil.rmtree(root)


def add_class(name: str, cls: str) -> OwnDataset:
    dataset = open_dataset(name)
    cls = check_name(cls, "class", dataset.class_names)
    with _locked(dataset.root):
        (dataset.root / cls).mkdir()
    return open_dataset(name)


def rename_class(name: str, old: str, new: str) -> OwnDataset:
    """Rename a class folder and every clip in it (v_<Class>_...), journalled."""
    dataset = open_dataset(name)
    dataset.get(old)
    new = check_name(new, "class", [c for c in dataset.class_names if c != old])
    if new == old:
        return dataset
    with _locked(dataset.root) as notes:
        write_json(dataset.root / RENAME_JOURNAL, {"old": old, "new": new})
        shutil.rmtree(dataset.root / ".thumbs", ignore_errors=True)
        _finish_rename(dataset.root)
        for key in [k for k in notes["clips"] if k.startswith(f"{old}/")]:
            stem = key.split("/", 1)[1].replace(f"v_{old}_", f"v_{new}_", 1)
            notes["clips"][f"{new}/{stem}"] = notes["clips"].pop(key)
    return open_dataset(name)


def _finish_rename(root: Path) -> None:
    """Complete a class rename that was cut off (each step is a rename, safe to repeat)."""
    journal = root / RENAME_JOURNAL
    if not journal.exists():
        return
    step = json.loads(journal.read_text())
    old, new = root / step["old"], root / step["new"]
    if old.is_dir() and not new.exists():
        for f in old.iterdir():
            if f.name.startswith(f"v_{step['old']}_"):
                f.rename(old / f.name.replace(f"v_{step['old']}_", f"v_{step['new']}_", 1))
        old.rename(new)
    journal.unlink()


def delete_class(name: str, cls: str) -> OwnDataset:
    dataset = open_dataset(name)
    dataset.get(cls)
    with _locked(dataset.root) as notes:
        shutil.rmtree(dataset.root / cls)
        shutil.rmtree(dataset.root / ".thumbs", ignore_errors=True)
        notes["clips"] = {k: v for k, v in notes["clips"].items() if not k.startswith(f"{cls}/")}
    return open_dataset(name)


def _find_clip(dataset: OwnDataset, key: str) -> OwnClip:
    for c in dataset.classes:
        for clip in c.clips:
            if clip.key == key:
                return clip
    raise DatasetError(f"No clip {key} in {dataset.name} (deleted or moved meanwhile?).")


def delete_clip(name: str, key: str) -> OwnDataset:
    """Delete one clip, named by its key "<Class>/<file>"."""
    dataset = open_dataset(name)
    clip = _find_clip(dataset, key)
    with _locked(dataset.root) as notes:
        clip.path.unlink(missing_ok=True)
        notes["clips"].pop(key, None)
    return open_dataset(name)


def move_clip(name: str, key: str, to_class: str) -> OwnDataset:
    """Move a clip to another class; it keeps its group (the session it was recorded in)."""
    dataset = open_dataset(name)
    clip = _find_clip(dataset, key)
    dataset.get(to_class)
    if to_class == clip.label:
        return dataset
    with _locked(dataset.root) as notes:
        target = _next_path(dataset.root, to_class, clip.group)
        clip.path.rename(target)
        note = notes["clips"].pop(key, None)
        if note is not None:
            notes["clips"][f"{to_class}/{target.name}"] = note
    return open_dataset(name)


def _next_path(root: Path, cls: str, group: int) -> Path:
    taken = [
        int(m["clip"])
        for f in (root / cls).iterdir()
        if (m := CLIP_NAME.match(f.stem)) and int(m["group"]) == group
    ]
    return root / cls / f"v_{cls}_g{group:02d}_c{max(taken, default=0) + 1:02d}.mp4"


def _group(notes: dict, root: Path, session: str) -> int:
    """The group of a recording session or upload batch, numbered across the dataset."""
    if session not in notes["groups"]:
        notes["groups"][session] = session_group(replace(_scan(root), notes=notes), session)
    return int(notes["groups"][session])


def session_group(dataset: OwnDataset, session: str) -> int:
    """The group a session's clips go to (the next free number until its first clip)."""
    if session in dataset.notes["groups"]:
        return int(dataset.notes["groups"][session])
    used = [int(g) for g in dataset.notes["groups"].values()]
    used += [c.group for cls in dataset.classes for c in cls.clips]
    return max(used, default=0) + 1


def _check_room(dataset: OwnDataset, cls: str, adding: int) -> None:
    if len(dataset.get(cls).clips) >= MAX_CLIPS_PER_CLASS:
        raise DatasetError(f"{cls} holds {MAX_CLIPS_PER_CLASS} clips, the most a class may hold.")
    cap = dataset_cap_bytes()
    if dataset.disk_bytes + adding > cap:
        raise DiskFullError(
            f"Dataset {dataset.name} uses {dataset.disk_bytes / 2**20:.0f} MB of its "
            f"{cap / 2**20:.0f} MB; delete clips (or set HAR_DATASET_MB) to add more."
        )


def _store(dataset: OwnDataset, cls: str, source: Path, work: Path, session: str, **note):
    """Check and encode one clip (outside the lock), then rename it into `cls` in the
    session's group (under it); the OwnClip, or None for a recording stored already."""
    staged = work / f"staged-{uuid.uuid4().hex}.mp4"
    rec_id = note.pop("rec_id", None)
    try:
        seconds = store_clip(source, staged, **note.pop("limits", {}))
        with _locked(dataset.root) as notes:
            if rec_id is not None and rec_id in notes["recordings"]:
                return None
            target = _next_path(dataset.root, cls, _group(notes, dataset.root, session))
            os.replace(staged, target)
            key = f"{cls}/{target.name}"
            notes["clips"][key] = {"seconds": round(seconds, 2), **note}
            if rec_id is not None:
                notes["recordings"][rec_id] = key
                for old in list(notes["recordings"])[:-MAX_REMEMBERED]:
                    del notes["recordings"][old]
    finally:
        staged.unlink(missing_ok=True)
    m = CLIP_NAME.match(target.stem)
    return OwnClip(target, cls, int(m["group"]), int(m["clip"]), seconds, note.get("origin", ""))


def add_recording(name: str, cls: str, data: bytes, rec_id: str, session: str, suffix: str):
    """Store a camera recording in `cls` (the session's group); None if `rec_id` is stored
    already (a recording the browser sent again after a refresh)."""
    dataset = open_dataset(name)
    dataset.get(cls)
    if rec_id in dataset.notes["recordings"]:
        return None
    _check_room(dataset, cls, len(data))
    suffix = suffix if suffix in (".webm", ".mp4", ".mkv") else ".webm"
    with _workdir(dataset) as work:
        raw = work / f"recording{suffix}"
        with disk_errors(dataset.root):
            raw.write_bytes(data)
        limits = {"min_seconds": MIN_SECONDS}
        return _store(
            dataset, cls, raw, work, session, origin="recorded", rec_id=rec_id, limits=limits
        )


@dataclass
class AddReport:
    added: list[OwnClip]
    skipped: list[tuple[str, str]]  # (file as the person named it, why it was left out)


def add_uploads(name: str, cls: str, uploads: Iterable[tuple[str, bytes]], batch: str):
    """Add uploaded videos (and the videos in uploaded zips) to `cls`; one batch is one
    group, and each folder inside a zip a group of its own. Files that are no video, too
    short or too long are skipped and named; the rest are kept."""
    dataset = open_dataset(name)
    dataset.get(cls)
    report = AddReport([], [])
    with _workdir(dataset) as work:
        for upload_name, data in uploads:
            files, skipped = unpack(upload_name, data, work)
            report.skipped += skipped
            for f in files:
                try:
                    _check_room(open_dataset(name), cls, f.path.stat().st_size)
                    session = f"{batch}/{f.folder}" if f.folder else batch
                    report.added.append(_store(dataset, cls, f.path, work, session, origin=f.name))
                except VideoError as exc:
                    report.skipped.append((f.name, _reason(str(exc), f.path.name)))
                finally:
                    f.path.unlink(missing_ok=True)
    return report


def _reason(sentence: str, temp_name: str) -> str:
    """A clip error's sentence about the temp file, said of 'it' (the name is shown beside)."""
    return sentence.replace(temp_name, "it", 1)


@contextmanager
def _workdir(dataset: OwnDataset) -> Iterator[Path]:
    """A temporary folder inside the dataset (same disk: clips are renamed into place);
    removed after, and any left by a process killed mid-way are removed an hour later."""
    incoming = dataset.root / ".incoming"
    incoming.mkdir(exist_ok=True)
    for old in incoming.iterdir():
        if old.stat().st_mtime < time.time() - 3600:
            shutil.rmtree(old, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=incoming) as work:
        yield Path(work)


def thumbnail(clip: OwnClip) -> bytes:
    """A JPEG of the clip's middle frame, cached in the dataset's .thumbs folder."""
    stat = clip.path.stat()
    key = hashlib.sha1(f"{clip.key}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    return middle_frame_jpeg(clip.path, clip.path.parent.parent / ".thumbs" / f"{key[:20]}.jpg")
