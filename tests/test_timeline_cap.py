"""The timeline's memory bounds (issue #19.1): at most MAX_WINDOWS windows, said in `note`;
the frames of a window decoded when it is shown, never every window's at once."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import decoded_index

import har.explain.windows as windows
from har.data.video import sample_indices
from har.explain.timeline import capped_stride, timeline, window_bounds

LRCN = "lrcn-paper4"


@pytest.fixture(scope="module")
def lrcn():
    from har.inference import load_predictors

    return load_predictors([LRCN])


def test_capped_stride_is_the_smallest_that_fits():
    assert capped_stride(2000, 1, 1, 500) > 1
    stride = capped_stride(2000, 1, 1, 500)
    assert len(window_bounds(2000, 1, stride)) <= 500
    assert len(window_bounds(2000, 1, stride - 1)) > 500
    assert capped_stride(100, 40, 20, 500) == 20  # under the cap: unchanged
    assert len(window_bounds(10**6, 50, 1, )) > 500  # fmt: skip
    assert len(window_bounds(10**6, 50, capped_stride(10**6, 50, 1, 7))) <= 7


def test_many_windows_are_capped_and_the_timeline_says_so(lrcn, make_video):
    video = make_video(120, "H264", ".mp4")
    tl = timeline(video, lrcn, window=4, stride=1, unit="frames", max_windows=10)
    assert len(tl.bounds) <= 10 and tl.stride > 1
    assert tl.probabilities[LRCN].shape == (len(tl.bounds), 4)
    assert "117 windows asked for" in tl.note and "at most 10" in tl.note
    assert tl.to_dict()["note"] == tl.note
    uncapped = timeline(video, lrcn, window=40, stride=20, unit="frames")
    assert uncapped.note == "" and len(uncapped.bounds) == 5


def test_kept_clips_are_decoded_when_a_window_is_shown(lrcn, make_video, monkeypatch):
    video = make_video(100, "H264", ".mp4")
    tl = timeline(video, lrcn, window=40, stride=20, unit="frames", keep_clips=True)
    reads = []
    real = windows.read_frames
    monkeypatch.setattr(windows, "read_frames", lambda p, w: reads.append(len(w)) or real(p, w))
    frames = tl.clips[(20, 64, 64)]
    assert frames.shape == (4, 20, 64, 64, 3) and reads == []  # nothing held, nothing read yet
    for k in (2, 0, 3, 2):
        pixels = frames[k]
        assert pixels.shape == (20, 64, 64, 3) and pixels.dtype == np.uint8
        start, stop = tl.bounds[k]
        want = [start + i for i in sample_indices(stop - start, 20)]
        assert [decoded_index(f) for f in pixels] == want == tl.window_indices(k, 20)
        assert pixels[:, :, 40:, 0].mean() > 200  # RGB: the red half is red
    assert reads == [20, 20, 20]  # window 2 again came from the few windows kept
    with pytest.raises(IndexError):
        frames[4]


def test_kept_clips_match_what_the_models_saw(lrcn, make_video):
    video = make_video(90, "H264", ".mp4")
    tl = timeline(video, lrcn, window=40, stride=20, unit="frames", keep_clips=True)
    clips = np.stack([tl.clips[(20, 64, 64)][k] for k in range(len(tl.bounds))])
    again = lrcn[LRCN].predict_batch(clips)
    assert np.allclose(again, tl.probabilities[LRCN], atol=1e-6)
