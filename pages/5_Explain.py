"""Explain: a timeline over the video, which frames and pixels mattered, what-if variants."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app_common import (
    clip_is_synthetic,
    frame_grid_ui,
    models_ui,
    setup_page,
    video_source_ui,
)
from har.errors import HarError
from har.explain.annotate import annotate_video, timeline_lines, timeline_vtt
from har.explain.occlusion import OCCLUSION_REPLACEMENT
from har.explain.report import explain_clips
from har.explain.saliency import overlay
from har.explain.timeline import DEFAULT_WINDOW_SECONDS, timeline
from har.explain.whatif import WHATIF_NOTE
from har.inference import Prediction, predict_video
from har.models.card import trained_on
from har.utils.text import escape_markdown
from har.visualization.charts import (
    agreement_strip,
    grouped_probabilities,
    occlusion_bars,
    timeline_heatmap,
    whatif_bars,
)
from har.visualization.tables import WHATIF_COLUMNS, whatif_table


# Streamlit's caches, keyed by what each result depends on (the predictors themselves are not
# hashed: their names and files are). A few entries each, for an hour: a timeline holds its
# window clips. The entries are shared by every session of this server.
def models_key(predictors: dict) -> tuple:
    """The models by name and by the file they were loaded from (a model saved again under
    its name is another model)."""
    return tuple((name, p.card.keras_sha256) for name, p in predictors.items())


@st.cache_resource(max_entries=4, ttl=3600, show_spinner=False)
def cached_timeline(
    path: str,
    size: int,
    mtime: float,
    window: float,
    stride: float,
    models: tuple,
    _predictors: dict,
):
    """The timeline of one version of a file for these models (shared, not copied: its
    window clips are decoded when shown)."""
    bar = st.progress(0.0, "Decoding and predicting every window")
    result = timeline(
        Path(path),
        _predictors,
        window=window,
        stride=stride,
        keep_clips=True,
        progress=lambda done, total: bar.progress(min(done / max(total, 1), 1.0)),
    )
    bar.empty()
    return result


@st.cache_data(max_entries=8, ttl=3600, show_spinner="Explaining...")
def cached_explanations(key: tuple, _predictors: dict, _clips: dict) -> dict:
    """Occlusion, saliency and what-if of the clips `key` names (scope, source, models)."""
    return explain_clips(_predictors, _clips)


def answer_ui(path: Path, predictors: dict) -> None:
    """The answer first: each model's class and confidence for the whole video."""
    result = predict_video(path, predictors)
    predictions = list(result.predictions.values())
    st.subheader("The answer")
    for start in range(0, len(predictions), 4):
        row = predictions[start : start + 4]
        for col, prediction in zip(st.columns(len(row)), row, strict=True):
            with col, st.container(border=True):
                card = predictors[prediction.model_name].card
                st.markdown(f"**{escape_markdown(prediction.model_name)}**")
                st.caption(f"{card.architecture.upper()} · {escape_markdown(trained_on(card))}")
                st.markdown(f"#### {escape_markdown(prediction.top_class)}")
                st.markdown(f"{prediction.confidence:.0%} confidence (whole video)")
                if prediction.uncertain:
                    st.warning(f"Unsure: {prediction.unsure_reason()}.")  # our words and numbers
    with st.expander("Every class's probability, whole video"):
        st.plotly_chart(grouped_probabilities(predictions), key="video_probabilities")
    st.caption("Below: where in the video each model sees which action, then why it answers so.")


