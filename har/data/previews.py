"""Browser previews: the file itself when a browser plays it, else an H.264 copy made in the
background and cached.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from har.config import cache_dir as default_cache_dir
from har.config import media_cache_bytes
from har.data.encode import write_mp4
from har.errors import VideoError
from har.utils.files import prune, touch

BROWSER_CONTAINERS = (".mp4", ".m4v", ".mov")


TRANSCODE_VERSION = 1  # part of the cache key: bump when the transcoding settings change


def is_browser_playable(path: str | Path) -> bool:
    """True for H.264 yuv420p video in an MP4/MOV file: what every browser plays.

    The suffix matters too: the app serves the file with a MIME type guessed from it.
    """
    path = Path(path)
    if path.suffix.lower() not in BROWSER_CONTAINERS:
        return False
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return False
            stream = container.streams.video[0]
            return (
                stream.codec_context.name == "h264"
                and stream.codec_context.pix_fmt == "yuv420p"
                and "mp4" in container.format.name
            )
    except (av.FFmpegError, OSError):
        return False


def _upright(frame: av.VideoFrame) -> np.ndarray:
    """RGB pixels as the player would show them (phone videos carry a rotation, not pixels)."""
    rgb = frame.to_ndarray(format="rgb24")
    turns = round(getattr(frame, "rotation", 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def _decoded(source, stream, max_frames: int, max_height: int) -> Iterator[np.ndarray]:
    """Upright RGB frames, at most `max_frames` and MAX_DECODED_PIXELS decoded, scaled to at
    most `max_height` rows; a file that breaks off mid-stream yields what decodes before it.

    The pixel budget bounds one preview's work: a 4000x4000 upload stops after a few dozen
    frames instead of holding the preview thread for minutes.
    """
    decoded = pixels = 0
    try:
        for frame in source.decode(stream):
            if decoded >= max_frames or (decoded and pixels >= MAX_DECODED_PIXELS):
                return
            decoded += 1
            pixels += frame.width * frame.height
            rgb = _upright(frame)
            if rgb.shape[0] > max_height:
                width = round(rgb.shape[1] * max_height / rgb.shape[0] / 2) * 2
                rgb = cv2.resize(rgb, (max(width, 2), max_height), interpolation=cv2.INTER_AREA)
            yield rgb
    except av.FFmpegError:
        if not decoded:
            raise


PREVIEW_SECONDS = 60  # a preview to watch, not a copy: the models never see it


PREVIEW_HEIGHT = 480


# At most this many source pixels decoded per preview: 60 s of 640x480 at 30 fps.
MAX_DECODED_PIXELS = PREVIEW_SECONDS * 30 * 640 * 480


def preview_path(path: str | Path, cache_dir: str | Path | None = None) -> Path:
    """Where the browser preview of `path` is (or will be) cached, keyed by file identity."""
    path = Path(path)
    st = path.stat()
    ident = (
        f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|v{TRANSCODE_VERSION}"
        f"|{PREVIEW_SECONDS}s|{PREVIEW_HEIGHT}p"
    )
    key = hashlib.sha1(ident.encode()).hexdigest()[:20]
    return Path(cache_dir or default_cache_dir() / "browser") / f"{path.stem[:40]}-{key}.mp4"


def browser_playable(
    path: str | Path,
    cache_dir: str | Path | None = None,
    progress: Callable[[float], None] | None = None,
) -> Path:
    """The file itself if a browser can play it, else an H.264 MP4 preview (cached).

    UCF50's XviD AVIs, OpenCV's MP4V files, WebM and HEVC do not play in every browser. The
    preview is the first PREVIEW_SECONDS at most PREVIEW_HEIGHT rows, so a long or large
    upload costs seconds, not minutes; it is keyed by absolute path, size and mtime, so an
    edited file is transcoded again. `progress(fraction)` is called as frames are written.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"No such video file: {path}. Pick or upload the video again.")
    if path.stat().st_size == 0:
        raise VideoError(f"{path.name} is empty (0 bytes); pick or upload the video again.")
    if is_browser_playable(path):
        return path
    target = preview_path(path, cache_dir)
    if target.is_file():
        touch(target)
        return target
    try:
        with av.open(str(path)) as source:
            if not source.streams.video:
                raise VideoError(f"{path.name} has no video stream to play.")
            stream = source.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate or 25
            rate = rate if 1 <= rate <= 240 else 25
            limit = int(PREVIEW_SECONDS * float(rate))
            expected = min(limit, stream.frames or limit)
            frames = _decoded(source, stream, limit, PREVIEW_HEIGHT)
            if progress is not None:
                frames = _counted(frames, expected, progress)
            write_mp4(target, frames, fps=float(rate))
    except av.FFmpegError as exc:
        raise VideoError(
            f"{path.name} is not a video FFmpeg can decode, so it cannot be shown ({exc})."
        ) from exc
    except ValueError as exc:  # write_mp4 got no frames
        raise VideoError(f"{path.name} has no decodable video frames to show.") from exc
    prune(target.parent, media_cache_bytes())
    return target


