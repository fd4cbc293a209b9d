"""Explain's speed: timeline over a long video, occlusion + what-if, saliency; both models.

    python benchmarks/explain.py [--repeats 3] [--minutes 2]

Writes a 640x360 H.264 video of synthetic actions (cached in the temp folder), loads the
shipped ConvLSTM and LRCN, warms every path once, then times each `--repeats` times and
reports medians (min-max). Timeline: seconds per minute of video, split into decoding
(with resizing) and each model. Writes benchmarks/results/explain.json. Targets live here,
never in tests: timeline < 10 s for 2 minutes, occlusion + what-if < 1 s, saliency < 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from har.utils.quiet import import_tensorflow

tf = import_tensorflow()

from machine import save_json  # noqa: E402

from har.data.encode import write_mp4  # noqa: E402
from har.data.synthetic import render_clip  # noqa: E402
from har.explain.occlusion import occlusion  # noqa: E402
from har.explain.saliency import saliency  # noqa: E402
from har.explain.timeline import timeline  # noqa: E402
from har.explain.whatif import whatif  # noqa: E402
from har.inference import load_predictors, predict_video  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("convlstm-paper4", "lrcn-paper4")
SIZE = (640, 360)
TARGETS = {"timeline": 10.0, "occlusion + what-if": 1.0, "saliency": 2.0}  # seconds


def long_video(minutes: float) -> Path:
    """A 640x360 H.264 MP4 of the four paper classes, 10 s each, round and round."""
    path = Path(tempfile.gettempdir()) / f"har-bench-explain-{minutes:g}min-640x360.mp4"
    if path.exists():
        return path
    classes = ("WalkingWithDog", "TaiChi", "Swing", "HorseRace")
    segments = int(round(minutes * 6))

    def frames():
        for k in range(segments):
            yield from render_clip(classes[k % 4], group=k + 1, seconds=10.0, size=SIZE)

    print(f"writing {path} ({minutes:g} min, {SIZE[0]}x{SIZE[1]}) ...", flush=True)
    return write_mp4(path, frames(), fps=25)


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def summary(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "runs": len(values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=2.0)
    args = parser.parse_args()

    video = long_video(args.minutes)
    predictors = load_predictors(MODELS)
    clip_result = predict_video(ROOT / "samples" / "TaiChi_1.mp4", predictors)
    clips = {n: clip_result.clip_for(n).pixels for n in predictors}

    # warm every path once (tf.function traces, first-shape costs)
    timeline(video, predictors)
    for name, p in predictors.items():
        occlusion(p, clips[name]), whatif(p, clips[name]), saliency(p, clips[name])

    runs = []

    def run_timeline():
        runs.append(timeline(video, predictors))

    total = timed(run_timeline, args.repeats)
    last = runs[-1]
    minutes = last.duration / 60
    decode = [r.decode_seconds for r in runs]
    per_model = {n: [r.model_seconds[n] for r in runs] for n in predictors}

    def occlusion_whatif():
        for name, p in predictors.items():
            occlusion(p, clips[name])
            whatif(p, clips[name])

    def saliency_all():
        for name, p in predictors.items():
            saliency(p, clips[name])

    occ = timed(occlusion_whatif, max(args.repeats, 5))
    sal = timed(saliency_all, max(args.repeats, 5))
    occ_each = {
        n: summary(timed(lambda p=p, n=n: (occlusion(p, clips[n]), whatif(p, clips[n])), 5))
        for n, p in predictors.items()
    }
    sal_each = {
        n: summary(timed(lambda p=p, n=n: saliency(p, clips[n]), 5)) for n, p in predictors.items()
    }

    result = {
        "machine": {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "video": {
            "path": str(video),
            "size": list(SIZE),
            "frames": last.frame_count,
            "fps": last.fps,
            "seconds": round(last.duration, 2),
            "windows": len(last.bounds),
            "window_frames": last.window,
            "stride_frames": last.stride,
            "peak_frames_held": last.peak_frames,
        },
        "timeline": {
            "total": summary(total),
            "decode": summary(decode),
            "models": {n: summary(v) for n, v in per_model.items()},
            "seconds_per_minute": round(statistics.median(total) / minutes, 3),
            "target_seconds": TARGETS["timeline"],
        },
        "occlusion + what-if": {
            "both": summary(occ),
            "models": occ_each,
            "target_seconds": TARGETS["occlusion + what-if"],
        },
        "saliency": {
            "both": summary(sal),
            "models": sal_each,
            "target_seconds": TARGETS["saliency"],
            "layers": {n: saliency(p, clips[n]).describe() for n, p in predictors.items()},
        },
    }
    save_json(ROOT / "benchmarks" / "results" / "explain.json", result)

    def row(name, s, target, extra=""):
        ok = "ok" if s["median"] < target else "MISSED"
        print(
            f"{name:<34} {s['median']:8.3f} s  ({s['min']:.3f}-{s['max']:.3f})  "
            f"target < {target:g} s  {ok}{extra}"
        )

    print(
        f"\n{last.frame_count} frames ({last.duration:.0f} s, {SIZE[0]}x{SIZE[1]} H.264), "
        f"{len(last.bounds)} windows of {last.window} frames every {last.stride}; at most "
        f"{last.peak_frames} resized frames held; medians of {args.repeats} warm runs"
    )
    row(
        "timeline, both models",
        result["timeline"]["total"],
        TARGETS["timeline"],
        f"  = {result['timeline']['seconds_per_minute']:.2f} s per minute of video",
    )
    print(f"{'  decode + resize':<34} {result['timeline']['decode']['median']:8.3f} s")
    for n, s in result["timeline"]["models"].items():
        print(f"{'  ' + n:<34} {s['median']:8.3f} s")
    row("occlusion (21) + what-if (6), both", result["occlusion + what-if"]["both"], 1.0)
    for n, s in occ_each.items():
        print(f"{'  ' + n:<34} {s['median']:8.3f} s")
    row("saliency, 20 frames, both", result["saliency"]["both"], 2.0)
    for n, s in sal_each.items():
        print(f"{'  ' + n:<34} {s['median']:8.3f} s")


if __name__ == "__main__":
    main()
