"""Evaluate: accuracy, macro F1, per-class metrics and confusion matrices, beside the paper's."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_common import models_ui, setup_page, skipped_ui
from har.config import PAPER_ACCURACY
from har.errors import HarError
from har.evaluation.metrics import format_accuracy
from har.training.evaluate import (
    CLIPS_PER_GROUP,
    EvalSource,
    can_synthesize,
    evaluate_model,
    pair_report,
)
from har.visualization.charts import confusion_heatmap, reliability_diagram


def data_ui(cards) -> EvalSource | None:
    """Which data to evaluate on: fresh synthetic clips (for models of synthetic classes), or
    the UCF folder's test split; None when there is nothing these models can be tested on."""
    card = cards[0]
    root = st.session_state.get("ucf50_root")
    options = []
    if all(can_synthesize(c.class_names) for c in cards):
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
    # the settings fold away: the results start above the fold at 720p
    settings = st.expander("Split and seed" if source.startswith("UCF") else "Clips and seed")
    if source.startswith("UCF"):
        left, right = settings.columns(2)
        mode = left.radio(
            "Split",
            ["group", "random"],
            horizontal=True,
            key="eval_split",
            index=0 if card.split.get("mode") != "random" else 1,
        )
        seed = right.number_input("Split seed", value=int(card.split.get("seed", 27)), step=1)
        return EvalSource.of_folder(root, mode, int(seed))
    left, right = settings.columns(2)
    groups = left.slider("Groups per class", 2, 25, 4, key="eval_groups")
    seed = right.number_input(
        "Generator seed",
        value=1000,
        step=1,
        key="eval_seed",
        help="Shipped models were trained on seed 0.",
    )
    chosen = EvalSource.synthetic(groups, int(seed))
    st.caption(
        f"{groups} groups x {CLIPS_PER_GROUP} clips x {len(card.class_names)} classes = "
        f"**{chosen.clips(card.class_names)} clips** per model (generated once, then cached)."
    )
    return chosen


def report_ui(name: str, card, report: dict, where: str) -> None:
    st.markdown(f"### {name}")
    a, b = st.columns(2)
    a.metric("Accuracy", f"{report['accuracy'] * 100:.1f} %")
    b.metric("Macro F1", f"{report['macro_f1']:.3f}")
    st.caption(
        f"{where}. Accuracy {format_accuracy(report)}: the interval says how much it could move."
    )
    skipped_ui(report.get("skipped"))
    st.plotly_chart(confusion_heatmap(report["confusion"], report["class_names"]), key=f"cm-{name}")
    st.caption("Confusion matrix: clips per true class (rows) and answer (columns).")
    with st.expander("Per class: precision, recall, F1"):
        table = pd.DataFrame(report["per_class"]).T[["precision", "recall", "f1", "support"]]
        table["support"] = table["support"].astype(int)
        st.dataframe(
            table.style.format({"precision": "{:.2f}", "recall": "{:.2f}", "f1": "{:.2f}"})
        )
    with st.expander("Calibration: confidence against accuracy"):
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
        novelty = card.calibration.get("novelty")
        how = "below its confidence threshold" + (
            f" or unlike its {novelty['reference_clips']} training clips" if novelty else ""
        )
        text += (
            f" Flagged uncertain ({how}): {flagged['right']:.0%} of {flagged['right_clips']} right "
            f"answers, {flagged['wrong']:.0%} of {flagged['wrong_clips']} wrong ones."
        )
    st.caption(text)


def pair_ui(reports: dict, source: EvalSource) -> None:
    """The models that know the same classes, judged together as Predict judges them."""
    pair = pair_report(reports)
    if pair is None:
        return
    names = pair["models"]
    n, confident = pair["num_clips"], pair["confident"]
    st.subheader("Together: " + " and ".join(names))
    a, b, c = st.columns(3)
    a.metric("They agree", f"{pair['agree'] / n:.0%}")
    b.metric("Answered confidently", f"{confident / n:.0%}")
    low, high = pair["interval"]
    c.metric(
        f"{names[0]} right when confident",
        f"{pair['right_when_confident'] / max(confident, 1):.1%}",
    )
    lines = [
        f"{name}: {m['right_unsure']} of its {m['right']} right answers and "
        f"{m['wrong_unsure']} of its {m['wrong']} wrong ones"
        for name, m in pair["per_model"].items()
    ]
    st.caption(
        f"{source.describe(n)}. On Predict, the answer is unsure unless all of these models give "
        f"the same class and none is unsure on its own; that left {confident} of {n} clips "
        f"answered confidently (95 % CI of the accuracy on them {low * 100:.1f}-"
        f"{high * 100:.1f} %). Called unsure that way: " + "; ".join(lines) + "."
    )


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
source = data_ui(cards) if chosen else None
if source is not None:
    results = st.session_state.setdefault("eval_results", {})
    if st.button("Evaluate", type="primary", key="run_eval"):
        st.session_state["eval_request"] = (tuple(chosen), source)
        bar = st.progress(0.0, "Starting")

        def progress(what: str, done: int, total: int) -> None:
            bar.progress(done / max(total, 1), f"{what} {done}/{total}")

        for name in chosen:
            if (name, source) not in results:
                try:
                    results[(name, source)] = evaluate_model(predictors[name], source, progress)
                except HarError as exc:
                    results[(name, source)] = {"error": str(exc)}
        bar.empty()
    request = st.session_state.get("eval_request")
    if request and request[0] == tuple(chosen):
        asked = request[1]
        for col, name in zip(st.columns(len(chosen)), chosen, strict=True):
            report = results.get((name, asked), {"error": "Press Evaluate again."})
            with col:
                if "error" in report:
                    st.error(report["error"])
                    continue
                report_ui(name, predictors[name].card, report, asked.describe(report["num_clips"]))
        pair_ui({n: results.get((n, asked), {}) for n in chosen}, asked)
if chosen:
    recorded_ui(cards)
