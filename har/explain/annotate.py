"""The timeline as WebVTT subtitles, so each model's answer follows the video as it plays."""

from __future__ import annotations


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
