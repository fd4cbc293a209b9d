"""Retrain: a lab notebook. Start runs, watch them live, keep every run, compare, save.

Training runs in its own process (har.training.jobs); this page only starts runs and reads
their folders (har.training.runs), so it stays responsive and a run survives refreshes and
page changes. Runs are picked and acted on by id; names are the user's and shown as text.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from app_common import forget_models, scan_dataset, setup_page, skipped_ui
from har.data.own_datasets import retrain_sources
from har.data.synthetic import SYNTHETIC_CLASSES
from har.errors import HarError, RunError
from har.training.jobs import JobSpec, get_job, list_jobs, start_job
from har.training.recipe import DEFAULT_RECIPE, RECIPES, TrainConfig
from har.training.runs import (
    curves_csv,
    delete_run,
    differing_settings,
    display_name,
    file_stem,
    summarize,
)
from har.utils.text import escape_markdown, plural
from har.visualization.charts import confusion_heatmap, training_curves
from har.visualization.runs_charts import overlaid_curves

SYNTHETIC = "Synthetic (generated on demand)"
# Measured with benchmarks/retrain_defaults.py (LRCN, augment recipe, two synthetic classes,
# load 4-6): 6 groups stayed at chance (4/8 test clips) after 10, 20 and 40 epochs; 10 groups
# and 20 epochs got 8/8 in 41 s, clips generated included. A first run learns in a minute.
DEFAULT_EPOCHS = 20
DEFAULT_GROUPS = 10
DEFAULT_FORM_RECIPE = DEFAULT_RECIPE
STATUS_BADGES = {  # status -> (Material icon, badge color): no emoji font needed
    "done": (":material/check_circle:", "green"),
    "stopped": (":material/stop_circle:", "orange"),
    "failed": (":material/error:", "red"),
    "running": (":material/progress_activity:", "blue"),
}
MAX_COMPARE = 5


def plain(text: str) -> str:
    """User text (a run name, a class) as text inside markdown, never as markup."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!<>|~$:=])", r"\\\1", str(text))


# --- the new run's form -----------------------------------------------------------------------
def _sources() -> tuple[list[str], dict, str | None]:
    root = st.session_state.get("ucf50_root")
    own = retrain_sources()  # "Your dataset: <name>" -> (folder, classes), from Your classes
    return [SYNTHETIC] + (["UCF50 folder"] if root else []) + [*own], own, root


def _classes_of(source: str, own: dict, root) -> list[str]:
    if source in own:
        return list(own[source][1])
    if source == SYNTHETIC or not root:
        return list(SYNTHETIC_CLASSES)
    return list(scan_dataset(str(root)).classes)


def _reset_classes() -> None:
    """A new data source: its first two classes chosen (the old ones may not exist there)."""
    sources, own, root = _sources()
    source = st.session_state.get("rt_source", sources[0])
    st.session_state["rt_classes"] = _classes_of(source, own, root)[:2]


