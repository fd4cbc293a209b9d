"""Hostile input: every mistake costs seconds and one sentence, never a run, a traceback or data.

Each test is one defect a user met (issue "Hardening"); the numbers in the names are its items.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from conftest import copy_shipped, write_cv2_video

from har.cli import main
from har.data.frame_cache import FrameCache, load_frames
from har.data.synthetic import generate_dataset
from har.errors import DatasetError, VideoError
from har.models.registry import INCOMING, list_models, slugify


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HAR_MODELS_DIR", str(tmp_path / "models"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds spaces ü")
    return generate_dataset(root, ["Swing", "Punch"], 3, 2, workers=1, progress=False)


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.err


# --- 1. lost work: names and the registry folder are checked before any extraction ---------
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--name", "my model!"], "only letters"),
        (["--name", "lrcn-paper4"], "shipped model's name"),
        (["--name", "x" * 300], "at most 64 characters"),
        (["--out", "/proc/no-models-here"], "Cannot save models"),
    ],
)
def test_1_a_bad_name_or_folder_fails_before_extraction(tiny, tmp_path, capsys, extra, message):
    code, err = run(capsys, "train", "--data", tiny, "--model", "lrcn", "--epochs", "1", *extra)
    assert code == 1 and err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "cache" / "frames").exists()  # no frame was extracted


def test_1_a_taken_name_fails_before_extraction(tiny, tmp_path, capsys):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.keras").write_bytes(b"x")
    code, err = run(capsys, "train", "--data", tiny, "--model", "lrcn", "--name", "mine")
    assert code == 1 and "already exists" in err
    assert not (tmp_path / "cache" / "frames").exists()


def test_1_default_names_are_always_valid():
    assert slugify("lrcn-ds spaces ü") == "lrcn-ds-spaces-u"
    assert slugify("../../etc") == "etc" and slugify("ü") == "u" and slugify("!!!") == "model"
    assert len(slugify("a" * 300)) == 64


def test_1_a_save_that_fails_at_the_end_keeps_the_weights(tmp_path, capsys):
    from har.cli.commands import save_trained
    from har.models.architectures import build_model
    from har.models.card import ModelCard
    from har.models.registry import save_model

    model = build_model("lrcn", 2)
    card = ModelCard("taken", "lrcn", ["A", "B"], [20, 64, 64, 3], "RGB", 1, {}, {}, {}, {},
                     "", {}, True)  # fmt: skip
    save_model(model, card, tmp_path)  # someone took the name while the run trained
    path = save_trained(model, card, tmp_path, overwrite=False)
    assert path.exists() and path.name.startswith("taken-") and path.name != "taken.keras"
    assert "saved as" in capsys.readouterr().out


# --- 2. nonsense settings are refused at argument parsing ----------------------------------
@pytest.mark.parametrize(
    "setting",
    [["--epochs", "-1"], ["--epochs", "0"], ["--batch-size", "0"], ["--learning-rate", "0"]],
)
def test_2_nonsense_settings_exit_2(tiny, setting, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(tiny), "--model", "lrcn", *setting])
    assert exit_info.value.code == 2
    assert "must be" in capsys.readouterr().err


# --- 3. a save killed halfway leaves nothing the registry lists, and is cleaned up --------
def test_3_a_dead_writers_temp_file_is_never_listed_and_removed(tmp_path):
    incoming = tmp_path / INCOMING
    incoming.mkdir()
    dead = 999_999_999  # no such process
    leftover = incoming / f".{dead}.mine.keras.abc123.keras"
    leftover.write_bytes(b"")
    live = incoming / f".{os.getpid()}.other.keras.def456.keras"  # a save in progress
    live.write_bytes(b"")
    old_style = tmp_path / ".mine.keras.xyz.keras"  # left beside the models by earlier versions
    old_style.write_bytes(b"")
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")  # listing warns about none of them
        assert list_models([tmp_path]) == []
    assert not leftover.exists() and live.exists()


# --- 4. a card with the wrong types is a warning naming it; the rest still lists ----------
def test_4_a_card_of_wrong_types_is_reported_and_the_rest_listed(tmp_path, capsys, monkeypatch):
    copy_shipped("lrcn-paper4", tmp_path / "models", "broken", metrics=[])
    copy_shipped("lrcn-paper4", tmp_path / "models", "fine")
    code = main(["models"])
    captured = capsys.readouterr()
    assert code == 0 and "fine" in captured.out and "broken " not in captured.out
    assert "broken.json" in captured.err and "'metrics' must be a JSON dict" in captured.err
    assert "Traceback" not in captured.err


# --- 5. files and folders in the wrong place: one error line ------------------------------
def test_5_frames_out_is_a_file(tmp_path, capsys):
    video = write_cv2_video(tmp_path / "clip.avi", 30, "MJPG")
    code, err = run(capsys, "frames", video, "--out", video)
    assert code == 1 and "is a file" in err and len(err.strip().splitlines()) == 1


def test_5_a_malformed_synthetic_marker_is_one_sentence(tmp_path, capsys):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "SYNTHETIC.json").write_text("{not json")
    code, err = run(capsys, "synth", "--out", tmp_path / "ds", "--classes", "Swing", "--groups",
                    "1", "--clips-per-group", "1")  # fmt: skip
    assert code == 1 and err.startswith("error: ") and "SYNTHETIC.json" in err


def test_5_a_folder_where_a_cache_entry_belongs(tmp_path):
    video = write_cv2_video(tmp_path / "clip.avi", 30, "MJPG")
    cache = FrameCache(tmp_path / "cache")
    cache.file_for(video).mkdir(parents=True)
    with pytest.raises(DatasetError, match="Cannot write the frame cache entry"):
        cache.frames(video)


# --- 6. damaged cache entries are detected, extracted again, and said once ----------------
def test_6_randomised_cache_bytes_are_detected_and_re_extracted(tmp_path):
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


# --- 11. a user model cannot take a shipped model's name ----------------------------------
def test_11_a_user_card_claiming_a_shipped_name_is_not_listed(tmp_path):
    path = copy_shipped("convlstm-paper4", tmp_path / "models", "impostor")
    card = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**card, "name": "lrcn-paper4"}))
    with pytest.warns(UserWarning, match="impostor.keras claims the name 'lrcn-paper4'"):
        cards = list_models()
    lrcn = [c for c in cards if c.name == "lrcn-paper4"]
    assert len(lrcn) == 1 and lrcn[0].architecture == "lrcn" and lrcn[0].shipped


# --- 12. messages: checked before TensorFlow, right names, no codec noise -----------------
def test_12_a_missing_file_fails_before_tensorflow(tmp_path):
    import subprocess

    code = (
        "import sys; from har.cli import main; rc = main(['predict', sys.argv[1]]);"
        "print('tensorflow' in sys.modules); sys.exit(rc)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "missing.mp4")], capture_output=True, text=True
    )
    assert out.returncode == 1 and out.stdout.strip() == "False"
    assert out.stderr.strip().startswith("error: No such file")


def test_12_a_fifo_is_not_called_empty(tmp_path, capsys):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    code, err = run(capsys, "predict", fifo)
    assert code == 1 and "not a regular file" in err


def test_12_a_broken_file_prints_one_line_and_no_codec_noise(tmp_path):
    import subprocess

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


def test_12_an_upload_error_names_the_users_file(tmp_path):
    from har.data.uploads import save_upload
    from har.data.video import read_clip

    path = save_upload("Holiday clip.mp4", b"this is not a video" * 50, tmp_path)
    with pytest.raises(VideoError, match="Holiday clip.mp4"):
        read_clip(path)


# --- 7. datasets with problems: skip, report each file, continue; --strict fails ----------
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


def test_7_unusable_files_are_skipped_and_reported(messy, capsys):
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


def test_7_the_cli_says_what_it_skipped_or_fails_with_strict(messy, tmp_path, capsys):
    from har.cli.parser import build_parser
    from har.training.experiment import prepare_data

    args = build_parser().parse_args(["train", "--data", str(messy), "--model", "lrcn", "--strict"])
    assert args.strict
    from har.cli.output import report_skipped

    report_skipped(prepare_data(messy, ["Punch", "Swing"], progress=False))
    err = capsys.readouterr().err
    assert err.startswith("skipped 3 file(s) (use --strict to fail instead):")
    assert "v_X_gAA_c01.avi: not named" in err
    code, err = run(capsys, "train", "--data", messy, "--model", "lrcn", "--strict", "--classes",
                    "Punch", "Swing")  # fmt: skip
    assert code == 1 and "could not be used" in err


def test_7_a_selected_class_left_without_clips_is_named(messy):
    from har.training.experiment import prepare_data

    for clip in (messy / "Swing").glob("v_Swing_*.avi"):
        clip.write_bytes(b"broken" * 100)
    with pytest.raises(DatasetError, match="No clip of Swing could be decoded"):
        prepare_data(messy, ["Punch", "Swing"], progress=False)


# --- 10. who may read what ----------------------------------------------------------------
def test_10_dataset_folders_are_limited_to_the_configured_roots(tmp_path, monkeypatch):
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


# --- 8. a long upload: predictions first, a capped preview transcoded in the background ---
def test_8_the_preview_is_capped_and_made_in_the_background(tmp_path, monkeypatch):
    import time

    import av

    import har.data.previews as media

    monkeypatch.setattr(media, "PREVIEW_SECONDS", 1)
    monkeypatch.setattr(media, "PREVIEW_HEIGHT", 60)
    video = write_cv2_video(tmp_path / "long.avi", 100, "XVID")  # 4 s, 160x120, not playable
    jobs = media.PreviewJobs()
    state, value = jobs.status(video)
    assert state == "running" and 0.0 <= value <= 1.0  # the page is not blocked
    deadline = time.monotonic() + 60
    while state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        state, value = jobs.status(video)
    assert state == "ready" and media.is_browser_playable(value)
    with av.open(str(value)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert stream.codec_context.height == 60 and frames == 25  # 1 s at 25 fps
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"nope" * 100)
    jobs.status(bad)
    deadline = time.monotonic() + 120
    while jobs.status(bad)[0] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert jobs.status(bad)[0] == "failed" and "bad.avi" in jobs.status(bad)[1]


# --- 9. uploads and previews are bounded; bad uploads go at once --------------------------
def test_9_media_caches_are_pruned_least_recently_used_first(tmp_path, monkeypatch):
    import time

    from har.data.uploads import forget_upload, save_upload
    from har.utils.files import prune

    folder = tmp_path / "uploads"
    paths = [save_upload(f"clip{i}.mp4", bytes([i]) * 1000, folder) for i in range(4)]
    for age, path in enumerate(reversed(paths)):  # clip0 used longest ago
        os.utime(path, (time.time() - 100 * age, time.time() - 100 * age))
    os.utime(paths[0], (time.time(), os.stat(paths[0]).st_mtime))  # ... but watched just now
    removed = prune(folder, 2500)
    assert set(removed) == {paths[1], paths[2]}
    assert paths[0].exists() and paths[3].exists()
    monkeypatch.setenv("HAR_MEDIA_CACHE_MB", str(3000 / 1024 / 1024))
    save_upload("new.mp4", b"n" * 1000, folder)  # saving prunes to the cap
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) <= 3000
    forget_upload(paths[3])
    assert not paths[3].exists() and not paths[3].parent.exists()


def test_12_av1_is_called_unsupported_not_corrupt(tmp_path, capsys):
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
    code, err = run(capsys, "predict", path)
    assert code == 1 and "AV1 video, a codec" in err and "corrupt" not in err
