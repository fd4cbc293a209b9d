"""Hostile use, second round (issue "Hardening, second round"): each test is one defect a
hostile user met; the number in its name is the issue's item.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest
from conftest import copy_shipped

from har.cli import main
from har.config import SHIPPED_MODELS_DIR
from har.errors import ModelError
from har.models.registry import INCOMING, find_model, list_models


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HAR_MODELS_DIR", str(tmp_path / "models"))


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listed(directory: Path) -> tuple[list[str], list[str]]:
    """(names listed, warnings given) for one registry folder."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cards = list_models([directory])
    return [c.name for c in cards], [str(w.message) for w in caught]


def tiny_card(name: str, architecture: str, parameters: int):
    from har.models.card import ModelCard

    return ModelCard(name, architecture, ["A", "B"], [20, 64, 64, 3], "RGB", parameters,
                     {}, {}, {}, {}, "", {}, True)  # fmt: skip


# --- 4. two saves under one name: one wins, the other is refused; never a mixed pair -----
SAVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from har.errors import ModelError
    from har.models.architectures import build_model
    from har.models.card import ModelCard
    from har.models.registry import save_model

    arch, folder, me, other, count = sys.argv[1:6]
    model = build_model(arch, 2)
    Path(me).touch()
    deadline = time.monotonic() + 300
    while not Path(other).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    for i in range(int(count)):
        card = ModelCard(f"race-{i}", arch, ["A", "B"], [20, 64, 64, 3], "RGB",
                         model.count_params(), {}, {}, {}, {}, "", {}, True)
        try:
            save_model(model, card, folder)
            print(f"saved race-{i}", flush=True)
        except ModelError:
            print(f"refused race-{i}", flush=True)
    """
)


@pytest.mark.slow
def test_4_two_processes_saving_the_same_names_never_both_succeed(tmp_path):
    from har.models.registry import load_model

    folder, count = tmp_path / "models", 12
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                SAVER,
                arch,
                str(folder),
                str(tmp_path / me),
                str(tmp_path / other),
                str(count),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for arch, me, other in (("lrcn", "a", "b"), ("convlstm", "b", "a"))
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    said = [out.split("\n") for out, _ in outputs]
    for i in range(count):
        told_saved = [f"saved race-{i}" in lines for lines in said]
        assert sum(told_saved) == 1, (i, said)
        model, card = load_model(folder / f"race-{i}.keras", [folder])
        assert model.count_params() == card.parameters
        assert card.architecture == ("lrcn", "convlstm")[told_saved.index(True)]
    assert sorted(listed(folder)[0]) == sorted(f"race-{i}" for i in range(count))


def test_4_a_keras_file_and_a_card_that_do_not_belong_together_are_refused(tmp_path):
    from har.models.registry import install_model, load_model
    from har.utils.files import sha256_file

    folder = tmp_path / "models"
    # an old card (no checksum) beside another model's file: the parameter count differs
    keras = copy_shipped("lrcn-paper4", folder, "mixed")
    other = json.loads((SHIPPED_MODELS_DIR / "convlstm-paper4.json").read_text())
    (folder / "mixed.json").write_text(json.dumps({**other, "name": "mixed"}))
    with pytest.raises(ModelError, match="parameters but its card says"):
        load_model(keras, [folder])
    # a card saved by HAR Studio records its file's checksum: another file is refused unloaded
    card = find_model(SHIPPED_MODELS_DIR / "convlstm-paper4.keras")[1]
    install_model(SHIPPED_MODELS_DIR / "convlstm-paper4.keras", card, "pair", folder)
    saved = json.loads((folder / "pair.json").read_text())
    assert saved["keras_sha256"] == sha256_file(folder / "pair.keras")
    assert find_model("pair", [folder])[1].name == "pair"
    (folder / "pair.keras").write_bytes((SHIPPED_MODELS_DIR / "lrcn-paper4.keras").read_bytes())
    with pytest.raises(ModelError, match="not the file its card pair.json was written for"):
        find_model("pair", [folder])
    names, problems = listed(folder)
    assert "pair" not in names and any("pair.keras" in p for p in problems)


# --- 5. a full disk between the .keras and the card leaves nothing behind -----------------
def test_5_a_disk_full_while_writing_the_card_leaves_no_model_and_frees_the_name(
    tmp_path, monkeypatch
):
    import errno

    from har.models.card import ModelCard
    from har.models.registry import install_model

    folder = tmp_path / "models"
    card = find_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras")[1]

    def disk_full(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(ModelCard, "to_dict", disk_full)
        with pytest.raises(ModelError, match="No space left on device"):
            install_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras", card, "full", folder)
    assert sorted(p.name for p in folder.iterdir()) == [INCOMING]
    assert not [p for p in (folder / INCOMING).iterdir() if not p.name.endswith(".lock")]
    assert listed(folder) == ([], [])
    install_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras", card, "full", folder)  # name free
    assert listed(folder)[0] == ["full"]


def test_15_a_read_only_registry_is_one_sentence():
    from har.models.registry import install_model

    card = find_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras")[1]
    with pytest.raises(ModelError, match="Cannot save the model"):
        install_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras", card, "x", "/proc/no-models")


# --- 8. a card of any JSON value, or without test clip count, is a warning naming it ------
@pytest.mark.parametrize("text", ["null", "42", "true", "NaN", "[]", '"card"', "{" * 100_000])
def test_8_a_card_that_is_not_an_object_is_a_warning_naming_it(tmp_path, capsys, text):
    copy_shipped("lrcn-paper4", tmp_path / "models", "fine")
    copy_shipped("lrcn-paper4", tmp_path / "models", "bad")
    (tmp_path / "models" / "bad.json").write_text(text)
    code, out, err = run(capsys, "models")
    assert code == 0 and "fine " in out and "bad " not in out
    assert "bad.json" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "change",
    [
        {"metrics": {"test": {"accuracy": 0.5, "macro_f1": 0.5}}},  # no num_clips
        {"metrics": {"test": {"accuracy": 0.5, "macro_f1": 0.5, "num_clips": "9"}}},
        {"metrics": {"test": {"accuracy": True, "macro_f1": 0.5, "num_clips": 9}}},
        {"calibration": {"temperature": "hot"}},
        {"name": "<img src=x>"},
    ],
)
def test_8_a_card_that_describe_cannot_read_is_a_warning(tmp_path, capsys, change):
    copy_shipped("lrcn-paper4", tmp_path / "models", "fine")
    copy_shipped("lrcn-paper4", tmp_path / "models", "bad")
    card = tmp_path / "models" / "bad.json"
    card.write_text(json.dumps({**json.loads(card.read_text()), **change}))
    code, out, err = run(capsys, "models")
    assert code == 0 and "fine " in out and "bad " not in out
    assert "bad.json" in err and "Traceback" not in err


# --- 9. malformed Keras 2 files: one sentence each ---------------------------------------
def h5_with(path: Path, model_config, training_config=None) -> Path:
    import h5py
    import numpy as np

    with h5py.File(path, "w") as f:
        f.create_group("model_weights")
        if model_config is not None:
            f.attrs["model_config"] = model_config
        if training_config is not None:
            f.attrs["training_config"] = training_config
    del np
    return path


@pytest.mark.parametrize(
    "model_config",
    ["[1, 2]", "42", "null", '"text"', "[" * 100_000, '{"class_name": "Sequential"}'],
)
def test_9_a_malformed_model_config_is_one_sentence(tmp_path, capsys, model_config):
    h5 = h5_with(tmp_path / "bad.h5", model_config)
    code, _, err = run(capsys, "import", h5, "--classes", "A", "B")
    assert code == 1 and err.startswith("error: bad.h5 ") and len(err.splitlines()) == 1
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").glob("*.keras"))


def test_9_a_model_config_that_is_an_array_is_one_sentence(tmp_path, capsys):
    import numpy as np

    h5 = h5_with(tmp_path / "array.h5", np.arange(6).reshape(2, 3))
    code, _, err = run(capsys, "import", h5, "--classes", "A", "B")
    assert code == 1 and "array.h5 is an HDF5 file but holds no Keras model" in err


@pytest.mark.slow
@pytest.mark.parametrize("training_config", ["[1]", "42", "{" * 100_000, '{"optimizer_config": 1}'])
def test_9_a_malformed_training_config_is_left_off_the_card(tmp_path, capsys, training_config):
    import h5py

    from har.models.registry import load_model

    model, _ = load_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras")
    from har.models.fast_layers import to_stock

    h5 = tmp_path / "odd.h5"
    to_stock(model).save(h5)
    with h5py.File(h5, "a") as f:
        f.attrs["training_config"] = training_config
    code, out, err = run(capsys, "import", h5, "--classes", "A", "B", "C", "D", "--name", "odd")
    assert code == 0, err
    assert "loss" not in find_model("odd")[1].training


# --- 10, 11. archive output: never truncate what is not ours; CSV quoting; FIFO -----------
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
def test_10_an_unrelated_output_file_is_refused_untouched(tmp_path, capsys, name, content):
    out = tmp_path / name
    out.write_bytes(content)
    video = tmp_path / "v.avi"
    from conftest import write_cv2_video

    write_cv2_video(video, 30, "MJPG")
    code, _, err = run(capsys, "predict", tmp_path, "--out", out, "--model", "lrcn-paper4")
    assert code == 1 and "left as it is" in err and len(err.splitlines()) == 1
    assert out.read_bytes() == content


def test_11_csv_names_with_a_carriage_return_round_trip_and_reruns_resume(
    two_videos, tmp_path, capsys
):
    import csv

    out = tmp_path / "p.csv"
    for _ in range(2):
        code, stdout, err = run(
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


def test_11_a_jsonl_record_without_its_newline_is_kept(two_videos, tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    code, _, err = run(capsys, "predict", two_videos, "--out", out, "--model", "lrcn-paper4")
    assert code == 0, err
    whole = out.read_bytes()
    out.write_bytes(whole.rstrip(b"\n"))  # the last record lost only its newline
    code, stdout, err = run(capsys, "predict", two_videos, "--out", out, "--model", "lrcn-paper4")
    assert code == 0 and "2 already in" in stdout
    assert out.read_bytes() == whole


def test_11_an_output_that_is_a_fifo_is_refused(two_videos, tmp_path, capsys):
    fifo = tmp_path / "p.csv"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "predict", two_videos, "--out", fifo, "--model", "lrcn-paper4")
    assert code == 1 and "not a regular file" in err


# --- 12, 20. upload names: cut in bytes, the extension kept ------------------------------
@pytest.mark.parametrize(
    ("name", "expected_suffix"),
    [("研究" * 60 + ".mp4", ".mp4"), ("....mp4", ".mp4"), ("../../x.avi", ".avi"), ("é" * 300, "")],
)
def test_12_long_or_odd_upload_names_are_kept_with_their_extension(tmp_path, name, expected_suffix):
    from har.data.uploads import save_upload

    path = save_upload(name, b"data", tmp_path / "uploads")
    assert path.read_bytes() == b"data" and path.suffix == expected_suffix
    assert len(path.name.encode()) <= 150 and not path.name.startswith(".")
    assert tmp_path / "uploads" in path.parents


# --- 13, 16. paths, names and settings a user can type -----------------------------------
@pytest.mark.parametrize("typed", ["x" * 300, "/tmp/" + "y" * 300 + "/z", "a\0b"])
def test_13_an_impossible_folder_path_is_one_sentence(typed):
    from har.config import check_data_root
    from har.errors import DatasetError

    with pytest.raises(DatasetError, match="cannot be a folder here"):
        check_data_root(typed)


@pytest.mark.parametrize("command", ["predict", "export", "evaluate"])
@pytest.mark.parametrize("model", ["", "/", ".", "  "])
def test_16_an_empty_or_root_model_name_is_a_usage_error(tmp_path, capsys, command, model):
    argv = {
        "predict": ["predict", tmp_path / "v.avi", "--model", model],
        "export": ["export", model],
        "evaluate": ["evaluate", "--model", model, "--data", tmp_path],
    }[command]
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "names no model" in err and "Traceback" not in err


@pytest.mark.parametrize("model", ["", "/", ".", "..", "  "])
def test_16_find_model_refuses_names_that_are_no_model(model):
    with pytest.raises(ModelError, match="names no model"):
        find_model(model)


def test_16_a_media_cache_size_that_is_not_a_number_is_a_warning(monkeypatch):
    from har.config import media_cache_bytes

    monkeypatch.setenv("HAR_MEDIA_CACHE_MB", "abc")
    with pytest.warns(UserWarning, match="HAR_MEDIA_CACHE_MB='abc'"):
        assert media_cache_bytes() == 2048 * 1024 * 1024


def test_16_data_roots_that_name_no_folder_say_so(monkeypatch, tmp_path):
    from har.config import check_data_root
    from har.errors import DatasetError

    monkeypatch.setenv("HAR_DATA_ROOTS", os.pathsep)
    with pytest.raises(DatasetError, match="names no folder"):
        check_data_root(tmp_path)


# --- 17. user text is shown as text -------------------------------------------------------
PIXEL = "![px](http://127.0.0.1:9999/pixel.png)"


def test_17_a_class_name_with_markdown_renders_as_text(tmp_path):
    from markdown_it import MarkdownIt
    from streamlit.testing.v1 import AppTest

    from har.config import REPO_ROOT

    classes = [PIXEL, "<img src=http://127.0.0.1:9999/x.png>", "*em*", "TaiChi"]
    from app_common import forget_models

    copy_shipped("lrcn-paper4", tmp_path / "models", "markup", class_names=classes)
    forget_models()  # the card list is cached per process, as in the server
    try:
        at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=240).run()
    finally:
        forget_models()
    assert not at.exception
    shown = [m.value for m in at.markdown if "markup" in m.value or "pixel" in m.value]
    html = MarkdownIt("commonmark").render("\n\n".join(shown))
    assert "<img" not in html and "<em>em" not in html
    assert "pixel.png" in html  # the name is there, as text


def test_17_describe_escapes_for_the_app_and_not_for_the_cli():
    from markdown_it import MarkdownIt

    from har.models.card import describe

    card = find_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras")[1]
    card.class_names = [PIXEL, "B"]
    assert PIXEL in describe(card)
    html = MarkdownIt("commonmark").render(describe(card, bold=True))
    assert "<img" not in html and PIXEL.replace("&", "&amp;") in html and "<strong>" in html


# --- 19. tracebacks stay on the server ------------------------------------------------------
def test_19_error_details_are_not_shown_to_browsers():
    import tomllib

    from har.config import REPO_ROOT

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


# --- 20. small things -------------------------------------------------------------------
@pytest.mark.parametrize("top", ["-2", "0", "x"])
def test_20_top_must_be_a_positive_count(tmp_path, top, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(tmp_path / "v.avi"), "--top", top])
    assert stop.value.code == 2 and "--top" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["synth", "train", "evaluate"])
@pytest.mark.parametrize("seed", ["-1", str(2**64)])
def test_14_seeds_outside_numpys_range_are_usage_errors(tmp_path, capsys, command, seed):
    argv = {
        "synth": ["synth", "--out", tmp_path / "s"],
        "train": ["train", "--data", tmp_path, "--model", "lrcn"],
        "evaluate": ["evaluate", "--model", "lrcn-paper4", "--data", tmp_path],
    }[command]
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in argv] + ["--seed", seed])
    assert stop.value.code == 2 and "--seed" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_20_explain_into_an_unwritable_folder_fails_before_any_work(tmp_path, capsys):
    from conftest import write_cv2_video

    video = write_cv2_video(tmp_path / "v.avi", 30, "MJPG")
    import har.inference.predictor as predictor

    calls = []
    original = predictor.load_predictors
    predictor.load_predictors = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        code, _, err = run(capsys, "explain", video, "--out", "/proc/x")
    finally:
        predictor.load_predictors = original
    assert code == 1 and "Cannot write files in /proc/x" in err and not calls


# --- 3. previews: each session in turn, each preview's work bounded, a 1x1 video plays ----
def wait_for(jobs, path, owner, deadline=120.0):
    end = time.monotonic() + deadline
    state, value = jobs.status(path, owner)
    while state == "running" and time.monotonic() < end:
        time.sleep(0.05)
        state, value = jobs.status(path, owner)
    return state, value


def test_3_a_one_pixel_video_gets_a_preview(tmp_path):
    from conftest import write_av_video

    import har.data.previews as media

    video = write_av_video(tmp_path / "dot.avi", 10, "mpeg4", "avi", size=(1, 1))
    state, value = wait_for(media.PreviewJobs(), video, "me")
    assert state == "ready" and media.is_browser_playable(value), value


def test_3_sessions_take_turns_and_a_huge_frame_stops_at_the_pixel_budget(tmp_path, monkeypatch):
    from conftest import write_cv2_video

    import har.data.previews as media

    monkeypatch.setattr(media, "MAX_DECODED_PIXELS", 160 * 120 * 5)
    big = [write_cv2_video(tmp_path / f"big{i}.avi", 40, "XVID") for i in range(3)]
    small = write_cv2_video(tmp_path / "small.avi", 10, "XVID")
    jobs = media.PreviewJobs()
    order = []
    original = media.browser_playable
    queued = threading.Event()  # the first preview waits until every request is queued

    def recorded(path, *args, **kwargs):
        order.append(Path(path).name)
        assert queued.wait(timeout=60)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(media, "browser_playable", recorded)
    for video in big:
        jobs.status(video, "hog")
    jobs.status(small, "other")
    queued.set()
    assert wait_for(jobs, small, "other")[0] == "ready"
    for video in big:
        state, value = wait_for(jobs, video, "hog")
        assert state == "ready"
        import av

        with av.open(str(value)) as container:
            assert sum(1 for _ in container.decode(video=0)) == 5  # the budget, not 40 frames
    # turns: the hog's first video (running when the other session asked), then at most one
    # more of its turn already queued, then the other session's: not behind all of the hog's
    assert order.index("small.avi") <= 2 and order[-1] != "small.avi", order


@pytest.mark.parametrize("seed", [-1, 2**64])
def test_14_the_evaluate_pages_seed_is_checked_before_any_work(tmp_path, seed):
    from har.errors import DatasetError
    from har.training.evaluate import EvalSource

    with pytest.raises(DatasetError, match="seed must be between 0"):
        EvalSource.synthetic(2, seed)
    with pytest.raises(DatasetError, match="seed must be between 0"):
        EvalSource.of_folder(tmp_path, "group", seed)


# --- 18. links inside an allowed folder do not lead out of it ------------------------------
@pytest.mark.parametrize("level", ["class", "clip"])
def test_18_a_link_out_of_the_allowed_folders_is_refused(tmp_path, monkeypatch, level):
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


# --- 15. a preview whose file went away is a sentence --------------------------------------
def test_15_a_preview_of_a_deleted_upload_is_a_sentence(tmp_path):
    from conftest import write_cv2_video

    import har.data.previews as media

    video = write_cv2_video(tmp_path / "gone.avi", 10, "XVID")
    video.unlink()
    state, message = media.PreviewJobs().status(video, "me")
    assert state == "failed" and "gone.avi is no longer there" in message


def test_20_counts_and_small_percentages_read_right():
    from har.utils.text import percent, plural

    assert plural(1, "frame") == "1 frame" and plural(3, "frame") == "3 frames"
    assert percent(1 / 1000) == "0.1%" and percent(1 / 4) == "25%" and percent(0) == "0%"
    assert percent(1 / 100_000) == "0.001%"


def test_14_a_synth_that_fails_before_any_clip_leaves_no_marker(tmp_path):
    from har.data.synthetic import MARKER, generate_dataset

    with pytest.raises(ValueError):
        generate_dataset(tmp_path / "s", ["Swing"], 1, 1, seed=-1, workers=1, progress=False)
    assert not (tmp_path / "s" / MARKER).exists()


def test_17_a_typed_folder_with_markdown_is_shown_as_text_in_the_sidebars_error(tmp_path):
    from markdown_it import MarkdownIt
    from streamlit.testing.v1 import AppTest

    from har.config import REPO_ROOT

    at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=240).run()
    at.sidebar.text_input[0].input(PIXEL).run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert errors, "the folder is refused with a sentence"
    html = MarkdownIt("commonmark").render("\n\n".join(errors))
    assert "<img" not in html and "pixel.png" in html
