"""`har predict DIR --out rows.csv|.jsonl`: a folder of real clips, bad files, a killed run."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from har.cli import main
from har.data.encode import write_mp4
from har.errors import OutputError, VideoError
from har.inference.folder import RowLog, find_videos, is_archive_target

MODEL = "lrcn-paper4"  # a shipped model: no training needed


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """20 tiny clips in two folders, an empty .avi and a text file named .mp4."""
    root = tmp_path_factory.mktemp("archive")
    rng = np.random.default_rng(0)
    for i in range(20):
        frames = rng.integers(0, 255, (24 + i, 48, 64, 3), dtype=np.uint8)
        write_mp4(root / ("a" if i % 2 else "b") / f"clip{i:02d}.mp4", list(frames), fps=25)
    (root / "a" / "empty.avi").write_bytes(b"")
    (root / "b" / "notes.mp4").write_text("not a video\n" * 20)
    (root / "b" / "readme.txt").write_text("ignored: not a video extension")
    return root


pytestmark = pytest.mark.usefixtures("isolated_dirs")  # conftest: a folder per test


def test_targets_and_output_names(archive, tmp_path):
    assert is_archive_target(archive) and is_archive_target(str(archive / "*" / "*.mp4"))
    assert not is_archive_target(archive / "a" / "clip01.mp4")
    assert len(find_videos(archive)) == 22
    assert len(find_videos(f"{archive}/a/*.mp4")) == 10
    with pytest.raises(VideoError, match="No video files"):
        find_videos(f"{archive}/*.webm")
    with pytest.raises(OutputError, match=".csv or .jsonl"):
        RowLog(tmp_path / "rows.txt", {})


@pytest.mark.slow
def test_folder_to_csv_reports_bad_files_and_goes_on(archive, tmp_path, capsys):
    out = tmp_path / "rows.csv"
    args = ["predict", str(archive), "--model", MODEL, "--model", "convlstm-paper4"]
    args += ["--out", str(out), "--decoders", "2"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "22 videos: 20 predicted, 2 failed, 0 already in" in captured.out
    assert "empty.avi" in captured.err and "notes.mp4" in captured.err
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 22 and len({r["video"] for r in rows}) == 22
    bad = {Path(r["video"]).name: r for r in rows if r["status"] == "error"}
    assert set(bad) == {"empty.avi", "notes.mp4"}
    assert all(r["error"] for r in bad.values())
    good = [r for r in rows if r["status"] == "ok"]
    for r in good:
        probabilities = [float(v) for k, v in r.items() if k.startswith(f"{MODEL}.p.")]
        assert len(probabilities) == 4 and abs(sum(probabilities) - 1) < 1e-4
        assert r[f"{MODEL}.top_class"]
        # each answer says whether it is unsure, by its card's rule (no threshold: halfway
        # from chance, 62.5 % for 4 classes); the pair is judged together, as on Predict
        confidence = float(r[f"{MODEL}.confidence"])
        assert r[f"{MODEL}.uncertain"] == str(confidence < 0.625).lower()
        agree = r[f"{MODEL}.top_class"] == r["convlstm-paper4.top_class"]
        sure = agree and "true" not in (r[f"{MODEL}.uncertain"], r["convlstm-paper4.uncertain"])
        said = f"{MODEL}+convlstm-paper4: {'agree' if agree else 'disagree'}"
        assert r["together"] == said + ("" if sure else ", unsure")
    assert all(r["together"] == "" for r in bad.values())

    assert main(args) == 0  # a rerun has nothing left to do
    assert "0 predicted, 0 failed, 22 already in" in capsys.readouterr().out
    assert len(list(csv.DictReader(out.open()))) == 22


@pytest.mark.slow
def test_a_killed_run_resumes_without_redoing_its_rows(archive, tmp_path):
    out = tmp_path / "rows.jsonl"
    args = [sys.executable, "-m", "har.cli", "predict", str(archive), "--model", MODEL]
    args += ["--out", str(out), "--decoders", "1", "--batch", "2"]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 8:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = out.read_bytes()
    kept = first[: first.rfind(b"\n") + 1]  # a row cut by the kill is redone
    done = [json.loads(line)["video"] for line in kept.decode().splitlines()]
    assert 8 <= len(done) < 22

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(done)} already in" in rerun.stdout
    final = out.read_bytes()
    assert final.startswith(kept)  # the first run's rows are untouched
    videos = [json.loads(line)["video"] for line in final.decode().splitlines()]
    assert len(videos) == 22 and len(set(videos)) == 22
    statuses = [json.loads(line)["status"] for line in final.decode().splitlines()]
    assert statuses.count("error") == 2
    for line in final.decode().splitlines():  # one model: no pair to judge
        record = json.loads(line)
        if record["status"] == "ok":
            answer = record["predictions"][MODEL]
            assert answer["uncertain"] is (answer["confidence"] < 0.625)
            assert "agreements" not in record
