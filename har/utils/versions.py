"""The library versions a model was made with, as recorded on its card."""

from __future__ import annotations

import platform

import numpy as np

from har import __version__


def library_versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "har": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
