"""The paper's reference approach (the widely copied tutorial behind it), reimplemented
faithfully so that our pipeline can be measured against it on the same inputs."""

from __future__ import annotations

import cv2
import numpy as np

SEQUENCE_LENGTH, IMAGE_SIZE = 20, 64


def frames_extraction(video_path: str) -> np.ndarray:
    """Reference: seek to each of the 20 positions; BGR, INTER_LINEAR, float64 / 255."""
    frames_list = []
    video_reader = cv2.VideoCapture(str(video_path))
    video_frames_count = int(video_reader.get(cv2.CAP_PROP_FRAME_COUNT))
    skip_frames_window = max(int(video_frames_count / SEQUENCE_LENGTH), 1)
    for frame_counter in range(SEQUENCE_LENGTH):
        video_reader.set(cv2.CAP_PROP_POS_FRAMES, frame_counter * skip_frames_window)
        success, frame = video_reader.read()
        if not success:
            break
        resized_frame = cv2.resize(frame, (IMAGE_SIZE, IMAGE_SIZE))
        frames_list.append(resized_frame / 255)
    video_reader.release()
    return np.asarray(frames_list)


def frames_extraction_corrected(video_path: str) -> np.ndarray:
    """The same seeking, with our color order and resampling (RGB, INTER_AREA), uint8, so
    its frames can be compared with ours pixel for pixel."""
    frames_list = []
    video_reader = cv2.VideoCapture(str(video_path))
    video_frames_count = int(video_reader.get(cv2.CAP_PROP_FRAME_COUNT))
    skip_frames_window = max(int(video_frames_count / SEQUENCE_LENGTH), 1)
    for frame_counter in range(SEQUENCE_LENGTH):
        video_reader.set(cv2.CAP_PROP_POS_FRAMES, frame_counter * skip_frames_window)
        success, frame = video_reader.read()
        if not success:
            break
        small = cv2.resize(frame, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
        frames_list.append(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    video_reader.release()
    return np.asarray(frames_list)


def predict_clip(model, frames: np.ndarray) -> np.ndarray:
    """Reference: model.predict on one clip."""
    return model.predict(np.expand_dims(frames, axis=0), verbose=0)[0]


def fit(model, features: np.ndarray, labels_one_hot: np.ndarray, epochs: int, callbacks=()):
    """Reference: float32 NumPy arrays, batch 4, shuffle, 20 % validation split."""
    return model.fit(
        features,
        labels_one_hot,
        epochs=epochs,
        batch_size=4,
        shuffle=True,
        validation_split=0.2,
        callbacks=list(callbacks),
        verbose=0,
    )
