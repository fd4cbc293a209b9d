"""Evaluate: accuracy, macro F1, per-class metrics and confusion matrices, beside the paper's."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_common import load_predictors, models_ui, setup_page
from har.charts import confusion_heatmap
from har.config import PAPER_ACCURACY
from har.errors import HarError
from har.pipeline import evaluate_on, prepare_data
from har.synthetic import cached_dataset


def data_ui(card) -> tuple[str, str, int]:
    """Which data to evaluate on: fresh synthetic clips, or the UCF50 folder's test split."""
    root = st.session_state.get("ucf50_root")
    options = ["Fresh synthetic clips (never seen in training)"]
    if root is not None:
        options.append("UCF50 folder: test split")
    source = st.radio("Data", options, horizontal=True, key="eval_source")
    if source.startswith("UCF50"):
        left, right = st.columns(2)
        mode = left.radio(
            "Split",
            ["group", "random"],
            horizontal=True,
            key="eval_split",
            index=0 if card.split.get("mode") != "random" else 1,
        )
        seed = right.number_input("Split seed", value=int(card.split.get("seed", 27)), step=1)
        return str(root), mode, int(seed)
    left, right = st.columns(2)
    groups = left.slider("Groups per class", 2, 25, 4, key="eval_groups")
    seed = right.number_input(
        "Generator seed",
        value=1000,
        step=1,
        key="eval_seed",
        help="Shipped models were trained on seed 0.",
    )
    return f"synthetic:{groups}:{int(seed)}", "all", int(seed)


@st.cache_data(show_spinner="Decoding clips and predicting...")
def evaluate(model_name: str, source: str, mode: str, seed: int) -> dict:
    predictor = load_predictors()["predictors"][model_name]
    classes = predictor.card.class_names
    if source.startswith("synthetic:"):
        _, groups, gen_seed = source.split(":")
        root = cached_dataset(classes, groups=int(groups), clips_per_group=2, seed=int(gen_seed))
    else:
        root = source
    data = prepare_data(root, classes, split_mode=mode, seed=seed, progress=False)
    return evaluate_on(predictor, data).to_dict()


def report_ui(name: str, card, report: dict, where: str) -> None:
    st.markdown(f"### {name}")
    st.caption(where)
    a, b = st.columns(2)
    a.metric("Accuracy", f"{report['accuracy']:.1%}")
    b.metric("Macro F1", f"{report['macro_f1']:.3f}")
    table = pd.DataFrame(report["per_class"]).T[["precision", "recall", "f1", "support"]]
    st.dataframe(table.style.format({"precision": "{:.2f}", "recall": "{:.2f}", "f1": "{:.2f}"}))
    st.plotly_chart(confusion_heatmap(report["confusion"], report["class_names"]), key=f"cm-{name}")
    paper = PAPER_ACCURACY.get(card.architecture)
    if paper is not None:
        st.caption(
            f"Paper: {card.architecture.upper()} {paper:.2%} test accuracy on four real UCF50 "
            "classes with a random 75/25 split. Random splits put clips of one group (same "
            "actor and background) on both sides, which flatters the score; "
            + (
                "these figures are on synthetic clips, so they are not comparable."
                if card.synthetic
                else "compare with the group split for an honest figure."
            )
        )


setup_page("Evaluate")
st.title("Evaluate")
predictors = models_ui(key="eval_models")
chosen = list(predictors)
cards = [predictors[n].card for n in chosen]
if chosen:
    source, mode, seed = data_ui(cards[0])
    if st.button("Evaluate", type="primary", key="run_eval"):
        st.session_state["eval_request"] = (tuple(chosen), source, mode, seed)
    request = st.session_state.get("eval_request")
    if request and request[0] == tuple(chosen):
        cols = st.columns(len(chosen))
        for col, name in zip(cols, chosen, strict=True):
            with col:
                try:
                    report = evaluate(name, request[1], request[2], request[3])
                except HarError as exc:
                    st.error(str(exc))
                    continue
                where = (
                    f"{report['num_clips']} fresh synthetic clips (generator seed {request[3]})"
                    if request[2] == "all"
                    else f"{report['num_clips']} test clips of {request[1]} "
                    f"({request[2]} split, seed {request[3]})"
                )
                report_ui(name, predictors[name].card, report, where)
    st.subheader("As recorded in the model cards")
    rows = []
    for card in cards:
        test = card.metrics.get("test", {})
        rows.append(
            {
                "model": card.name,
                "data": "synthetic" if card.synthetic else card.dataset.get("kind"),
                "split": card.split.get("mode"),
                "test clips": card.split.get("test"),
                "accuracy": test.get("accuracy"),
                "macro F1": test.get("macro_f1"),
                "paper accuracy": PAPER_ACCURACY.get(card.architecture),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True)
