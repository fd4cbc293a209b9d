"""Hostile settings: numbers out of range, seeds numpy cannot take, folder paths that cannot
exist, environment variables naming nothing. A usage error or a warning in one sentence,
before any work.
"""

from __future__ import annotations

import os

import pytest

from har.cli import main
from har.errors import DatasetError

pytestmark = pytest.mark.usefixtures("isolated_dirs")


# --- nonsense settings are refused at argument parsing ----------------------------------
@pytest.mark.parametrize(
    "setting",
    [["--epochs", "-1"], ["--epochs", "0"], ["--batch-size", "0"], ["--learning-rate", "0"]],
)
def test_nonsense_training_settings_exit_2(tiny, setting, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(tiny), "--model", "lrcn", *setting])
    assert exit_info.value.code == 2
    assert "must be" in capsys.readouterr().err


# --- paths, names and settings a user can type -----------------------------------
@pytest.mark.parametrize("typed", ["x" * 300, "/tmp/" + "y" * 300 + "/z", "a\0b"])
def test_an_impossible_folder_path_is_one_sentence(typed):
    from har.config import check_data_root

    with pytest.raises(DatasetError, match="cannot be a folder here"):
        check_data_root(typed)


def test_a_media_cache_size_that_is_not_a_number_is_a_warning(monkeypatch):
    from har.config import media_cache_bytes

    monkeypatch.setenv("HAR_MEDIA_CACHE_MB", "abc")
    with pytest.warns(UserWarning, match="HAR_MEDIA_CACHE_MB='abc'"):
        assert media_cache_bytes() == 2048 * 1024 * 1024


def test_data_roots_that_name_no_folder_say_so(monkeypatch, tmp_path):
    from har.config import check_data_root

    monkeypatch.setenv("HAR_DATA_ROOTS", os.pathsep)
    with pytest.raises(DatasetError, match="names no folder"):
        check_data_root(tmp_path)


# --- small things -------------------------------------------------------------------
@pytest.mark.parametrize("top", ["-2", "0", "x"])
def test_top_must_be_a_positive_count(tmp_path, top, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(tmp_path / "v.avi"), "--top", top])
    assert stop.value.code == 2 and "--top" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["synth", "train", "evaluate"])
@pytest.mark.parametrize("seed", ["-1", str(2**64)])
def test_seeds_outside_numpys_range_are_usage_errors(tmp_path, capsys, command, seed):
    argv = {
        "synth": ["synth", "--out", tmp_path / "s"],
        "train": ["train", "--data", tmp_path, "--model", "lrcn"],
        "evaluate": ["evaluate", "--model", "lrcn-paper4", "--data", tmp_path],
    }[command]
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in argv] + ["--seed", seed])
    assert stop.value.code == 2 and "--seed" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("seed", [-1, 2**64])
def test_the_evaluate_pages_seed_is_checked_before_any_work(tmp_path, seed):
    from har.training.evaluate import EvalSource

    with pytest.raises(DatasetError, match="seed must be between 0"):
        EvalSource.synthetic(2, seed)
    with pytest.raises(DatasetError, match="seed must be between 0"):
        EvalSource.of_folder(tmp_path, "group", seed)
