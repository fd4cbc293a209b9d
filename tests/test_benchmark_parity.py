"""The fast paths the benchmarks time give the same results as the paper's reference approach.

Timings live in benchmarks/run.py; here only the results are compared, on real files.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from har.config import REPO_ROOT
from har.data.synthetic import render_clip
from har.data.video import read_clip
from har.training.fit import make_dataset

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import reference  # noqa: E402


def ucf50_like_avi(path: Path, n_frames: int, gop: int) -> Path:
    """MPEG-4 part 2, XVID tag, 320x240 AVI (as UCF50), `gop` frames between keyframes."""
    frames = render_clip("Punch", 1, 1, seed=3, size=(320, 240), seconds=n_frames / 25)
    with av.open(str(path), "w", format="avi") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_tag = "XVID"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_sequential_decode_equals_seeking_to_each_frame(tmp_path):
    for gop in (12, 250):
        path = ucf50_like_avi(tmp_path / f"gop{gop}.avi", 90, gop)
        ours = read_clip(path)
        seeked = reference.frames_extraction_corrected(path)
        assert ours.indices == [i * 4 for i in range(20)]  # 90 frames: window 4
        assert seeked.shape == ours.pixels.shape
        assert np.array_equal(ours.pixels, seeked), f"frames differ at gop {gop}"


def test_reference_extraction_is_the_tutorials_bgr_float_frames(tmp_path):
    path = ucf50_like_avi(tmp_path / "clip.avi", 60, 12)
    raw = reference.frames_extraction(path)
    assert raw.shape == (20, 64, 64, 3) and raw.dtype == np.float64
    assert 0.0 <= raw.min() and raw.max() <= 1.0
    # BGR: its last channel is our first (to resampling differences)
    ours = read_clip(path).frames
    assert np.abs(raw[..., ::-1].mean(axis=(0, 1, 2)) - ours.mean(axis=(0, 1, 2))).max() < 0.02


def test_training_pipeline_feeds_what_the_numpy_reference_feeds():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 20, 64, 64, 3), dtype=np.uint8)
    y = np.array([0, 1, 2, 0, 1, 2])
    batches = list(make_dataset(x, y, 3, batch_size=4, shuffle_seed=None).as_numpy_iterator())
    features = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    assert [len(b[0]) for b in batches] == [4, 2]
    np.testing.assert_allclose(features, x.astype(np.float32) / 255.0, rtol=0, atol=1e-7)
    assert np.array_equal(labels, np.eye(3, dtype=np.float32)[y])
