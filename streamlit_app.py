"""HAR Studio: the home page. Run: streamlit run streamlit_app.py (the other pages: pages/)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_common import FIRST_SAMPLE, card_summary, frame_grid_ui, model_cards, setup_page
from har.config import SAMPLES_DIR
from har.data.video import read_clip
from har.errors import HarError
from har.models.summary import input_shape, layer_graph, layer_lines, layer_rows
from har.utils.text import escape_markdown


@st.cache_data(show_spinner=False)
def model_drawing(path: str, mtime: float) -> tuple[str, list[str]]:
    """The model's layers as Graphviz DOT and as words (read from the file, no TensorFlow)."""
    rows = layer_rows(path)
    return layer_graph(rows, input_shape(path)), layer_lines(rows)


@st.cache_data(show_spinner=False)
def sample_frames(path: str, frames: int, width: int, height: int):
    """The frames a model of this input spec sees in one clip (decoded once per server)."""
    return read_clip(path, frames, (width, height))


def frames_ui(card) -> None:
    """The frames this model sees for the first built-in sample, in two rows of ten."""
    frames, height, width, _ = card.input_shape
    sample = SAMPLES_DIR / FIRST_SAMPLE
    if not sample.exists():
        return
    clip = sample_frames(str(sample), int(frames), int(width), int(height))
    st.markdown(
        f"**What it sees**: {frames} frames of {width}x{height}, evenly spaced over the clip "
        f"({sample.stem}, {clip.frame_count} frames: one every {clip.window})."
    )
    frame_grid_ui(clip.pixels, [f"#{i}" for i in clip.indices], size=96)


def drawing_ui(card) -> None:
    """The model's layers, drawn, with the same in words for a screen reader."""
    try:
        dot, lines = model_drawing(card.path, Path(card.path).stat().st_mtime)
    except (HarError, OSError) as exc:
        st.caption(f"No drawing: {escape_markdown(exc)}")
        return
    st.graphviz_chart(dot, width="stretch")
    with st.expander("The layers in words"):
        st.markdown("\n".join(f"{k}. {line}" for k, line in enumerate(lines, start=1)))


def model_ui(card) -> None:
    with st.container(border=True):
        st.markdown(f"#### {escape_markdown(card.name)}")
        left, right = st.columns([3, 2])
        with left:
            st.markdown(card_summary(card))
            if card.synthetic:
                st.caption(
                    "Synthetic: trained on drawn figures, not real video; it will not "
                    "recognise real footage."
                )
            frames_ui(card)
        with right:
            drawing_ui(card)


def home() -> None:
    st.title("HAR Studio")
    st.markdown(
        "Recognise human actions in video with the two models of the paper: a **ConvLSTM** "
        "and an **LRCN** (a per-frame CNN feeding an LSTM). Pick a sample clip or upload "
        "your own on **Predict** to see the 20 frames the models look at and both "
        "predictions side by side; **Evaluate** measures them, and **Retrain** trains new "
        "ones on the classes you choose with live loss and accuracy curves."
    )
    cards, problems = model_cards()
    st.subheader("Models")
    for problem in problems:
        st.warning(escape_markdown(problem))
    if not cards:
        st.info("No models found in models/. Train one on the Retrain page or with `har train`.")
    for card in cards:
        model_ui(card)
    st.subheader("Data")
    root = st.session_state.get("ucf50_root")
    if root is None:
        st.markdown(
            "Using the **built-in synthetic dataset**: procedurally drawn people performing "
            "actions named after UCF50 classes. Set a UCF50 folder in the sidebar (or the "
            "`HAR_UCF50_DIR` variable) to train and evaluate on real video."
        )
    else:
        st.markdown(f"Real UCF50 folder: {escape_markdown(root)}")


setup_page("Home")
home()
