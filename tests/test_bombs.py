"""Decode bombs (issue #19.2): frames too large to decode and .keras files that unpack to
gigabytes are refused with a sentence, before the work or the memory is spent."""

from __future__ import annotations

import struct
import zipfile

import pytest
from conftest import copy_shipped, write_cv2_video

import har.data.video as video
from har.errors import ModelError, VideoError
from har.models.registry import load_model


def test_frames_above_the_limit_are_refused_before_decoding(tmp_path):
    side = 4160  # 17.3 megapixels: above 4096x4096; a flat frame keeps the file tiny
    path = write_cv2_video(tmp_path / "huge.avi", 1, "MJPG", size=(side, side))
    assert path.stat().st_size < 2_000_000
    with pytest.raises(VideoError, match=f"{side}x{side} frames.*scale it down"):
        video.read_clip(path)


def test_the_limit_is_what_is_checked(make_video, monkeypatch):
    path = make_video(30, "MJPG")  # 160x120
    assert video.read_clip(path).frame_count == 30
    monkeypatch.setattr(video, "MAX_FRAME_PIXELS", 160 * 120 - 1)
    with pytest.raises(VideoError, match="160x120 frames"):
        video.read_clip(path)


def claim_size(path, claimed: int) -> None:
    """Rewrite each central-directory entry of a zip to claim `claimed` uncompressed bytes."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        struct.pack_into("<I", data, at + 24, claimed)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


def test_a_keras_zip_bomb_is_refused_before_loading(tmp_path):
    keras_path = copy_shipped("lrcn-paper4", tmp_path, "bomb")
    claim_size(keras_path, 0x7FFF_FFFF)  # 2 GB claimed by each member of a file of ~1 MB
    assert sum(m.file_size for m in zipfile.ZipFile(keras_path).infolist()) > 1 << 30
    with pytest.raises(ModelError, match="unpacks to .* MB .* it is not loaded"):
        load_model(keras_path)


@pytest.mark.slow
def test_a_real_keras_file_still_loads(tmp_path):
    keras_path = copy_shipped("lrcn-paper4", tmp_path, "fine")
    model, card = load_model(keras_path)
    assert card.name == "fine" and model.output_shape[-1] == len(card.class_names)
