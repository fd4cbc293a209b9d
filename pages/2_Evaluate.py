"""Evaluate: accuracy, macro F1, per-class metrics and confusion matrices, beside the paper's."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_common import models_ui, setup_page
from har.config import PAPER_ACCURACY
from har.data.synthetic import SYNTHETIC_CLASSES, cached_dataset
from har.errors import HarError
from har.evaluation.metrics import format_accuracy
from har.training.experiment import evaluate_on, prepare_data
from har.visualization.charts import confusion_heatmap, reliability_diagram

CLIPS_PER_GROUP = 2


def data_ui(cards) -> tuple[str, str, int] | None:
    """Which data to evaluate on: fresh synthetic clips (for models of synthetic classes), or
    the UCF folder's test split; None when there is nothing these models can be tested on."""
    card = cards[0]
    root = st.session_state.get("ucf50_root")
    options = []
    if all(set(c.class_names) <= set(SYNTHETIC_CLASSES) for c in cards):
        options.append("Fresh synthetic clips (never seen in training)")
    if root is not None:
        options.append("UCF folder: test split")
    if not options:
        st.info(
            "These models know real classes the synthetic generator cannot draw: set a UCF50 or "
            "UCF101 folder with their classes in the sidebar to test them on real footage."
        )
        return None
    source = st.radio("Data", options, horizontal=True, key="eval_source")
    if source.startswith("UCF"):
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
    classes = len(card.class_names)
    st.caption(
        f"{groups} groups x {CLIPS_PER_GROUP} clips x {classes} classes = "
        f"**{groups * CLIPS_PER_GROUP * classes} clips** per model (generated once, then cached)."
    )
    return f"synthetic:{groups}:{int(seed)}", "all", int(seed)


def evaluate(predictor, source: str, mode: str, seed: int, bar) -> dict:
    """Generate or scan the data, decode its clips and score the model, with a progress bar."""
    classes = predictor.card.class_names

    def progress(what: str):
        return lambda done, total: bar.progress(done / max(total, 1), f"{what} {done}/{total}")

    if source.startswith("synthetic:"):
        _, groups, gen_seed = source.split(":")
        root = cached_dataset(
            classes,
            groups=int(groups),
            clips_per_group=CLIPS_PER_GROUP,
            seed=int(gen_seed),
            progress=progress("Generating clips"),
        )
    else:
        root = source
    data = prepare_data(
        root, classes, split_mode=mode, seed=seed, progress=progress("Decoding clips")
    )
    bar.progress(1.0, f"Predicting {len(data.x_test)} clips")
    return {**evaluate_on(predictor, data).to_dict(), "skipped": data.skipped}


def report_ui(name: str, card, report: dict, where: str) -> None:
    st.markdown(f"### {name}")
    st.caption(where)
    a, b = st.columns(2)
    a.metric("Accuracy", f"{report['accuracy'] * 100:.1f} %")
    b.metric("Macro F1", f"{report['macro_f1']:.3f}")
    st.caption(f"Accuracy {format_accuracy(report)}: the interval says how much it could move.")
    if report.get("skipped"):
        with st.expander(f"{len(report['skipped'])} file(s) skipped: misnamed or undecodable"):
            st.markdown("\n".join(f"- `{p}`: {why}" for p, why in report["skipped"]))
    table = pd.DataFrame(report["per_class"]).T[["precision", "recall", "f1", "support"]]
    table["support"] = table["support"].astype(int)
    st.dataframe(table.style.format({"precision": "{:.2f}", "recall": "{:.2f}", "f1": "{:.2f}"}))
    st.plotly_chart(confusion_heatmap(report["confusion"], report["class_names"]), key=f"cm-{name}")
    calibration_ui(name, card, report)
    paper = PAPER_ACCURACY.get(card.architecture)
    if paper is not None:
        st.caption(
            f"Paper: {card.architecture.upper()} {paper * 100:.1f} % test accuracy on four real "
            "UCF50 classes with a random 75/25 split. Random splits put clips of one group (same "
            "actor and background) on both sides, which flatters the score; "
            + (
                "these figures are on synthetic clips, so they are not comparable."
                if card.synthetic
                else "compare with the group split for an honest figure."
            )
        )


def calibration_ui(name: str, card, report: dict) -> None:
    """The reliability diagram of these clips, the calibration error, and how often the
    model's uncertainty flag fell on right and on wrong answers."""
    if not report.get("reliability"):
        return
    st.plotly_chart(
        reliability_diagram(report["reliability"], "Confidence against accuracy"),
        key=f"rel-{name}",
    )
    fitted = "calibrated" if card.calibration else "not calibrated (no temperature on its card)"
    text = (
        f"Expected calibration error {report['ece']:.3f} on these {report['num_clips']} clips "
        f"({fitted}): the mean gap between confidence and accuracy, 0 is perfect."
    )
    flagged = report.get("flagged") or {}
    if flagged:
        text += (
            f" Flagged uncertain: {flagged['right']:.0%} of {flagged['right_clips']} right "
            f"answers, {flagged['wrong']:.0%} of {flagged['wrong_clips']} wrong ones."
        )
    st.caption(text)


def recorded_ui(cards) -> None:
    """Each card's own test figures, saying on what data and split they were measured."""
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
                "accuracy": format_accuracy(test) if "accuracy" in test else "unknown",
                "macro F1": round(test["macro_f1"], 3) if "macro_f1" in test else None,
                "paper accuracy": f"{PAPER_ACCURACY[card.architecture] * 100:.1f} %"
                if card.architecture in PAPER_ACCURACY
                else None,
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True)


setup_page("Evaluate")
st.title("Evaluate")
predictors = models_ui(key="eval_models", synthetic_clip=st.session_state.get("ucf50_root") is None)
chosen = list(predictors)
cards = [predictors[n].card for n in chosen]
picked = data_ui(cards) if chosen else None
if picked is not None:
    source, mode, seed = picked
    results = st.session_state.setdefault("eval_results", {})
    if st.button("Evaluate", type="primary", key="run_eval"):
        st.session_state["eval_request"] = (tuple(chosen), source, mode, seed)
        bar = st.progress(0.0, "Starting")
        for name in chosen:
            key = (name, source, mode, seed)
            if key not in results:
                try:
                    results[key] = evaluate(predictors[name], source, mode, seed, bar)
                except HarError as exc:
                    results[key] = {"error": str(exc)}
        bar.empty()
    request = st.session_state.get("eval_request")
    if request and request[0] == tuple(chosen):
        cols = st.columns(len(chosen))
        for col, name in zip(cols, chosen, strict=True):
            report = results.get((name, *request[1:]), {"error": "Press Evaluate again."})
            with col:
                if "error" in report:
                    st.error(report["error"])
                    continue
                where = (
                    f"{report['num_clips']} fresh synthetic clips (generator seed {request[3]})"
                    if request[2] == "all"
                    else f"{report['num_clips']} test clips of {request[1]} "
                    f"({request[2]} split, seed {request[3]})"
                )
                report_ui(name, predictors[name].card, report, where)
if chosen:
    recorded_ui(cards)
