"""How tall each page is at 1280x720 once it has settled (issue 22: Explain was 4,326 px).

    python benchmarks/page_heights.py [--app DIR]

Prints a table and writes benchmarks/results/page_heights.json with the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import CHROMIUM, FLAGS, ROOT  # noqa: E402
from first_visit import serve  # noqa: E402
from machine import save_json  # noqa: E402

PAGES = {"Predict": "% confidence", "Explain": "Which frames mattered", "Evaluate": "Evaluate"}
HEIGHT = "document.querySelector('[data-testid=\"stMain\"]').scrollHeight"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", type=Path, default=ROOT)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/page_heights.json")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    load = os.getloadavg()
    heights = {}
    with tempfile.TemporaryDirectory() as tmp, serve(args.app.resolve(), Path(tmp)) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            for name, ready in PAGES.items():
                page.goto(f"{url}/{name}")
                expect(page.get_by_text(ready).first).to_be_visible(timeout=300_000)
                page.wait_for_timeout(3000)  # charts and images settle
                heights[name] = page.evaluate(HEIGHT)
            browser.close()
    print(f"app: {args.app.resolve()} · load average {load[0]:.1f}")
    print("| page (1280x720, first clip) | height px |\n| --- | ---: |")
    for name, px in heights.items():
        print(f"| {name} | {px} |")
    save_json(args.out, {"app": str(args.app), "heights": heights, "loadavg": load})
    return 0


if __name__ == "__main__":
    sys.exit(main())