def annotated_mp4(path: Path, tl) -> bytes:
    """The clip with each model's answer over time drawn on it (for the download button)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            out = annotate_video(path, Path(tmp) / "answers.mp4", timeline_lines(tl))
        except HarError as exc:  # the download runs on its own thread: the file says why
            return f"{exc}\n".encode()
        return out.read_bytes()


def timeline_ui(path: Path, predictors: dict):
    """Window and stride, the heatmaps, the agreement strip; returns (timeline, window)."""
    st.subheader("Timeline")
    left, right = st.columns(2)
    window = left.number_input(
        "Window (seconds)", 0.2, 60.0, DEFAULT_WINDOW_SECONDS, 0.1, key="explain_window"
    )
    stride = right.number_input(
        "Stride (seconds)", 0.1, 60.0, window / 2, 0.1, key="explain_stride"
    )
    stat = Path(path).stat()
    tl = cached_timeline(
        str(path), stat.st_size, stat.st_mtime, window, stride, models_key(predictors), predictors
    )
    if Path(path).suffix.lower() in (".mp4", ".webm"):  # ones a browser plays as they are
        with st.columns([1, 1])[0]:
            st.video(str(path), subtitles={"Answers": timeline_vtt(tl).encode()})
            st.caption(
                "Subtitles: each model's answer in the window being played (turn them on "
                "with the player's CC button if they do not show)."
            )
    st.download_button(
        "Download the video with the answers drawn on it (MP4)",
        data=lambda: annotated_mp4(path, tl),  # made when clicked, on its own thread
        file_name=f"{Path(path).stem}-answers.mp4",
        mime="video/mp4",
        key="explain_annotated",
        help="H.264, the first 60 s, each model's answer in the window nearest each moment.",
    )
    st.caption(
        f"{len(tl.bounds)} windows of {tl.window} frames ({tl.window / tl.rate:.2f} s) every "
        f"{tl.stride} frames over {tl.duration:.1f} s; each window sampled the paper's way. "
        f"Decoding {tl.decode_seconds:.2f} s · "
        + " · ".join(f"{m} {s:.2f} s" for m, s in tl.model_seconds.items())
    )
    if tl.note:  # a long video: the stride was raised to keep the windows bounded
        st.info(tl.note)
    st.markdown(
        "Each row is a class, each column a window of the video; the brighter the cell, the "
        "more probable the class in that window (scale on the right). The white circle (○) in "
        "each column marks the window's answer: the class the model names there."
    )
    for name in tl.probabilities:
        st.plotly_chart(timeline_heatmap(tl, name), key=f"timeline_{name}")
    if len(tl.probabilities) > 1:
        st.markdown(
            "**Agreement**: ✓ (green) where the models name the same class, ✗ (red) where not."
        )
        st.plotly_chart(agreement_strip(tl), key="agreement")
    labels = [
        f"{k}: {s:.1f}-{e:.1f} s" for k, (s, e) in enumerate(zip(tl.starts, tl.ends, strict=True))
    ]
    k = 0
    if len(labels) > 1:
        k = st.select_slider(
            "Window",
            options=list(range(len(labels))),
            format_func=labels.__getitem__,
            key="explain_window_index",
        )
    with st.expander(f"Window {k}: its frames and every class's probability"):
        sampling = next(iter(tl.specs.values()))
        frames = tl.clips[sampling][k]
        idx = tl.window_indices(k, sampling[0])
        frame_grid_ui(frames, [f"#{i} · {i / tl.rate:.2f}s" for i in idx])
        answers = [
            Prediction(m, predictors[m].card.architecture, tl.class_names[m], p[k], 0.0)
            for m, p in tl.probabilities.items()
        ]
        st.plotly_chart(grouped_probabilities(answers), key="window_probabilities")
    return tl, k


def explain_ui(path: Path, predictors: dict, tl, k: int) -> None:
    """Occlusion bars, saliency overlays and what-if for the whole video or one window."""
    st.subheader("Why it answers so")
    scope = st.radio(
        "Explain",
        ["Whole video (the 20 frames Predict shows)", f"Window {k} of the timeline"],
        horizontal=True,
        key="explain_scope",
    )
    stat = Path(path).stat()  # the file's version: a cache entry outlives the session
    source = (tl.source, stat.st_size, stat.st_mtime, models_key(predictors))
    if scope.startswith("Whole"):
        result = predict_video(path, predictors)
        clips = {n: result.clip_for(n).pixels for n in predictors}
        key = ("video", *source)
    else:
        clips = {n: tl.clips[p.spec.sampling][k] for n, p in predictors.items()}
        key = ("window", *source, k, tl.window, tl.stride)
    explained = cached_explanations(key, predictors, clips)

    with st.expander("Which frames mattered"):
        st.markdown(
            f"The drop in each model's probability for its answer when one frame is replaced "
            f"by the clip's {OCCLUSION_REPLACEMENT}: a tall bar is a frame the answer leans on."
        )
        first = next(iter(explained.values()))
        frame_grid_ui(first.pixels, [f"{t}" for t in range(len(first.pixels))])
        st.plotly_chart(occlusion_bars([e.occlusion for e in explained.values()]), key="occlusion")

    with st.expander("Which pixels mattered"):
        st.markdown(
            "Red is where the class score is most sensitive in each frame (each frame scaled to "
            "its own peak; the caption's weight says how much the frame counts against the "
            "clip's strongest)."
        )
        for name, e in explained.items():
            st.markdown(f"*{name}*: {e.saliency.describe()}")
            frame_grid_ui(
                [overlay(f, m) for f, m in zip(e.pixels, e.saliency.maps, strict=True)],
                [f"{t} · w {w:.2f}" for t, w in enumerate(e.saliency.weights)],
            )

    with st.expander("What if the clip were reversed, shuffled, frozen, mirrored or slowed"):
        st.markdown("Each model on the clip changed in one way.")
        st.plotly_chart(whatif_bars([e.whatif for e in explained.values()]), key="whatif")
        st.table(whatif_table([e.whatif for e in explained.values()]))
        st.markdown(
            "\n".join(f"- **{name}**: {meaning}" for name, meaning in WHATIF_COLUMNS.items())
        )
        st.info(WHATIF_NOTE)


setup_page("Explain")
st.title("Explain")
st.caption("Where in a video each model sees which action, and why it answers as it does.")
predictors = models_ui(key="explain_models", synthetic_clip=clip_is_synthetic("explain_"))

try:
    path, _ = video_source_ui("explain_", labelled=False)
    if path is not None and predictors:
        answer_ui(path, predictors)
        tl, k = timeline_ui(path, predictors)
        explain_ui(path, predictors, tl, k)
    elif not predictors:
        st.info("Pick at least one model.")
except HarError as exc:
    st.error(escape_markdown(exc))
