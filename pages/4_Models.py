"""Models: bring your own (the paper tutorial's Keras 2 .h5 files) and take ours out."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from app_common import card_summary, forget_models, model_cards, setup_page
from har.config import check_data_root
from har.errors import HarError
from har.models.export import export_model
from har.models.keras2_import import import_legacy
from har.utils.files import safe_filename
from har.utils.text import escape_markdown


def parse_classes(text: str) -> list[str]:
    """Class names in output order, one per line or separated by commas."""
    return [c.strip() for line in text.splitlines() for c in line.split(",") if c.strip()]


def import_ui() -> None:
    """Upload a .h5 (or name one on the server), its classes and color order; import it."""
    st.subheader("Import a Keras 2 model (.h5)")
    st.markdown(
        "Models trained with the paper's tutorial code open here: give the class names in "
        "the order the model outputs them (the order of its training folders' list), and the "
        "color order its frames had (OpenCV reads **BGR**, which the tutorial kept)."
    )
    # Outside the form: a finished upload reruns the page, so an Import pressed while the file
    # was still uploading (the form then sends no file) goes ahead once it has arrived.
    upload = st.file_uploader("Model file", type=["h5", "hdf5"], key="import_upload")
    with st.form("import"):
        server_path = st.text_input(
            "... or a path on this server", key="import_path", help="Inside HAR_DATA_ROOTS."
        )
        classes = st.text_area("Classes, in output order", key="import_classes", height=100)
        left, right = st.columns(2)
        color = left.radio(
            "Color order of its training frames",
            ["bgr", "rgb"],
            format_func=lambda c: {"bgr": "BGR (OpenCV, the tutorial)", "rgb": "RGB"}[c],
            key="import_color",
        )
        name = right.text_input("Name (optional)", key="import_name")
        if st.form_submit_button("Import", type="primary"):
            st.session_state["import_wanted"] = True
    if not st.session_state.get("import_wanted"):
        return
    if upload is None and not server_path.strip():  # kept wanted: the upload may yet arrive
        st.info(
            "No model file yet. If you chose one, it is still uploading: the import starts by "
            "itself when its upload bar finishes. Otherwise upload a .h5 file or give its path "
            "on this server."
        )
        return
    st.session_state["import_wanted"] = False
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if upload is not None:
                path = Path(tmp) / safe_filename(upload.name, "model")  # names the model
                path.write_bytes(upload.getvalue())
            else:
                path = check_data_root(server_path.strip())

            with st.spinner("Reading the Keras 2 model and checking it..."):
                card = import_legacy(path, parse_classes(classes), name or None, color)
    except HarError as exc:
        st.error(escape_markdown(exc))
        return
    forget_models()
    st.session_state["just_saved"] = card.name
    frames, height, width, _ = card.input_shape
    st.success(
        f"Imported as **{escape_markdown(card.name)}** ({card.architecture}, {frames} frames of "
        f"{width}x{height} {card.color_order}). It is now chosen on Predict."
    )


@st.cache_resource
def export_errors() -> dict:
    """(model, format) -> the sentence its last export failed with (the download runs on its
    own thread, where the page cannot draw; the next rerun shows it)."""
    return {}


def export_zip(name: str, fmt: str) -> bytes:
    """The model exported, checked and zipped with its card and a README (on download)."""
    buffer = io.BytesIO()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            export_model(name, fmt, Path(tmp) / f"{name}-{fmt}")
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in sorted(Path(tmp).rglob("*")):
                    if file.is_file():
                        archive.write(file, file.relative_to(tmp))
    except HarError as exc:  # the zip says why, and so does the page on its next run
        export_errors()[(name, fmt)] = str(exc)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("EXPORT-FAILED.txt", f"{exc}\n")
    else:
        export_errors().pop((name, fmt), None)
    return buffer.getvalue()


def export_ui(cards) -> None:
    """Any model as a SavedModel or TFLite, zipped with its card and a README: one click."""
    st.subheader("Export a model")
    left, middle, right = st.columns([2, 1, 1])
    name = left.selectbox("Model", [c.name for c in cards], key="export_model")
    fmt = middle.radio("Format", ["tflite", "savedmodel"], horizontal=True, key="export_fmt")
    right.download_button(
        f"Download {name}-{fmt}.zip",
        data=lambda: export_zip(name, fmt),  # exported when clicked, on its own thread
        file_name=f"{name}-{fmt}.zip",
        mime="application/zip",
        key="export_dl",
        help="Converts and checks the model, then downloads it (a few seconds).",
    )
    failed = export_errors().get((name, fmt))
    if failed:
        st.error(escape_markdown(failed))


setup_page("Models")
st.title("Models")
cards, problems = model_cards()
for problem in problems:
    st.warning(escape_markdown(problem))
for start in range(0, len(cards), 2):  # the cards in view, two a row
    for col, card in zip(st.columns(2), cards[start : start + 2], strict=False):
        with col, st.container(border=True):
            st.markdown(f"#### {escape_markdown(card.name)}")
            st.markdown(card_summary(card))
            if card.source:
                source = f"From {card.source.get('file')} (SHA-256 {card.source.get('sha256')})."
                st.caption(escape_markdown(source))
import_ui()
if cards:
    export_ui(cards)
