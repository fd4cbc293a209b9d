"""What the app's pages share: the page setup, cached loaders and a few drawing helpers.

Every page (streamlit_app.py and each file in pages/) calls `setup_page` first, so a page
opened first, by any URL, has the same layout, sidebar and navigation. Loaders are cached once
per process (st.cache_resource), so models load once, not on every rerun. Everything that
computes lives in `har`; this module only draws and caches.
"""

from __future__ import annotations

import sys
import threading
import warnings
from pathlib import Path

import pandas as pd
import streamlit as st

from app_camera import live_ui, recording_source_ui
from har.config import check_data_root, ucf50_dir
from har.data.samples import list_samples
from har.data.synthetic.marker import WARNING
from har.data.ucf import scan
from har.data.uploads import save_upload
from har.data.video import enlarge
from har.errors import HarError
from har.inference import Predictor
from har.models.card import describe
from har.models.registry import DEMO_PAIR, REAL_PAIR, default_models, fingerprint, list_models
from har.utils.quiet import quiet_native_logs
from har.utils.text import escape_markdown

quiet_native_logs()  # before the first video is opened in this server

# (file, label, icon): the sidebar's navigation, in order. Streamlit's own pages/ list would
# label the home page "streamlit app" and cannot carry icons, so we draw our own.
PAGES = [
    ("streamlit_app.py", "Home", ":material/home:"),
    ("pages/1_Predict.py", "Predict", ":material/movie:"),
    ("pages/2_Evaluate.py", "Evaluate", ":material/analytics:"),
    ("pages/3_Retrain.py", "Retrain", ":material/model_training:"),
    ("pages/4_Models.py", "Models", ":material/upload_file:"),
    ("pages/5_Explain.py", "Explain", ":material/insights:"),
    ("pages/6_Your_classes.py", "Your classes", ":material/video_camera_front:"),
]


def setup_page(title: str) -> None:
    """What every page does first: page config, navigation and the sidebar's data folder."""
    st.set_page_config(page_title=f"{title} · HAR Studio", page_icon="🎬", layout="wide")
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
    st.session_state["ucf50_root"] = ucf50_root_ui(title)
    warm_up()


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread | None:
    """Load the models on a background thread, once per server, when the first page opens:
    that page shows at once, and Predict and Explain find them loaded (or wait on the same
    load, behind their spinner, instead of starting it). Not under pytest: AppTest runs every
    test in one process with changing model folders, and a late load would fill the cache
    with another test's models."""
    if "pytest" in sys.modules:
        return None

    def load() -> None:
        try:
            load_predictors()
        except Exception:  # noqa: BLE001 - the page that needs them shows the error itself
            pass

    thread = threading.Thread(target=load, name="har-warm-up", daemon=True)
    thread.start()
    return thread


