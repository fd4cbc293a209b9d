"""How soon the app is usable: `streamlit run` to a healthy server, then to the home page
showing the shipped models' cards in Debian's Chromium (needs playwright, the dev extra),
then the first prediction on Predict against the warm ones after it (the "model" time the
page shows under the answers).

    python benchmarks/app_startup.py [--repeats 3]

Prints the medians and writes benchmarks/results/app_startup.json with the raw timings.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import CHROMIUM, FLAGS, ROOT, streamlit_server  # noqa: E402
from machine import save_json  # noqa: E402

MODELS = ("lrcn-paper4", "convlstm-paper4")
WARM_CLIPS = ("TaiChi (sample)", "Swing (sample)", "HorseRace (sample)")


def model_ms(page, previous: str) -> tuple[str, dict[str, float]]:
    """The Predict page's timing caption once it changes from `previous`: model -> ms."""
    from playwright.sync_api import expect

    caption = page.get_by_text(re.compile(r"^decoding .* \(shared\)"))
    expect(caption).to_be_visible(timeout=180_000)
    deadline = time.monotonic() + 180
    while (text := caption.inner_text()) == previous and time.monotonic() < deadline:
        time.sleep(0.1)
    ms = {m: float(re.search(rf"{m} ([\d.]+) ms", text).group(1)) for m in MODELS}
    return text, ms


def one_run(tmp: Path) -> dict:
    from playwright.sync_api import expect, sync_playwright

    env = {"HAR_CACHE_DIR": str(tmp / "cache"), "HAR_MODELS_DIR": str(tmp / "m")}
    with streamlit_server(env) as (url, healthy), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        opened = time.perf_counter()
        page.goto(f"{url}/")
        expect(page.get_by_text("lrcn-paper4", exact=True)).to_be_visible(timeout=60_000)
        home = time.perf_counter() - opened
        page.goto(f"{url}/Predict")
        text, first = model_ms(page, "")
        warm = []
        for clip in WARM_CLIPS:
            page.get_by_test_id("stSelectbox").first.click()
            page.get_by_role("option", name=clip).click()
            text, ms = model_ms(page, text)
            warm.append(ms)
        browser.close()
    return {"healthy": healthy, "home": home, "first_ms": first, "warm_ms": warm}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/app_startup.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [one_run(Path(tmp)) for _ in range(args.repeats)]
    healthy = statistics.median(r["healthy"] for r in runs)
    home = statistics.median(r["home"] for r in runs)
    print("| step | median s |\n| --- | ---: |")
    print(f"| `streamlit run` to a healthy server | {healthy:.1f} |")
    print(f"| browser opens / to the model cards shown | {home:.1f} |")
    print("\n| model | first prediction, model ms | warm, model ms | first / warm |")
    print("| --- | ---: | ---: | ---: |")
    ratios = {}
    for m in MODELS:
        first = statistics.median(r["first_ms"][m] for r in runs)
        warm = statistics.median(w[m] for r in runs for w in r["warm_ms"])
        ratios[m] = first / warm
        print(f"| {m} | {first:.1f} | {warm:.1f} | {ratios[m]:.2f}x (target <= 2x) |")
    result = {"runs": runs, "healthy": healthy, "home": home, "first_over_warm": ratios}
    save_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
