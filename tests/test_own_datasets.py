"""Your own datasets: folders, names, groups, uploads and zips, limits; and the page (AppTest)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from har.config import REPO_ROOT
from har.data import own_datasets as own
from har.data.ucf import scan, split_clips
from har.errors import DatasetError, DiskFullError

APP = REPO_ROOT / "streamlit_app.py"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HAR_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("HAR_UCF50_DIR", raising=False)
    return tmp_path / "home"


@pytest.fixture
def clip(make_video):
    """Bytes of a real 1.6 s H.264 MP4 (40 frames at 25 fps)."""
    return make_video(40, "H264", ".mp4").read_bytes()


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_names_are_checked_before_anything_is_made():
    own.create_dataset("Gestures")
    own.add_class("Gestures", "Wave")
    bad = {
        "": "Type a name",
        "   ": "Type a name",
        "wave": "already a class named Wave",
        "a b": "only letters, digits",
        "../up": "only letters, digits",
        "x.mp4": "only letters, digits",
        "1st": "starts with a letter",
        "W" * 41: "at most 40",
    }
    for name, sentence in bad.items():
        with pytest.raises(DatasetError, match=sentence):
            own.add_class("Gestures", name)
    with pytest.raises(DatasetError, match="already a dataset"):
        own.create_dataset("gestures")
    assert own.open_dataset("Gestures").class_names == ["Wave"]


def test_a_batch_keeps_the_videos_and_names_what_it_skipped(clip, make_video):
    own.create_dataset("D")
    own.add_class("D", "Wave")
    short = make_video(10, "H264", ".mp4").read_bytes()  # 0.4 s
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.mp4", b"\0" * 20_000_000)
    report = own.add_uploads(
        "D",
        "Wave",
        [
            ("a.mp4", clip),
            ("holiday.mp4", b"this is not a video\n" * 50),
            ("short.mp4", short),
            ("notes.txt", b"hello"),
            ("bomb.zip", bomb.getvalue()),
            ("evil.zip", zipped({"../../evil.mp4": clip, "/abs.mp4": clip})),
        ],
        batch="b1",
    )
    assert [c.path.name for c in report.added] == ["v_Wave_g01_c01.mp4"]
    why = dict(report.skipped)
    assert "not a video" in why["holiday.mp4"]
    assert "at least 1 s" in why["short.mp4"] and "0.4 s" in why["short.mp4"]
    assert "zip bomb" in why["bomb.zip/bomb.mp4"]
    assert "zip slip" in why["evil.zip/../../evil.mp4"] and "zip slip" in why["evil.zip//abs.mp4"]
    assert "notes.txt" in why
    files = sorted(p.name for p in (own.datasets_dir() / "D").rglob("*") if p.is_file())
    assert "evil.mp4" not in files and "abs.mp4" not in files
    assert not list((own.datasets_dir() / "D" / ".incoming").iterdir())  # temp files gone


def test_batches_sessions_and_zip_folders_are_groups_the_split_holds_out(clip):
    own.create_dataset("D")
    for cls in ("Wave", "Clap"):
        own.add_class("D", cls)
    own.add_uploads("D", "Wave", [("a.mp4", clip), ("b.mp4", clip)], batch="b1")
    own.add_uploads("D", "Wave", [("s.zip", zipped({"one/x.mp4": clip, "two/y.mp4": clip}))], "b2")
    for i in range(3):
        own.add_recording("D", "Clap", clip, f"rec-{i:08d}", session=f"s{i}", suffix=".mp4")
    dataset = own.open_dataset("D")
    wave, clap = dataset.get("Wave"), dataset.get("Clap")
    assert [(c.group, c.clip) for c in wave.clips] == [(1, 1), (1, 2), (2, 1), (3, 1)]
    assert clap.groups == [4, 5, 6]  # groups are numbered across the dataset
    assert {c.origin for c in wave.clips} == {
        "a.mp4",
        "b.mp4",
        "s.zip/one/x.mp4",
        "s.zip/two/y.mp4",
    }
    assert all(1.5 < c.seconds < 1.7 for c in wave.clips)
    assert dataset.missing("group") == []
    # the folder is UCF-shaped: the package's own scan and group split read it
    split = split_clips(scan(dataset.root).clips, "group")
    for part in (split.train, split.val, split.test):
        assert {c.label for c in part} == {"Wave", "Clap"}
    assert not {(c.label, c.group) for c in split.test} & {(c.label, c.group) for c in split.train}
    # a recording the browser sends again (after a refresh) is kept once
    assert own.add_recording("D", "Clap", clip, "rec-00000000", "s0", ".mp4") is None
    assert len(own.open_dataset("D").get("Clap").clips) == 3


def test_what_a_small_dataset_lacks_is_said_before_training(clip):
    from har.training.jobs import JobSpec
    from har.training.recipe import TrainConfig

    own.create_dataset("D")
    own.add_class("D", "Wave")
    assert "Two classes with clips are needed" in own.open_dataset("D").missing()[0]
    own.add_class("D", "Clap")
    own.add_uploads("D", "Wave", [("a.mp4", clip)], "b1")
    own.add_uploads("D", "Clap", [("a.mp4", clip)], "b2")
    missing = own.open_dataset("D").missing("group")
    assert missing == [
        "Clap: 1 group, 2 more needed for the group split (record another session or upload "
        "another batch).",
        "Wave: 1 group, 2 more needed for the group split (record another session or upload "
        "another batch).",
    ]
    (root, classes) = own.retrain_sources()["Your dataset: D"]
    spec = JobSpec(classes, ["lrcn"], TrainConfig("lrcn", epochs=1), data_root=str(root))
    with pytest.raises(DatasetError, match="Class Clap has 1 group"):
        spec.validate()  # before a process starts


def test_rename_move_delete_and_a_rename_cut_off_midway(clip):
    own.create_dataset("D")
    own.add_class("D", "Wave")
    own.add_class("D", "Clap")
    own.add_uploads("D", "Wave", [("a.mp4", clip), ("b.mp4", clip)], "b1")
    dataset = own.rename_class("D", "Wave", "WaveHello")
    names = [c.path.name for c in dataset.get("WaveHello").clips]
    assert names == ["v_WaveHello_g01_c01.mp4", "v_WaveHello_g01_c02.mp4"]
    assert dataset.get("WaveHello").clips[0].origin == "a.mp4"  # its notes follow it
    with pytest.raises(DatasetError, match="already a class named Clap"):
        own.rename_class("D", "WaveHello", "clap")
    dataset = own.move_clip("D", "WaveHello/v_WaveHello_g01_c02.mp4", "Clap")
    assert [c.path.name for c in dataset.get("Clap").clips] == ["v_Clap_g01_c01.mp4"]
    dataset = own.delete_clip("D", "Clap/v_Clap_g01_c01.mp4")
    assert dataset.get("Clap").clips == ()
    # a rename killed after its journal and one file: the next reader finishes it
    root = dataset.root
    (root / ".rename.json").write_text(json.dumps({"old": "WaveHello", "new": "Hello"}))
    (root / "WaveHello" / "v_WaveHello_g01_c01.mp4").rename(
        root / "WaveHello" / "v_Hello_g01_c01.mp4"
    )
    assert own.open_dataset("D").class_names == ["Clap", "Hello"]
    assert [c.path.name for c in own.open_dataset("D").get("Hello").clips] == [
        "v_Hello_g01_c01.mp4"
    ]
    assert own.delete_class("D", "Hello").class_names == ["Clap"]


def test_a_full_disk_and_a_full_dataset_are_sentences(clip, monkeypatch):
    own.create_dataset("D")
    own.add_class("D", "Wave")
    monkeypatch.setenv("HAR_MIN_FREE_MB", str(10**9))  # "keep a petabyte free": no disk has it
    with pytest.raises(DiskFullError, match="nearly full"):
        own.add_uploads("D", "Wave", [("a.mp4", clip)], "b1")
    monkeypatch.delenv("HAR_MIN_FREE_MB")
    own.add_uploads("D", "Wave", [("a.mp4", clip)], "b1")
    monkeypatch.setenv("HAR_DATASET_MB", "0.001")  # 1 KB: one clip is more
    with pytest.raises(DiskFullError, match="delete clips"):
        own.add_recording("D", "Wave", clip, "rec-00000001", "s1", ".mp4")
    assert len(own.open_dataset("D").get("Wave").clips) == 1


# --- the page --------------------------------------------------------------------------
def page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/6_Your_classes.py").run()
    assert not at.exception
    return at


def submit(at, key: str, text: str, button: str) -> None:
    at.text_input(key=key).set_value(text)
    next(b for b in at.button if b.label == button).click()
    at.run()
    assert not at.exception


@pytest.mark.slow
def test_page_makes_a_dataset_adds_classes_and_uploads_a_batch(clip):
    at = page()
    assert "No datasets yet" in " ".join(i.value for i in at.info)
    submit(at, "own_new_dataset", "my set", "Create dataset")
    assert "only letters, digits" in at.error[0].value
    submit(at, "own_new_dataset", "Gestures", "Create dataset")
    assert at.selectbox(key="own_dataset").value == "Gestures"
    submit(at, "own_new_class", "Wave", "Add class")
    submit(at, "own_new_class", "wave", "Add class")
    assert "already a class named Wave" in at.error[0].value
    submit(at, "own_new_class", "", "Add class")
    assert "Type a name for the class" in at.error[0].value
    submit(at, "own_new_class", "Clap", "Add class")
    assert at.radio(key="own_class").options == ["Clap", "Wave"]

    at.radio(key="own_class").set_value("Wave")
    at.radio(key="own_how").set_value("Uploading").run()
    at.file_uploader[0].set_value(
        [("a.mp4", clip, "video/mp4"), ("holiday.mp4", b"not a video" * 99, "video/mp4")]
    ).run()
    at.button(key="own_add").click().run()
    assert not at.exception
    assert "Added 1 clip(s) to Wave (group g01)" in at.success[0].value
    assert "holiday\\.mp4" in at.warning[-1].value and "not a video" in at.warning[-1].value
    table = at.dataframe[0].value
    assert dict(zip(table["Class"], table["Clips"], strict=True)) == {"Clap": 0, "Wave": 1}
    assert len(at.image) == 1  # a thumbnail per clip

    at.text_input(key="own_rename_Wave").set_value("WaveHello")
    next(b for b in at.button if b.label == "Rename class").click()
    at.run()
    assert at.radio(key="own_class").options == ["Clap", "WaveHello"]
    assert at.radio(key="own_class").value == "WaveHello"
    at.checkbox(key="own_sure_WaveHello").check().run()
    at.button(key="own_delete_class").click().run()
    assert not at.exception
    assert at.radio(key="own_class").options == ["Clap"]
    assert list(at.dataframe[0].value["Class"]) == ["Clap"]
