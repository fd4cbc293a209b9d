"""Writing video: H.264 MP4 that browsers play, and transcoding files that they do not.

OpenCV's wheels carry no H.264 encoder, so encoding goes through PyAV (FFmpeg + libx264).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from har.errors import VideoError
from har.fsutil import atomic_path


def write_mp4(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float = 25.0,
    crf: int = 23,
    preset: str = "veryfast",
) -> Path:
    """Encode RGB uint8 frames (H, W, 3) to an H.264/yuv420p MP4 with +faststart, atomically.

    Width and height must be even (yuv420p); odd sizes are cropped by one pixel.
    """
    path = Path(path)
    with (
        atomic_path(path) as tmp,
        av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container,
    ):
        stream = None
        for frame in frames:
            frame = np.ascontiguousarray(
                frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2, :3]
            )
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                stream.width, stream.height = frame.shape[1], frame.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": preset}
            video_frame = av.VideoFrame.from_ndarray(frame.astype(np.uint8), format="rgb24")
            for packet in stream.encode(video_frame):
                container.mux(packet)
        if stream is None:
            raise ValueError("write_mp4 needs at least one frame")
        for packet in stream.encode():
            container.mux(packet)
    return path


IMAGE_FORMATS = ("png", "jpg", "jpeg", "webp", "bmp")


def save_frames(clip, out_dir: str | Path, fmt: str = "png") -> list[Path]:
    """Write a ClipFrames' sampled frames as images, atomically: frame_00_idx0012.png, ...

    The name carries the position (0..n-1) and the source frame index, so a folder listing
    shows what the models saw. Images of an earlier run in `out_dir` are replaced.
    """
    import cv2

    fmt = fmt.lower().lstrip(".")
    if fmt not in IMAGE_FORMATS:
        raise VideoError(f"Cannot write frames as {fmt!r}; use one of {', '.join(IMAGE_FORMATS)}.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for position, (index, pixels) in enumerate(zip(clip.indices, clip.pixels, strict=True)):
        path = out_dir / f"frame_{position:02d}_idx{index:04d}.{fmt}"
        ok, encoded = cv2.imencode(f".{fmt}", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        if not ok:
            raise VideoError(f"Could not encode frame {index} as {fmt}.")
        with atomic_path(path) as tmp:
            tmp.write_bytes(encoded.tobytes())
        paths.append(path)
    keep = set(paths)
    for stale in out_dir.glob(f"frame_*_idx*.{fmt}"):  # a previous clip's frames
        if stale not in keep:
            stale.unlink(missing_ok=True)
    return paths


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
    """Upright RGB frames, at most `max_frames`, scaled to at most `max_height` rows (even
    sizes); a file that breaks off mid-stream yields what decodes before it."""
    import cv2

    decoded = 0
    try:
        for frame in source.decode(stream):
            if decoded >= max_frames:
                return
            decoded += 1
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


def preview_path(path: str | Path, cache_dir: str | Path | None = None) -> Path:
    """Where the browser preview of `path` is (or will be) cached, keyed by file identity."""
    from har.config import cache_dir as default_cache_dir

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
        _touch(target)
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


def media_cache_bytes() -> int:
    """The cap of each media cache (uploads, previews): HAR_MEDIA_CACHE_MB, default 2048."""
    return int(float(os.environ.get("HAR_MEDIA_CACHE_MB", "2048")) * 1024 * 1024)


def _touch(path: Path) -> None:
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


class PreviewJobs:
    """Browser previews transcoded in a background thread, so predictions show at once.

    status(path) starts the transcode on first call and then reports it: ("ready", path),
    ("running", fraction) or ("failed", message). One transcode at a time per process.
    """

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="har-preview")
        self._jobs: dict[str, dict] = {}
        self._lock = threading.Lock()

    def status(self, path: str | Path) -> tuple[str, object]:
        path = Path(path)
        if is_browser_playable(path):
            return "ready", path
        target = preview_path(path)
        if target.is_file():
            return "ready", target
        key = str(target)
        with self._lock:
            job = self._jobs.get(key)
            if job is None or job["state"] == "ready":  # new, or pruned since
                job = self._jobs[key] = {"state": "running", "progress": 0.0, "result": None}
                self._pool.submit(self._run, path, job)
        if job["state"] == "running":
            return "running", job["progress"]
        return job["state"], job["result"]

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


def save_upload(name: str, data: bytes, directory: str | Path | None = None) -> Path:
    """Keep an uploaded video on disk under its own file name (in a folder keyed by content).

    Messages and captions then name the user's file, not a hash.
    """
    from har.config import cache_dir

    if not data:
        raise VideoError(f"{name} is empty (0 bytes); upload the video again.")
    safe = "".join(c if c.isalnum() or c in "._- " else "_" for c in Path(name).name).strip()
    safe = safe.lstrip(".")[:120] or "upload.bin"
    folder = Path(directory) if directory is not None else cache_dir() / "uploads"
    path = folder / hashlib.sha1(data).hexdigest()[:16] / safe
    if not path.exists():
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        prune(folder, max(media_cache_bytes(), len(data)))
    _touch(path)
    return path


def forget_upload(path: str | Path) -> None:
    """Delete an upload that turned out not to be a usable video (and its folder)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass
