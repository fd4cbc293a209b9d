"""Pages a class can read (issue 22): chart labels at 1280 px, readable tables, the default
clip, the layer drawings, the sidebar, the Models page's import."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_browser import server  # noqa: F401  (a fixture)

from har.config import REPO_ROOT, SAMPLES_DIR, SHIPPED_MODELS_DIR
from har.inference.prediction import Prediction
from har.visualization.charts import LABEL_SIZE, agreement_strip, grouped_probabilities

FIRST_SAMPLE_NAME = "Swing_1.mp4"
PAPER4 = ["convlstm-paper4", "lrcn-paper4"]
CLASSES = ["WalkingWithDog", "TaiChi", "Swing", "HorseRace"]


def prediction(name: str, probs) -> Prediction:
    return Prediction(name, "lrcn", CLASSES, np.array(probs, dtype=np.float32), 0.0)


@pytest.mark.parametrize("models", [2, 3])
def test_probability_chart_labels_are_readable_at_1280(models):
    probs = [[0.86, 0.1, 0.03, 0.01], [0.02, 0.9, 0.05, 0.03], [0.25, 0.25, 0.25, 0.25]]
    fig = grouped_probabilities([prediction(f"m{i}", probs[i]) for i in range(models)])
    layout = fig.layout
    for bar in fig.data:  # a short bar's label is beside it, level, full size
        assert bar.textposition == "outside" and bar.textangle == 0
        assert bar.textfont.size >= 12 and bar.cliponaxis is False
    assert layout.uniformtext.minsize >= 12 and layout.uniformtext.mode == "show"
    assert layout.xaxis.range[1] > 1.1  # room past 100 % for "100%"
    # the legend above the plot, where the axis title can never be
    assert layout.legend.orientation == "h" and layout.legend.y >= 1.0
    assert layout.legend.yanchor == "bottom"
    plot_px = layout.height - layout.margin.t - layout.margin.b - 60  # axis + title below
    rows = len(CLASSES) * models
    bar_px = plot_px / len(CLASSES) * (1 - layout.bargap) / models
    assert bar_px >= LABEL_SIZE + 4, bar_px  # a 14 px label fits beside its bar
    assert list(fig.data[0].y) == CLASSES and rows == len(fig.data) * len(CLASSES)


def test_agreement_strip_marks_each_window_not_only_by_color():
    class Timeline:
        probabilities = {"a": np.array([[0.9, 0.1], [0.2, 0.8]]), "b": np.array([[0.6, 0.4]] * 2)}
        centres, duration = [0.5, 1.5], 2.0

        def agreement(self):
            return [True, False]

        def top_classes(self, m):
            return ["X" if p[0] > p[1] else "Y" for p in self.probabilities[m]]

    heat = agreement_strip(Timeline()).data[0]
    assert list(heat.text[0]) == ["✓", "✗"] and heat.texttemplate == "%{text}"


def test_whatif_table_has_words_for_headers_and_one_number_format():
    from har.explain.whatif import WhatIf
    from har.visualization.tables import WHATIF_COLUMNS, whatif_table

    w = WhatIf(
        "convlstm-paper4",
        ["A", "B", "C"],
        {
            "original": np.array([0.8713, 0.1, 0.0287]),
            "reversed": np.array([0.749, 0.03, 0.221]),
        },
    )
    table = whatif_table([w])
    assert list(table[0]) == list(WHATIF_COLUMNS)
    assert all(not re.search(r"_|p\(", h) for h in table[0])  # no code names
    numbers = [v for row in table for k, v in row.items() if k in ("Confidence", "Change")]
    numbers += [row["Original answer's probability"] for row in table]
    assert all(re.fullmatch(r"\d{1,3}\.\d %", v) for v in numbers), numbers
    assert table[1]["Original answer's probability"] == "74.9 %"
    assert table[1]["Change"] == "19.2 %"  # (0.1223 + 0.07 + 0.1923) / 2


def test_layer_drawing_matches_the_papers_tables():
    from har.models.registry import load_card
    from har.models.summary import input_shape, layer_graph, layer_lines, layer_rows

    for name, total, first in (("convlstm-paper4", 44_524, 1024), ("lrcn-paper4", 73_060, 448)):
        path = SHIPPED_MODELS_DIR / f"{name}.keras"
        rows = layer_rows(path)
        assert sum(r.params for r in rows) == total == load_card(path).parameters
        assert rows[0].params == first and rows[-1].output_shape == (4,)
        dot = layer_graph(rows, input_shape(path))
        assert dot.startswith("digraph") and "20 frames of 64x64x3" in dot
        assert dot.count(" -> ") == len(rows)
        assert len(layer_lines(rows)) == len(rows)
    lrcn = layer_rows(SHIPPED_MODELS_DIR / "lrcn-paper4.keras")
    assert [r.output_shape for r in lrcn if r.kind == "Flatten"] == [(20, 64)]
    assert all(r.per_frame for r in lrcn if r.kind == "Conv2D")


def test_the_first_sample_comes_first_in_the_gallery():
    from app_common import FIRST_SAMPLE, first_sample_first
    from har.data.samples import list_samples

    ordered = first_sample_first(list_samples())
    assert next(iter(ordered.values()))[0].name == FIRST_SAMPLE
    assert sorted(ordered) == sorted(list_samples())


@pytest.mark.slow
def test_the_default_clip_is_one_both_default_models_get_right():
    """The first thing a class sees on Predict: both paper4 models right, with confidence."""
    from app_common import FIRST_SAMPLE
    from har.inference import Predictor, predict_video

    predictors = {n: Predictor.from_registry(SHIPPED_MODELS_DIR / f"{n}.keras") for n in PAPER4}
    result = predict_video(SAMPLES_DIR / FIRST_SAMPLE, predictors)
    truth = FIRST_SAMPLE.rsplit("_", 1)[0]
    for name, answer in result.predictions.items():
        assert answer.top_class == truth, (name, answer.top_class)
        assert not answer.uncertain, (name, answer.confidence)


@pytest.mark.slow
def test_predict_opens_on_the_default_clip_both_right(isolated_app):
    from app_common import FIRST_SAMPLE

    at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=240).run()
    at.switch_page("pages/1_Predict.py").run()
    assert not at.exception
    assert at.selectbox(key="sample_clip").value.name == FIRST_SAMPLE
    answers = [m.value for m in at.markdown if m.value.startswith("### ")]
    assert len(answers) == 2 and all("right" in a for a in answers), answers


def test_home_draws_each_models_layers_and_the_frames_it_sees(isolated_app):
    at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=120).run()
    assert not at.exception
    shipped = len(list(SHIPPED_MODELS_DIR.glob("*.keras")))
    charts = at.get("graphviz_chart")
    assert shipped == 4 and len(charts) == shipped  # one drawing per shipped model
    assert len(at.image) == shipped * 20 or len(at.get("imgs")) == shipped  # 20 frames each
    words = " ".join(m.value for m in at.markdown)
    assert "ConvLSTM2D (4 filters 3x3, tanh): out 20x62x62x4, 1,024 parameters" in words
    assert "20 frames of 64x64" in words


def test_import_pressed_before_the_file_arrived_waits_for_it(isolated_app, tmp_path):
    at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=120).run()
    at.switch_page("pages/4_Models.py").run()
    assert not at.exception
    assert len(at.get("expandable")) == 0 or all(
        not e.label.endswith("paper4") for e in at.expander
    )  # the cards are in view, not folded away
    assert sum(m.value.startswith("#### ") for m in at.markdown) == 4  # every shipped card
    at.button[0].click().run()  # Import with no file yet (as while it uploads)
    assert not at.error
    assert any("still uploading" in i.value for i in at.info)
    assert at.session_state["import_wanted"] is True  # goes ahead when the file arrives


def test_models_export_is_one_download_button(isolated_app):
    at = AppTest.from_file(REPO_ROOT / "streamlit_app.py", default_timeout=120).run()
    at.switch_page("pages/4_Models.py").run()
    assert not at.exception
    assert not any("Prepare" in b.label for b in at.button)  # no convert-then-download
    downloads = at.get("download_button")
    assert len(downloads) == 1
    assert downloads[0].proto.label == "Download convlstm-paper4-tflite.zip"


def test_timeline_subtitles_follow_the_windows():
    from har.explain.annotate import timeline_vtt

    class Timeline:
        probabilities = {
            "convlstm": np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]),
            "lrcn": np.array([[0.8, 0.2], [0.8, 0.2], [0.1, 0.9]]),
        }
        centres, duration = [1.0, 2.0, 3.0], 4.0

        def top_classes(self, m):
            return ["Swing" if p[0] > p[1] else "TaiChi" for p in self.probabilities[m]]

        def confidences(self, m):
            return [float(p.max()) for p in self.probabilities[m]]

    vtt = timeline_vtt(Timeline())
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nconvlstm: Swing 90%")
    assert "00:00:01.500 --> 00:00:02.500\nconvlstm: TaiChi 70%\nlrcn: Swing 80%" in vtt
    assert "00:00:02.500 --> 00:00:04.000\nconvlstm: Swing 60%\nlrcn: TaiChi 90%" in vtt


def test_annotated_mp4_has_the_answers_drawn_on_it(tmp_path):
    import av

    from har.explain.annotate import annotate_video

    seen = []

    def lines_at(seconds):
        seen.append(seconds)
        return ["convlstm-paper4: Swing 100%", "lrcn-paper4: Swing 99%"]

    out = annotate_video(SAMPLES_DIR / FIRST_SAMPLE_NAME, tmp_path / "a.mp4", lines_at)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frame = next(container.decode(stream)).to_ndarray(format="rgb24")
    assert len(seen) > 20 and seen[0] == 0.0
    band = frame[-40:]
    assert band.max() > 200 and np.median(band) < 80  # white text on a dark band


@pytest.mark.browser
@pytest.mark.slow
def test_sidebar_folder_edits_in_a_row_in_a_browser(server):  # noqa: F811
    """Issue 22's steps in Chromium: each edit + Enter stays, none snaps back."""
    from playwright.sync_api import expect, sync_playwright
    from test_browser import CHROMIUM, FLAGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(server, timeout=60_000)
        box = page.get_by_test_id("stSidebar").get_by_role("textbox", name="UCF50/UCF101 folder")
        expect(box).to_be_visible(timeout=120_000)
        for text in ("/root/a1", "/root/a2", "/root/a3", ""):
            box.fill(text)
            box.press("Enter")
            if text:
                expect(page.get_by_test_id("stSidebar").get_by_text(text).first).to_be_visible(
                    timeout=60_000
                )  # its own error, so the run for this text is done
            else:
                expect(page.get_by_text("No UCF folder set").first).to_be_visible(timeout=60_000)
            page.wait_for_load_state("networkidle")
            expect(box).to_have_value(text)
        browser.close()


# how many lines each answer heading's first word (the class name) takes in the browser
FIRST_WORD_LINES = """() => Array.from(
  document.querySelectorAll('[data-testid="stMain"] h3')).map(h => {
  const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
  let node = walker.nextNode();
  while (node && !node.textContent.trim()) node = walker.nextNode();
  if (!node) return [h.textContent, 0];
  const text = node.textContent, start = text.search(/\\S/);
  const end = text.indexOf(" ", start) < 0 ? text.length : text.indexOf(" ", start);
  const range = document.createRange();
  range.setStart(node, start); range.setEnd(node, end);
  const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
  return [text.slice(start, end), tops.size];
})"""


@pytest.mark.browser
@pytest.mark.slow
def test_three_answers_keep_each_class_name_on_one_line_at_1280(server):  # noqa: F811
    """Issue 22.2: with three models, 'WalkingWithDog' broke mid-word in the answer cards."""
    from playwright.sync_api import expect, sync_playwright
    from test_browser import CHROMIUM, FLAGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{server}/Predict", timeout=60_000)
        expect(page.get_by_text("% confidence")).to_have_count(2, timeout=180_000)
        page.get_by_test_id("stSelectbox").filter(has_text="Class").click()
        page.get_by_role("option", name="WalkingWithDog (sample)").click()  # a long name
        expect(page.get_by_text("true class WalkingWithDog")).to_be_visible(timeout=60_000)
        picker = page.get_by_test_id("stMultiSelect").filter(has_text="Models")
        picker.locator("input").fill("lrcn-ucf6")
        picker.locator("input").press("Enter")
        page.keyboard.press("Escape")
        expect(page.get_by_text("% confidence")).to_have_count(3, timeout=120_000)
        page.wait_for_load_state("networkidle")
        words = page.evaluate(FIRST_WORD_LINES)
        assert len(words) == 3 and all(lines == 1 for _, lines in words), words
        assert any(word == "WalkingWithDog" for word, _ in words), words
        browser.close()


def shared_helpers_page():
    """A page drawing app_common's frame grid and skipped-files list (run by AppTest)."""
    import numpy as np

    from app_common import frame_grid_ui, skipped_ui

    frame_grid_ui(np.zeros((20, 8, 8, 3), np.uint8), [f"#{i}" for i in range(20)], size=32)
    skipped_ui([])  # nothing skipped: nothing drawn
    skipped_ui([("a/v_x.avi", "not a video"), ("b.mp4", "misnamed")])


def test_the_frame_grid_and_the_skipped_list_are_drawn_once_for_every_page():
    at = AppTest.from_function(shared_helpers_page).run()
    assert not at.exception
    assert len(at.image) == 20  # two rows of ten, each frame enlarged
    assert [i.proto.imgs[0].caption for i in at.image][:2] == ["#0", "#1"]
    assert len(at.expander) == 1 and at.expander[0].label.startswith("2 file(s) skipped")
    assert at.dataframe[0].value.values.tolist() == [
        ["a/v_x.avi", "not a video"],
        ["b.mp4", "misnamed"],
    ]