def settings_ui(running: list) -> JobSpec | None:
    """The new run's settings; a checked JobSpec once the user presses Start, else None."""
    sources, own, root = _sources()
    # laid out in three rows, so Start is above the fold on a 1280x720 screen: the run then
    # shows at the top of the page, where the user is looking when pressing it
    left, right = st.columns([2, 3])
    source = left.radio("Data", sources, horizontal=True, key="rt_source", on_change=_reset_classes)
    available = _classes_of(source, own, root)
    chosen = st.session_state.get("rt_classes")
    if chosen is None or any(c not in available for c in chosen):
        st.session_state["rt_classes"] = available[:2]
    classes = right.multiselect("Classes (two or more)", available, key="rt_classes")
    c1, c2, c3 = st.columns(3)
    name = c1.text_input(
        "Run name (optional)",
        key="rt_name",
        max_chars=60,
        placeholder="e.g. lrcn baseline",
        help="Shown in the runs table, so runs can be told apart. Plain text.",
    )
    models = c2.multiselect("Models", ["convlstm", "lrcn"], default=["lrcn"], key="rt_models")
    recipe = c3.selectbox(
        "Recipe",
        list(RECIPES),
        index=list(RECIPES).index(DEFAULT_FORM_RECIPE),
        key="rt_recipe",
        help="; ".join(f"{r.name}: {r.summary}" for r in RECIPES.values()),
    )
    c4, c5, c6, c7, c8 = st.columns(5)
    split = c4.radio("Split", ["group", "random"], key="rt_split", horizontal=True)
    epochs = c5.number_input(
        "Max epochs",
        min_value=1,
        max_value=200,
        value=DEFAULT_EPOCHS,
        key="rt_epochs",
        help="The paper: 50 (ConvLSTM), 70 (LRCN), with early stopping.",
    )
    batch = c6.number_input("Batch size", min_value=1, max_value=64, value=4, key="rt_batch")
    rate = c7.number_input(
        "Learning rate",
        min_value=0.00001,
        max_value=0.1,
        value=0.001,
        step=0.0005,
        format="%.5f",
        key="rt_lr",
    )
    groups = None
    if source == SYNTHETIC:
        groups = c8.slider(
            "Groups per class",
            3,
            25,
            DEFAULT_GROUPS,
            key="rt_groups",
            help="Synthetic groups of two clips each; more groups take longer.",
        )
    confirmed = True
    if running:
        st.warning(
            f"A run is still training ({display_name(running[0])}). A second run shares the "
            "CPU with it and both go slower.",
            icon=":material/warning:",
        )
        confirmed = st.checkbox("Start another run anyway", key="rt_confirm")
    if not st.button("Start training", type="primary", key="rt_start", disabled=not confirmed):
        return None
    config = TrainConfig(
        architecture=(models or ["lrcn"])[0],
        epochs=int(epochs),
        batch_size=int(batch),
        learning_rate=float(rate),
        recipe=recipe,
    )
    data_root = own[source][0] if source in own else (None if groups else root)
    return JobSpec(
        classes=list(classes),
        architectures=list(models),
        config=config,
        data_root=None if data_root is None else str(data_root),
        synthetic_groups=groups,
        split_mode=split,
        name=name,
    ).validate()


# --- one run ----------------------------------------------------------------------------------
def run_label(summary) -> str:
    """A run in the picker: plain text with its name, status, result and start."""
    started = dt.datetime.fromtimestamp(summary.started) if summary.started else None
    result = summary.row()["test accuracy"] or summary.row()["best val accuracy"]
    parts = [summary.name, summary.status, result and f"accuracy {result}"]
    parts.append(f"{started:%H:%M:%S}" if started else "")
    return " · ".join(p for p in parts if p) + f" · {summary.id[-6:]}"


def png_button(filename: str) -> dict:
    """A chart's toolbar always shown, its camera button saving `filename`.png (2x scale)."""
    return {
        "displayModeBar": True,
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
    }


def status_badge(status: str) -> None:
    icon, color = STATUS_BADGES.get(status, STATUS_BADGES["running"])
    st.badge(status, icon=icon, color=color)


def status_ui(job, state) -> None:
    """Exactly one message for where the run is: failed, stopped, finished, stopping, or Stop."""
    if state.stage == "failed":
        st.error(state.error or "Failed.")
    elif state.stage == "stopped":
        lines = []
        for arch, model in state.models.items():
            if not model.get("epochs_run"):
                lines.append(f"{arch.upper()}: no epoch finished, so nothing to save.")
            elif model.get("stopped_by_user"):
                lines.append(
                    f"{arch.upper()}: stopped after {plural(model['epochs_run'], 'epoch')}, best "
                    "weights kept; not tested (save it, then score it on the Evaluate page)."
                )
        st.warning(" ".join(["Stopped by you."] + lines), icon=":material/stop_circle:")
    elif state.finished:
        st.success(f"{state.message} in {state.ended - state.started:.0f} s.")
    elif state.stop_requested:
        st.info("Stopping: the run ends within seconds.")
    else:
        st.button("Stop", key=f"rt_stop_{job.id}", on_click=job.stop, icon=":material/stop:")


