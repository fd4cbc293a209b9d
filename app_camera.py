"""The camera on the app's pages: record a clip (Predict, Your classes) and live mode (Predict).

The camera itself is a small Streamlit component in components/camera/ (plain HTML/JS over
getUserMedia and MediaRecorder; nothing fetched from another host, no WebRTC). This module
only draws it and hands what it sends to `har`: a recording is saved and then predicted like
an upload (har.inference.predict_video); live frames are sampled by the same code as a file
(har.inference.predict_frames). Every recording is acknowledged back to the browser only once
it is stored; until then the browser keeps it (IndexedDB), so a refresh loses nothing.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import streamlit.components.v1 as components

from har.data.camera import (
    check_recording_id,
    decode_frames,
    decode_payload,
    list_recordings,
    save_recording,
    suffix_for,
)
from har.data.own_datasets import add_recording
from har.errors import DiskFullError, HarError
from har.inference import predict_frames
from har.models.card import trained_on
from har.utils.text import escape_markdown

COMPONENT_DIR = Path(__file__).resolve().parent / "components" / "camera"
_camera = components.declare_component("har_camera", path=str(COMPONENT_DIR))

MAX_SECONDS = 5  # a recording stops by itself after this
MIN_SECONDS = 1  # shorter recordings are refused with a sentence
LIVE_SECONDS = 2  # live mode: the models see the camera's last seconds
LIVE_FPS = 10  # frames grabbed a second in live mode (20 in 2 s: the models' 20)
LIVE_EVERY_MS = 300  # a live answer about 3 times a second (slower if predicting is slower)
KEEP_ACKS = 30


def camera(mode: str, key: str, **args):
    """The camera component: its latest value (a dict the browser sent) or None."""
    return _camera(mode=mode, key=key, default=None, **args)


# --- recordings ----------------------------------------------------------------------------
@dataclass
class Received:
    """What became of the recording a camera just sent."""

    message: str = ""  # "" when nothing new arrived
    error: bool = False
    path: Path | None = None  # a recording kept for Predict

    def show(self) -> None:
        if self.message:
            (st.error if self.error else st.success)(self.message)


def receive_recording(key: str) -> Received:
    """Store the recording the camera `key` just sent, before the component is drawn, so
    that its acknowledgement goes out in this run. A recording for a dataset (recorded on
    Your classes, perhaps recovered here after a refresh) goes to that dataset's class."""
    value = st.session_state.get(key)
    acks = st.session_state.setdefault(f"{key}_acks", [])
    if not isinstance(value, dict) or value.get("kind") != "recording":
        return Received()
    rec_id = str(value.get("id", ""))
    if rec_id in acks:
        return Received()
    try:
        check_recording_id(rec_id)
        received = _store(value, decode_payload(value.get("data", "")), rec_id)
    except DiskFullError as exc:  # not acknowledged: the browser keeps it, sends it later
        return Received(str(exc), error=True)
    except HarError as exc:
        received = Received(str(exc), error=True)
    acks.append(rec_id)
    del acks[:-KEEP_ACKS]
    if value.get("recovered") and not received.error:
        received.message = "Recovered a recording a page refresh interrupted. " + received.message
    return received


def _store(value: dict, data: bytes, rec_id: str) -> Received:
    context = value.get("context") or {}
    if context.get("page") != "dataset":
        path = save_recording(data, rec_id, str(value.get("mime", "video/webm")))
        return Received("Recorded.", path=path)

    dataset, cls = str(context.get("dataset", "")), str(context.get("class", ""))
    clip = add_recording(
        dataset,
        cls,
        data,
        rec_id,
        str(context.get("session", rec_id)),
        suffix_for(value.get("mime", "")),
    )
    done = f"as {clip.path.name}" if clip is not None else "(it was there already)"
    return Received(f"Added a recording to {dataset} / {cls} {done}.")


def recorder(key: str, context: dict) -> Received:
    """Draw the recorder; what became of the recording it just sent."""
    received = receive_recording(key)
    camera(
        "record",
        key=key,
        acks=st.session_state.get(f"{key}_acks", []),
        context=context,
        max_seconds=MAX_SECONDS,
        min_seconds=MIN_SECONDS,
    )
    return received


