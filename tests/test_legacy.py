"""Bring your own model: real Keras 2 .h5 files imported through `har import`, then exported.

The tutorial's LRCN and ConvLSTM are built, trained one step and saved by real Keras 2
(tf-keras) in a subprocess (tests/keras2_models.py), with the probabilities Keras 2 gives on a
real video's BGR frames; the imported Keras 3 model, its SavedModel and TFLite exports must give
the same probabilities.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import index_frame

from har.cli import main
from har.config import PAPER_CLASSES
from har.data.encode import write_mp4
from har.data.video import read_clip
from har.models.registry import check_name

pytestmark = pytest.mark.slow  # tf-keras (requirements-dev.txt) builds the Keras 2 fixtures

TUTORIAL_LRCN = "LRCN_model___Date_Time_2022_05_03__13_35_13___Loss_0.43___Accuracy_0.84.h5"
TUTORIAL_CONVLSTM = "convlstm_model___Date_Time_2022_05_03__12_10_42___Loss_1.06___Accuracy_0.57.h5"
THREE = ["Punch", "Swing", "TaiChi"]
SPECS = {
    # name: (file, builder, frames, (width, height), classes, old serialization format)
    "lrcn20": (TUTORIAL_LRCN, "lrcn", 20, (64, 64), list(PAPER_CLASSES), False),
    "convlstm20": (TUTORIAL_CONVLSTM, "convlstm", 20, (64, 64), list(PAPER_CLASSES), False),
    "lrcn30": ("lrcn_30_frames.h5", "lrcn", 30, (64, 64), THREE, True),
    "convlstm30": ("convlstm_30_frames.h5", "convlstm", 30, (64, 64), THREE, True),
    "lrcn25x75": ("lrcn_25x75.h5", "lrcn", 25, (75, 75), THREE, False),
    "mixed8x32": ("bigru.h5", "mixed", 8, (32, 32), THREE, False),
}
# builder: (architecture detected, layer stack exactly the paper's)
DETECTED = {"lrcn": ("lrcn", True), "convlstm": ("convlstm", True), "mixed": ("lrcn", False)}
TOLERANCE = 1e-5


def bgr_clip(video: Path, frames: int, size: tuple[int, int]) -> np.ndarray:
    """The clip as the tutorial's models saw it: OpenCV (BGR) frames / 255, batch of one."""
    rgb = read_clip(video, n=frames, size=size).pixels
    return (rgb[..., ::-1].astype(np.float32) / 255.0)[None]