def progress_ui(job) -> None:
    state = job.snapshot()
    summary = summarize(job)
    status_badge(summary.status)
    st.text(f"{summary.name} · run {job.id}\n{job.spec.describe()}")
    if state.damaged_lines:
        st.caption(f"{state.damaged_lines} damaged line(s) in this run's events file skipped.")
    if state.stage in ("generating", "extracting") and state.extract_total:
        st.progress(state.extract_done / state.extract_total, state.progress_line())
    elif state.stage == "training":
        within = state.batch / state.total_batches if state.total_batches else 0.0
        st.progress(within, state.progress_line())
    elif not state.finished:
        st.progress(0.0, state.progress_line())
    if not state.finished:
        status_ui(job, state)  # Stop beside the progress, above the fold
    if state.split:
        s = state.split
        st.caption(
            f"{s['mode']} split: {s['train']} train / {s['val']} validation / "
            f"{s['test']} test clips"
        )
    skipped_ui(state.skipped)
    stem = file_stem(job)
    for arch, history in state.history.items():
        st.markdown(f"**{arch.upper()}**")
        # drawn (empty) from the start of training, so the first epoch's point appears at
        # once instead of after the browser has loaded the chart library
        if history or (arch == state.architecture and state.stage == "training"):
            left, right = st.columns(2)
            for box, metric in ((left, "loss"), (right, "accuracy")):
                box.plotly_chart(
                    training_curves(history, metric),
                    key=f"{metric[:4]}-{job.id}-{arch}",
                    config=png_button(f"{stem}-{arch}-{metric}"),
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
                config=png_button(f"{stem}-{arch}-confusion"),
            )
    if state.finished:
        status_ui(job, state)


@st.fragment(run_every=1.0)
def live_ui(job) -> None:
    progress_ui(job)
    if job.snapshot().finished:
        st.rerun()  # a full run leaves the live fragment and draws the Save form


def _save(job_id: str, arch: str) -> None:
    """Save a run's model: the run is the one whose form was submitted, by id."""
    name = str(st.session_state.get(f"save_name_{arch}", "")).strip()
    job = get_job(job_id)
    try:
        if job is None:
            raise RunError("This run no longer exists.")
        job.save(arch, name)
    except HarError as exc:
        st.session_state["rt_saved"] = (job_id, arch, False, str(exc))
    else:
        forget_models()
        st.session_state["just_saved"] = name
        st.session_state["rt_saved"] = (
            job_id,
            arch,
            True,
            f"Saved as {name}. It is now chosen on Predict and listed on Evaluate.",
        )


def _delete(job_id: str) -> None:
    try:
        delete_run(job_id)
    except HarError as exc:
        st.session_state["rt_deleted"] = str(exc)
    else:
        st.session_state["rt_deleted"] = ""
        st.session_state.pop("rt_run", None)
        compared = st.session_state.get("rt_compare") or []
        st.session_state["rt_compare"] = [i for i in compared if i != job_id]
        if st.query_params.get("job") == job_id:
            del st.query_params["job"]


def files_ui(job) -> None:
    """Download the curves; delete the run (a finished one, after a tick)."""
    left, right = st.columns(2)
    left.download_button(
        "Curves as CSV",
        curves_csv(job),
        file_name=f"run-{job.id}-curves.csv",
        mime="text/csv",
        key=f"rt_csv_{job.id}",
        icon=":material/download:",
    )
    sure = right.checkbox("Delete this run (its unsaved models too)", key=f"rt_del_ok_{job.id}")
    right.button(
        "Delete run",
        key=f"rt_delete_{job.id}",
        disabled=not sure,
        on_click=_delete,
        args=(job.id,),
        icon=":material/delete:",
    )


def save_ui(job) -> None:
    state = job.snapshot()
    said = st.session_state.get("rt_saved")
    for arch, model in state.models.items():
        if not model.get("saved"):
            continue
        with st.form(f"save-{job.id}-{arch}"):
            default = f"{arch}-{'-'.join(c.lower() for c in job.spec.classes)}"[:40]
            st.text_input(
                f"Save the {arch.upper()} model as", value=default, key=f"save_name_{arch}"
            )
            if model.get("stopped_by_user"):
                st.caption(
                    f"Its card will say: stopped early by the user after {model['epochs_run']} "
                    "epochs."
                )
            st.form_submit_button("Save to the model registry", on_click=_save, args=(job.id, arch))
        if said and said[:2] == (job.id, arch):
            (st.success if said[2] else st.error)(said[3])


