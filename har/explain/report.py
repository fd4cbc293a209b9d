"""All explanations of one clip for several models, and writing them as PNG, CSV and JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from har.data.video import enlarge
from har.errors import OutputError, VideoError
from har.explain.occlusion import OCCLUSION_REPLACEMENT, Occlusion, occlusion
from har.explain.saliency import Saliency, overlay, saliency
from har.explain.whatif import WHATIF_NOTE, WhatIf, whatif
from har.models.registry import slugify
from har.utils.files import atomic_path, write_json


def frame_grid(images: Sequence[np.ndarray], columns: int = 10, gap: int = 2) -> np.ndarray:
    """Equal-sized RGB images tiled in rows of `columns`, on white."""
    h, w = images[0].shape[:2]
    rows = -(-len(images) // columns)
    grid = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, np.uint8)
    for k, img in enumerate(images):
        r, c = divmod(k, columns)
        grid[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = img
    return grid


@dataclass
class ClipExplanation:
    """Occlusion, what-if and saliency of one clip for one model."""

    model: str
    pixels: np.ndarray  # (T, H, W, 3) RGB uint8: the frames the model saw
    occlusion: Occlusion
    whatif: WhatIf
    saliency: Saliency

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "occlusion": self.occlusion.to_dict(),
            "whatif": self.whatif.to_dict(),
            "saliency": {
                "method": self.saliency.method,
                "layer": self.saliency.layer,
                "class": self.saliency.class_name,
                "frame_weights": [round(float(w), 6) for w in self.saliency.weights],
            },
        }


def explain_clips(predictors: Mapping, clips: Mapping[str, np.ndarray], seed: int = 0) -> dict:
    """model name -> ClipExplanation, for each model's clip (T, H, W, 3) in its own spec."""
    out = {}
    for name, predictor in predictors.items():
        pixels = np.asarray(clips[name])
        out[name] = ClipExplanation(
            model=name,
            pixels=pixels,
            occlusion=occlusion(predictor, pixels),
            whatif=whatif(predictor, pixels, seed),
            saliency=saliency(predictor, pixels),
        )
    return out


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise VideoError(f"Could not encode {path.name} as PNG.")
    with atomic_path(path) as tmp:
        tmp.write_bytes(encoded.tobytes())
    return path


def _write_csv(path: Path, rows: list[dict]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [])
    writer.writeheader()
    writer.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def write_explanation(
    explanations: Mapping[str, ClipExplanation],
    out_dir: str | Path,
    source: str = "",
    indices: Mapping[str, Sequence[int]] | None = None,
    size: int = 128,
) -> list[Path]:
    """Write the explanations for a slide: per model a frame grid with saliency overlays
    (PNG), occlusion and what-if as CSV and JSON, and explain.json tying them together."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file; give a folder for the explanation files.")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    occlusion_rows, whatif_rows = [], []
    for name, e in explanations.items():
        frames = e.pixels
        written.append(
            _write_png(
                out / f"frames_{slugify(name)}.png",
                frame_grid([enlarge(f, size) for f in frames]),
            )
        )
        written.append(
            _write_png(
                out / f"saliency_{slugify(name)}.png",
                frame_grid(
                    [overlay(f, m, size) for f, m in zip(frames, e.saliency.maps, strict=True)]
                ),
            )
        )
        source_index = list((indices or {}).get(name, range(len(frames))))
        for t, drop in enumerate(e.occlusion.drops):
            occlusion_rows.append(
                {
                    "model": name,
                    "frame": t,
                    "source_frame": source_index[t],
                    "class": e.occlusion.class_name,
                    "probability": round(e.occlusion.probability, 6),
                    "drop": round(float(drop), 6),
                    "replacement": e.occlusion.replacement,
                    "saliency_weight": round(float(e.saliency.weights[t]), 6),
                }
            )
        whatif_rows.extend(e.whatif.rows())
    written.append(_write_csv(out / "occlusion.csv", occlusion_rows))
    written.append(
        write_json(
            out / "occlusion.json",
            {
                "replacement": OCCLUSION_REPLACEMENT,
                "models": [e.occlusion.to_dict() for e in explanations.values()],
            },
        )
    )
    written.append(_write_csv(out / "whatif.csv", whatif_rows))
    written.append(
        write_json(
            out / "whatif.json",
            {"note": WHATIF_NOTE, "models": [e.whatif.to_dict() for e in explanations.values()]},
        )
    )
    summary = {
        "video": source,
        "files": sorted(p.name for p in written) + ["explain.json"],
        "models": [e.to_dict() for e in explanations.values()],
    }
    written.append(write_json(out / "explain.json", summary))
    return written
