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
    cores = os.cpu_count() or 1
    lite = tflite.LiteModel(tflite_file)
    assert lite.threads == [cores]
    x = np.random.default_rng(0).random((2, *lite.input_shape), dtype=np.float32)
    monkeypatch.setattr(tflite, "free_threads", lambda: 1)
    busy = lite(x)
    assert lite.threads == sorted({1, cores})  # the one-thread interpreter, made when needed
    monkeypatch.setattr(tflite, "free_threads", lambda: cores)
    idle = lite(x)
    assert busy.shape == (2, lite.outputs) and np.allclose(busy, idle, atol=1e-6)


def test_free_threads_follow_the_load(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    for load, threads in ((0.2, 4), (1.4, 3), (3.2, 1), (9.0, 1)):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert tflite.free_threads() == threads


def test_a_fixed_count_is_one_interpreter(tflite_file, monkeypatch):
    monkeypatch.setenv(tflite.THREADS_SETTING, "1")
    assert tflite.LiteModel(tflite_file).threads == [1]
    assert tflite.LiteModel(tflite_file, threads=2).threads == [2]
