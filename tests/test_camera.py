"""The camera: frames sampled like a file's, recordings kept, and in a real Chromium with its
fake camera (a y4m this test writes from synthetic clips whose action is known): record a clip,
live answers that follow the video, and a dataset of your own trained and used."""

from __future__ import annotations

import base64
import re
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import test_browser
from test_browser import CHROMIUM, FLAGS, answer_headings, visible_text

from har.data.camera import decode_frames, list_recordings, save_recording
from har.data.video import read_clips, sample_frames
from har.errors import VideoError

CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
server = test_browser.server  # the app in its own process, as the other browser tests run it


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Recordings and datasets (the app's too: it inherits the environment) stay in tmp."""
    monkeypatch.setenv("HAR_HOME", str(tmp_path / "home"))


def write_y4m(path: Path, *actions: str, seconds: float = 4, size=(160, 120)) -> Path:
    """A y4m for Chromium's fake camera: each synthetic action in turn (it loops the file)."""
    from har.data.synthetic import render_clip

    with av.open(str(path), "w", format="yuv4mpegpipe") as out:
        stream = out.add_stream("rawvideo", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for action in actions:
            for frame in render_clip(action, 1, 1, seed=3, size=size, seconds=seconds):
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


# --- fast: the pieces under the component ------------------------------------------------
def test_frames_in_memory_are_sampled_exactly_as_the_file(make_video):
    path = make_video(47, "VP90", ".webm")  # a browser's recording format
    cap = cv2.VideoCapture(str(path))
    frames = []
    while (ok := cap.read())[0]:
        frames.append(ok[1])
    shapes = [(20, (64, 64)), (30, (75, 75))]
    for from_file, from_memory in zip(
        read_clips(path, shapes), sample_frames(frames, shapes, fps=25), strict=True
    ):
        assert from_file.indices == from_memory.indices
        assert np.array_equal(from_file.pixels, from_memory.pixels)


def test_live_and_file_answers_agree_on_the_same_frames(make_video):
    from har.inference import Predictor, predict_frames, predict_video
    from har.models.registry import list_models

    predictors = [Predictor.from_registry(card.path) for card in list_models()[:2]]
    path = make_video(33, "H264", ".mp4")
    cap = cv2.VideoCapture(str(path))
    frames = []
    while (ok := cap.read())[0]:
        frames.append(ok[1])
    live, file = predict_frames(frames, predictors), predict_video(path, predictors)
    for name, answer in file.predictions.items():
        assert np.allclose(answer.probabilities, live.predictions[name].probabilities, atol=1e-6)


def test_recordings_are_kept_once_and_short_ones_refused(make_video):
    clip = make_video(40, "VP90", ".webm").read_bytes()
    first = save_recording(clip, "abcdef12-3456", "video/webm;codecs=vp9")
    assert first.suffix == ".webm" and save_recording(clip, "abcdef12-3456") == first
    assert list_recordings() == [first]
    with pytest.raises(VideoError, match="only 0.4 s"):
        save_recording(make_video(10, "VP90", ".webm").read_bytes(), "short-recording")
    with pytest.raises(VideoError):
        save_recording(clip, "../../etc/passwd")  # the id names a file: checked
    assert list_recordings() == [first]


def test_live_frames_decode_and_junk_is_dropped():
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:, :80] = (0, 0, 255)  # red on the left, in BGR
    jpeg = base64.b64encode(cv2.imencode(".jpg", frame)[1].tobytes()).decode()
    frames = decode_frames([jpeg, "not base64!", base64.b64encode(b"junk").decode(), jpeg])
    assert len(frames) == 2 and frames[0].shape == (120, 160, 3)
    assert frames[0][60, 20, 2] > 200 and frames[0][60, 140, 2] < 50
    with pytest.raises(VideoError):
        decode_frames([jpeg] * 1000)


# --- Chromium with a fake camera ------------------------------------------------------------
def launch(p, y4m: Path | None, flags=CAMERA):
    args = [*FLAGS, *flags] + ([f"--use-file-for-fake-video-capture={y4m}"] if y4m else [])
    return p.chromium.launch(executable_path=CHROMIUM, args=args)


def open_camera(page, url: str | None, source: str):
    """Open Predict (at `url`, or already open), choose a camera source; the component's
    frame once it has started."""
    from playwright.sync_api import expect

    if url is not None:
        page.goto(url, timeout=60_000)
    page.get_by_text(source, exact=True).click(timeout=300_000)  # first: models load
    camera = page.frame_locator("iframe[title*='har_camera']")
    expect(camera.locator("#app")).not_to_have_attribute("data-state", "starting", timeout=60_000)
    return camera


def wait_for_timer(camera, seconds: float, timeout: float = 30) -> None:
    """Until the component's own timer ("1.2 s / 5 s") shows at least `seconds`."""
    deadline = time.monotonic() + timeout
    while True:
        shown = camera.locator("#timer").inner_text().split(" ")[0]
        if shown and float(shown) >= seconds:
            return
        assert time.monotonic() < deadline, f"the recording timer stayed at {shown!r}"
        time.sleep(0.05)


def record(camera, seconds: float) -> None:
    """Press Record once the camera is ready, wait `seconds` on its timer, press Stop."""
    from playwright.sync_api import expect

    expect(camera.locator("#app")).to_have_attribute("data-state", "ready", timeout=60_000)
    camera.get_by_role("button", name="Record").click()
    expect(camera.locator("#app")).to_have_attribute("data-state", "recording")
    wait_for_timer(camera, seconds)
    camera.get_by_role("button", name="Stop").click()


@pytest.mark.browser
@pytest.mark.slow
def test_record_a_clip_see_both_models_and_lose_nothing_on_a_refresh(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    y4m = write_y4m(tmp_path / "taichi.y4m", "TaiChi", seconds=3)
    with sync_playwright() as p:
        browser = launch(p, y4m)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        urls = []
        page.on("request", lambda request: urls.append(request.url))
        camera = open_camera(page, f"{server}/Predict", "Record")
        record(camera, 2.0)
        # the recording goes through the upload's door: both models, the frames they saw
        expect(answer_headings(page)).to_have_count(2, timeout=120_000)
        expect(page.get_by_text("% confidence")).to_have_count(2)
        expect(page.get_by_text(re.compile(r"The 20 frames the models see"))).to_be_visible()
        assert len(list_recordings()) == 1

        # shorter than a second: a sentence, nothing sent (Stop pressed in the page itself, as
        # soon as recording starts: a click from here may come late on a busy machine)
        camera.locator("#app").evaluate(
            """async (app) => {
                document.getElementById("record").click();
                while (app.dataset.state !== "recording") await new Promise(r => setTimeout(r, 5));
                document.getElementById("stop").click();
            }"""
        )
        expect(camera.locator("#status")).to_contain_text("record at least 1 s")
        # refreshed while recording: the recording is sent when the camera is back
        record_then_refresh(page, camera)
        camera = open_camera(page, f"{server}/Predict", "Record")
        expect(page.get_by_text("Recovered a recording")).to_be_visible(timeout=60_000)
        assert len(list_recordings()) == 2
        expect(answer_headings(page)).to_have_count(2, timeout=120_000)
        elsewhere = [u for u in urls if not u.startswith((server, "blob:", "data:"))]
        assert urls and not elsewhere  # no CDN, nothing fetched from another host
        browser.close()

        # no camera, and a camera the person refused: sentences, no traceback
        for flags, sentence in (
            (["--use-fake-ui-for-media-stream"], "No camera was found"),
            (["--use-fake-device-for-media-stream"], "The camera is blocked"),  # no one allows
        ):
            browser = launch(p, None, flags)
            page = browser.new_page()
            camera = open_camera(page, f"{server}/Predict", "Record")
            expect(camera.locator("#status")).to_contain_text(sentence)
            assert "Traceback" not in visible_text(page)
            browser.close()


def record_then_refresh(page, camera) -> None:
    from playwright.sync_api import expect

    camera.get_by_role("button", name="Record").click()
    expect(camera.locator("#app")).to_have_attribute("data-state", "recording")
    wait_for_timer(camera, 1.5)
    deadline = time.monotonic() + 30  # until a second of it is in the browser's outbox
    while camera.locator("#app").evaluate("() => window.harCamera.savedChunks") < 4:
        assert time.monotonic() < deadline, "the recording's chunks never reached IndexedDB"
        time.sleep(0.05)
    page.reload()


def live_answers(page) -> tuple[str, ...]:
    text = visible_text(page)
    return tuple(re.findall(r"^(\S+)\n+(\d+% confidence)", text, flags=re.M))


@pytest.mark.browser
@pytest.mark.slow
def test_live_answers_follow_the_camera(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    y4m = write_y4m(tmp_path / "two.y4m", "TaiChi", "HorseRace", seconds=3)
    with sync_playwright() as p:
        browser = launch(p, y4m)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        open_camera(page, f"{server}/Predict", "Live")
        expect(page.get_by_text("answers a second")).to_be_visible(timeout=120_000)
        expect(page.get_by_text("The 20 frames the models saw, oldest first")).to_be_visible()
        pair = page.get_by_text(re.compile(r"^(Both models say|The models disagree) "))
        expect(pair.first).to_be_visible()  # whether the two models agree, above their answers
        seen, start = set(), time.monotonic()
        while len(seen) < 3 and time.monotonic() - start < 90:  # the video changes every 3 s
            answers = live_answers(page)
            if len(answers) == 2:
                seen.add(answers)
            time.sleep(0.2)
        assert len(seen) >= 3, seen  # the answers follow the camera
        rate = float(re.search(r"([\d.]+) answers a second", visible_text(page)).group(1))
        print(f"live: {rate} answers a second; answers seen: {sorted(seen)}")
        assert rate > 0
        browser.close()


@pytest.mark.browser
@pytest.mark.slow
def test_own_classes_recorded_and_uploaded_trained_and_used_live(server, tmp_path):
    """The loop of the issue: a 2-class dataset from recordings (one class) and a zip upload
    (the other), trained for one epoch on Retrain, then its model answers live on Predict."""
    import zipfile

    from playwright.sync_api import expect, sync_playwright

    from har.data.encode import write_mp4
    from har.data.synthetic import render_clip

    y4m = write_y4m(tmp_path / "taichi.y4m", "TaiChi", seconds=3)
    batch = tmp_path / "horses.zip"
    with zipfile.ZipFile(batch, "w") as z:  # three folders: three groups
        for g in (1, 2, 3):
            clip = render_clip("HorseRace", g, 1, size=(160, 120), seconds=1.5)
            z.write(write_mp4(tmp_path / f"h{g}.mp4", clip), f"day{g}/horse.mp4")
    junk = tmp_path / "holiday.mp4"
    junk.write_text("not a video\n" * 50)
    with sync_playwright() as p:
        browser = launch(p, y4m)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(f"{server}/Your_classes", timeout=60_000)
        page.get_by_label("New dataset").fill("Mine", timeout=120_000)
        page.get_by_role("button", name="Create dataset").click()
        for name in ("Stretch", "Horse"):
            page.get_by_label("New class").fill(name)
            page.get_by_role("button", name="Add class").click()
            expect(page.get_by_test_id("stRadio").get_by_text(name)).to_be_visible(timeout=60_000)

        # Stretch: three recording sessions, "New group" between them
        page.get_by_test_id("stRadio").get_by_text("Stretch", exact=True).click()
        camera = page.frame_locator("iframe[title*='har_camera']")
        for group in (1, 2, 3):
            record(camera, 1.2)
            expect(page.get_by_text(f"v_Stretch_g{group:02d}_c01.mp4")).to_be_visible(
                timeout=60_000
            )
            if group < 3:
                page.get_by_role("button", name="New group").click()
                expect(page.get_by_text(f"group g{group + 1:02d} (this session)")).to_be_visible()

        # Horse: one batch, a zip of three folders and a file that is no video
        page.get_by_test_id("stRadio").get_by_text("Horse", exact=True).click()
        page.get_by_text("Uploading", exact=True).click()
        page.locator("input[type=file]").set_input_files([str(batch), str(junk)])
        page.get_by_role("button", name="Add 2 file(s) to Horse").click(timeout=60_000)
        expect(page.get_by_text("Added 3 clip(s) to Horse (group g04, g05, g06)")).to_be_visible(
            timeout=120_000
        )
        expect(page.get_by_text("holiday.mp4: it is not a video")).to_be_visible()  # and why
        expect(page.get_by_text("Ready to train")).to_be_visible()

        # Retrain on it for one epoch, save the model
        page.get_by_test_id("stSidebar").get_by_role("link", name="Retrain").click()
        page.get_by_text("Your dataset: Mine").click(timeout=120_000)
        epochs = page.get_by_role("spinbutton", name="Max epochs")
        epochs.fill("1")
        epochs.press("Enter")
        classes = page.get_by_test_id("stMultiSelect").filter(has_text="Classes")
        for name in ("Horse", "Stretch"):  # the choice made for the synthetic data may not fit
            if name not in classes.inner_text():
                classes.locator("input").fill(name)
                classes.locator("input").press("Enter")
            expect(classes).to_contain_text(name)
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Start training").click()
        expect(page.get_by_text("Finished in")).to_be_visible(timeout=600_000)
        page.get_by_label("Save the LRCN model as").fill("lrcn-mine")
        page.get_by_role("button", name="Save to the model registry").click()
        expect(page.get_by_text("Saved as lrcn-mine")).to_be_visible(timeout=60_000)

        # Predict, live: the new model answers beside the default ones
        page.get_by_test_id("stSidebar").get_by_role("link", name="Predict").click()
        open_camera(page, None, "Live")  # the same session: the model just saved is chosen
        expect(page.get_by_text("lrcn-mine", exact=True).last).to_be_visible(timeout=120_000)
        answers = page.get_by_text("% confidence")
        expect(answers).to_have_count(3, timeout=120_000)
        text = visible_text(page)
        answer = re.search(  # name, what it learned from, its answer
            r"^lrcn-mine\n+trained on your own clips [^\n]*\n+(\S+)\n+\d+% confidence",
            text,
            flags=re.M,
        )
        assert answer and answer.group(1) in ("Horse", "Stretch"), text
        browser.close()
