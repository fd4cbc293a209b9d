"""Clips coming in from a person: a camera recording or uploaded files (one by one or a zip).

Each is checked (a video, at least a second, at most a minute), turned upright and scaled to
fit UCF50's own 320x240, and stored as browser-playable H.264 MP4: small on disk, quick to
decode for training, and a thumbnail or a player works in every browser. Zip members are
never used as paths (zip slip) and are read with a byte budget (zip bombs).
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import av
import cv2
import numpy as np

from har.config import VIDEO_EXTENSIONS
from har.data.encode import write_mp4
from har.errors import DiskFullError, VideoError
from har.utils.files import atomic_path

MIN_SECONDS = 1.0  # shorter than this shows too little of an action to learn from
MAX_SECONDS = 60.0  # longer: trim it to the action (UCF50's clips average 7 s)
MAX_FILE_BYTES = 200 * 1024 * 1024  # one uploaded video (Streamlit's own upload cap)
STORED_SIZE = (320, 240)  # at most: UCF50's frame size; the models see 64x64
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_RATIO = 100  # a member that inflates more than this is a zip bomb, not a video
ZIP_MAX_TOTAL = 4 * 1024 * 1024 * 1024  # uncompressed bytes of one zip


def min_free_bytes() -> int:
    """Free space to leave on the disk: HAR_MIN_FREE_MB, default 200."""
    return int(float(os.environ.get("HAR_MIN_FREE_MB", "200")) * 1024 * 1024)


def check_free_space(folder: Path, needed: int) -> None:
    """DiskFullError unless `needed` bytes fit on `folder`'s disk with the margin left free."""
    probe = Path(folder)
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free - needed < min_free_bytes():
        raise DiskFullError(
            f"The disk holding {folder} is nearly full ({free / 1e6:.0f} MB free); free some "
            "space or delete clips you no longer need, then try again."
        )


@contextmanager
def disk_errors(folder: Path) -> Iterator[None]:
    """A full disk or quota while writing under `folder` becomes a DiskFullError sentence."""
    try:
        yield
    except OSError as exc:
        if getattr(exc, "errno", None) not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise DiskFullError(
            f"The disk holding {folder} is full; free some space or delete clips you no "
            "longer need, then try again."
        ) from exc


