"""Predicting a long video: keyframe-aware sampling against the sequential pass it replaces.

    python benchmarks/long_video.py [--repeats 5] [--timeline]

Writes (once, into a cache folder) two 10-minute and a 10-second 320x240 H.264 video of a
textured, panning scene (har.data.encode.write_mp4: x264's keyframe every <= 250 frames; one
10-minute video has 15,000 frames, so its 20 targets fall on keyframes, a best case; the other
15,111, so each target lies inside a keyframe gap), and short clips with 12-frame keyframe
gaps and one with a single 250-frame gap. Then, interleaved (A B A B ...):
  - decode: read_clips (what `har predict` does; seeks on long files) vs the sequential
    pass of before (HAR_SEEK=0), frames compared pixel for pixel;
  - predict: predict_video with both shipped models on the 10-minute videos and the 10-second
    one; and `har predict FILE` as a user types it (a new process: imports, models, decode,
    answer), the way the issue measured it;
  - with --timeline, `timeline()` on the 10-minute video at the default window.
Medians, spread (min-max), ratios and the load average before and after each figure.
Writes benchmarks/results/long_video.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import save_json  # noqa: E402

from har.data.encode import write_mp4  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "har-bench-long-video"
SIZE = (320, 240)


def scene(n: int, seed: int = 0):
    """RGB frames: a smooth random texture panned across, with a moving bright square."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    import cv2

    texture = cv2.resize(texture, (1280, 960), interpolation=cv2.INTER_CUBIC)
    for i in range(n):
        x = int(480 + 400 * np.sin(i / 90)) % 960
        y = int(360 + 300 * np.cos(i / 130)) % 720
        frame = texture[y : y + SIZE[1], x : x + SIZE[0]].copy()
        cx, cy = int(160 + 120 * np.sin(i / 7)), int(120 + 90 * np.cos(i / 11))
        frame[max(cy - 12, 0) : cy + 12, max(cx - 12, 0) : cx + 12] = 255
        yield frame


