"""`har train --strategy multiworker` with two real worker processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from har.errors import TrainingError
from har.training.distribute import Shard, read_tf_config, tf_config_is_chief

pytestmark = pytest.mark.slow


def free_ports(n: int) -> list[int]:
    """Ports free on 127.0.0.1 right now (held open together, so they differ)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def tiny_synthetic(tmp_path_factory) -> Path:
    from har.data.synthetic import SYNTHETIC_CLASSES, generate_dataset

    root = tmp_path_factory.mktemp("synthetic")
    return generate_dataset(
        root, classes=SYNTHETIC_CLASSES[:2], groups=3, clips_per_group=2, progress=False
    )


def start_workers(data: Path, tmp_path: Path, epochs: int, name: str) -> list[subprocess.Popen]:
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
            "HAR_MODELS_DIR": str(tmp_path / "models"),  # shared: only the chief may write
            "HAR_CACHE_DIR": str(tmp_path / "cache"),
            "HAR_WORKER_WEIGHTS_DIR": str(tmp_path / "weights"),
            "HAR_DIST_TIMEOUT": "20",
            "CUDA_VISIBLE_DEVICES": "",
        }
        args = [sys.executable, "-m", "har.cli", "train", "--data", str(data), "--model", "lrcn"]
        args += ["--epochs", str(epochs), "--name", name, "--strategy", "multiworker"]
        args += ["--workers", "1"]
        log = open(tmp_path / f"worker{index}.log", "w")  # noqa: SIM115 (closed with the process)
        procs.append(subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def test_two_workers_train_one_model_with_identical_weights(tiny_synthetic, tmp_path):
    from har.models.registry import load_model

    procs = start_workers(tiny_synthetic, tmp_path, epochs=1, name="dist-lrcn")
    codes = [p.wait(timeout=180) for p in procs]
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], logs
    assert "global batch 8 (4 per replica); worker 0 of 2 (chief)" in logs[0]
    assert "worker 1 of 2" in logs[1] and "the chief saves the model" in logs[1]

    saved = sorted(p.name for p in (tmp_path / "models").iterdir() if not p.name.startswith("."))
    assert saved == ["dist-lrcn.json", "dist-lrcn.keras"]
    card = json.loads((tmp_path / "models" / "dist-lrcn.json").read_text())
    training = card["training"]
    assert (training["strategy"], training["workers"], training["replicas"]) == (
        "multiworker",
        2,
        2,
    )
    assert training["global_batch_size"] == 8 and training["batch_size"] == 4
    assert "test" in card["metrics"]

    model, _ = load_model(tmp_path / "models" / "dist-lrcn.keras")
    for index in range(2):
        with np.load(tmp_path / "weights" / f"worker-{index}.npz") as dumped:
            theirs = [dumped[f"arr_{i}"] for i in range(len(dumped.files))]
        ours = model.get_weights()
        assert len(theirs) == len(ours)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True)), index


@pytest.mark.parametrize("victim", [1, 0], ids=["worker-killed", "chief-killed"])
def test_a_killed_worker_fails_the_other_with_a_clear_message(tiny_synthetic, tmp_path, victim):
    procs = start_workers(tiny_synthetic, tmp_path, epochs=200, name="dist-killed")
    survivor = 1 - victim
    log = tmp_path / f"worker{survivor}.log"
    deadline = time.monotonic() + 120
    while "epoch 2/" not in log.read_text() and time.monotonic() < deadline:
        assert procs[survivor].poll() is None, log.read_text()
        time.sleep(0.5)
    procs[victim].kill()
    procs[victim].wait()
    code = procs[survivor].wait(timeout=90)  # a deadline, not a timing: a hang fails here
    text = log.read_text()
    assert code == 1, text
    assert "error: Lost contact with another worker" in text, text
    assert "Traceback" not in text
    assert not (tmp_path / "models" / "dist-killed.keras").exists()


def test_a_worker_that_never_joins_ends_the_run_with_a_clear_message(tiny_synthetic, tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    env = {
        **os.environ,
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}),
        "HAR_MODELS_DIR": str(tmp_path / "models"),
        "HAR_DIST_TIMEOUT": "5",
    }
    args = [sys.executable, "-m", "har.cli", "train", "--data", str(tiny_synthetic)]
    args += ["--model", "lrcn", "--epochs", "1", "--strategy", "multiworker"]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "error: not every worker in TF_CONFIG joined within 5 s" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tf_config_checks_and_shards(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(TrainingError, match="TF_CONFIG"):
        read_tf_config()
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1"]}, "task": {"index": 0}}')
    with pytest.raises(TrainingError, match="not a valid cluster"):
        read_tf_config()
    config = {
        "cluster": {"chief": ["a:1"], "worker": ["b:1"]},
        "task": {"type": "worker", "index": 0},
    }
    assert not tf_config_is_chief(config)
    assert tf_config_is_chief({**config, "task": {"type": "chief", "index": 0}})
    shards = [Shard(i, 3, i == 0).take(list(range(10))) for i in range(3)]
    assert sorted(sum(shards, [])) == list(range(10))
    assert [len(s) for s in shards] == [4, 3, 3]