def _listed_models() -> tuple[list, list[str]]:
    """The registry's cards, and the warnings (bad cards, name clashes) listing them gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cards = list_models()
    return cards, [str(w.message) for w in caught]


def load_predictors() -> dict:
    """Every model in the registry, loaded once per process and again whenever a model file or
    card changes (saved here, or by `har calibrate` while the app runs): name -> Predictor."""
    return _load_predictors(fingerprint())


@st.cache_resource(show_spinner="Loading models...", max_entries=1)
def _load_predictors(registry: tuple) -> dict:
    # no TensorFlow import: models cached for LiteRT load without it (har.litert), and
    # har.registry imports it, quietly, for a model that must be converted first
    cards, problems = _listed_models()
    predictors = {}
    for card in cards:
        try:
            predictors[card.name] = Predictor.from_registry(card.path)
        except HarError as exc:
            problems.append(str(exc))
    return {"predictors": predictors, "problems": problems}


def model_cards() -> tuple[list, list[str]]:
    """Cards only (no TensorFlow): fast enough for the home page; and what was wrong."""
    return _model_cards(fingerprint())


@st.cache_data(show_spinner=False, max_entries=1)
def _model_cards(registry: tuple) -> tuple[list, list[str]]:
    return _listed_models()


def forget_models() -> None:
    """After saving a model: make every page see it (a changed file is seen anyway)."""
    _load_predictors.clear()
    _model_cards.clear()


UCF_BOX = "ucf50_dir_box"  # the sidebar's folder box (its key)


def ucf50_root_ui(page: str = "") -> Path | None:
    """Sidebar: a real UCF50 or UCF101 folder, from HAR_UCF50_DIR or typed in; validated."""
    # A keyed box without `value=`: a widget's identity includes its arguments, so passing the
    # last text as `value` made every edit a new widget that came back with the old text
    # (every second edit was undone). The key holds the text; "ucf50_dir" keeps it across
    # pages: each page draws its own box (a new widget), seeded once from it when opened.
    if UCF_BOX not in st.session_state or st.session_state.get(f"{UCF_BOX}__page") != page:
        st.session_state[f"{UCF_BOX}__page"] = page
        st.session_state[UCF_BOX] = st.session_state.get("ucf50_dir", str(ucf50_dir() or ""))
    typed = st.sidebar.text_input(
        "UCF50/UCF101 folder",
        key=UCF_BOX,
        help="A folder laid out as <root>/<Class>/v_<Class>_gNN_cMM.avi. "
        "Set HAR_UCF50_DIR to fill this in on start.",
    )
    st.session_state["ucf50_dir"] = typed
    if not typed.strip():
        st.sidebar.caption(
            "No UCF folder set: the gallery has the built-in synthetic samples only."
        )
        return None
    try:
        dataset = scan_dataset(typed.strip())
    except HarError as exc:
        st.sidebar.error(escape_markdown(exc))
        return None
    st.sidebar.success(f"UCF: {len(dataset.classes)} classes, {len(dataset.clips)} clips")
    return dataset.root


@st.cache_data(show_spinner="Reading the dataset folder...", ttl=60)
def scan_dataset(root: str):
    """A UCF-shaped folder inside the allowed roots, checked (links included) and scanned
    once a minute: on a UCF101 of 13,320 clips the link check alone is about 90 ms, too much
    for every rerun of every page. A refused folder raises, and is not cached."""
    return scan(check_data_root(root))


def models_ui(key: str, synthetic_clip: bool = False) -> dict:
    """The model picker every predicting page starts with: name -> Predictor of the chosen.

    Shows models that failed to load, stops the page when there are none, and defaults to
    the real pair, or for a built-in synthetic clip to the synthetic pair (again each time the
    clip changes kind); shows the synthetic notice for the chosen ones.
    """
    loaded = load_predictors()
    for problem in loaded["problems"]:
        st.error(escape_markdown(problem))
    predictors = loaded["predictors"]
    if not predictors:
        st.info("No models found in models/. Train one on the Retrain page or with `har train`.")
        st.stop()
    just_saved = st.session_state.pop("just_saved", None)
    if just_saved is not None and just_saved not in predictors:  # saved since the last load
        forget_models()
        predictors = load_predictors()["predictors"]
    names = list(predictors)
    kind = "synthetic" if synthetic_clip else "real"
    if st.session_state.get(f"{key}__kind") != kind:  # first run, or the clip changed kind
        st.session_state[f"{key}__kind"] = kind
        # the other kind's shipped pair makes way for this kind's; models of the user's own
        # choosing (one just saved on Retrain, say) stay chosen
        shipped = set(REAL_PAIR) | set(DEMO_PAIR)
        kept = [n for n in st.session_state.get(key, []) if n in names and n not in shipped]
        st.session_state[key] = default_models(names, synthetic_clip) + kept
    current = [n for n in st.session_state.get(key, []) if n in names]
    if just_saved in names and just_saved not in current:  # saved on Retrain: chosen here
        current.append(just_saved)
    st.session_state[key] = current
    chosen = st.multiselect("Models", names, key=key)
    synthetic_notice([predictors[n].card for n in chosen])
    return {n: predictors[n] for n in chosen}


def clip_is_synthetic(prefix: str) -> bool:
    """Whether the clip `video_source_ui(prefix)` shows (as of this rerun) is a built-in
    synthetic sample: read before the picker is drawn, so the models can follow it."""
    source = st.session_state.get(f"{prefix}source", "Sample clip")
    label = st.session_state.get(f"{prefix}class") or ""
    return source == "Sample clip" and not label.endswith(UCF_TAG)


def synthetic_notice(cards) -> None:
    """The honest line every predicting page shows when a model learned from synthetic clips.

    Collapsed to one line (it says what matters) so the predictions stay above the fold.
    """
    names = [c.name for c in cards if c.synthetic]
    if names:
        label = f":material/warning: {', '.join(names)}: trained on synthetic clips, not real video"
        with st.expander(label, expanded=False):
            st.markdown(WARNING.format(names=", ".join(names)))


def frame_grid_ui(frames, captions=None, size: int = 128, columns: int = 10) -> None:
    """Frames (the ones a model sees, or drawn over) in rows of `columns`, each enlarged to
    size x size without smoothing, with an optional caption each."""
    for row in range(0, len(frames), columns):
        shown = range(row, min(row + columns, len(frames)))
        for col, i in zip(st.columns(columns), shown, strict=False):
            col.image(enlarge(frames[i], size), caption=None if captions is None else captions[i])


def skipped_ui(skipped) -> None:
    """The files a dataset, an evaluation or a run left out, each with its reason."""
    if skipped:
        with st.expander(f"{len(skipped)} file(s) skipped: misnamed or undecodable"):
            rows = [(str(file), reason) for file, reason in skipped]
            st.dataframe(pd.DataFrame(rows, columns=["file", "reason"]), hide_index=True)


def card_summary(card) -> str:
    """The card's one-line summary, as `har models` prints it, in bold where it matters."""
    return describe(card, bold=True)


