"""First visit after a fresh start (issue 22, item 9): how soon Home shows, and how soon
Predict, opened from Home as a visitor would, shows its first answer. Each run starts a new
server (nothing cached in the process; the frame cache in a new temp folder).

    python benchmarks/first_visit.py [--app DIR] [--repeats 2] [--read 3]

--app: the checkout to serve (default this one; give another to compare before/after).
--read: seconds the visitor spends on Home before clicking Predict.
Prints a table and writes benchmarks/results/first_visit.json with the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import CHROMIUM, FLAGS, ROOT, streamlit_server  # noqa: E402


@contextlib.contextmanager
def serve(app: Path, tmp: Path):
    """A fresh `streamlit run` of `app` (its own caches under tmp): yields its URL."""
    env = {
        "HAR_CACHE_DIR": str(tmp / "cache"),
        "HAR_MODELS_DIR": str(tmp / "m"),
        "HAR_UCF50_DIR": "",
    }
    with streamlit_server(env, app) as (url, _):
        yield url


def one_run(app: Path, tmp: Path, read: float) -> dict:
    from playwright.sync_api import expect, sync_playwright

    with serve(app, tmp) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            t0 = time.perf_counter()
            page.goto(f"{url}/")
            expect(page.get_by_text("lrcn-paper4", exact=True).first).to_be_visible(timeout=120_000)
            home = time.perf_counter() - t0
            time.sleep(read)  # the visitor reads Home
            t1 = time.perf_counter()
            page.get_by_role("link", name="Predict").first.click()
            expect(page.get_by_role("heading", name="Predict").first).to_be_visible(timeout=120_000)
            shown = time.perf_counter() - t1
            expect(
                page.locator("h3")
                .filter(has_text="%")
                .first.or_(page.get_by_text("% confidence").first)
            ).to_be_visible(timeout=300_000)
            answer = time.perf_counter() - t1
            browser.close()
    return {"home_s": home, "predict_shown_s": shown, "predict_answer_s": answer}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", type=Path, default=ROOT)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--read", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/first_visit.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            one_run(args.app.resolve(), Path(tmp) / str(k), args.read) for k in range(args.repeats)
        ]
    load_after = os.getloadavg()
    medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"app: {args.app.resolve()} · load average {load_before[0]:.1f} -> {load_after[0]:.1f}")
    print("| step (fresh server, 1280x720) | median s |\n| --- | ---: |")
    print(f"| Home shows the model cards | {medians['home_s']:.1f} |")
    print(
        f"| Predict (clicked {args.read:.0f} s later) shows its page "
        f"| {medians['predict_shown_s']:.1f} |"
    )
    print(f"| Predict shows its first answer | {medians['predict_answer_s']:.1f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "app": str(args.app.resolve()),
                "runs": runs,
                "medians": medians,
                "loadavg_before": load_before,
                "loadavg_after": load_after,
                "read_s": args.read,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
