"""Hostile use, second round (issue "Hardening, second round"): each test is one defect a
hostile user met; the number in its name is the issue's item.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
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
    copy_shipped("lrcn-paper4", tmp_path / "models", "bad", **change)
    code, out, err = run(capsys, "models")
    assert code == 0 and "fine " in out and "bad " not in out
    assert "bad.json" in err and "Traceback" not in err
