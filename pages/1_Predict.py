"""Predict: a sample clip or an upload, the frames the models see, predictions side by side."""

from __future__ import annotations

import uuid
from pathlib import Path

import streamlit as st

from app_camera import agreement_ui
from app_common import (
    clip_is_synthetic,
    frame_grid_ui,
    models_ui,
    setup_page,
    video_source_ui,
)
from har.data.previews import PreviewJobs
from har.data.uploads import forget_upload
from har.errors import HarError
from har.inference import RUNTIME_NAMES, predict_video
from har.models.card import trained_on
from har.utils.text import escape_markdown, plural
from har.visualization.charts import grouped_probabilities


@st.cache_resource
def preview_jobs() -> PreviewJobs:
    """One background transcoder per server, shared by every session."""
    return PreviewJobs()


def preview_owner() -> str:
    """This browser session, so previews are made for each session in turn."""
    return st.session_state.setdefault("preview_owner", uuid.uuid4().hex)


def player_ui(path: Path) -> None:
    """The video, once a browser can play it; until then a progress bar (predictions first)."""
    state, value = preview_jobs().status(path, preview_owner())
    if state == "ready":
        st.video(str(value))
    elif state == "failed":
        st.warning(escape_markdown(value))
    else:
        waiting_ui(path)


@st.fragment(run_every=1.0)
def waiting_ui(path: Path) -> None:
    state, value = preview_jobs().status(path, preview_owner())
    if state == "running":
        st.progress(float(value), "Making a preview your browser can play (first 60 s, 480p)")
    else:
        st.rerun()  # ready or failed: draw the player in the full page


def frames_ui(result) -> None:
    """The frames each distinct input spec sampled (one grid when all models agree)."""
    for (frames, width, height), clip in result.clips.items():
        users = result.users((frames, width, height))
        who = f" ({', '.join(users)})" if len(result.clips) > 1 else ""
        bgr = [n for n in users if result.specs[n].color == "BGR"]
        st.markdown(
            f"**The {frames} frames the models see{who}**: of {clip.frame_count} frames, one "
            f"every {clip.window} (frames {clip.indices[0]} to {clip.indices[-1]}), each "
            f"resized to {width}x{height}. Captions: source frame number and time."
            + (f" {', '.join(bgr)} get them in BGR order, as trained." if bgr else "")
        )
        if clip.padded:
            st.info(
                f"Only {plural(clip.frame_count, 'frame')}: some were repeated to make "
                f"{len(clip.indices)}."
            )
        if clip.seconds_between > 1.0:
            st.info(
                f"This video is {clip.duration:.0f} s long, so the models see one frame every "
                f"{clip.seconds_between:.1f} s: an action shorter than that can fall between "
                "frames. Trim the video to the action for a fairer test."
            )
        frame_grid_ui(
            clip.pixels,
            [f"#{i} · {t:.2f}s" for i, t in zip(clip.indices, clip.times, strict=True)],
        )


def answer_ui(prediction, card, truth: str | None) -> None:
    """One model's answer: name, top class (with a tick or cross when the truth is known)."""
    st.markdown(f"**{prediction.model_name}**")
    st.caption(f"{card.architecture.upper()} · {trained_on(card)}")
    verdict = ""
    if truth is not None and truth in card.class_names:
        right = prediction.top_class == truth
        verdict = (
            " :green[:material/check_circle: right]" if right else " :red[:material/cancel: wrong]"
        )
    st.caption("Prediction")
    st.markdown(
        f"### {escape_markdown(prediction.top_class)}{verdict}"
    )  # a heading wraps; a metric cuts names
    st.markdown(f"{prediction.confidence:.0%} confidence")
    if truth is not None and truth not in card.class_names:
        st.caption(f"{escape_markdown(truth)} is not one of its {len(card.class_names)} classes.")
    if prediction.uncertain:
        st.warning(f"Unsure: {prediction.unsure_reason()}.")  # our words and numbers


def predictions_ui(result, predictors: dict, truth: str | None) -> None:
    predictions = list(result.predictions.values())
    # two answers a row, always half the column: at 1280 px three or four cards a row broke
    # class names mid-word ("WalkingWit/hDog"); a heading wraps only between words
    for start in range(0, len(predictions), 2):
        row = predictions[start : start + 2]
        for col, prediction in zip(st.columns(2), row, strict=False):
            with col, st.container(border=True):
                answer_ui(prediction, predictors[prediction.model_name].card, truth)
    agreement_ui(result)  # below the answers: they stay above the fold at 1280x720
    st.plotly_chart(grouped_probabilities(predictions), key="probabilities")
    times = " · ".join(
        f"{p.model_name} {p.model_seconds * 1000:.1f} ms on {RUNTIME_NAMES[p.runtime]}"
        for p in predictions
    )
    st.caption(f"decoding {result.decode_seconds * 1000:.0f} ms (shared) · {times}")


setup_page("Predict")
st.title("Predict")
synthetic_clip = clip_is_synthetic("sample_")
predictors = models_ui(key="models", synthetic_clip=synthetic_clip)
if synthetic_clip:
    st.caption(
        "The built-in samples are synthetic clips (drawn figures of four UCF50 actions), so the "
        "synthetic pair answers them; the real models answer uploads, recordings and clips "
        "from a UCF folder."
    )

try:
    path, truth = video_source_ui("sample_", predictors=predictors)
    if path is not None:
        try:
            result = predict_video(path, predictors)
        except HarError:
            if truth is None:  # an upload that is no video: not kept
                forget_upload(path)
            raise
        clip = result.clip_for()
        video_col, predictions_col = st.columns([1, 2])
        with video_col:
            player_ui(path)
            st.caption(
                f"{Path(path).name}: {clip.width}x{clip.height}, {clip.fps:.1f} fps, "
                f"{clip.duration:.1f} s" + (f" · true class {truth}" if truth else "")
            )
        with predictions_col:
            if predictors:
                predictions_ui(result, predictors, truth)
            else:
                st.info("Pick at least one model.")
        frames_ui(result)
except HarError as exc:
    st.error(escape_markdown(exc))
