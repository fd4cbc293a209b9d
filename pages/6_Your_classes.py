"""Your classes: a dataset of your own actions, recorded or uploaded, to train on Retrain.

The page only draws; har.data.own_datasets keeps the folders (checked names, atomic writes,
bounded disk use) and app_camera.py draws the recorder.
"""

from __future__ import annotations

import re
import uuid

import streamlit as st

from app_camera import MAX_SECONDS, Received, receive_recording, recorder
from app_common import UPLOAD_TYPES, setup_page
from har.data import own_datasets as own
from har.errors import HarError
from har.utils.text import escape_markdown

setup_page("Your classes")
st.title("Your classes")
st.markdown(
    "Teach the models actions of your own: make a dataset, add two or more classes, record "
    "or upload a few clips of each, then train on **Retrain** (pick *Your dataset* there). "
    "Predict and its live camera then use the model you saved."
)
st.caption(
    f"Aim for {own.SUGGESTED_CLIPS[0]}+ clips per class ({own.SUGGESTED_CLIPS[1]}+ is better), "
    f"from at least {own.GROUPS_FOR_SPLIT} sessions or batches each: the group split needs "
    f"{own.GROUPS_FOR_SPLIT} groups per class."
)
low, high = own.SUGGESTED_CLIPS
with st.expander("How many clips, and what is a group?"):
    st.markdown(
        f"- **Clips**: at least {low} per class, {high} or more is better; each "
        f"2-{MAX_SECONDS} s of just the action. The paper's models learn from scratch, so "
        "more clips and more variety (people, clothes, places, light) help most.\n"
        "- **Groups**: every recording session, every upload batch and every folder of an "
        "uploaded zip is one group (the `gNN` in `v_<Class>_gNN_cMM.mp4`). The group split "
        "tests on whole groups the model never saw, so a score says how it does on a new "
        f"session, not on near copies of its training clips. It needs at least "
        f"{own.GROUPS_FOR_SPLIT} groups per class (train, validation, test); 5 or more give "
        "a steadier score. Press *New group* when you change place, light or person.\n"
        "- Clips are stored upright, at most 320x240 (UCF50's size; the models see 64x64), "
        f"in your data folder ({own.datasets_dir()})."
    )


