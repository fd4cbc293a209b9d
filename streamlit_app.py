"""HAR Studio: the home page and the app's navigation. Run: streamlit run streamlit_app.py"""

from __future__ import annotations

import streamlit as st

from app_common import card_summary, model_cards, ucf50_root_ui


def home() -> None:
    st.title("HAR Studio")
    st.markdown(
        "Recognise human actions in video with the two models of the paper: a **ConvLSTM** "
        "and an **LRCN** (a per-frame CNN feeding an LSTM). Pick a sample clip or upload "
        "your own on **Predict** to see the 20 frames the models look at and both "
        "predictions side by side; **Evaluate** measures them, and **Retrain** trains new "
        "ones on the classes you choose with live loss and accuracy curves."
    )
    cards = model_cards()
    st.subheader("Models")
    if not cards:
        st.info("No models found in models/. Train one on the Retrain page or with `har train`.")
    for card in cards:
        with st.container(border=True):
            st.markdown(f"#### {card.name}")
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
        st.markdown(f"Real UCF50 folder: `{root}`.")


pages = [
    st.Page(home, title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/1_Predict.py", title="Predict", icon=":material/movie:"),
    st.Page("app_pages/2_Evaluate.py", title="Evaluate", icon=":material/analytics:"),
    st.Page("app_pages/3_Retrain.py", title="Retrain", icon=":material/model_training:"),
]
st.set_page_config(page_title="HAR Studio", page_icon="🎬", layout="wide")
navigation = st.navigation(pages)
st.session_state["ucf50_root"] = ucf50_root_ui()  # the sidebar setting, on every page
navigation.run()
