"""What the app's pages share: the page setup, cached loaders and a few drawing helpers.

Every page (streamlit_app.py and each file in pages/) calls `setup_page` first, so a page
opened first, by any URL, has the same layout, sidebar and navigation. Loaders are cached once
per process (st.cache_resource), so models load once, not on every rerun. Everything that
computes lives in `har`; this module only draws and caches.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from har.config import ucf50_dir
from har.errors import HarError

UNCERTAIN_BELOW = 0.5
# (file, label, icon): the sidebar's navigation, in order. Streamlit's own pages/ list would
# label the home page "streamlit app" and cannot carry icons, so we draw our own.
PAGES = [
    ("streamlit_app.py", "Home", ":material/home:"),
    ("pages/1_Predict.py", "Predict", ":material/movie:"),
    ("pages/2_Evaluate.py", "Evaluate", ":material/analytics:"),
    ("pages/3_Retrain.py", "Retrain", ":material/model_training:"),
]


def setup_page(title: str) -> None:
    """What every page does first: page config, navigation and the sidebar's data folder."""
    st.set_page_config(page_title=f"{title} · HAR Studio", page_icon="🎬", layout="wide")
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
    st.session_state["ucf50_root"] = ucf50_root_ui()


SYNTHETIC_WARNING = (
    "**Trained on synthetic clips.** {names} learned from HAR Studio's drawn figures, not real "
    "video, so on real footage their predictions mean little. Train on a real UCF50 folder "
    "(Retrain page, or `har train`) for real models."
)


@st.cache_resource(show_spinner="Loading models...")
def load_predictors() -> dict:
    """Every model in the registry, loaded once per process: name -> Predictor."""
    from har.inference import Predictor
    from har.registry import list_models
    from har.tfquiet import import_tensorflow

    import_tensorflow()
    predictors, problems = {}, []
    for card in list_models():
        try:
            predictors[card.name] = Predictor.from_registry(card.path)
        except HarError as exc:
            problems.append(str(exc))
    return {"predictors": predictors, "problems": problems}


@st.cache_data(show_spinner=False)
def model_cards() -> list:
    """Cards only (no TensorFlow): fast enough for the home page."""
    from har.registry import list_models

    return list_models()


def forget_models() -> None:
    """After saving a model: make every page see it."""
    load_predictors.clear()
    model_cards.clear()


def ucf50_root_ui() -> Path | None:
    """Sidebar: the real UCF50 folder, from HAR_UCF50_DIR or typed in; validated."""
    default = str(ucf50_dir() or "")
    typed = st.sidebar.text_input(
        "UCF50 folder",
        value=st.session_state.get("ucf50_dir", default),
        help="A folder laid out as <root>/<Class>/v_<Class>_gNN_cMM.avi. "
        "Set HAR_UCF50_DIR to fill this in on start.",
    )
    st.session_state["ucf50_dir"] = typed
    if not typed.strip():
        st.sidebar.caption("No UCF50 folder set: using the built-in synthetic data.")
        return None
    try:
        dataset = scan_dataset(os.path.expanduser(typed.strip()))
    except HarError as exc:
        st.sidebar.error(str(exc))
        return None
    st.sidebar.success(f"UCF50: {len(dataset.classes)} classes, {len(dataset.clips)} clips")
    return dataset.root


@st.cache_data(show_spinner="Reading the dataset folder...", ttl=60)
def scan_dataset(root: str):
    from har.datasets import scan

    return scan(root)


def models_ui(key: str) -> dict:
    """The model picker every predicting page starts with: name -> Predictor of the chosen.

    Shows models that failed to load, stops the page when there are none, defaults to the
    paper's pair, and shows the synthetic notice for the chosen ones.
    """
    loaded = load_predictors()
    for problem in loaded["problems"]:
        st.error(problem)
    predictors = loaded["predictors"]
    if not predictors:
        st.info("No models found in models/. Train one on the Retrain page or with `har train`.")
        st.stop()
    names = list(predictors)
    default = [n for n in names if n.endswith("paper4")] or names[:2]
    current = [n for n in st.session_state.get(key, default) if n in names]
    just_saved = st.session_state.pop("just_saved", None)
    if just_saved in names and just_saved not in current:  # saved on Retrain: chosen here
        current.append(just_saved)
    st.session_state[key] = current
    chosen = st.multiselect("Models", names, key=key)
    synthetic_notice([predictors[n].card for n in chosen])
    return {n: predictors[n] for n in chosen}


def synthetic_notice(cards) -> None:
    """The honest line every predicting page shows when a model learned from synthetic clips."""
    names = [c.name for c in cards if c.synthetic]
    if names:
        st.warning(SYNTHETIC_WARNING.format(names=", ".join(names)), icon="⚠️")


def card_summary(card) -> str:
    test = card.metrics.get("test", {})
    data = "synthetic clips" if card.synthetic else f"{card.dataset.get('kind', '?')} data"
    split = card.split
    training = card.training if isinstance(card.training, dict) else {}
    line = (
        f"**{card.architecture.upper()}** · {card.parameters:,} parameters · "
        f"{len(card.class_names)} classes ({', '.join(card.class_names)}) · trained on {data}"
    )
    if "accuracy" in test:
        line += (
            f" · test accuracy **{test['accuracy']:.1%}**, macro F1 {test['macro_f1']:.3f} "
            f"on {split.get('test', '?')} held-out clips ({split.get('mode', '?')} split)"
        )
    if training.get("stopped_by_user"):
        line += f" · **stopped early by the user after {training.get('epochs_run', '?')} epochs**"
    return line
