"""The first read for a newcomer runs: examples/paper_walkthrough.py, end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from har.data.video import sample_indices

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_paper_walkthrough_runs_and_predicts_through_the_door(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "walkthrough", ROOT / "examples" / "paper_walkthrough.py"
    )
    walkthrough = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(walkthrough)
    out = walkthrough.main(tmp_path, epochs=1)
    assert out["classes"] == walkthrough.CLASSES
    assert out["epochs_run"] == 1
    assert out["indices"] == sample_indices(out["frame_count"], 20)  # the paper's sampling
    assert out["frame_count"] > 20
    assert np.isclose(out["probabilities"].sum(), 1.0, atol=1e-5)
