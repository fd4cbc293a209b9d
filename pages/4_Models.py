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
    with st.form("import"):
        upload = st.file_uploader("Model file", type=["h5", "hdf5"])
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
        submitted = st.form_submit_button("Import", type="primary")
    if not submitted:
        return
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if upload is not None:
                path = Path(tmp) / safe_filename(upload.name, "model")  # names the model
                path.write_bytes(upload.getvalue())
            elif server_path.strip():
                path = check_data_root(server_path.strip())
            else:
                raise HarError("Upload a .h5 file or give its path on this server.")
            from har.models.keras2_import import import_legacy

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


def export_ui(cards) -> None:
    """Any model as a SavedModel or TFLite, zipped with its card and a README."""
    st.subheader("Export a model")
    left, middle, right = st.columns([2, 1, 1])
    name = left.selectbox("Model", [c.name for c in cards], key="export_model")
    fmt = middle.radio("Format", ["tflite", "savedmodel"], horizontal=True, key="export_fmt")
    if right.button("Prepare the download", key="export_go"):
        from har.models.export import export_model

        try:
            with tempfile.TemporaryDirectory() as tmp, st.spinner("Exporting and checking..."):
                export_model(name, fmt, Path(tmp) / f"{name}-{fmt}")
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                    for file in sorted(Path(tmp).rglob("*")):
                        if file.is_file():
                            archive.write(file, file.relative_to(tmp))
            st.session_state["export_zip"] = (f"{name}-{fmt}.zip", buffer.getvalue())
        except HarError as exc:
            st.error(escape_markdown(exc))
    if st.session_state.get("export_zip"):
        filename, data = st.session_state["export_zip"]
        st.download_button(f"Download {filename}", data, file_name=filename, key="export_dl")


setup_page("Models")
st.title("Models")
cards, problems = model_cards()
for problem in problems:
    st.warning(escape_markdown(problem))
for card in cards:
    with st.expander(escape_markdown(card.name)):
        st.markdown(card_summary(card))
        if card.source:
            source = f"From {card.source.get('file')} (SHA-256 {card.source.get('sha256')})."
            st.caption(escape_markdown(source))
import_ui()
if cards:
    export_ui(cards)
