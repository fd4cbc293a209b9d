"""Live mode's pace: how often the answers refresh, in Debian's Chromium with its fake camera
(a y4m of synthetic TaiChi then HorseRace, written here), on the app's default models.

Each round trip is measured in the browser (the component's `roundTrips`): from sending the
camera's last 2 s to the page having drawn their answers; the refresh rate is how many
answers arrived a second. The target is 2-4 answers a second (the component sends at most
every 300 ms, and only once the previous answers are drawn).

    python benchmarks/camera_live.py [--seconds 30] [--repeats 2]

Prints a table and writes benchmarks/results/camera_live.json with the raw round trips and
the load average beside each run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import CHROMIUM, FLAGS, ROOT, streamlit_server  # noqa: E402
from machine import machine, save_json  # noqa: E402

sys.path.insert(0, str(ROOT))
CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def write_y4m(path: Path) -> Path:
    import av

    from har.data.synthetic import render_clip

    with av.open(str(path), "w", format="yuv4mpegpipe") as out:
        stream = out.add_stream("rawvideo", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for action in ("TaiChi", "HorseRace"):
            for frame in render_clip(action, 1, 1, seed=3, size=(320, 240), seconds=3):
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def one_run(tmp: Path, seconds: float) -> dict:
    from playwright.sync_api import expect, sync_playwright

    y4m = write_y4m(tmp / "camera.y4m")
    env = {"HAR_CACHE_DIR": str(tmp / "cache"), "HAR_HOME": str(tmp / "home")}
    with streamlit_server(env) as (url, _), sync_playwright() as p:
        args = [*FLAGS, *CAMERA, f"--use-file-for-fake-video-capture={y4m}"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(f"{url}/Predict")
        page.get_by_text("Live", exact=True).click(timeout=180_000)
        expect(page.get_by_text("answers a second")).to_be_visible(timeout=180_000)
        frame = next(f for f in page.frames if "har_camera" in f.url)
        frame.evaluate("window.harCamera.roundTrips.length = 0")
        load_before = os.getloadavg()[0]
        time.sleep(seconds)  # a benchmark window, not a wait for a condition
        trips = frame.evaluate("window.harCamera.roundTrips.slice()")
        load_after = os.getloadavg()[0]
        browser.close()
    return {"round_trips_ms": trips, "answers_per_second": len(trips) / seconds,
            "load": [load_before, load_after]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/camera_live.json")
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(one_run(Path(tmp), args.seconds))
    print("| run | answers a second | round trip median ms | p10-p90 ms | load average |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for i, r in enumerate(runs, 1):
        trips = sorted(r["round_trips_ms"]) or [0.0]
        p10, p90 = trips[len(trips) // 10], trips[min(len(trips) - 1, len(trips) * 9 // 10)]
        print(
            f"| {i} | {r['answers_per_second']:.2f} | {statistics.median(trips):.0f} | "
            f"{p10:.0f}-{p90:.0f} | {r['load'][0]:.1f} -> {r['load'][1]:.1f} |"
        )
    save_json(args.out, {"machine": machine(), "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
