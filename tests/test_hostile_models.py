"""Hostile use of model names and the registry: bad, taken or odd names, saves that fail
or race, cards that lie or break, malformed Keras 2 files. Each costs one sentence, never a
traceback, a half-written model or another model's name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_shipped, run_cli

from har.cli import main
from har.config import SHIPPED_MODELS_DIR
from har.errors import ModelError
from har.models.registry import INCOMING, find_model, list_models, slugify

pytestmark = pytest.mark.usefixtures("isolated_dirs")


# --- lost work: names and the registry folder are checked before any extraction ---------
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--name", "my model!"], "only letters"),
        (["--name", "lrcn-paper4"], "shipped model's name"),
        (["--name", "x" * 300], "at most 64 characters"),
        (["--out", "/proc/no-models-here"], "Cannot save models"),
    ],
)
def test_a_bad_model_name_or_folder_fails_before_extraction(tiny, tmp_path, capsys, extra, message):
    code, _, err = run_cli(
        capsys, "train", "--data", tiny, "--model", "lrcn", "--epochs", "1", *extra
    )
    assert code == 1 and err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "cache" / "frames").exists()  # no frame was extracted


def test_a_taken_model_name_fails_before_extraction(tiny, tmp_path, capsys):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.keras").write_bytes(b"x")
    code, _, err = run_cli(capsys, "train", "--data", tiny, "--model", "lrcn", "--name", "mine")
    assert code == 1 and "already exists" in err
    assert not (tmp_path / "cache" / "frames").exists()


def test_default_model_names_are_always_valid():
    assert slugify("lrcn-ds spaces ü") == "lrcn-ds-spaces-u"
    assert slugify("../../etc") == "etc" and slugify("ü") == "u" and slugify("!!!") == "model"
    assert len(slugify("a" * 300)) == 64


def test_a_save_that_fails_at_the_end_keeps_the_weights(tmp_path, capsys):
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


# --- a save killed halfway leaves nothing the registry lists, and is cleaned up --------
def test_a_dead_writers_temp_file_is_never_listed_and_removed(tmp_path):
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


# --- a card with the wrong types is a warning naming it; the rest still lists ----------
def test_a_card_of_wrong_types_is_reported_and_the_rest_listed(tmp_path, capsys, monkeypatch):
    copy_shipped("lrcn-paper4", tmp_path / "models", "broken", metrics=[])
    copy_shipped("lrcn-paper4", tmp_path / "models", "fine")
    code = main(["models"])
    captured = capsys.readouterr()
    assert code == 0 and "fine" in captured.out and "broken " not in captured.out
    assert "broken.json" in captured.err and "'metrics' must be a JSON dict" in captured.err
    assert "Traceback" not in captured.err


# --- a user model cannot take a shipped model's name ----------------------------------
def test_a_user_card_claiming_a_shipped_name_is_not_listed(tmp_path):
    path = copy_shipped("convlstm-paper4", tmp_path / "models", "impostor")
    card = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**card, "name": "lrcn-paper4"}))
    with pytest.warns(UserWarning, match="impostor.keras claims the name 'lrcn-paper4'"):
        cards = list_models()
    lrcn = [c for c in cards if c.name == "lrcn-paper4"]
    assert len(lrcn) == 1 and lrcn[0].architecture == "lrcn" and lrcn[0].shipped


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


# --- two saves under one name: one wins, the other is refused; never a mixed pair -----
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
def test_two_processes_saving_the_same_names_never_both_succeed(tmp_path):
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


def test_a_keras_file_and_a_card_that_do_not_belong_together_are_refused(tmp_path):
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


# --- a full disk between the .keras and the card leaves nothing behind -----------------
def test_a_disk_full_while_writing_the_card_leaves_no_model_and_frees_the_name(
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


def test_a_read_only_registry_is_one_sentence():
    from har.models.registry import install_model

    card = find_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras")[1]
    with pytest.raises(ModelError, match="Cannot save the model"):
        install_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras", card, "x", "/proc/no-models")


# --- a card of any JSON value, or without test clip count, is a warning naming it ------
@pytest.mark.parametrize("text", ["null", "42", "true", "NaN", "[]", '"card"', "{" * 100_000])
def test_a_card_that_is_not_an_object_is_a_warning_naming_it(tmp_path, capsys, text):
    copy_shipped("lrcn-paper4", tmp_path / "models", "fine")
    copy_shipped("lrcn-paper4", tmp_path / "models", "bad")
    (tmp_path / "models" / "bad.json").write_text(text)
    code, out, err = run_cli(capsys, "models")
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
def test_a_card_the_summary_cannot_read_is_a_warning(tmp_path, capsys, change):
    copy_shipped("lrcn-paper4", tmp_path / "models", "fine")
    copy_shipped("lrcn-paper4", tmp_path / "models", "bad")
    card = tmp_path / "models" / "bad.json"
    card.write_text(json.dumps({**json.loads(card.read_text()), **change}))
    code, out, err = run_cli(capsys, "models")
    assert code == 0 and "fine " in out and "bad " not in out
    assert "bad.json" in err and "Traceback" not in err


# --- malformed Keras 2 files: one sentence each ---------------------------------------
def h5_with(path: Path, model_config, training_config=None) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        f.create_group("model_weights")
        if model_config is not None:
            f.attrs["model_config"] = model_config
        if training_config is not None:
            f.attrs["training_config"] = training_config
    return path


@pytest.mark.parametrize(
    "model_config",
    ["[1, 2]", "42", "null", '"text"', "[" * 100_000, '{"class_name": "Sequential"}'],
)
def test_a_malformed_keras2_model_config_is_one_sentence(tmp_path, capsys, model_config):
    h5 = h5_with(tmp_path / "bad.h5", model_config)
    code, _, err = run_cli(capsys, "import", h5, "--classes", "A", "B")
    assert code == 1 and err.startswith("error: bad.h5 ") and len(err.splitlines()) == 1
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").glob("*.keras"))


def test_a_keras2_model_config_that_is_an_array_is_one_sentence(tmp_path, capsys):

    h5 = h5_with(tmp_path / "array.h5", np.arange(6).reshape(2, 3))
    code, _, err = run_cli(capsys, "import", h5, "--classes", "A", "B")
    assert code == 1 and "array.h5 is an HDF5 file but holds no Keras model" in err


@pytest.mark.slow
@pytest.mark.parametrize("training_config", ["[1]", "42", "{" * 100_000, '{"optimizer_config": 1}'])
def test_a_malformed_keras2_training_config_is_left_off_the_card(tmp_path, capsys, training_config):
    import h5py

    from har.models.registry import load_model

    model, _ = load_model(SHIPPED_MODELS_DIR / "lrcn-paper4.keras")
    from har.models.fast_layers import to_stock

    h5 = tmp_path / "odd.h5"
    to_stock(model).save(h5)
    with h5py.File(h5, "a") as f:
        f.attrs["training_config"] = training_config
    code, out, err = run_cli(capsys, "import", h5, "--classes", "A", "B", "C", "D", "--name", "odd")
    assert code == 0, err
    assert "loss" not in find_model("odd")[1].training


@pytest.mark.parametrize("command", ["predict", "export", "evaluate"])
@pytest.mark.parametrize("model", ["", "/", ".", "  "])
def test_an_empty_or_root_model_name_is_a_usage_error(tmp_path, capsys, command, model):
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
def test_find_model_refuses_names_that_are_no_model(model):
    with pytest.raises(ModelError, match="names no model"):
        find_model(model)
