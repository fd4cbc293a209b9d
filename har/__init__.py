"""HAR Studio: human action recognition in video with the paper's ConvLSTM and LRCN."""

from har.errors import DatasetError, HarError, ModelError, TrainingError, VideoError

__version__ = "0.1.0"
__all__ = ["DatasetError", "HarError", "ModelError", "TrainingError", "VideoError", "__version__"]
