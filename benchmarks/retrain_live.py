"""Retrain watched in a real browser against the same run from the CLI; Stop; a second user.

    python benchmarks/retrain_live.py [--repeats 2]

Three questions, one server, Debian's Chromium (needs playwright, the dev extra):
1. A watched 3-epoch LRCN run on 2 synthetic classes (6 groups of 2 clips) in the Retrain
   page, click to "Finished", against `har train` on the same folder (process start to exit);
   the two alternate (CLI, browser, CLI, browser ...) after one warm-up CLI run.
2. Stop: click to the page saying "Stopped", while a longer run trains.
3. A second user's Predict (pick a sample, until both predictions show) with no run going
   and while a run trains, alternating.
Prints a table and writes benchmarks/results/retrain_live.json with every raw timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import CHROMIUM, FLAGS, ROOT, streamlit_server  # noqa: E402
from machine import save_json  # noqa: E402

from har.training.events import Kind  # noqa: E402

CLASSES = ["WalkingWithDog", "TaiChi"]  # the Retrain page's default two
SAMPLES = ["Swing (sample)", "TaiChi (sample)"]
RUNS = Path("/nonexistent")  # the server's HAR_RUNS_DIR, set in main()


def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def wait_text(page, text: str, timeout: float = 600) -> float:
    start = time.perf_counter()
    while text not in main_text(page):
        if time.perf_counter() - start > timeout:
            page.screenshot(path="/tmp/retrain_live_timeout.png", full_page=True)
            raise TimeoutError(f"{text!r} did not appear in {timeout} s: {main_text(page)!r}")
        time.sleep(0.05)
    return time.perf_counter() - start


def start_run(page, url: str, model: str, epochs: int) -> float:
    """Open Retrain, set the model and epochs, press Start; returns the time of the click."""
    page.goto(f"{url}/Retrain")
    page.get_by_text("Start a new run").wait_for(timeout=120_000)
    models = page.get_by_test_id("stMultiSelect").filter(has_text="Models")
    box = models.locator("input")
    box.click()
    box.press("Backspace")
    box.fill(model)
    box.press("Enter")
    page.keyboard.press("Escape")
    spin = page.get_by_role("spinbutton", name="Max epochs")
    spin.fill(str(epochs))
    spin.press("Enter")
    page.wait_for_timeout(500)
    confirm = page.get_by_text("Start another run anyway")
    if confirm.count():
        confirm.click()
    runs = len(list(RUNS.iterdir())) if RUNS.is_dir() else 0
    clicked = time.perf_counter()
    page.get_by_role("button", name="Start training").click()
    while (len(list(RUNS.iterdir())) if RUNS.is_dir() else 0) <= runs:  # the new run's folder
        time.sleep(0.05)
    page.get_by_role("button", name="Stop").wait_for(timeout=120_000)  # shown, and running
    return clicked


def stop_to_end(runs: Path) -> float:
    """For the newest run: seconds from the Stop flag being written to the run's end event."""
    run = max(p for p in runs.iterdir() if (p / "stop").exists())
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    return next(e["t"] for e in events if e["type"] == Kind.END) - (run / "stop").stat().st_mtime


def predict_once(page, shown: list[str]) -> float:
    """Pick the other sample on an open Predict page; seconds until both answers show."""
    from playwright.sync_api import expect

    sample = SAMPLES[1] if shown[-1] == SAMPLES[0] else SAMPLES[0]
    shown.append(sample)
    page.get_by_test_id("stSelectbox").first.click()
    start = time.perf_counter()
    page.get_by_role("option", name=sample).click()
    # the caption naming the new clip is drawn after both predictions were computed
    truth = page.get_by_text(f"true class {sample.split()[0]}")
    expect(truth).to_be_visible(timeout=300_000)
    expect(page.get_by_test_id("stMain").locator("h3")).to_have_count(2, timeout=300_000)
    return time.perf_counter() - start


def cli_run(env: dict, data: Path, out: Path, name: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "har.cli", "train", "--data", str(data), "--classes", *CLASSES,
         "--model", "lrcn", "--epochs", "3", "--out", str(out), "--name", name],
        env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/retrain_live.json")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {k: str(tmp / k.lower()) for k in ("HAR_CACHE_DIR", "HAR_MODELS_DIR", "HAR_RUNS_DIR")}
        os.environ.update(env)
        global RUNS
        RUNS = Path(env["HAR_RUNS_DIR"])
        from har.data.synthetic import cached_dataset

        data = cached_dataset(CLASSES, groups=6, clips_per_group=2, seed=7)  # as the page's
        raw: dict[str, list[float]] = {
            k: [] for k in ("cli", "browser", "stop", "stop_worker", "idle", "busy")
        }
        cli_run(env, data, tmp / "cli", "warmup")  # fills the frame cache for both
        with streamlit_server(env) as (url, _), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            teacher = browser.new_page(viewport={"width": 1400, "height": 1600})
            student = browser.new_context().new_page()
            student.goto(f"{url}/Predict")
            shown = ["HorseRace (sample)"]  # the gallery's first class, predicted on arrival
            predict_once(student, shown)  # loads the models once, as any first visit
            for i in range(args.repeats):
                raw["cli"].append(cli_run(env, data, tmp / "cli", f"cli-{i}"))
                clicked = start_run(teacher, url, "lrcn", 3)
                wait_text(teacher, "Finished in")
                raw["browser"].append(time.perf_counter() - clicked)
            for _ in range(args.repeats + 1):
                raw["idle"].append(predict_once(student, shown))
                start_run(teacher, url, "convlstm", 50)
                wait_text(teacher, "/50, batch")  # training, not still extracting
                raw["busy"].append(predict_once(student, shown))
                teacher.get_by_role("button", name="Stop").click()
                clicked = time.perf_counter()
                wait_text(teacher, "Stopped", 60)
                raw["stop"].append(time.perf_counter() - clicked)
                raw["stop_worker"].append(stop_to_end(Path(env["HAR_RUNS_DIR"])))
            browser.close()
    rows = [
        ("watched LRCN run, 3 epochs, 2 classes x 6 groups (browser)", "browser"),
        ("the same run from the CLI (`har train`)", "cli"),
        ("Stop: click to 'Stopped' on the page", "stop"),
        ("Stop: stop flag to the training process's end", "stop_worker"),
        ("second user's Predict, no run going", "idle"),
        ("second user's Predict, while a ConvLSTM run trains", "busy"),
    ]
    print("| measurement | median s | min-max s | n |\n| --- | ---: | ---: | ---: |")
    for label, key in rows:
        v = raw[key]
        print(f"| {label} | {median(v):.2f} | {min(v):.2f}-{max(v):.2f} | {len(v)} |")
    ratios = {
        "browser_over_cli": median(raw["browser"]) / median(raw["cli"]),
        "busy_over_idle_predict": median(raw["busy"]) / median(raw["idle"]),
    }
    print(f"\nbrowser / CLI: {ratios['browser_over_cli']:.2f}x (goal: within 1.5x)")
    print(f"Predict during training / idle: {ratios['busy_over_idle_predict']:.2f}x (goal: 2x)")
    save_json(args.out, {"raw": raw, "ratios": ratios})
    return 0


if __name__ == "__main__":
    sys.exit(main())
