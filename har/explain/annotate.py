"""The timeline as WebVTT subtitles, so each model's answer follows the video as it plays."""

from __future__ import annotations

import cv2
import numpy as np

from har.data.encode import write_mp4
from har.data.video import check_video_file, open_capture
from har.errors import VideoError


def _stamp(seconds: float) -> str:
    ms = max(int(round(seconds * 1000)), 0)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def timeline_vtt(timeline) -> str:
    """One cue per window, from halfway after the previous window's centre to halfway before
    the next's (windows overlap; cues must not), naming each model's answer there."""
    centres = list(timeline.centres)
    if not centres:
        return "WEBVTT\n"
    models = list(timeline.probabilities)
    tops = {m: timeline.top_classes(m) for m in models}
    confidences = {m: timeline.confidences(m) for m in models}
    cues = ["WEBVTT", ""]
    for k, centre in enumerate(centres):
        start = 0.0 if k == 0 else (centres[k - 1] + centre) / 2
        end = timeline.duration if k == len(centres) - 1 else (centre + centres[k + 1]) / 2
        if end <= start:
            continue
        text = "\n".join(f"{m}: {tops[m][k]} {confidences[m][k]:.0%}" for m in models)
        cues += [str(k + 1), f"{_stamp(start)} --> {_stamp(end)}", text, ""]
    return "\n".join(cues)


def timeline_lines(timeline):
    """seconds -> the lines to draw then: each model's answer in the window nearest in time."""
    centres = np.asarray(timeline.centres, dtype=float)
    models = list(timeline.probabilities)
    tops = {m: timeline.top_classes(m) for m in models}
    confidences = {m: timeline.confidences(m) for m in models}

    def lines(seconds: float) -> list[str]:
        if not len(centres):
            return []
        k = int(np.argmin(np.abs(centres - seconds)))
        return [f"{m}: {tops[m][k]} {confidences[m][k]:.0%}" for m in models]

    return lines


def annotate_video(path, out, lines_at, max_seconds: float = 60.0, width: int = 640):
    """An H.264 MP4 of the video (its first `max_seconds`, at most `width` wide) with the
    lines `lines_at(seconds)` gives drawn on a dark band at the bottom of each frame."""
    source = check_video_file(path)
    cap = open_capture(source)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    if not 1.0 <= fps <= 240.0:
        fps = 25.0

    def frames():
        index = 0
        try:
            while index < max_seconds * fps:
                ok, bgr = cap.read()
                if not ok:
                    break
                h, w = bgr.shape[:2]
                if w > width:
                    bgr = cv2.resize(bgr, (width, round(h * width / w) // 2 * 2))
                yield _draw(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), lines_at(index / fps))
                index += 1
        finally:
            cap.release()

    try:
        return write_mp4(out, frames(), fps=fps)
    except ValueError as exc:  # no frame decoded
        raise VideoError(f"{source.name}: no frame could be decoded to annotate.") from exc


def _draw(rgb, lines: list[str]):
    """The lines in white on a dark band at the bottom (readable on any footage)."""
    h, w = rgb.shape[:2]
    scale = max(w / 640, 0.35) * 0.55
    step = int(26 * scale / 0.55)
    band = step * len(lines) + 8
    out = rgb.copy()
    out[h - band :] = (out[h - band :] * 0.35).astype(out.dtype)
    for i, line in enumerate(lines):
        y = h - band + step * (i + 1) - 4
        cv2.putText(
            out, line, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
        )
    return out
