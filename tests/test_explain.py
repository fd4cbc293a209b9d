"""har.explain: timeline windows, occlusion, what-if, saliency; its CLI and its page.

Real TensorFlow with the shipped models, on videos the tests write.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
from conftest import decoded_index
from test_browser import CHROMIUM, FLAGS, server  # noqa: F401  (server: a fixture)

import har.explain.timeline
from har.config import REPO_ROOT, SAMPLES_DIR
from har.data.video import read_frames, sample_indices
from har.errors import SettingsError, VideoError
from har.explain import report as report_module
from har.explain import timeline as timeline_module
from har.explain.occlusion import occlusion, occlusion_variants
from har.explain.report import explain_clips
from har.explain.saliency import saliency
from har.explain.timeline import timeline, window_bounds, window_frames
from har.explain.whatif import WHATIF_NOTE, WHATIF_VARIANTS, whatif, whatif_variants
from har.visualization.tables import WHATIF_COLUMNS

LRCN, CONVLSTM = "lrcn-paper4", "convlstm-paper4"


@pytest.fixture(scope="module")
def predictors():
    from har.inference import load_predictors
    from har.utils.quiet import import_tensorflow

    import_tensorflow()
    return load_predictors([LRCN, CONVLSTM])


@pytest.fixture(scope="module")
def clips(predictors):
    """The 20 frames of two shipped samples the models see: {sample: {model: pixels}}."""
    from har.inference import predict_video

    out = {}
    for sample in ("TaiChi_1", "Swing_1"):
        result = predict_video(SAMPLES_DIR / f"{sample}.mp4", predictors)
        out[sample] = {n: result.clip_for(n).pixels for n in predictors}
    return out


# ---------------------------------------------------------------- window arithmetic


def test_window_bounds_at_the_edges():
    assert window_bounds(50, 62, 31) == [(0, 50)]  # shorter than a window: the whole video
    assert window_bounds(62, 62, 31) == [(0, 62)]
    assert window_bounds(93, 62, 31) == [(0, 62), (31, 93)]  # ends on the grid: no partial
    assert window_bounds(94, 62, 31) == [(0, 62), (31, 93), (62, 94)]  # last partial window
    assert window_bounds(100, 40, 60) == [(0, 40), (60, 100)]  # stride beyond the window
    assert window_bounds(1, 62, 31) == [(0, 1)]
    assert window_frames(25.0, 2.5) == (62, 31)  # seconds; the stride defaults to half
    assert window_frames(0.0, 2.0, 0.5) == (50, 12)  # fps unknown: 25 assumed
    assert window_frames(30.0, 40, 10, unit="frames") == (40, 10)
    with pytest.raises(VideoError, match="no frames"):
        window_bounds(0, 10, 5)
    for bad in (lambda: window_bounds(10, 0, 5), lambda: window_frames(25, -1)):
        with pytest.raises(SettingsError):
            bad()


@pytest.mark.parametrize(
    "n_frames, expected",
    [(100, [(0, 40), (20, 60), (40, 80), (60, 100)]), (90, [(0, 40), (20, 60), (40, 80), (60, 90)]),
     (30, [(0, 30)])],
)  # fmt: skip
def test_timeline_samples_each_window_from_one_streaming_decode(
    predictors, make_video, n_frames, expected
):
    video = make_video(n_frames, "H264", ".mp4")  # every frame shows its own number
    seen = []
    tl = timeline(
        video,
        {LRCN: predictors[LRCN]},
        window=40,
        stride=20,
        unit="frames",
        keep_clips=True,
        progress=lambda done, total: seen.append((done, total)),
        batch_windows=2,  # several predict_batch calls, windows completing between them
    )
    assert tl.bounds == expected and tl.frame_count == n_frames
    assert tl.peak_frames <= 2 * 20  # frames of the windows in flight, not of the video
    assert seen[-1] == (n_frames, n_frames)
    frames = tl.clips[(20, 64, 64)]
    assert frames.shape == (len(expected), 20, 64, 64, 3)
    for k, (start, stop) in enumerate(expected):
        want = [start + i for i in sample_indices(stop - start, 20)]
        assert tl.window_indices(k, 20) == want
        assert [decoded_index(f) for f in frames[k]] == want
    # the same pixels as the file's own sampling: one resize (har.data.video.resize) for both
    first = tl.window_indices(0, 20)
    found = read_frames(video, {i: {(64, 64)} for i in first})
    assert np.array_equal(frames[0], np.stack([found[i, (64, 64)] for i in first])[..., ::-1])
    d = json.loads(json.dumps(tl.to_dict()))
    assert [w["start_seconds"] for w in d["windows"]] == [s / 25 for s, _ in expected]
    assert [w["partial"] for w in d["windows"]] == [
        (e - s) < 40 and len(expected) > 1 for s, e in expected
    ]
    top = d["windows"][0]["predictions"][LRCN]
    assert top["top_class"] in tl.class_names[LRCN]
    assert abs(sum(top["probabilities"].values()) - 1) < 1e-3


def test_window_clips_shared_by_sessions_give_each_its_own_window(make_video):
    """Explain caches one WindowClips per video for every session: readers on several threads,
    each slider on another window, all get their window's frames and nothing fails while the
    store of recent windows turns over."""
    import threading
    import time
    from collections import OrderedDict

    from har.explain.windows import WindowClips

    video = make_video(120, "H264", ".mp4")
    bounds = [(s, s + 20) for s in range(0, 100, 10)]  # 10 windows, more than KEEP
    clips = WindowClips(str(video), bounds, [(4, 32, 32)])

    class Handover(OrderedDict):
        """Every look at the store lets other threads run before its answer is used."""

        def __contains__(self, key):
            found = super().__contains__(key)
            time.sleep(0.001)
            return found

        def get(self, key, default=None):
            found = super().get(key, default)
            time.sleep(0.001)
            return found

    clips._recent = Handover()
    assert len(bounds) > WindowClips.KEEP
    errors, checked = [], []

    def reader(offset: int) -> None:
        try:
            for step in range(80):
                k = (offset + step * 3) % len(bounds)
                frames = clips[(4, 32, 32)][k]
                start, stop = bounds[k]
                want = [start + i for i in sample_indices(stop - start, 4)]
                got = [decoded_index(f, size=(160, 120)) for f in frames]
                assert got == want, (k, got, want)
                checked.append(k)
        except Exception as error:  # noqa: BLE001  (collected, then asserted)
            errors.append(repr(error))

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(checked) == 6 * 80
    assert len(clips._recent) <= WindowClips.KEEP


@pytest.mark.parametrize("error", [-7, 7])
def test_timeline_redoes_the_pass_when_the_frame_count_hint_is_wrong(
    predictors, make_video, monkeypatch, error
):
    video = make_video(90, "H264", ".mp4")
    monkeypatch.setattr(
        har.explain.timeline, "count_packets", lambda path: 90 + error
    )  # a lying demuxer
    tl = timeline(video, [predictors[LRCN]], window=40, stride=20, unit="frames")
    assert tl.frame_count == 90 and tl.bounds == [(0, 40), (20, 60), (40, 80), (60, 90)]
    assert tl.probabilities[LRCN].shape == (4, 4)


@pytest.mark.slow
def test_timeline_finds_where_the_action_changes(predictors, tmp_path):
    from har.data.encode import write_mp4
    from har.data.synthetic import render_clip

    first, second = render_clip("TaiChi", group=2, seconds=5), render_clip("Swing", 2, seconds=5)
    video = write_mp4(tmp_path / "two.mp4", np.concatenate([first, second]), fps=25)
    tl = timeline(video, predictors)  # both models, the default 2.5 s window
    assert set(tl.probabilities) == {LRCN, CONVLSTM}
    tops = tl.top_classes(LRCN)
    before = [t for t, e in zip(tops, tl.ends, strict=True) if e <= 5.0]
    after = [t for t, s in zip(tops, tl.starts, strict=True) if s >= 5.0]
    assert before.count("TaiChi") > len(before) / 2 and set(after) == {"Swing"}
    change = next(c for t, c in zip(tops, tl.centres, strict=True) if t == "Swing")
    assert abs(change - 5.0) <= 1.5, (change, tops)
    assert len(tl.agreement()) == len(tl.bounds)


# ---------------------------------------------------------------- variants


def test_occlusion_and_whatif_variants_are_built_right():
    rng = np.random.default_rng(1)
    clip = rng.integers(0, 256, (20, 8, 6, 3), dtype=np.uint8)
    occluded = occlusion_variants(clip)
    mean = np.round(clip.astype(np.float32).mean(axis=0)).astype(np.uint8)
    assert occluded.shape == (20, 20, 8, 6, 3)
    for t in range(20):
        others = [i for i in range(20) if i != t]
        assert np.array_equal(occluded[t, t], mean)
        assert np.array_equal(occluded[t, others], clip[others])

    v = whatif_variants(clip, seed=3)
    assert tuple(v) == WHATIF_VARIANTS
    assert all(x.shape == clip.shape for x in v.values())
    assert np.array_equal(v["original"], clip) and np.array_equal(v["reversed"], clip[::-1])
    order = [next(i for i in range(20) if np.array_equal(f, clip[i])) for f in v["shuffled"]]
    assert sorted(order) == list(range(20)) and order != list(range(20))
    assert np.array_equal(whatif_variants(clip, seed=3)["shuffled"], v["shuffled"])
    assert all(np.array_equal(f, clip[10]) for f in v["still"])  # one frame 20 times
    assert np.array_equal(v["mirrored"], clip[:, :, ::-1])
    assert np.array_equal(v["slowed"], clip[[i // 2 for i in range(20)]])  # first half, each x2


def test_occlusion_and_whatif_are_one_batch_per_model(predictors, clips):
    for name, predictor in predictors.items():
        calls = []
        original = predictor.predict_batch

        def counting(batch, batch_size=32, _original=original, _calls=calls):
            _calls.append(len(batch))
            return _original(batch, batch_size)

        predictor.predict_batch = counting
        try:
            occ = occlusion(predictor, clips["TaiChi_1"][name])
            what = whatif(predictor, clips["TaiChi_1"][name])
        finally:
            del predictor.predict_batch
        assert calls == [21, 6]  # the original and 20 occluded clips; 6 what-if clips
        assert occ.drops.shape == (20,) and np.isfinite(occ.drops).all()
        assert occ.replacement == "mean frame" and occ.class_name in predictor.card.class_names
        rows = what.rows()
        assert [r["variant"] for r in rows] == list(WHATIF_VARIANTS)
        assert rows[0]["change"] == 0 and all(0 <= r["change"] <= 1 for r in rows)


# ---------------------------------------------------------------- saliency


@pytest.mark.slow
def test_saliency_maps_per_frame_for_both_models(predictors, clips):
    import keras

    for name, predictor in predictors.items():
        a = saliency(predictor, clips["TaiChi_1"][name])
        b = saliency(predictor, clips["Swing_1"][name])
        assert a.method == "grad-cam" and a.layer
        layer = next(lyr for lyr in predictor.model.layers if lyr.name == a.layer)
        if predictor.card.architecture == "lrcn":  # the last TimeDistributed(Conv2D)
            kind = [
                lyr
                for lyr in predictor.model.layers
                if isinstance(lyr, keras.layers.TimeDistributed)
                and isinstance(lyr.layer, keras.layers.Conv2D)
            ]
        else:  # the last ConvLSTM2D
            kind = [
                lyr for lyr in predictor.model.layers if isinstance(lyr, keras.layers.ConvLSTM2D)
            ]
        assert layer is kind[-1]
        for s in (a, b):
            assert s.maps.shape == (20, 64, 64) and s.maps.dtype == np.float32
            assert np.isfinite(s.maps).all() and s.maps.min() >= 0 and s.maps.max() <= 1
            assert s.maps.std() > 0.01  # not constant
            assert s.weights.shape == (20,) and s.weights.max() == pytest.approx(1.0)
        assert np.abs(a.maps - b.maps).mean() > 0.05  # two clips, two different maps


@pytest.mark.slow
def test_saliency_falls_back_to_gradient_x_input(predictors, clips):
    import keras

    from har.inference import Predictor

    model = keras.Sequential(
        [
            keras.Input((20, 64, 64, 3)),
            keras.layers.TimeDistributed(keras.layers.AveragePooling2D(8)),
            keras.layers.TimeDistributed(keras.layers.Flatten()),
            keras.layers.LSTM(8),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )
    card = replace(predictors[LRCN].card, name="no-conv", architecture="custom")
    s = saliency(Predictor.from_model(model, card), clips["TaiChi_1"][LRCN])
    assert s.method == "gradient x input" and s.layer is None
    assert s.maps.shape == (20, 64, 64) and np.isfinite(s.maps).all() and s.maps.std() > 0


# ---------------------------------------------------------------- CLI and page


@pytest.mark.slow
def test_cli_timeline_and_explain_write_what_they_promise(tmp_path, capsys):
    from har.cli import main

    video = SAMPLES_DIR / "TaiChi_1.mp4"
    assert main(["timeline", str(video), "--model", LRCN, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["window_frames"] == 62 and len(d["windows"]) == 2
    assert main(["timeline", str(video), "--model", LRCN, "--window", "30f", "--csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [r["window"] for r in rows] == ["0", "1", "2", "3"] and rows[0]["model"] == LRCN
    assert main(["timeline", str(tmp_path / "none.mp4")]) == 1
    assert capsys.readouterr().err.startswith("error: No such file")

    out = tmp_path / "explained"
    assert main(["explain", str(video), "--out", str(out)]) == 0  # default: the shipped pair
    capsys.readouterr()
    summary = json.loads((out / "explain.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == sorted(summary["files"])
    for name in (LRCN, CONVLSTM):
        for kind in ("frames", "saliency"):
            image = cv2.imread(str(out / f"{kind}_{name}.png"))
            assert image.shape == (2 * 128 + 2, 10 * 128 + 9 * 2, 3)
    occlusion = list(csv.DictReader((out / "occlusion.csv").open()))
    assert len(occlusion) == 40 and {r["replacement"] for r in occlusion} == {"mean frame"}
    assert [r["source_frame"] for r in occlusion[:3]] == ["0", "3", "6"]
    whatif = list(csv.DictReader((out / "whatif.csv").open()))
    assert [r["variant"] for r in whatif] == list(WHATIF_VARIANTS) * 2
    assert json.loads((out / "whatif.json").read_text())["note"] == WHATIF_NOTE
    layers = {m["model"]: m["saliency"]["layer"] for m in summary["models"]}
    assert all(layers.values())


@pytest.mark.slow
def test_explain_page_for_both_models(isolated_app, monkeypatch):
    from streamlit.testing.v1 import AppTest

    calls = {"timeline": 0, "explain": 0}

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(timeline_module, "timeline", counted("timeline", timeline))
    monkeypatch.setattr(report_module, "explain_clips", counted("explain", explain_clips))
    at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=240).run()
    at.switch_page("pages/5_Explain.py").run()
    assert not at.exception and not at.error
    assert sorted(at.multiselect(key="explain_models").value) == [CONVLSTM, LRCN]
    at.selectbox(key="explain_class").set_value("Swing").run()
    assert not at.exception and not at.error
    markdown = " ".join(m.value for m in at.markdown)
    assert "Grad-CAM on layer" in markdown and markdown.count("Grad-CAM on layer") == 2
    # the answer first: both models' classes before any chart
    first_chart = next(i for i, e in enumerate(at.main) if e.type == "plotly_chart")
    assert (
        sum(
            m.value.startswith("#### ") for m in list(at.main)[:first_chart] if m.type == "markdown"
        )
        == 2
    )
    # the whole video's and the window's probabilities, two timelines, agreement, occlusion,
    # what-if
    assert len(at.get("plotly_chart")) == 7
    assert len(at.image) == 20 + 20 + 2 * 20  # window frames, occlusion grid, two overlays
    table = at.table[0].value  # the what-if table: headers in words, one number format
    assert list(table.columns) == list(WHATIF_COLUMNS)
    assert len(table) == 2 * len(WHATIF_VARIANTS)
    assert table["Change"].str.fullmatch(r"\d{1,3}\.\d %").all()
    markdown = " ".join(m.value for m in at.markdown)
    assert "white circle" in markdown and "**Change**" in markdown
    videos = at.get("video")  # the player, with the timeline as subtitles
    assert len(videos) == 1 and len(videos[0].proto.subtitles) == 1
    computed = dict(calls)
    assert computed["timeline"] == 1 and computed["explain"] >= 1  # what is counted ran
    at.select_slider(key="explain_window_index").set_value(1).run()
    at.radio(key="explain_scope").set_value(at.radio(key="explain_scope").options[1]).run()
    assert not at.exception and not at.error
    assert any(WHATIF_NOTE in i.value for i in at.info)
    # Streamlit's caches: the timeline is not redone for another window, an explanation not
    # for a rerun with the same clips
    assert calls["timeline"] == computed["timeline"]
    explained = calls["explain"]
    at.run()
    assert not at.exception and calls == {**computed, "explain": explained}


@pytest.mark.slow
def test_explain_marks_an_unsure_answer_as_predict_does(isolated_app, tmp_path):
    """A model whose card sets its threshold above any answer: Explain's answer card says unsure,
    why, and what the model learned from, in the words Predict uses. The card is changed while
    the app runs (as `har calibrate` would): the next rerun judges by the new card."""
    import json

    from conftest import copy_shipped
    from streamlit.testing.v1 import AppTest

    calibration = {"temperature": 1.0, "uncertain_below": 0.01}
    path = copy_shipped(LRCN, tmp_path / "models", "picky", calibration=calibration)
    from app_common import forget_models

    forget_models()  # the loaders are cached per process, as in the server
    try:
        at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=240).run()
        at.switch_page("pages/5_Explain.py").run()
        at.multiselect(key="explain_models").set_value(["picky"]).run()
        assert not at.exception and not at.error
        assert not any(w.value.startswith("Unsure") for w in at.warning)
        card = json.loads(path.with_suffix(".json").read_text())
        card["calibration"]["uncertain_below"] = 0.9999
        path.with_suffix(".json").write_text(json.dumps(card))
        at.run()
        assert not at.exception and not at.error
        warnings = [w.value for w in at.warning]
        assert any(
            w.startswith("Unsure: none of its classes fits well (confidence below 100%, the")
            for w in warnings
        ), warnings
        assert any("trained on synthetic clips" in c.value for c in at.caption)
    finally:
        forget_models()


@pytest.mark.browser
@pytest.mark.slow
def test_explain_page_in_a_browser_shows_both_timelines(server, tmp_path):  # noqa: F811
    import os
    import shutil

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{server}/Explain", timeout=60_000)
        expect(page.get_by_text("UCF50/UCF101 folder", exact=True)).to_be_visible(timeout=120_000)
        charts = page.get_by_test_id("stPlotlyChart")
        expect(charts).to_have_count(7, timeout=240_000)
        shown = page.locator('[data-testid="stPlotlyChart"]:visible')  # not in a closed expander
        for name in (CONVLSTM, LRCN):  # each timeline heatmap is titled with its model
            expect(shown.filter(has_text=name).first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Grad-CAM on layer", exact=False)).to_have_count(2)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(tmp_path / "explain.png"), full_page=True)
        assert (tmp_path / "explain.png").stat().st_size > 10_000
        if os.environ.get("HAR_UPDATE_SCREENSHOT"):
            shutil.copy(tmp_path / "explain.png", REPO_ROOT / "docs" / "screenshot-explain.png")
        browser.close()
