"""The one door for prediction: the app, the CLI, Evaluate and the benchmarks all come here.

Two verbs, as in MMAction2: load models (`Predictor.from_registry`, `load_predictors`) and
predict (`predict_video` for a file, `Predictor.predict_batch` for clips already decoded).
"""

from har.inference.prediction import RUNTIME_NAMES, Agreement, Prediction, VideoPrediction
from har.inference.predictor import (
    Predictor,
    decode_video,
    load_predictors,
    predict_frames,
    predict_video,
)
from har.inference.spec import DEFAULT_SPEC, InputSpec

__all__ = [
    "DEFAULT_SPEC",
    "Agreement",
    "RUNTIME_NAMES",
    "InputSpec",
    "Prediction",
    "Predictor",
    "VideoPrediction",
    "decode_video",
    "load_predictors",
    "predict_frames",
    "predict_video",
]
