"""What the browser benchmarks share: a Streamlit server on a free port, and Chromium's flags."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(env: dict, app: Path = ROOT) -> Iterator[tuple[str, float]]:
    """(url, seconds to healthy) of `streamlit run streamlit_app.py` in the checkout `app`
    (default this one) with `env`; stopped after."""
    port = free_port()
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=app, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError("streamlit exited before serving") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=20)