# The clip a class sees first on Predict and Explain, and Home's example: one both default
# models for the built-in samples (lrcn-paper4, convlstm-paper4) get right, with confidence
# (tests/test_pages.py checks it). The first sample by name, HorseRace_1, the ConvLSTM gets
# wrong: the first thing a class saw was a failure.
FIRST_SAMPLE = "Swing_1.mp4"


def first_sample_first(samples: dict[str, list[Path]]) -> dict[str, list[Path]]:
    """The built-in samples by class, FIRST_SAMPLE's class and clip first, the rest in order."""
    cls = FIRST_SAMPLE.rsplit("_", 1)[0]
    if cls not in samples:
        return samples
    clips = sorted(samples[cls], key=lambda p: p.name != FIRST_SAMPLE)
    return {cls: clips, **{c: paths for c, paths in samples.items() if c != cls}}


UCF_TAG = " (UCF)"  # a gallery class from the UCF50/UCF101 folder: real footage
UPLOAD_TYPES = ["mp4", "avi", "mov", "mkv", "webm"]


def video_source_ui(
    prefix: str = "", labelled: bool = True, predictors: dict | None = None
) -> tuple[Path | None, str | None]:
    """Sample gallery by class (shipped samples, plus UCF50/UCF101 clips when a folder is
    set), an upload, or a camera recording; with `predictors`, also the live camera (which
    draws its own answers).

    Returns the video's path and, for a gallery clip, its true class. `prefix` keeps the
    widget keys of two pages apart; `labelled` adds "(sample)" to the built-in classes.
    """
    left, middle, right = st.columns(3)
    sources = ["Sample clip", "Upload", "Record"] + (["Live"] if predictors is not None else [])
    choice = left.radio("Video", sources, horizontal=True, key=f"{prefix}source")
    if choice in ("Record", "Live"):  # the camera (app_camera.py)
        if choice == "Live":
            live_ui(predictors)
            return None, None
        return recording_source_ui(prefix), None
    if choice == "Upload":
        uploaded = st.file_uploader("Upload a video", type=UPLOAD_TYPES, key=f"{prefix}upload")
        if uploaded is None:
            return None, None
        return save_upload(uploaded.name, uploaded.getvalue()), None
    tag = " (sample)" if labelled else ""
    # the built-in samples first, FIRST_SAMPLE first of all (the default), then the UCF
    # folder's clips
    gallery = {f"{cls}{tag}": paths for cls, paths in first_sample_first(list_samples()).items()}
    root = st.session_state.get("ucf50_root")
    if root is not None:
        ucf: dict[str, list] = {}
        for clip in scan_dataset(str(root)).clips:
            ucf.setdefault(f"{clip.label}{UCF_TAG}", []).append(clip.path)
        gallery.update(sorted(ucf.items()))
    if not gallery:
        st.info("No sample clips found in samples/.")
        return None, None
    cls = middle.selectbox("Class", list(gallery), key=f"{prefix}class")
    path = right.selectbox("Clip", gallery[cls], format_func=lambda p: p.name, key=f"{prefix}clip")
    return path, cls.rsplit(" (", 1)[0]
