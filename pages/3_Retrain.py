"""Retrain: pick data, classes and models; watch loss and accuracy grow live; save the result.

Training runs in its own process (har.jobs); this page only starts runs and reads their
progress files, so it stays responsive and a run survives refreshes and page changes.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app_common import forget_models, scan_dataset, setup_page
from har.data.own_datasets import retrain_sources
from har.data.synthetic import SYNTHETIC_CLASSES
from har.errors import HarError
from har.training.jobs import JobSpec, get_job, list_jobs, start_job
from har.training.recipe import TrainConfig
from har.visualization.charts import confusion_heatmap, training_curves

STATUS_ICONS = {"done": "✅", "stopped": "⏹️", "failed": "❌"}


def settings_ui(running: list) -> JobSpec | None:
    """The new run's settings; a checked JobSpec once the user presses Start, else None."""
    root = st.session_state.get("ucf50_root")
    own = retrain_sources()  # "Your dataset: <name>" -> (folder, classes), from Your classes
    sources = ["Synthetic (generated on demand)"] + (["UCF50 folder"] if root else []) + [*own]
    source = st.radio("Data", sources, horizontal=True, key="rt_source")
    synthetic = source.startswith("Synthetic")
    if source in own:
        root, available = own[source]
    else:
        available = SYNTHETIC_CLASSES if synthetic else scan_dataset(str(root)).classes
    classes = st.multiselect(
        "Classes (two or more)", available, default=list(available[:2]), key="rt_classes"
    )
    c1, c2, c3, c4 = st.columns(4)
    models = c1.multiselect("Models", ["convlstm", "lrcn"], default=["lrcn"], key="rt_models")
    epochs = c2.number_input(
        "Max epochs",
        min_value=1,
        max_value=200,
        value=10,
        key="rt_epochs",
        help="The paper: 50 (ConvLSTM), 70 (LRCN), with early stopping.",
    )
    batch = c3.number_input("Batch size", min_value=1, max_value=64, value=4, key="rt_batch")
    split = c4.radio("Split", ["group", "random"], key="rt_split")
    groups = None
    if synthetic:
        groups = st.slider(
            "Synthetic groups per class",
            3,
            25,
            6,
            key="rt_groups",
            help="Two clips per group; more groups take longer.",
        )
    confirmed = True
    if running:
        st.warning(
            f"A run is still training ({running[0].spec.describe()}). A second run shares the "
            "CPU with it and both go slower."
        )
        confirmed = st.checkbox("Start another run anyway", key="rt_confirm")
    if not st.button("Start training", type="primary", key="rt_start", disabled=not confirmed):
        return None
    config = TrainConfig(
        architecture=(models or ["lrcn"])[0], epochs=int(epochs), batch_size=int(batch)
    )
    return JobSpec(
        classes=list(classes),
        architectures=list(models),
        config=config,
        data_root=None if synthetic else str(root),
        synthetic_groups=groups,
        split_mode=split,
    ).validate()


def run_label(job) -> str:
    state = job.snapshot()
    started = dt.datetime.fromtimestamp(state.started or job.dir.stat().st_mtime)
    status = STATUS_ICONS.get(state.stage, "⏳")
    return f"{status} {started:%H:%M:%S} · {state.stage} · {job.spec.describe()}"


def runs_ui(jobs: list, wanted: str | None):
    """The run list; returns the run to show (the URL's, else a running one, else the newest)."""
    if not jobs:
        st.info("No runs yet: start one above.")
        return None
    ids = [j.id for j in jobs]
    running = [j.id for j in jobs if not j.snapshot().finished]
    default = wanted if wanted in ids else (running[0] if running else ids[0])
    labels = {j.id: run_label(j) for j in jobs}
    chosen = st.selectbox(
        f"Runs ({len(jobs)})", ids, index=ids.index(default), format_func=labels.get
    )
    return get_job(chosen)


def skipped_ui(skipped) -> None:
    """The files a run left out, each with its reason."""
    if skipped:
        with st.expander(f"{len(skipped)} file(s) skipped: misnamed or undecodable"):
            st.markdown("\n".join(f"- `{path}`: {reason}" for path, reason in skipped))