@pytest.fixture(scope="module")
def keras2(tmp_path_factory) -> dict:
    """{name: (h5 path, Keras 2 probabilities on the video)} plus "video", built once."""
    root = tmp_path_factory.mktemp("keras2")
    video = write_mp4(root / "clip.mp4", (index_frame(i, (160, 120)) for i in range(90)), fps=25)
    specs = []
    for name, (file, builder, frames, size, classes, old) in SPECS.items():
        np.save(root / f"{name}.clip.npy", bgr_clip(video, frames, size))
        specs.append(
            {
                "name": name,
                "file": file,
                "builder": builder,
                "classes": classes,
                "clip": str(root / f"{name}.clip.npy"),
                "old_format": old,
            }
        )
    (root / "spec.json").write_text(json.dumps(specs))
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    script = Path(__file__).with_name("keras2_models.py")
    proc = subprocess.run(
        [sys.executable, str(script), str(root / "spec.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().startswith("2."), proc.stdout  # really Keras 2
    built = {n: (root / SPECS[n][0], np.load(root / f"{n}.probs.npy")) for n in SPECS}
    return {**built, "video": video}


@pytest.fixture(autouse=True)
def models_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("HAR_MODELS_DIR", str(folder))
    return folder


def snapshot(folder: Path) -> list[tuple[str, int]]:
    """Every file in the folder (hidden temp files too) with its size."""
    if not folder.exists():
        return []
    return sorted((p.name, p.stat().st_size) for p in folder.iterdir())


def import_cli(h5: Path, classes, *extra: str) -> int:
    return main(["import", str(h5), "--classes", *classes, *extra])


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "name, drop_time_major, message",
    [
        ("lrcn20", False, "Unrecognized keyword arguments passed to LSTM: {'time_major': False}"),
        ("convlstm20", False, "Unrecognized keyword arguments passed to ConvLSTM2D: {'time_major'"),
        ("lrcn30", True, "Could not locate class 'Conv2D'"),
        ("convlstm30", True, "expected ndim=5, found ndim=6"),
        ("mixed8x32", True, "int() argument must be a string, a bytes-like object or a real"),
    ],
)
def test_stock_keras3_rejects_the_keras2_files(keras2, name, drop_time_major, message):
    """Why har.legacy exists: Keras 3 alone cannot load these files; for the old-format ones,
    even with `time_major` taken care of, the next incompatibility stops it."""
    import keras

    from har.models.keras2 import REMOVED_ARGS, legacy_objects

    objects = {k: v for k, v in legacy_objects().items() if k in REMOVED_ARGS}
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        keras.models.load_model(
            keras2[name][0], custom_objects=objects if drop_time_major else None, compile=False
        )


def test_keras3_hard_sigmoid_alone_would_change_the_convlstm(keras2):
    """Loading without the gate rescaling runs but predicts differently: Keras 3's
    hard_sigmoid is x/6 + 0.5, Keras 2's 0.2x + 0.5 (the tutorial's ConvLSTM uses it)."""
    import keras

    from har.models.keras2 import legacy_objects

    h5, expected = keras2["convlstm20"]
    model = keras.models.load_model(h5, custom_objects=legacy_objects(), compile=False)
    clip = bgr_clip(keras2["video"], 20, (64, 64))
    assert np.abs(np.asarray(model(clip, training=False)) - expected).max() > 1e-4


@pytest.mark.parametrize("name", list(SPECS))
def test_import_matches_keras2(keras2, name, models_dir, capsys):
    import keras

    from har.models.registry import load_model

    file, builder, frames, (width, height), classes, _ = SPECS[name]
    h5, expected = keras2[name]
    assert import_cli(h5, classes) == 0
    out = capsys.readouterr().out
    assert f"{frames} frames of {width}x{height} BGR x/255" in out

    cards = list(models_dir.glob("*.json"))
    assert len(cards) == 1
    card = json.loads(cards[0].read_text())
    assert card["name"] == cards[0].stem
    check_name(card["name"], models_dir / "elsewhere")  # the default name is a valid one
    assert (card["architecture"], card["source"]["matches_paper_table"]) == DETECTED[builder]
    assert card["input_shape"] == [frames, height, width, 3]
    assert card["color_order"] == "BGR" and card["scaling"] == "x/255"
    assert card["class_names"] == classes
    assert card["dataset"]["kind"] == "imported"
    assert card["metrics"] == {}
    assert card["notes"].startswith("imported: trained outside HAR Studio, data and split unknown")
    assert card["synthetic"] is False
    assert card["source"]["file"] == file
    assert len(card["source"]["sha256"]) == 64
    assert card["created"] == card["source"]["imported"]
    assert card["training"]["keras_version"].startswith("2.")
    assert [row["class"] for row in card["layers"]][-1] == "Dense"
    assert sum(row["params"] for row in card["layers"]) == card["parameters"]

    # A native file of stock layers: safe mode, no custom objects.
    path = cards[0].with_suffix(".keras")
    model = keras.models.load_model(path, safe_mode=True, compile=False)
    for layer in model.layers:
        inner = getattr(layer, "layer", layer)
        assert type(layer).__module__.startswith("keras.") and type(inner).__module__.startswith(
            "keras."
        ), type(inner)
    probabilities = np.asarray(model(bgr_clip(keras2["video"], frames, (width, height))))
    np.testing.assert_allclose(probabilities, expected, atol=TOLERANCE)
    assert load_model(card["name"])[1].input_shape == [frames, height, width, 3]


def test_tutorial_file_name_gives_its_slug_and_options_are_kept(keras2, models_dir, capsys):
    h5 = keras2["lrcn20"][0]
    assert import_cli(h5, PAPER_CLASSES) == 0
    slug = "lrcn-model-date-time-2022-05-03-13-35-13-loss-0.43-accuracy-0.84"
    assert (models_dir / f"{slug}.keras").exists()
    # The same file again: the default name moves aside instead of failing.
    assert import_cli(h5, PAPER_CLASSES, "--color", "rgb") == 0
    card = json.loads((models_dir / f"{slug[:62].rstrip('.')}-2.json").read_text())
    assert card["color_order"] == "RGB"
    assert import_cli(h5, PAPER_CLASSES, "--name", "my-lrcn") == 0
    assert (models_dir / "my-lrcn.keras").exists()
    before = snapshot(models_dir)
    assert import_cli(h5, PAPER_CLASSES, "--name", "my-lrcn") == 1
    assert "exists" in one_error_line(capsys)
    assert snapshot(models_dir) == before


def _text_as_h5(folder: Path) -> Path:
    path = folder / "model.h5"
    path.write_text("this is not a model\n")
    return path


def _hdf5_without_model(folder: Path) -> Path:
    path = folder / "data.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("frames", data=np.zeros((4, 8), np.float32))
        f.attrs["note"] = "no model here"
    return path


@pytest.mark.parametrize(
    "make, classes, message",
    [
        (_text_as_h5, THREE, "is not an HDF5 file"),
        (_hdf5_without_model, THREE, "holds no Keras model"),
        (None, THREE, "predicts 4 classes but 3 names were given"),
        (None, ["Punch"], "two or more"),
        (None, ["Punch", "Punch", "Swing", "TaiChi"], "appears twice"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_registry_unchanged(
    keras2, tmp_path, models_dir, capsys, make, classes, message
):
    models_dir.mkdir()
    (models_dir / "keep.txt").write_text("already here")
    before = snapshot(models_dir)
    h5 = make(tmp_path) if make else keras2["lrcn20"][0]
    assert import_cli(h5, classes) == 1
    assert message in one_error_line(capsys)
    assert snapshot(models_dir) == before


@pytest.mark.parametrize("name", ["lrcn20", "convlstm30"])
def test_exports_reproduce_keras_probabilities(keras2, name, tmp_path, capsys):
    import tensorflow as tf

    _, _, frames, size, classes, _ = SPECS[name]
    h5, expected = keras2[name]
    assert import_cli(h5, classes, "--name", "mine") == 0
    clip = bgr_clip(keras2["video"], frames, size)

    out = tmp_path / "sm"
    assert main(["export", "mine", "--format", "savedmodel", "--out", str(out)]) == 0
    saved = tf.saved_model.load(str(out / "saved_model"))
    np.testing.assert_allclose(saved.serve(clip).numpy(), expected, atol=TOLERANCE)

    out = tmp_path / "lite"
    assert main(["export", "mine", "--format", "tflite", "--out", str(out)]) == 0
    interpreter = tf.lite.Interpreter(model_path=str(out / "mine.tflite"))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], clip)
    interpreter.invoke()
    lite = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(lite, expected, atol=TOLERANCE)

    card = json.loads((out / "mine.json").read_text())
    assert card["class_names"] == classes and card["color_order"] == "BGR"
    readme = (out / "README.md").read_text()
    assert f"(1, {frames}, {size[1]}, {size[0]}, 3)" in readme
    assert "**BGR**" in readme and "**x/255**" in readme
    assert all(f". {c}" in readme for c in classes)


def test_export_of_a_missing_model_is_one_line(tmp_path, capsys):
    assert main(["export", "nope", "--format", "tflite", "--out", str(tmp_path / "x")]) == 1
    assert "No model 'nope'" in one_error_line(capsys)


def test_the_one_door_feeds_each_imported_model_its_own_bgr_frames(keras2, models_dir):
    """predict_video decodes once and gives the 20- and 30-frame imports what Keras 2 saw."""
    from har.inference import load_predictors, predict_video

    for name in ("lrcn20", "convlstm30"):
        assert import_cli(keras2[name][0], SPECS[name][4], "--name", name) == 0
    result = predict_video(
        keras2["video"], load_predictors(["lrcn20", "convlstm30", "lrcn-paper4"])
    )
    assert len(result.clips) == 2  # 20x64x64 (RGB for ours, BGR for lrcn20) share one sample
    for name in ("lrcn20", "convlstm30"):
        got = result.predictions[name].probabilities
        np.testing.assert_allclose(got, keras2[name][1][0], atol=TOLERANCE)


def test_import_through_the_app_then_predict_side_by_side(
    keras2, models_dir, tmp_path, monkeypatch
):
    """The Models page imports by server path; Predict then shows the imports beside ours,
    with a frame grid per input spec."""
    from streamlit.testing.v1 import AppTest

    from app_common import forget_models
    from har.config import REPO_ROOT

    monkeypatch.setenv("HAR_DATA_ROOTS", str(keras2["video"].parent))
    monkeypatch.setenv("HAR_CACHE_DIR", str(tmp_path / "cache"))
    forget_models()
    at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=300).run()
    at.switch_page("pages/4_Models.py").run()
    for name, pasted in (("lrcn20", "\n".join(PAPER_CLASSES)), ("convlstm30", ", ".join(THREE))):
        at.text_input(key="import_path").input(str(keras2[name][0]))
        at.text_area(key="import_classes").input(pasted)
        at.text_input(key="import_name").input(name)
        at.button[0].click().run()
        assert not at.exception
        assert any(f"Imported as **{name}**" in s.value for s in at.success), at.error
    at.text_input(key="import_path").input(str(keras2["video"]))  # not a model: one sentence
    at.text_area(key="import_classes").input("A, B")
    at.text_input(key="import_name").input("nope")
    at.button[0].click().run()
    assert at.error and not (models_dir / "nope.keras").exists()

    at.switch_page("pages/1_Predict.py").run()
    at.multiselect(key="models").set_value(["lrcn-paper4", "lrcn20", "convlstm30"]).run()
    at.selectbox(key="sample_class").set_value("TaiChi (sample)").run()
    assert not at.exception
    assert len([m for m in at.markdown if m.value.startswith("### ")]) == 3  # three answers
    grids = [m.value for m in at.markdown if m.value.startswith("**The ")]
    assert len(grids) == 2 and any("30 frames" in g and "convlstm30" in g for g in grids)
    assert any("lrcn20 get them in BGR order" in g for g in grids)
    captions = [c.value for c in at.caption]
    assert sum("data and split unknown" in c for c in captions) == 2  # both imports say so
    forget_models()