def clip_timing(path: str | Path) -> tuple[int, float]:
    """(video packets, seconds) by demuxing only: right for live WebM, whose header has no
    length, and for a camera's variable frame rate."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{Path(path).name} has no video stream; it is not a video.")
            stream = container.streams.video[0]
            times = [
                float(p.pts * p.time_base)
                for p in container.demux(stream)
                if p.pts is not None and p.size
            ]
    except av.FFmpegError as exc:
        raise VideoError(
            f"{Path(path).name} is not a video HAR Studio can read; use MP4, AVI, MOV, MKV or WebM."
        ) from exc
    if not times:
        raise VideoError(f"{Path(path).name} holds no video frames.")
    if len(times) == 1:
        return 1, 0.0
    span = max(times) - min(times)
    return len(times), span + span / (len(times) - 1)  # the last frame lasts one frame too


def _fit(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """Even (width, height) that fit in `box` keeping the aspect ratio; never scaled up."""
    scale = min(1.0, box[0] / width, box[1] / height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _upright_frames(path: Path, size: tuple[int, int], limit: int) -> Iterator[np.ndarray]:
    """RGB frames as a player shows them (OpenCV applies a phone's rotation), resized."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        for _ in range(limit):
            ok, frame = cap.read()
            if not ok:
                return
            if (frame.shape[1], frame.shape[0]) != size:
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            yield frame[..., ::-1]
    finally:
        cap.release()


def store_clip(
    source: str | Path,
    target: str | Path,
    min_seconds: float = MIN_SECONDS,
    max_seconds: float = MAX_SECONDS,
) -> float:
    """Check `source` and write it to `target` as H.264 MP4 at most 320x240; its seconds.

    VideoError (one sentence) for a file that is not a video, too short or too long.
    """
    source, target = Path(source), Path(target)
    count, seconds = clip_timing(source)
    if seconds < min_seconds:
        raise VideoError(
            f"{source.name} lasts only {seconds:.1f} s; a clip needs at least {min_seconds:.0f} s "
            "(2-5 s of the action is best)."
        )
    if seconds > max_seconds:
        raise VideoError(
            f"{source.name} lasts {seconds:.0f} s; trim it to the action (at most "
            f"{max_seconds:.0f} s) and add it again."
        )
    cap = cv2.VideoCapture(str(source), cv2.CAP_FFMPEG)
    ok, first = cap.read()
    cap.release()
    if not ok:
        raise VideoError(f"{source.name} has no frame HAR Studio can decode; re-encode it as MP4.")
    size = _fit(first.shape[1], first.shape[0], STORED_SIZE)
    fps = min(max(count / seconds, 1.0), 120.0)
    check_free_space(target.parent, source.stat().st_size)
    with disk_errors(target.parent):
        write_mp4(target, _upright_frames(source, size, count + 10), fps=round(fps, 2))
    return seconds


def is_video_name(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class Incoming:
    """One file to add: its name as the person knows it (for messages), where its bytes are
    (a temp file) and which folder of a zip it came from ("" for a loose file)."""

    name: str
    path: Path
    folder: str = ""


def _zip_refusal(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member is not read at all, or None to read it."""
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or ":" in (parts[0] if parts else ""):
        return "its path leaves the zip's folder (refused: zip slip)"
    if info.file_size > MAX_FILE_BYTES:
        return f"larger than {MAX_FILE_BYTES // 2**20} MB unpacked"
    if info.compress_size and info.file_size / info.compress_size > ZIP_MAX_RATIO:
        return "inflates far beyond any video's size (refused: zip bomb)"
    return None


def _copy_bounded(source, target: Path, limit: int) -> int:
    """Copy at most `limit` bytes; VideoError past it (a header that lied about the size)."""
    copied = 0
    with open(target, "wb") as out:
        while block := source.read(1 << 20):
            copied += len(block)
            if copied > limit:
                raise VideoError("unpacks to more than its header says (refused: zip bomb)")
            out.write(block)
    return copied


def _temp_file(folder: Path, suffix: str) -> Path:
    fd, path = tempfile.mkstemp(suffix=suffix, dir=folder)
    os.close(fd)
    return Path(path)


def unpack(name: str, data: bytes, workdir: Path) -> tuple[list[Incoming], list[tuple[str, str]]]:
    """An upload as files to add: itself, or a zip's video members (in `workdir`, temporary).

    Returns (files, skipped) where skipped pairs a name with the reason it was left out.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if not data:
        return [], [(name, "empty (0 bytes)")]
    if len(data) > MAX_FILE_BYTES:
        return [], [(name, f"larger than {MAX_FILE_BYTES // 2**20} MB")]
    if not name.lower().endswith(".zip"):
        check_free_space(workdir, len(data))
        path = _temp_file(workdir, PurePosixPath(name).suffix.lower()[:8])
        path.write_bytes(data)
        return [Incoming(name, path)], []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return [], [(name, "not a readable zip file")]
    if len(members) > ZIP_MAX_MEMBERS:
        return [], [(name, f"holds {len(members)} files; at most {ZIP_MAX_MEMBERS} per zip")]
    files, skipped, total = [], [], 0
    for info in members:
        label = f"{name}/{info.filename}"
        leaf = PurePosixPath(info.filename.replace("\\", "/"))
        if info.is_dir() or leaf.name.startswith(".") or "__MACOSX" in leaf.parts:
            continue
        if not is_video_name(leaf.name):
            skipped.append((label, "not a video file name (.mp4, .avi, .mov, .mkv, .webm ...)"))
            continue
        why = _zip_refusal(info)
        if why is None and total + info.file_size > ZIP_MAX_TOTAL:
            why = "the zip unpacks to more than 4 GB; split it"
        if why is not None:
            skipped.append((label, why))
            continue
        check_free_space(workdir, info.file_size)
        target = _temp_file(workdir, leaf.suffix.lower())  # our name, never the zip's
        try:
            with disk_errors(workdir), archive.open(info) as source:
                total += _copy_bounded(source, target, info.file_size)
        except (VideoError, zipfile.BadZipFile, OSError, EOFError) as exc:
            target.unlink(missing_ok=True)
            why = str(exc) if isinstance(exc, VideoError) else "damaged in the zip"
            skipped.append((label, why))
            continue
        files.append(Incoming(label, target, str(leaf.parent) if leaf.parent.name else ""))
    if not files and not skipped:
        skipped.append((name, "holds no files"))
    return files, skipped


def middle_frame_jpeg(path: Path, cached: Path, width: int = 160) -> bytes:
    """A JPEG of a clip's middle frame, `width` wide, kept at `cached` for next time."""
    if cached.exists():
        return cached.read_bytes()
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    frame = None
    for _ in range(max(count // 2, 0) + 1):
        ok, image = cap.read()
        if not ok:
            break
        frame = image
    cap.release()
    if frame is None:
        raise VideoError(f"{path.name} has no frame to show.")
    height = max(2, round(frame.shape[0] * width / frame.shape[1]))
    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
    try:
        with atomic_path(cached) as tmp:
            tmp.write_bytes(data)
    except OSError:
        pass  # a thumbnail is a convenience: shown, just not cached
    return data