def plain(text: str) -> str:
    """A file name as text, never markup (uploaded names are whatever the uploader chose)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!<>|~$:])", r"\\\1", text)


def picker_ui() -> own.OwnDataset | None:
    """The dataset to work on, or a new one."""
    datasets = own.list_datasets()
    names = [d.name for d in datasets]
    left, right = st.columns([2, 1])
    with right.form("new_dataset", clear_on_submit=True, border=False):
        typed = st.text_input("New dataset", placeholder="e.g. MyGestures", key="own_new_dataset")
        if st.form_submit_button("Create dataset"):
            try:
                st.session_state["own_dataset"] = own.create_dataset(typed).name
                names = [d.name for d in own.list_datasets()]
            except HarError as exc:
                st.error(escape_markdown(exc))
    if not names:
        left.info("No datasets yet: name one on the right.")
        return None
    if st.session_state.get("own_dataset") not in names:
        st.session_state["own_dataset"] = names[0]
    chosen = left.selectbox("Dataset", names, key="own_dataset")
    return own.open_dataset(chosen)


def summary_ui(dataset: own.OwnDataset) -> None:
    rows = [
        {
            "Class": c.name,
            "Clips": len(c.clips),
            "Groups": len(c.groups),
            "Seconds": round(sum(k.seconds for k in c.clips), 1),
        }
        for c in dataset.classes
    ]
    if rows:
        st.dataframe(rows, hide_index=True, width="content")
    st.caption(
        f"{dataset.clip_count} clips in {len(dataset.classes)} classes · "
        f"{dataset.disk_bytes / 2**20:.1f} MB of {own.dataset_cap_bytes() / 2**20:.0f} MB"
    )
    missing = dataset.missing("group")
    if missing:
        st.warning("Not ready to train with the group split yet:\n\n- " + "\n- ".join(missing))
    else:
        st.success("Ready to train: pick it on Retrain.")
        st.page_link("pages/3_Retrain.py", label="Go to Retrain", icon=":material/model_training:")


def add_class_ui(dataset: own.OwnDataset) -> None:
    with st.form(f"add_class_{dataset.name}", clear_on_submit=True, border=False):
        typed = st.text_input("New class", placeholder="e.g. WaveHello", key="own_new_class")
        if st.form_submit_button("Add class"):
            try:
                own.add_class(dataset.name, typed)
                st.session_state["own_class"] = typed.strip()
                st.rerun()
            except HarError as exc:
                st.error(escape_markdown(exc))


def record_ui(dataset: own.OwnDataset, cls: str, received: Received) -> None:
    token_key = f"own_session_{dataset.name}"
    if token_key not in st.session_state:
        st.session_state[token_key] = uuid.uuid4().hex
    session = st.session_state[token_key]
    left, right = st.columns([3, 2])
    with left:
        recorder(
            "own_camera",
            {"page": "dataset", "dataset": dataset.name, "class": cls, "session": session},
        )
    with right:
        received.show()
        group = own.session_group(own.open_dataset(dataset.name), session)
        st.markdown(f"Recordings go to **{cls}**, group **g{group:02d}** (this session).")
        if st.button(
            "New group",
            key="own_new_group",
            help="Changed place, light, clothes or person? Start one.",
        ):
            st.session_state[token_key] = uuid.uuid4().hex
            st.rerun()


def upload_ui(dataset: own.OwnDataset, cls: str) -> None:
    batch_key = f"own_upload_{dataset.name}"
    st.session_state.setdefault(batch_key, 0)
    files = st.file_uploader(
        f"Videos of {cls}, or a zip of them (one batch is one group; each folder of a zip too)",
        type=[*UPLOAD_TYPES, "m4v", "zip"],
        accept_multiple_files=True,
        key=f"{batch_key}_{st.session_state[batch_key]}",
    )
    if files and st.button(f"Add {len(files)} file(s) to {cls}", type="primary", key="own_add"):
        with st.spinner("Checking and storing the clips..."):
            report = own.add_uploads(
                dataset.name, cls, [(f.name, f.getvalue()) for f in files], uuid.uuid4().hex
            )
        st.session_state[batch_key] += 1  # an empty uploader for the next batch
        st.session_state["own_report"] = report
        st.rerun()
    report = st.session_state.pop("own_report", None)
    if report is not None:
        groups = sorted({c.group for c in report.added})
        if report.added:
            st.success(
                f"Added {len(report.added)} clip(s) to {report.added[0].label} "
                f"(group {', '.join(f'g{g:02d}' for g in groups)})."
            )
        if report.skipped:
            st.warning(
                f"Skipped {len(report.skipped)} file(s); the rest were kept:\n\n"
                + "\n".join(f"- {plain(name)}: {why}" for name, why in report.skipped)
            )


def clip_ui(dataset: own.OwnDataset, clip: own.OwnClip) -> None:
    try:
        st.image(own.thumbnail(clip), width="stretch")
    except HarError as exc:
        st.caption(str(exc))
    seconds = f" · {clip.seconds:.1f} s" if clip.seconds else ""
    st.caption(f"g{clip.group:02d} c{clip.clip:02d}{seconds}", help=plain(clip.origin) or None)
    with st.popover("Clip", width="stretch"):
        st.video(str(clip.path))
        st.caption(plain(clip.path.name) + (f" · from {plain(clip.origin)}" if clip.origin else ""))
        others = [c for c in dataset.class_names if c != clip.label]
        if others:
            to = st.selectbox("Move to", others, key=f"to_{clip.key}")
            if st.button("Move", key=f"move_{clip.key}"):
                own.move_clip(dataset.name, clip.key, to)
                st.rerun()
        if st.button("Delete clip", key=f"del_{clip.key}"):
            own.delete_clip(dataset.name, clip.key)
            st.rerun()


def clips_ui(dataset: own.OwnDataset, cls: str) -> None:
    clips = dataset.get(cls).clips
    st.markdown(f"**{cls}**: {len(clips)} clip(s)")
    for start in range(0, len(clips), 6):
        for col, clip in zip(st.columns(6), clips[start : start + 6], strict=False):
            with col:
                clip_ui(dataset, clip)


def class_admin_ui(dataset: own.OwnDataset, cls: str) -> None:
    with st.expander(f"Rename or delete {cls}"):
        with st.form(f"rename_{dataset.name}_{cls}", border=False):
            typed = st.text_input("New name", value=cls, key=f"own_rename_{cls}")
            if st.form_submit_button("Rename class"):
                try:
                    own.rename_class(dataset.name, cls, typed)
                    st.session_state["own_class_next"] = typed.strip()
                    st.rerun()
                except HarError as exc:
                    st.error(escape_markdown(exc))
        sure = st.checkbox(
            f"Delete {cls} and its {len(dataset.get(cls).clips)} clip(s)", key=f"own_sure_{cls}"
        )
        if st.button("Delete class", disabled=not sure, key="own_delete_class"):
            own.delete_class(dataset.name, cls)
            st.rerun()


try:
    received = receive_recording("own_camera")  # first: the counts below include it
    dataset = picker_ui()
    if dataset is not None:
        with st.container():  # one block however much it holds: the camera below stays put
            summary_ui(dataset)
        add_class_ui(dataset)
        if not dataset.classes:
            st.info("Add a class: name an action, like WaveHello or Clap.")
        else:
            names = dataset.class_names
            if st.session_state.get("own_class_next") in names:  # renamed: keep it chosen
                st.session_state["own_class"] = st.session_state.pop("own_class_next")
            if st.session_state.get("own_class") not in names:
                st.session_state["own_class"] = names[0]
            cls = st.radio("Class", names, horizontal=True, key="own_class")
            how = st.radio(
                "Add clips by", ["Recording", "Uploading"], horizontal=True, key="own_how"
            )
            if how == "Recording":
                record_ui(dataset, cls, received)
            else:
                upload_ui(dataset, cls)
            dataset = own.open_dataset(dataset.name)  # with what was just uploaded
            clips_ui(dataset, cls)
            class_admin_ui(dataset, cls)
except HarError as exc:
    st.error(escape_markdown(exc))