def progress_ui(job) -> None:
    state = job.snapshot()
    st.caption(f"Run {job.id}: {job.spec.describe()}")
    if state.stage in ("generating", "extracting") and state.extract_total:
        st.progress(state.extract_done / state.extract_total, state.progress_line())
    elif state.stage == "training":
        within = state.batch / state.total_batches if state.total_batches else 0.0
        st.progress(within, state.progress_line())
    elif not state.finished:
        st.progress(0.0, state.progress_line())
    if state.split:
        s = state.split
        st.caption(
            f"{s['mode']} split: {s['train']} train / {s['val']} validation / "
            f"{s['test']} test clips"
        )
    skipped_ui(state.skipped)
    for arch, history in state.history.items():
        st.markdown(f"**{arch.upper()}**")
        # drawn (empty) from the start of training, so the first epoch's point appears at
        # once instead of after the browser has loaded the chart library
        if history or (arch == state.architecture and state.stage == "training"):
            left, right = st.columns(2)
            left.plotly_chart(training_curves(history, "loss"), key=f"loss-{job.id}-{arch}")
            right.plotly_chart(training_curves(history, "accuracy"), key=f"acc-{job.id}-{arch}")
        model = state.models.get(arch, {})
        if model.get("stopped_by_user") and not model.get("epochs_run"):
            st.warning("Stopped during the first epoch: no epoch finished, so nothing to save.")
        elif model.get("stopped_by_user"):
            st.warning(
                f"Stopped early after {model['epochs_run']} epochs (best weights kept). Not "
                "tested: save it, then score it on the Evaluate page."
            )
        if arch in state.reports:
            report = state.reports[arch]
            st.markdown(
                f"Test accuracy **{report['accuracy']:.1%}**, macro F1 "
                f"**{report['macro_f1']:.3f}** on {report['num_clips']} held-out test clips "
                f"({state.split.get('mode', '?')} split)"
            )
            st.plotly_chart(
                confusion_heatmap(report["confusion"], report["class_names"]),
                key=f"cm-{job.id}-{arch}",
            )
    if state.stage == "failed":
        st.error(state.error)
    elif state.stage == "stopped":
        st.info(f"Stopped: {state.message}.")
    elif state.finished:
        st.success(f"{state.message} in {state.ended - state.started:.0f} s.")
    elif state.stop_requested:
        st.info("Stopping: the run ends after the batch in progress.")
    elif st.button("Stop", key=f"rt_stop_{job.id}"):
        job.stop()
        st.info("Stopping: the run ends after the batch in progress.")


@st.fragment(run_every=1.0)
def live_ui(job) -> None:
    progress_ui(job)
    if job.snapshot().finished:
        st.rerun()  # a full run leaves the live fragment and draws the Save form


def save_ui(job) -> None:
    state = job.snapshot()
    for arch, model in state.models.items():
        if not model.get("saved"):
            continue
        with st.form(f"save-{job.id}-{arch}"):
            default = f"{arch}-{'-'.join(c.lower() for c in job.spec.classes)}"[:40]
            name = st.text_input(
                f"Save the {arch.upper()} model as", value=default, key=f"save_name_{arch}"
            )
            if model.get("stopped_by_user"):
                st.caption(
                    f"Its card will say: stopped early by the user after {model['epochs_run']} "
                    "epochs."
                )
            if st.form_submit_button("Save to the model registry"):
                try:
                    job.save(arch, name)
                except HarError as exc:
                    st.error(str(exc))
                else:
                    forget_models()
                    st.session_state["just_saved"] = name.strip()
                    st.success(
                        f"Saved as {name.strip()}. It is now chosen on Predict and listed on "
                        "Evaluate."
                    )


setup_page("Retrain")
st.title("Retrain")
st.markdown(
    "Train the paper's models on the classes you choose. Each run trains in its own "
    "process: this page stays responsive, and a run keeps going (and stays in the list "
    "below) while you visit other pages or refresh."
)
jobs = list_jobs()
with st.container(border=True):
    st.subheader("Start a new run")
    try:
        new_spec = settings_ui([j for j in jobs if not j.snapshot().finished])
        if new_spec is not None:
            started = start_job(new_spec)
            st.query_params["job"] = started.id
            jobs = list_jobs()
    except HarError as exc:
        st.error(str(exc))

st.subheader("Runs")
job = runs_ui(jobs, st.query_params.get("job"))
if job is not None:
    if job.id != st.query_params.get("job"):
        st.query_params["job"] = job.id
    if job.snapshot().finished:
        progress_ui(job)
        save_ui(job)
    else:
        live_ui(job)