# --- every run --------------------------------------------------------------------------------
def runs_table_ui(summaries) -> None:
    rows = [s.row() for s in summaries]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="rt_table")


def pick_run_ui(summaries) -> str | None:
    """The run on display, by id: the one picked, else the URL's, a running one, the newest."""
    ids = [s.id for s in summaries]
    if st.session_state.get("rt_run") not in ids:
        wanted = st.query_params.get("job")
        running = [s.id for s in summaries if s.status == "running"]
        st.session_state["rt_run"] = wanted if wanted in ids else (running or ids)[0]
    labels = {s.id: run_label(s) for s in summaries}
    return st.selectbox("Run on display", ids, key="rt_run", format_func=labels.get)


def compare_ui(jobs, summaries) -> None:
    """2 to 5 runs: curves overlaid, one color per run, and the settings that differ."""
    labels = {s.id: f"{s.name} · {s.id[-6:]}" for s in summaries}
    picked = st.multiselect(
        f"Compare runs (2 to {MAX_COMPARE})",
        [s.id for s in summaries],
        max_selections=MAX_COMPARE,
        format_func=labels.get,
        key="rt_compare",
    )
    if len(picked) < 2:
        st.caption("Pick two or more runs to overlay their curves.")
        return
    by_id = {j.id: j for j in jobs}
    chosen = [by_id[i] for i in picked]
    series = []
    for job in chosen:
        history = job.snapshot().history
        for arch, logs in history.items():
            suffix = f" {arch.upper()}" if len(history) > 1 else ""
            series.append((labels[job.id] + suffix, logs))
    left, right = st.columns(2)
    stem = "compare-" + "-".join(j.id[-6:] for j in chosen)
    for box, metric in ((left, "loss"), (right, "accuracy")):
        box.plotly_chart(
            overlaid_curves(series, metric),
            key=f"rt_cmp_{metric[:4]}",
            config=png_button(f"{stem}-{metric}"),
        )
    differ = differing_settings(chosen)
    if differ:
        table = pd.DataFrame(differ).rename(columns=labels).set_index("setting").astype(str)
        st.dataframe(table, key="rt_cmp_settings")
    else:
        st.caption("These runs had the same settings.")


setup_page("Retrain")
st.title("Retrain")
st.markdown(
    "Train the paper's models on the classes you choose. Each run trains in its own "
    "process and is kept: its settings, curves, scores and models stay in the runs table "
    "below, to compare with the next run."
)
jobs = list_jobs()
running = [j for j in jobs if not j.snapshot().finished]
watch_box = st.container()  # a run in progress shows here, at the top, above the form
# While a run trains, its progress and curves are what the page is about: the form folds away
# (a new label, so the expander is drawn anew, folded), one click from starting another run.
form_box = (
    st.expander("Start another run", icon=":material/add:")
    if running
    else st.container(border=True)
)
with form_box:
    if not running:
        st.subheader("Start a new run")
    try:
        new_spec = settings_ui(running)
        if new_spec is not None:
            started = start_job(new_spec)
            st.query_params["job"] = started.id
            st.session_state["rt_run"] = started.id
            st.rerun()  # drawn again with the run at the top and the form folded
    except HarError as exc:
        st.error(escape_markdown(exc))

st.subheader("Runs")
deleted = st.session_state.pop("rt_deleted", None)
if deleted:
    st.error(deleted)
elif deleted == "":
    st.success("Run deleted.")
summaries = [summarize(j) for j in jobs]
if not summaries:
    st.info("No runs yet: start one above.")
else:
    runs_table_ui(summaries)
    job = get_job(pick_run_ui(summaries))
    if job is not None:
        if job.id != st.query_params.get("job"):
            st.query_params["job"] = job.id
        if job.snapshot().finished:
            progress_ui(job)
            files_ui(job)
            save_ui(job)
        else:
            with watch_box:
                live_ui(job)
            st.caption("This run is shown at the top of the page while it trains.")
    st.subheader("Compare runs")
    compare_ui(jobs, summaries)