def recording_source_ui(prefix: str) -> Path | None:
    """Predict's "Record" source: the recorder, then a chosen recording (newest first)."""
    choice_key = f"{prefix}recording"
    left, right = st.columns([1, 1])
    with left:
        received = recorder(f"{prefix}camera", {"page": "predict"})
    if received.path is not None:
        st.session_state[choice_key] = received.path
    if received.message:  # kept until the next recording: a rerun does not wipe it
        st.session_state[f"{prefix}camera_said"] = received
    with right:
        st.session_state.get(f"{prefix}camera_said", received).show()
        recordings = list_recordings()
        if not recordings:
            st.info(
                f"Record 2-{MAX_SECONDS} s of one action: both models then answer, as for an "
                "upload. Recordings are kept in your data folder (the newest 30)."
            )
            return None
        if st.session_state.get(choice_key) not in recordings:
            st.session_state[choice_key] = recordings[0]
        return st.selectbox(
            "Recording",
            recordings,
            key=choice_key,
            format_func=lambda p: time.strftime(
                "%H:%M:%S · %d %b", time.localtime(p.stat().st_mtime)
            ),
        )


# --- live mode -------------------------------------------------------------------------------
def live_ui(predictors: dict) -> None:
    """Live mode: both models' answers on the camera's last seconds, a few times a second."""
    if not predictors:
        st.info("Pick at least one model.")
        return
    st.caption(
        f"The models see the camera's last {LIVE_SECONDS} s ({LIVE_FPS} frames a second, "
        "sampled as a file's frames are) and answer about three times a second. Act in front "
        "of the camera; an answer marked uncertain is a guess."
    )
    _live(predictors)


@st.fragment
def _live(predictors: dict) -> None:
    key = "live_camera"
    value = st.session_state.get(key)
    camera_col, answers_col = st.columns([1, 2])
    ack = 0
    if isinstance(value, dict) and value.get("kind") == "frames":
        ack = int(value.get("seq", 0))
        with answers_col:
            try:
                frames = decode_frames(value.get("frames", []))
                result = predict_frames(frames, predictors, float(value.get("fps") or 0.0))
                live_answers_ui(result, predictors)
            except HarError as exc:
                st.warning(escape_markdown(exc))
    else:
        answers_col.info("Waiting for the camera's first frames...")
    with camera_col:  # drawn after the answers: its acknowledgement says they are drawn
        camera("live", key=key, ack=ack, window=LIVE_SECONDS, fps=LIVE_FPS, every_ms=LIVE_EVERY_MS)


def agreement_ui(result) -> None:
    """Do the models that know the same classes agree? (Predict and live mode)"""
    for agreement in result.agreements():
        text = escape_markdown(agreement.describe())
        if agreement.agree:
            st.caption(text)
        else:
            st.warning(text, icon=":material/call_split:")


def live_answers_ui(result, predictors: dict) -> None:
    times = st.session_state.setdefault("live_times", deque(maxlen=10))
    times.append(time.monotonic())
    predictions = list(result.predictions.values())
    for col, p in zip(st.columns(len(predictions)), predictions, strict=True):
        with col, st.container(border=True):
            st.markdown(f"**{p.model_name}**")
            st.caption(trained_on(predictors[p.model_name].card))
            st.markdown(f"### {escape_markdown(p.top_class)}")
            st.markdown(f"{p.confidence:.0%} confidence")
            if p.uncertain:
                st.warning(f"Unsure: {p.unsure_short()}.")
    agreement_ui(result)
    clip = result.clip_for()
    strip = np.concatenate(list(clip.pixels), axis=1)  # the frames the models saw, in a row
    st.image(strip, caption=f"The {len(clip.indices)} frames the models saw, oldest first")
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 else 0.0
    st.caption(
        f"{rate:.1f} answers a second · frames {result.decode_seconds * 1000:.0f} ms · "
        + " · ".join(f"{p.model_name} {p.model_seconds * 1000:.0f} ms" for p in predictions)
    )
