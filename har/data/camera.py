"""What a browser's camera sends: recordings to keep, and the live mode's latest frames.

A recording arrives whole (the browser's MediaRecorder file, usually WebM) and is kept as it
is in the user's data folder, so it goes through the same door as an upload and survives a
page refresh; the newest few are kept. Live frames arrive as small JPEGs, oldest first, and
are decoded to BGR as OpenCV decodes a video, for har.data.video.sample_frames.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

import cv2
import numpy as np

from har.config import user_data_dir
from har.data.clip_import import MIN_SECONDS, check_free_space, clip_timing, disk_errors
from har.errors import VideoError
from har.utils.files import atomic_path

MAX_RECORDING_BYTES = 50 * 1024 * 1024  # minutes of camera video at the recorder's bit rate
KEEP_RECORDINGS = 30  # the newest recordings kept for Predict; older ones are deleted
MAX_LIVE_FRAMES = 200  # frames in one live message (seconds x fps, with room to spare)
MAX_FRAME_CHARS = 512 * 1024  # one live JPEG, base64 (a 160x120 frame is about 6 KB)
MIME_SUFFIX = {"video/webm": ".webm", "video/mp4": ".mp4", "video/x-matroska": ".mkv"}
RECORDING_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def recordings_dir() -> Path:
    return user_data_dir() / "recordings"


def suffix_for(mime: str) -> str:
    """The file suffix for a recorder's MIME type ("video/webm;codecs=vp8" -> ".webm")."""
    return MIME_SUFFIX.get((mime or "").split(";")[0].strip().lower(), ".webm")


def decode_payload(data: str, limit: int = MAX_RECORDING_BYTES) -> bytes:
    """The bytes of a base64 string the browser sent; VideoError if it is not one or too big."""
    if not isinstance(data, str) or len(data) > limit * 4 // 3 + 4:
        raise VideoError(f"The recording is larger than {limit // 2**20} MB; record less.")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VideoError("The recording arrived damaged; record it again.") from exc


def check_recording_id(rec_id: str) -> str:
    if not isinstance(rec_id, str) or not RECORDING_ID.match(rec_id):
        raise VideoError("The recording arrived without a valid id; record it again.")
    return rec_id


def save_recording(data: bytes, rec_id: str, mime: str = "video/webm") -> Path:
    """Keep a camera recording for Predict: recordings/<id><suffix>, checked to be a video of
    at least a second. The same id twice is one file (a recording resent after a refresh)."""
    folder = recordings_dir()
    path = folder / f"rec-{check_recording_id(rec_id)}{suffix_for(mime)}"
    if path.exists():
        return path
    check_free_space(folder, len(data))
    with disk_errors(folder), atomic_path(path) as tmp:
        tmp.write_bytes(data)
        _, seconds = clip_timing(tmp)
        if seconds < MIN_SECONDS:
            raise VideoError(
                f"That recording lasts only {seconds:.1f} s; record at least "
                f"{MIN_SECONDS:.0f} s (2-5 s of the action is best)."
            )
    for old in list_recordings()[KEEP_RECORDINGS:]:
        old.unlink(missing_ok=True)
    return path


def list_recordings() -> list[Path]:
    """Recordings kept for Predict, newest first."""
    folder = recordings_dir()
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob("rec-*") if p.is_file() and not p.name.startswith(".")]
    return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)


def decode_frames(jpegs: list[str]) -> list[np.ndarray]:
    """Live frames (base64 JPEGs, oldest first) as BGR arrays; undecodable ones are dropped."""
    if not isinstance(jpegs, list) or len(jpegs) > MAX_LIVE_FRAMES:
        raise VideoError("The camera sent too many frames at once; reload the page.")
    frames = []
    for item in jpegs:
        if not isinstance(item, str) or len(item) > MAX_FRAME_CHARS:
            continue
        try:
            raw = base64.b64decode(item.split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError):
            continue
        frame = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
        if frame is not None and frame.size:
            frames.append(frame)
    return frames