def _counted(frames: Iterator, expected: int, progress: Callable[[float], None]) -> Iterator:
    for i, frame in enumerate(frames, 1):
        if i % 25 == 0:
            progress(min(i / max(expected, 1), 1.0))
        yield frame
    progress(1.0)


class PreviewJobs:
    """Browser previews transcoded in a background thread, so predictions show at once.

    status(path, owner) starts the transcode on first call and then reports it: ("ready",
    path), ("running", fraction; 0 while it waits) or ("failed", message). One transcode at
    a time per process, taken from each owner's (browser session's) queue in turn, so one
    user's large uploads never hold another's small clip behind them.
    """

    def __init__(self) -> None:
        self._jobs: dict[str, dict] = {}
        self._queues: dict[str, deque] = {}  # owner -> jobs waiting, oldest first
        self._turns: deque[str] = deque()  # owners with waiting jobs, in turn order
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None

    def status(self, path: str | Path, owner: str = "") -> tuple[str, object]:
        path = Path(path)
        try:
            if is_browser_playable(path):
                return "ready", path
            target = preview_path(path)
            if target.is_file():
                return "ready", target
        except OSError as exc:  # the file (or the cache folder) went away meanwhile
            return "failed", f"{path.name} is no longer there to preview ({exc.strerror})."
        key = str(target)
        with self._wake:
            job = self._jobs.get(key)
            if job is None or job["state"] == "ready":  # new, or pruned since
                job = self._jobs[key] = {"state": "running", "progress": 0.0, "result": None}
                if owner not in self._queues:
                    self._queues[owner] = deque()
                    self._turns.append(owner)
                self._queues[owner].append((path, job))
                self._start()
                self._wake.notify()
        if job["state"] == "running":
            return "running", job["progress"]
        return job["state"], job["result"]

    def _start(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._serve, daemon=True, name="har-preview")
            self._worker.start()

    def _next(self) -> tuple[Path, dict]:
        """The oldest job of the owner whose turn it is (then that owner goes last)."""
        with self._wake:
            while not self._turns:
                self._wake.wait()
            owner = self._turns.popleft()
            path, job = self._queues[owner].popleft()
            if self._queues[owner]:
                self._turns.append(owner)
            else:
                del self._queues[owner]
            return path, job

    def _serve(self) -> None:
        while True:
            self._run(*self._next())

    @staticmethod
    def _run(path: Path, job: dict) -> None:
        try:
            job["result"] = browser_playable(path, progress=lambda f: job.update(progress=f))
            job["state"] = "ready"
        except VideoError as exc:
            job["result"], job["state"] = str(exc), "failed"
        except Exception as exc:  # noqa: BLE001 - a page polls this; it must get a sentence
            job["result"], job["state"] = (
                f"{path.name} could not be made playable ({exc}).",
                "failed",
            )
