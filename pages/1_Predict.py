"""Predict: a sample clip or an upload, the 20 frames the models see, predictions side by side."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import cv2
import streamlit as st

from app_common import UNCERTAIN_BELOW, models_ui, setup_page
from har.charts import probability_bars
from har.config import cache_dir
from har.datasets import list_samples
from har.errors import HarError
from har.media import browser_playable
from har.video import read_clip

UPLOAD_TYPES = ["mp4", "avi", "mov", "mkv", "webm"]


def save_upload(name: str, data: bytes) -> Path:
    """Keep an upload on disk (keyed by content) so it can be decoded and played."""
    if not data:
        raise HarError(f"{name} is empty (0 bytes); upload the video again.")
    suffix = Path(name).suffix.lower() or ".bin"
    path = cache_dir() / "uploads" / f"{hashlib.sha1(data).hexdigest()[:16]}{suffix}"
    if not path.exists():
        from har.fsutil import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    return path


def source_ui() -> tuple[Path | None, str | None]:
    """Sample gallery by class (shipped samples, plus UCF50 clips when set) or an upload.

    Returns the video's path and, for a gallery clip, its true class.
    """
    choice = st.radio("Video", ["Sample clip", "Upload"], horizontal=True, key="source")
    if choice == "Upload":
        uploaded = st.file_uploader("Upload a video", type=UPLOAD_TYPES)
        if uploaded is None:
            return None, None
        return save_upload(uploaded.name, uploaded.getvalue()), None
    gallery = {f"{cls} (sample)": paths for cls, paths in list_samples().items()}
    root = st.session_state.get("ucf50_root")
    if root is not None:
        from app_common import scan_dataset

        for clip in scan_dataset(str(root)).clips:
            gallery.setdefault(f"{clip.label} (UCF50)", []).append(clip.path)
    if not gallery:
        st.info("No sample clips found in samples/.")
        return None, None
    left, right = st.columns(2)
    cls = left.selectbox("Class", sorted(gallery), key="sample_class")
    paths = gallery[cls]
    path = right.selectbox("Clip", paths, format_func=lambda p: p.name, key="sample_clip")
    return path, cls.rsplit(" (", 1)[0]


def frames_ui(clip) -> None:
    n = len(clip.indices)
    window = max(clip.frame_count // n, 1)  # as har.video.sample_indices
    st.markdown(
        f"**The {n} frames the models see**: of {clip.frame_count} frames, one every {window} "
        f"(frames {clip.indices[0]} to {clip.indices[-1]}), each resized to 64x64. "
        "Captions: source frame number and time."
    )
    if clip.padded:
        st.info(f"Only {clip.frame_count} frames: some were repeated to make {n}.")
    for row in range(0, len(clip.indices), 10):
        cols = st.columns(10)
        for col, i in zip(cols, range(row, min(row + 10, len(clip.indices))), strict=False):
            big = cv2.resize(clip.pixels[i], (128, 128), interpolation=cv2.INTER_NEAREST)
            col.image(big, caption=f"#{clip.indices[i]} · {clip.times[i]:.2f}s")


def predictions_ui(predictors: list, clip, decode_seconds: float, truth: str | None) -> None:
    cols = st.columns(len(predictors))
    for col, predictor in zip(cols, predictors, strict=True):
        card = predictor.card
        result = predictor.predict_frames(clip.pixels, clip, decode_seconds)
        with col, st.container(border=True):
            st.markdown(f"### {card.architecture.upper()}")
            st.caption(card.name + (" · trained on synthetic clips" if card.synthetic else ""))
            st.metric(
                "Prediction",
                result.top_class,
                f"{result.confidence:.0%} confidence",
                delta_color="off",
            )
            if truth is not None and truth not in card.class_names:
                st.info(
                    f"This model knows {len(card.class_names)} classes and {truth} is not one "
                    "of them, so it can only answer with the nearest class it knows."
                )
            if result.confidence < UNCERTAIN_BELOW:
                st.warning(
                    f"Uncertain: no class above {UNCERTAIN_BELOW:.0%}."
                    + (
                        " A model trained on synthetic clips is out of its depth on real footage."
                        if card.synthetic
                        else ""
                    )
                )
            st.plotly_chart(
                probability_bars(result.class_names, result.probabilities),
                key=f"bars-{card.name}",
            )
            st.caption(
                f"model {result.model_seconds * 1000:.1f} ms · "
                f"decoding the clip {result.decode_seconds * 1000:.0f} ms (shared)"
            )


setup_page("Predict")
st.title("Predict")
predictors = list(models_ui(key="models").values())

try:
    path, truth = source_ui()
    if path is not None:
        start = time.perf_counter()
        clip = read_clip(path)
        decode_seconds = time.perf_counter() - start
        video_col, predictions_col = st.columns([1, 2])
        with video_col:
            st.video(str(browser_playable(path)))
            st.caption(
                f"{Path(path).name}: {clip.width}x{clip.height}, {clip.fps:.1f} fps, "
                f"{clip.duration:.1f} s" + (f" · true class {truth}" if truth else "")
            )
        with predictions_col:
            if predictors:
                predictions_ui(predictors, clip, decode_seconds, truth)
            else:
                st.info("Pick at least one model.")
        frames_ui(clip)
except HarError as exc:
    st.error(str(exc))
