"""How soon the app is usable: `streamlit run` to a healthy server, then to the home page
showing the shipped models' cards in Debian's Chromium (needs playwright, the dev extra).

    python benchmarks/app_startup.py [--repeats 3]

Prints the medians and writes benchmarks/results/app_startup.json with the raw timings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import CHROMIUM, FLAGS, ROOT, streamlit_server  # noqa: E402


def one_run(tmp: Path) -> tuple[float, float]:
    from playwright.sync_api import expect, sync_playwright

    env = {"HAR_CACHE_DIR": str(tmp / "cache"), "HAR_MODELS_DIR": str(tmp / "m")}
    with streamlit_server(env) as (url, healthy), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        opened = time.perf_counter()
        page.goto(f"{url}/")
        expect(page.get_by_text("lrcn-paper4", exact=True)).to_be_visible(timeout=60_000)
        home = time.perf_counter() - opened
        browser.close()
    return healthy, home


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/app_startup.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [one_run(Path(tmp)) for _ in range(args.repeats)]
    healthy = statistics.median(r[0] for r in runs)
    home = statistics.median(r[1] for r in runs)
    print("| step | median s |\n| --- | ---: |")
    print(f"| `streamlit run` to a healthy server | {healthy:.1f} |")
    print(f"| browser opens / to the model cards shown | {home:.1f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"runs": runs, "healthy": healthy, "home": home}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
