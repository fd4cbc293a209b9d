"""Retrain: pick data, classes and models; watch loss and accuracy grow live; save the result."""

from __future__ import annotations

import streamlit as st

from app_common import forget_models, scan_dataset
from har.charts import confusion_heatmap, training_curves
from har.errors import HarError
from har.jobs import JobSpec, get_job, start_job
from har.synthetic import SYNTHETIC_CLASSES, cached_dataset


def settings_ui() -> dict | None:
    """The run's settings; None until the user presses Start."""
    root = st.session_state.get("ucf50_root")
    sources = ["Synthetic (generated on demand)"] + (["UCF50 folder"] if root else [])
    source = st.radio("Data", sources, horizontal=True, key="rt_source")
    available = scan_dataset(str(root)).classes if source == "UCF50 folder" else SYNTHETIC_CLASSES
    classes = st.multiselect(
        "Classes (two or more)", available, default=list(available[:2]), key="rt_classes"
    )
    c1, c2, c3, c4 = st.columns(4)
    models = c1.multiselect("Models", ["convlstm", "lrcn"], default=["lrcn"], key="rt_models")
    epochs = c2.number_input(
        "Max epochs",
        1,
        200,
        10,
        key="rt_epochs",
        help="The paper: 50 (ConvLSTM), 70 (LRCN), with early stopping.",
    )
    batch = c3.number_input("Batch size", 1, 64, 4, key="rt_batch")
    split = c4.radio("Split", ["group", "random"], key="rt_split")
    groups = 6
    if source.startswith("Synthetic"):
        groups = st.slider(
            "Synthetic groups per class",
            3,
            25,
            6,
            key="rt_groups",
            help="Two clips per group; more groups take longer.",
        )
    if not st.button("Start training", type="primary", key="rt_start"):
        return None
    if len(classes) < 2:
        st.error("Pick at least two classes.")
        return None
    if not models:
        st.error("Pick at least one model.")
        return None
    return {
        "source": source,
        "root": root,
        "classes": classes,
        "models": models,
        "epochs": int(epochs),
        "batch": int(batch),
        "split": split,
        "groups": groups,
    }


def start(settings: dict) -> str:
    if settings["source"].startswith("Synthetic"):
        with st.spinner("Generating synthetic clips..."):
            root = cached_dataset(settings["classes"], groups=settings["groups"], seed=7)
    else:
        root = settings["root"]
    spec = JobSpec(
        data_root=root,
        classes=settings["classes"],
        architectures=settings["models"],
        epochs=settings["epochs"],
        batch_size=settings["batch"],
        split_mode=settings["split"],
    )
    return start_job(spec).id


def progress_ui(job) -> None:
    state = job.snapshot()
    if state.stage == "extracting":
        total = max(state.extract_total, 1)
        st.progress(state.extract_done / total, f"Extracting frames {state.extract_done}/{total}")
    elif state.stage == "training":
        within = state.batch / max(state.total_batches, 1)
        st.progress(
            within,
            f"{state.architecture}: epoch {state.epoch + 1}/"
            f"{state.total_epochs}, batch {state.batch}/{state.total_batches}",
        )
    if state.split:
        s = state.split
        st.caption(
            f"{s['mode']} split: {s['train']} train / {s['val']} validation / "
            f"{s['test']} test clips"
        )
    for arch, history in state.history.items():
        st.markdown(f"**{arch.upper()}**")
        if history:
            left, right = st.columns(2)
            left.plotly_chart(training_curves(history, "loss"), key=f"loss-{arch}")
            right.plotly_chart(training_curves(history, "accuracy"), key=f"acc-{arch}")
        if arch in state.reports:
            report = state.reports[arch]
            st.markdown(
                f"Test accuracy **{report['accuracy']:.1%}**, macro F1 "
                f"**{report['macro_f1']:.3f}** on {report['num_clips']} test clips"
            )
            st.plotly_chart(
                confusion_heatmap(report["confusion"], report["class_names"]), key=f"cm-{arch}"
            )
    if state.stage == "failed":
        st.error(state.error)
    elif not state.finished:
        if st.button("Stop", key="rt_stop"):
            job.stop()
    if state.finished and state.stage != "failed":
        st.success(state.message)


@st.fragment(run_every=1.0)
def live_ui(job) -> None:
    progress_ui(job)
    if job.snapshot().finished:
        st.rerun()  # a full run leaves the live fragment and draws the Save form


def save_ui(job) -> None:
    state = job.snapshot()
    for arch in state.reports:
        with st.form(f"save-{arch}"):
            name = st.text_input(
                f"Save the {arch} model as", value=f"{arch}-mine", key=f"save_name_{arch}"
            )
            if st.form_submit_button("Save to the model registry"):
                try:
                    path = job.save(arch, name)
                except HarError as exc:
                    st.error(str(exc))
                else:
                    forget_models()
                    st.success(f"Saved {path}. It now appears on Predict and Evaluate.")


st.title("Retrain")
st.markdown(
    "Train the paper's models on the classes you choose. Training runs in the "
    "background: this page stays responsive and a refresh finds the run again."
)
try:
    settings = settings_ui()
    if settings:
        st.query_params["job"] = start(settings)
except HarError as exc:
    st.error(str(exc))

job = get_job(st.query_params.get("job"))
if job is not None:
    if job.snapshot().finished:
        progress_ui(job)
        save_ui(job)
    else:
        live_ui(job)
