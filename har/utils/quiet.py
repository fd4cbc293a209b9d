"""Quiet native libraries: TensorFlow's and LiteRT's C++ start-up lines, FFmpeg's and OpenCV's.

TensorFlow prints oneDNN and CUDA notices from C++ before any log setting applies, so
TF_CPP_MIN_LOG_LEVEL alone does not hide them; a user of the CLI should see only our
output. Python-level errors during the import still propagate normally.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_stderr():
    """Native code's writes to stderr (fd 2) go nowhere inside this block."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow(run_op: bool = True):
    """TensorFlow, imported with stderr silenced. `run_op=False` skips the first op (whose
    notices it also hides): a multi-worker cluster must be configured before any op runs."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_stderr():
        import tensorflow

        if run_op:
            tensorflow.zeros([1])  # the first op prints the last of the start-up notices
    return tensorflow


def quiet_native_logs() -> None:
    """FFmpeg's and OpenCV's own log lines (1 to 61 of them for a broken file) would come
    before our one-sentence error. FFmpeg's level is read when the first capture opens,
    OpenCV's when cv2 is imported: if it already is, its level is set directly."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and os.environ["OPENCV_LOG_LEVEL"] == "SILENT":
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
