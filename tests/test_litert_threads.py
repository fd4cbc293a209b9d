"""LiteRT's thread count (issue #23.3): HAR_LITERT_THREADS=auto|N; auto keeps a one-thread and
an all-cores interpreter and takes the one-thread one while the CPU is busy."""

from __future__ import annotations

import os

import numpy as np
import pytest

import har.models.tflite as tflite
from har.config import SHIPPED_MODELS_DIR
from har.errors import ModelError


@pytest.fixture(scope="module")
def tflite_file():
    from har.inference import load_predictors
    from har.inference.litert import cache_paths

    predictor = load_predictors(["lrcn-paper4"])["lrcn-paper4"]
    assert predictor.runtime == "litert"
    return cache_paths(SHIPPED_MODELS_DIR / "lrcn-paper4.keras").tflite


def test_the_setting(monkeypatch):
    monkeypatch.delenv(tflite.THREADS_SETTING, raising=False)
    assert tflite.thread_setting() is None
    monkeypatch.setenv(tflite.THREADS_SETTING, " 3 ")
    assert tflite.thread_setting() == 3
    for bad in ("0", "-1", "many"):
        monkeypatch.setenv(tflite.THREADS_SETTING, bad)
        with pytest.raises(ModelError, match="neither 'auto' nor a thread count"):
            tflite.thread_setting()


def test_auto_answers_the_same_busy_or_idle(tflite_file, monkeypatch):
    monkeypatch.setenv(tflite.THREADS_SETTING, "auto")
    lite = tflite.LiteModel(tflite_file)
    assert lite.threads == sorted({1, os.cpu_count() or 1})
    x = np.random.default_rng(0).random((2, *lite.input_shape), dtype=np.float32)
    monkeypatch.setattr(tflite, "busy", lambda: True)
    busy = lite(x)
    monkeypatch.setattr(tflite, "busy", lambda: False)
    idle = lite(x)
    assert busy.shape == (2, lite.outputs) and np.allclose(busy, idle, atol=1e-6)


def test_a_fixed_count_is_one_interpreter(tflite_file, monkeypatch):
    monkeypatch.setenv(tflite.THREADS_SETTING, "1")
    assert tflite.LiteModel(tflite_file).threads == [1]
    assert tflite.LiteModel(tflite_file, threads=2).threads == [2]
