"""HAR Studio: the home page. Run: streamlit run streamlit_app.py (the other pages: pages/)."""

from __future__ import annotations

import streamlit as st

from app_common import card_summary, model_cards, setup_page
from har.utils.text import escape_markdown


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
        with st.container(border=True):
            st.markdown(f"#### {escape_markdown(card.name)}")
            st.markdown(card_summary(card))
            if card.synthetic:
                st.caption(
                    "Synthetic: trained on drawn figures, not real video; it will not "
                    "recognise real footage."
                )
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