def video(name: str, frames: int, keyint: int | None = None) -> Path:
    """A cached H.264 MP4 of the scene; keyint fixes the keyframe gap (x264's default if None)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{name}.mp4"
    if not path.exists():
        if keyint is None:
            write_mp4(path, scene(frames))
        else:
            write_keyint(path, frames, keyint)
    return path


def write_keyint(path: Path, frames: int, keyint: int) -> Path:
    from fractions import Fraction

    import av

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.options = {
            "preset": "veryfast",
            "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0",
        }
        for frame in scene(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def timed(fn, repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def stats(times: list[float], load_before, load_after) -> dict:
    return {
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "runs": len(times),
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()] if load_after is None else load_after,
    }


def interleaved(cases: dict, repeats: int) -> dict:
    """{name: [seconds per run]}, the cases run in turn (A B C A B C ...), after one warm-up."""
    for fn in cases.values():
        fn()
    times = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def sequential(fn):
    """Run fn with the sequential pass of before (no seeking)."""

    def run():
        os.environ["HAR_SEEK"] = "0"
        try:
            return fn()
        finally:
            os.environ.pop("HAR_SEEK", None)

    return run


def har_predict(videos: dict, pair: list[str], repeats: int) -> dict:
    """`har predict FILE --model A --model B` in a new process each time, interleaved."""
    har = [str(Path(sys.executable).with_name("har"))]  # the command a user types
    runs = {
        name: (
            lambda p=path: subprocess.run(
                [*har, "predict", str(p), *[a for m in pair for a in ("--model", m)]],
                check=True,
                capture_output=True,
            )
        )
        for name, path in videos.items()
    }
    load = os.getloadavg()
    times = interleaved(runs, repeats)
    out = {name: stats(t, load, None) for name, t in times.items()}
    short = statistics.median(times["10 s"])
    print(
        f"\n`har predict` end to end, both models (load {load[0]:.1f} -> {os.getloadavg()[0]:.1f})"
    )
    for name, t in times.items():
        ratio = statistics.median(t) / short
        out[name]["ratio_over_10s"] = round(ratio, 2)
        print(
            f"  {name:34s} {statistics.median(t):7.3f} s ({min(t):.3f}-{max(t):.3f}) {ratio:5.2f}x"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--timeline", action="store_true", help="also time the timeline")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/long_video.json")
    args = parser.parse_args()

    from har.data.video import read_clips
    from har.inference import load_predictors, predict_video

    print("writing the videos (once) ...", file=sys.stderr)
    videos = {
        "10 min (x264 default keyframes)": video("long-10min", 15_000),
        "10 min, targets between keyframes": video("long-10min-odd", 15_111),
        "10 s (x264 default keyframes)": video("short-10s", 250),
        "UCF-like 7 s, keyframe every 12": video("ucf-like-k12", 175, keyint=12),
        "40 s, keyframe every 250": video("k250-40s", 1_000, keyint=250),
    }
    shapes = [(20, (64, 64))]
    results: dict = {"decode": {}, "predict": {}, "load_start": os.getloadavg()}
    rows = []
    for name, path in videos.items():
        seek = read_clips(path, shapes)[0]
        seq = sequential(lambda p=path: read_clips(p, shapes))()[0]
        identical = seek.indices == seq.indices and np.array_equal(seek.pixels, seq.pixels)
        load = os.getloadavg()
        times = interleaved(
            {
                "seek": lambda p=path: read_clips(p, shapes),
                "sequential": sequential(lambda p=path: read_clips(p, shapes)),
            },
            args.repeats,
        )
        entry = {
            "frames": seek.frame_count,
            "identical": bool(identical),
            "keyframe_aware": stats(times["seek"], load, None),
            "sequential": stats(times["sequential"], load, None),
        }
        entry["speedup"] = round(
            entry["sequential"]["median_s"] / entry["keyframe_aware"]["median_s"], 2
        )
        results["decode"][name] = entry
        rows.append(
            f"{name:34s} {seek.frame_count:6d} {entry['keyframe_aware']['median_s']:8.3f} "
            f"({min(times['seek']):.3f}-{max(times['seek']):.3f}) "
            f"{entry['sequential']['median_s']:8.3f} "
            f"({min(times['sequential']):.3f}-{max(times['sequential']):.3f}) "
            f"{entry['speedup']:6.2f}x  {'same' if identical else 'DIFFERENT'}  "
            f"load {load[0]:.1f}"
        )
    print(
        f"\n{'decode 20 frames':34s} {'frames':>6s} {'aware s (range)':>22s} "
        f"{'sequential s (range)':>22s} {'gain':>7s}"
    )
    print("\n".join(rows))

    from har.models.registry import REAL_PAIR, find_model

    try:
        pair = [find_model(name)[0].stem for name in REAL_PAIR]
    except Exception:  # a checkout without the real pair: the synthetic one, same layers
        pair = ["lrcn-paper4", "convlstm-paper4"]
    predictors = load_predictors(pair)
    long, short = videos["10 min (x264 default keyframes)"], videos["10 s (x264 default keyframes)"]
    odd = videos["10 min, targets between keyframes"]
    load = os.getloadavg()
    times = interleaved(
        {
            "10 min": lambda: predict_video(long, predictors),
            "10 min, targets between keyframes": lambda: predict_video(odd, predictors),
            "10 s": lambda: predict_video(short, predictors),
            "10 min sequential": sequential(lambda: predict_video(long, predictors)),
        },
        args.repeats,
    )
    for name, t in times.items():
        results["predict"][name] = stats(t, load, None)
    ratio = statistics.median(times["10 min"]) / statistics.median(times["10 s"])
    before = statistics.median(times["10 min sequential"]) / statistics.median(times["10 s"])
    results["predict"]["ratio_10min_over_10s"] = round(ratio, 2)
    results["predict"]["ratio_before"] = round(before, 2)
    odd_ratio = statistics.median(times["10 min, targets between keyframes"]) / statistics.median(
        times["10 s"]
    )
    results["predict"]["ratio_between_keyframes_over_10s"] = round(odd_ratio, 2)
    print(f"\npredict_video, both shipped models (load {load[0]:.1f} -> {os.getloadavg()[0]:.1f})")
    for name, t in times.items():
        print(f"  {name:20s} {statistics.median(t):7.3f} s ({min(t):.3f}-{max(t):.3f})")
    print(
        f"  10 min / 10 s: {ratio:.2f}x, targets between keyframes {odd_ratio:.2f}x "
        f"(target <= 2x); sequential before: {before:.2f}x"
    )

    results["har_predict"] = har_predict(
        {"10 min": long, "10 min, targets between keyframes": odd, "10 s": short},
        pair,
        args.repeats,
    )

    if args.timeline:
        from har.explain.timeline import timeline

        load = os.getloadavg()
        t, result = timed(lambda: timeline(long, predictors), max(1, args.repeats // 2))
        results["timeline"] = {
            **stats(t, load, None),
            "windows": len(result.bounds),
            "decode_s": round(result.decode_seconds, 3),
            "model_s": {m: round(s, 3) for m, s in result.model_seconds.items()},
        }
        print(
            f"\ntimeline on 10 min: {statistics.median(t):.2f} s ({min(t):.2f}-{max(t):.2f}), "
            f"{len(result.bounds)} windows, load {load[0]:.1f} -> {os.getloadavg()[0]:.1f}"
        )

    results["load_end"] = os.getloadavg()
    save_json(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
