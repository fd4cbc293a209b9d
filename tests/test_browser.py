"""End to end in a real Chromium: the app serves, a sample plays, both models predict."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    assert shutil.which(CHROMIUM) or os.path.exists(CHROMIUM), (
        "Debian's chromium is needed for this test: apt-get install chromium"
    )
    port = free_port()
    env = {
        **os.environ,
        "HAR_CACHE_DIR": str(tmp_path / "cache"),
        "HAR_MODELS_DIR": str(tmp_path / "models"),
    }
    env.pop("HAR_UCF50_DIR", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.browser
def test_predict_page_plays_the_clip_and_shows_both_predictions(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        # The first visitor of a fresh server lands on /Predict directly: the page must still
        # run inside streamlit_app.py (navigation, sidebar), not as a lone page script.
        page.goto(f"{server}/Predict", timeout=60_000)
        expect(page.get_by_text("UCF50 folder", exact=True)).to_be_visible(timeout=120_000)
        expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name="Home")).to_be_visible()
        # pick a sample clip from the gallery
        page.get_by_test_id("stSelectbox").first.click(timeout=120_000)
        page.get_by_role("option", name="TaiChi (sample)").click()
        metrics = page.get_by_test_id("stMetric").filter(has_text="Prediction")
        expect(metrics).to_have_count(2, timeout=120_000)
        for i in range(2):
            text = metrics.nth(i).inner_text()
            assert any(c in text for c in ("WalkingWithDog", "TaiChi", "Swing", "HorseRace"))
        video = page.locator("video").first
        video.wait_for(timeout=60_000)
        state = video.evaluate(
            """async (v) => {
                v.muted = true;
                await v.play();
                await new Promise(r => setTimeout(r, 1500));
                return {error: v.error ? v.error.code : null, duration: v.duration,
                        time: v.currentTime};
            }"""
        )
        assert state["error"] is None and state["duration"] > 0 and state["time"] > 0
        page.wait_for_timeout(1000)
        page.screenshot(path=str(tmp_path / "predict.png"), full_page=True)
        assert (tmp_path / "predict.png").stat().st_size > 10_000
        if os.environ.get("HAR_UPDATE_SCREENSHOT"):  # refresh the README's picture
            shutil.copy(tmp_path / "predict.png", ROOT / "docs" / "screenshot-predict.png")

        # a bad upload: the page says why, and does not crash
        page.get_by_text("Upload", exact=True).click()
        bad = tmp_path / "holiday.mp4"
        bad.write_text("this is not a video\n" * 100)
        page.locator("input[type=file]").set_input_files(str(bad))
        expect(page.get_by_text("not a video", exact=False)).to_be_visible(timeout=60_000)
        browser.close()
