"""Hostile files and folders: broken, odd or unsupported videos; messy dataset folders and
links out of the allowed roots; damaged caches; output files that are not ours or cannot be
written. Each costs one sentence, before any work where it can, never a traceback or data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, write_cv2_video

from har.data.frame_cache import FrameCache, load_frames
from har.data.synthetic import generate_dataset
from har.errors import DatasetError

pytestmark = pytest.mark.usefixtures("isolated_dirs")


# --- files and folders in the wrong place: one error line ------------------------------
def test_frames_out_that_is_a_file_is_one_sentence(tmp_path, capsys):
    video = write_cv2_video(tmp_path / "clip.avi", 30, "MJPG")
    code, _, err = run_cli(capsys, "frames", video, "--out", video)
    assert code == 1 and "is a file" in err and len(err.strip().splitlines()) == 1


def test_a_malformed_synthetic_marker_is_one_sentence(tmp_path, capsys):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "SYNTHETIC.json").write_text("{not json")
    code, _, err = run_cli(capsys, "synth", "--out", tmp_path / "ds", "--classes", "Swing",
                           "--groups", "1", "--clips-per-group", "1")  # fmt: skip
    assert code == 1 and err.startswith("error: ") and "SYNTHETIC.json" in err


def test_a_folder_where_a_cache_entry_belongs(tmp_path):
    video = write_cv2_video(tmp_path / "clip.avi", 30, "MJPG")
    cache = FrameCache(tmp_path / "cache")
    cache.file_for(video).mkdir(parents=True)
    with pytest.raises(DatasetError, match="Cannot write the frame cache entry"):
        cache.frames(video)


# --- damaged cache entries are detected, extracted again, and said once ----------------
def test_randomised_cache_bytes_are_detected_and_re_extracted(tmp_path):
    from har.data.ucf import ClipRef

    videos = [write_cv2_video(tmp_path / f"v{i}.avi", 30 + 6 * i, "MJPG") for i in range(2)]
    clips = [ClipRef(v, "A", 1, i) for i, v in enumerate(videos)]
    cache = FrameCache(tmp_path / "cache")
    good, _ = load_frames(clips, ["A"], cache, 1, progress=False)
    for video in videos:  # same size, random pixel bytes after the header
        entry = cache.file_for(video)
        data = bytearray(entry.read_bytes())
        data[200:5000] = np.random.default_rng(0).integers(0, 256, 4800, np.uint8).tobytes()
        entry.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="2 cached frame file.*failed their checksum") as seen:
        again, _ = load_frames(clips, ["A"], cache, 1, progress=False)
    assert len(seen) == 1 and np.array_equal(again, good)
    assert cache.read_into(videos[0], np.empty_like(good[0]))  # repaired


# --- messages: checked before TensorFlow, right names, no codec noise -----------------
def test_a_missing_video_fails_before_tensorflow(tmp_path):

    code = (
        "import sys; from har.cli import main; rc = main(['predict', sys.argv[1]]);"
        "print('tensorflow' in sys.modules); sys.exit(rc)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "missing.mp4")], capture_output=True, text=True
    )
    assert out.returncode == 1 and out.stdout.strip() == "False"
    assert out.stderr.strip().startswith("error: No such file")


def test_a_fifo_given_as_a_video_is_not_called_empty(tmp_path, capsys):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    code, _, err = run_cli(capsys, "predict", fifo)
    assert code == 1 and "not a regular file" in err


def test_a_broken_video_prints_one_line_and_no_codec_noise(tmp_path):

    video = write_cv2_video(tmp_path / "ok.avi", 60, "XVID")
    data = video.read_bytes()
    broken = tmp_path / "broken.avi"
    broken.write_bytes(data[:200] + bytes(len(data) - 200))  # header kept, frames zeroed
    out = subprocess.run(
        [sys.executable, "-m", "har.cli", "frames", str(broken), "--out", str(tmp_path / "f")],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")},
    )
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: ") and len(out.stderr.strip().splitlines()) == 1


# --- datasets with problems: skip, report each file, continue; --strict fails ----------
@pytest.fixture
def messy(tmp_path):
    """Three classes of 3 groups x 2 clips, one clip unreadable, one misnamed, one empty class."""
    root = tmp_path / "messy"
    for cls in ("Punch", "Swing"):
        for g in range(1, 4):
            for c in range(1, 3):
                path = root / cls / f"v_{cls}_g{g:02d}_c{c:02d}.avi"
                path.parent.mkdir(parents=True, exist_ok=True)
                write_cv2_video(path, 24 + g + c, "MJPG")
    (root / "Punch" / "v_Punch_g01_c02.avi").write_bytes(b"not a video at all\n" * 99)
    (root / "Punch" / "v_X_gAA_c01.avi").write_bytes(b"x")
    (root / "Swing" / "v_Punch_g09_c01.avi").write_bytes(b"x")
    (root / "Empty").mkdir()
    return root


def test_unusable_dataset_files_are_skipped_and_reported(messy, capsys):
    from har.training.experiment import prepare_data

    data = prepare_data(messy, ["Punch", "Swing"], progress=False)
    reasons = dict(data.skipped)
    assert len(reasons) == 3
    assert "not named" in reasons[str(messy / "Punch" / "v_X_gAA_c01.avi")]
    assert "class Punch, not Swing" in reasons[str(messy / "Swing" / "v_Punch_g09_c01.avi")]
    assert "not a video" in reasons[str(messy / "Punch" / "v_Punch_g01_c02.avi")]
    used = len(data.x_train) + len(data.x_val) + len(data.x_test)
    assert used == 11  # twelve clips, less the undecodable one
    everything = data.split.train + data.split.val + data.split.test
    assert all(c.path.name != "v_Punch_g01_c02.avi" for c in everything)
    card = json.loads(json.dumps(data.to_dict()))  # what the model card records: JSON-safe
    assert card["dataset"]["num_clips"] == used and card["split"]["test"] == len(data.x_test)
    with pytest.raises(DatasetError, match="could not be used"):
        prepare_data(messy, ["Punch", "Swing"], progress=False, strict=True)


def test_the_cli_says_what_it_skipped_or_fails_with_strict(messy, tmp_path, capsys):
    from har.cli.parser import build_parser
    from har.training.experiment import prepare_data

    args = build_parser().parse_args(["train", "--data", str(messy), "--model", "lrcn", "--strict"])
    assert args.strict
    from har.cli.output import report_skipped

    report_skipped(prepare_data(messy, ["Punch", "Swing"], progress=False))
    err = capsys.readouterr().err
    assert err.startswith("skipped 3 file(s) (use --strict to fail instead):")
    assert "v_X_gAA_c01.avi: not named" in err
    code, _, err = run_cli(capsys, "train", "--data", messy, "--model", "lrcn", "--strict",
                           "--classes", "Punch", "Swing")  # fmt: skip
    assert code == 1 and "could not be used" in err


def test_a_selected_class_left_without_clips_is_named(messy):
    from har.training.experiment import prepare_data

    for clip in (messy / "Swing").glob("v_Swing_*.avi"):
        clip.write_bytes(b"broken" * 100)
    with pytest.raises(DatasetError, match="No clip of Swing could be decoded"):
        prepare_data(messy, ["Punch", "Swing"], progress=False)


# --- who may read what ----------------------------------------------------------------
def test_dataset_folders_are_limited_to_the_configured_roots(tmp_path, monkeypatch):
    import tomllib

    from har.config import REPO_ROOT as ROOT_CONFIG
    from har.config import check_data_root

    monkeypatch.setenv("HAR_DATA_ROOTS", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    assert check_data_root(tmp_path / "a" / "UCF50") == (tmp_path / "a" / "UCF50").resolve()
    for outside in ("/etc", tmp_path / "a" / ".." / "c", tmp_path):
        with pytest.raises(DatasetError, match="outside the folders this app may read"):
            check_data_root(outside)
    config = tomllib.loads((ROOT_CONFIG / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


def test_an_av1_video_is_called_unsupported_not_corrupt(tmp_path, capsys):
    import av

    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libsvtav1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(10):
            frame = np.full((120, 160, 3), i * 20, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    code, _, err = run_cli(capsys, "predict", path)
    assert code == 1 and "AV1 video, a codec" in err and "corrupt" not in err


# --- archive output: never truncate what is not ours; CSV quoting; FIFO -----------
@pytest.fixture(scope="module")
def two_videos(tmp_path_factory):
    from conftest import write_cv2_video

    folder = tmp_path_factory.mktemp("archive")
    write_cv2_video(folder / "a.avi", 30, "MJPG")
    write_cv2_video(folder / "b\rc.avi", 30, "MJPG")  # a carriage return in the name
    return folder


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("old.csv", b"x,y\n1,2\n"),
        ("old.csv", b"one line without a newline"),
        ("old.jsonl", b'{"a": 1}\n{"b": 2}'),
        ("old.jsonl", b'{"video": "v", "status": "ok"}\n{"b": 2}\n'),
        ("old.csv", b"video,status\n" + b"x" * 200_000 + b"\n"),
    ],
)
def test_an_unrelated_output_file_is_refused_untouched(tmp_path, capsys, name, content):
    out = tmp_path / name
    out.write_bytes(content)
    video = tmp_path / "v.avi"
    from conftest import write_cv2_video

    write_cv2_video(video, 30, "MJPG")
    code, _, err = run_cli(capsys, "predict", tmp_path, "--out", out, "--model", "lrcn-paper4")
    assert code == 1 and "left as it is" in err and len(err.splitlines()) == 1
    assert out.read_bytes() == content


def test_csv_names_with_a_carriage_return_round_trip_and_reruns_resume(
    two_videos, tmp_path, capsys
):
    import csv

    out = tmp_path / "p.csv"
    for _ in range(2):
        code, stdout, err = run_cli(
            capsys, "predict", two_videos, "--out", out, "--model", "lrcn-paper4"
        )
        assert code == 0, err
    assert "2 videos: 0 predicted, 0 failed, 2 already in" in stdout
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert [Path(r[0]).name for r in rows[1:]] == sorted(["a.avi", "b\rc.avi"]) or [
        Path(r[0]).name for r in rows[1:]
    ] == sorted(["a.avi", "b\rc.avi"], reverse=True)
    assert all(r[1] == "ok" for r in rows[1:])


def test_a_jsonl_record_without_its_newline_is_kept(two_videos, tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    code, _, err = run_cli(capsys, "predict", two_videos, "--out", out, "--model", "lrcn-paper4")
    assert code == 0, err
    whole = out.read_bytes()
    out.write_bytes(whole.rstrip(b"\n"))  # the last record lost only its newline
    code, stdout, err = run_cli(
        capsys, "predict", two_videos, "--out", out, "--model", "lrcn-paper4"
    )
    assert code == 0 and "2 already in" in stdout
    assert out.read_bytes() == whole


def test_an_output_that_is_a_fifo_is_refused(two_videos, tmp_path, capsys):
    fifo = tmp_path / "p.csv"
    os.mkfifo(fifo)
    code, _, err = run_cli(capsys, "predict", two_videos, "--out", fifo, "--model", "lrcn-paper4")
    assert code == 1 and "not a regular file" in err


def test_explain_into_an_unwritable_folder_fails_before_any_work(tmp_path, capsys):
    from conftest import write_cv2_video

    video = write_cv2_video(tmp_path / "v.avi", 30, "MJPG")
    import har.inference.predictor as predictor

    calls = []
    original = predictor.load_predictors
    predictor.load_predictors = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        code, _, err = run_cli(capsys, "explain", video, "--out", "/proc/x")
    finally:
        predictor.load_predictors = original
    assert code == 1 and "Cannot write files in /proc/x" in err and not calls


# --- links inside an allowed folder do not lead out of it ------------------------------
@pytest.mark.parametrize("level", ["class", "clip"])
def test_a_link_out_of_the_allowed_folders_is_refused(tmp_path, monkeypatch, level):
    from conftest import write_cv2_video

    from har.config import check_data_root
    from har.errors import DatasetError

    allowed, outside = tmp_path / "allowed", tmp_path / "secret"
    (outside / "Swing").mkdir(parents=True)
    write_cv2_video(outside / "Swing" / "v_Swing_g01_c01.avi", 10, "MJPG")
    dataset = allowed / "ds"
    (dataset / "Punch").mkdir(parents=True)
    write_cv2_video(dataset / "Punch" / "v_Punch_g01_c01.avi", 10, "MJPG")
    monkeypatch.setenv("HAR_DATA_ROOTS", str(allowed))
    assert check_data_root(dataset) == dataset.resolve()
    if level == "class":
        (dataset / "Swing").symlink_to(outside / "Swing")
    else:
        (dataset / "Punch" / "v_Punch_g02_c01.avi").symlink_to(
            outside / "Swing" / "v_Swing_g01_c01.avi"
        )
    with pytest.raises(DatasetError, match="outside the folders this app may read"):
        check_data_root(dataset)


def test_a_synth_that_fails_before_any_clip_leaves_no_marker(tmp_path):
    from har.data.synthetic import MARKER

    with pytest.raises(ValueError):
        generate_dataset(tmp_path / "s", ["Swing"], 1, 1, seed=-1, workers=1, progress=False)
    assert not (tmp_path / "s" / MARKER).exists()
