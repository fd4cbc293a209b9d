"""LiteRT behind the one door: converted once, cached by file hash, same probabilities as Keras."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import copy_shipped
from test_inference import card_for

from har.errors import ModelError
from har.inference import Predictor, litert, predict_video
from har.models.registry import save_model

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ["TaiChi_1", "HorseRace_2", "Swing_1", "WalkingWithDog_2"]


@pytest.mark.parametrize(
    "shipped", ["lrcn-paper4", pytest.param("convlstm-paper4", marks=pytest.mark.slow)]
)
def test_shipped_models_run_on_litert_with_keras_probabilities(tmp_path, monkeypatch, shipped):
    path = copy_shipped(shipped, tmp_path / "reg", "m")
    lite = Predictor.from_registry(path)
    assert lite.runtime == "litert", lite.runtime_note
    cached, _ = litert.cache_paths(path)
    assert cached.is_file() and cached.parent.name == ".litert"
    monkeypatch.setenv("HAR_RUNTIME", "tensorflow")
    tf_path = Predictor.from_registry(path)
    assert tf_path.runtime == "tensorflow"
    for sample in SAMPLES:  # real H.264 clips, decoded the app's way
        video = ROOT / "samples" / f"{sample}.mp4"
        a = predict_video(video, [lite]).predictions["m"]
        b = predict_video(video, [tf_path]).predictions["m"]
        assert a.runtime == "litert" and b.runtime == "tensorflow"
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-5)
        assert a.top_class == b.top_class


@pytest.mark.slow
def test_the_cli_converts_once_quietly_then_predicts_without_tensorflow(tmp_path):
    path = copy_shipped("lrcn-paper4", tmp_path / "reg", "m")
    script = (
        "import sys\n"
        "from har.cli import main\n"
        f"code = main(['predict', {str(ROOT / 'samples' / 'TaiChi_1.mp4')!r}, '--model', "
        f"{str(path)!r}])\n"
        "print('tensorflow imported:', 'tensorflow' in sys.modules)\n"
        "sys.exit(code)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        for _ in range(2)
    ]
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert "on LiteRT" in done.stdout and "TaiChi" in done.stdout
        # no TensorFlow notices, converter warnings or "Created TensorFlow Lite XNNPACK delegate"
        assert done.stderr == ""
    assert "tensorflow imported: True" in runs[0].stdout  # the first load converts
    assert "tensorflow imported: False" in runs[1].stdout  # later ones read the cache
    assert litert.cache_paths(path)[0].is_file()


@pytest.mark.slow  # a fresh process that imports TensorFlow
def test_saliency_on_a_litert_predictor_loads_tensorflow_quietly(tmp_path):
    """Explain needs Keras's gradients: the first saliency imports TensorFlow, with no notices
    on the terminal (the app's server prints what reaches its stderr)."""
    path = copy_shipped("convlstm-paper4", tmp_path / "reg", "m")
    Predictor.from_registry(path)  # converts and caches, in this process
    script = (
        "import sys, numpy as np\n"
        "from har.inference import Predictor\n"
        "from har.explain.saliency import saliency\n"
        f"p = Predictor.from_registry({str(path)!r})\n"
        "assert p.runtime == 'litert' and 'tensorflow' not in sys.modules\n"
        "clip = np.random.default_rng(0).integers(0, 255, (20, 64, 64, 3), dtype=np.uint8)\n"
        "s = saliency(p, clip)\n"
        "print('maps', s.maps.shape, 'tensorflow' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "maps (20, 64, 64) True" in done.stdout
    assert done.stderr == ""


@pytest.mark.slow
def test_a_changed_model_gets_a_new_entry_and_the_old_one_goes(tmp_path):
    folder = tmp_path / "reg"
    path = copy_shipped("lrcn-paper4", folder, "m")
    Predictor.from_registry(path)
    old, _ = litert.cache_paths(path)
    # retrained under the same name: another model's bytes in m.keras
    path.write_bytes((ROOT / "models" / "convlstm-paper4.keras").read_bytes())
    copy_shipped("convlstm-paper4", tmp_path / "other", "m")
    (folder / "m.json").write_text((tmp_path / "other" / "m.json").read_text())
    again = Predictor.from_registry(path)
    new, _ = litert.cache_paths(path)
    assert again.runtime == "litert" and new != old
    assert new.is_file() and not old.exists()
    assert again.card.architecture == "convlstm"


def test_a_broken_cache_entry_is_made_again(tmp_path):
    path = copy_shipped("lrcn-paper4", tmp_path / "reg", "m")
    first = Predictor.from_registry(path)
    cached, _ = litert.cache_paths(path)
    cached.write_bytes(cached.read_bytes()[:1000])  # truncated, as by a full disk
    again = Predictor.from_registry(path)
    assert again.runtime == "litert"
    clip = np.random.default_rng(0).integers(0, 255, (2, 20, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_allclose(again.predict_batch(clip), first.predict_batch(clip), atol=1e-6)
    assert cached.stat().st_size > 100_000


def time_pooled_model() -> keras.Model:
    """Pooling over time (MaxPool3D with a time extent): LiteRT has no built-in for it."""
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [
            keras.Input((4, 16, 16, 3)),
            keras.layers.MaxPooling3D((2, 2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def test_a_model_litert_cannot_run_falls_back_to_tensorflow_and_says_why(tmp_path, monkeypatch):
    model = time_pooled_model()
    path = save_model(model, card_for(model, "pooled"), tmp_path / "reg")
    predictor = Predictor.from_registry(path)
    assert predictor.runtime == "tensorflow"
    assert "no LiteRT built-in" in predictor.runtime_note
    _, failed = litert.cache_paths(path)
    assert failed.is_file()  # remembered: the next load does not try again
    clip = np.random.default_rng(1).random((2, 4, 16, 16, 3), dtype=np.float32)
    np.testing.assert_allclose(predictor.predict_batch(clip), model(clip), atol=1e-6)
    monkeypatch.setenv("HAR_RUNTIME", "litert")
    with pytest.raises(ModelError, match="cannot run on LiteRT: no LiteRT built-in"):
        Predictor.from_registry(path)
    monkeypatch.setenv("HAR_RUNTIME", "fastest")
    with pytest.raises(ModelError, match="HAR_RUNTIME='fastest' is not one of"):
        Predictor.from_registry(path)


def test_sessions_sharing_a_litert_model_get_their_own_answers(tmp_path):
    """The app's sessions share one Predictor from several threads."""
    predictor = Predictor.from_registry(copy_shipped("lrcn-paper4", tmp_path / "reg", "m"))
    rng = np.random.default_rng(2)
    clips = rng.integers(0, 255, (4, 3, 20, 64, 64, 3), dtype=np.uint8)
    expected = [predictor.predict_batch(c) for c in clips]
    got: dict[int, list] = {i: [] for i in range(4)}

    def work(i: int) -> None:
        for _ in range(10):
            got[i].append(predictor.predict_batch(clips[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        for answer in got[i]:
            np.testing.assert_array_equal(answer, expected[i])


def test_a_cache_that_cannot_be_written_still_predicts_on_litert(tmp_path):
    folder = tmp_path / "reg"
    path = copy_shipped("lrcn-paper4", folder, "m")
    (folder / litert.CACHE).write_text("a file where the cache folder should be")
    predictor = Predictor.from_registry(path)
    assert predictor.runtime == "litert"
    clip = np.random.default_rng(4).integers(0, 255, (1, 20, 64, 64, 3), dtype=np.uint8)
    assert predictor.predict_batch(clip).shape == (1, 4)
    assert (folder / litert.CACHE).is_file()
