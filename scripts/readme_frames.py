"""docs/synthetic-classes.png: one frame the models see from each class's first sample clip.

Runs `har frames` on samples/<Class>_1.mp4 and tiles sampled frame 10 of each (64x64, shown
at 2x) with its class name: what the synthetic data looks like to the models.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from har.cli import main as har
from har.config import REPO_ROOT, SAMPLES_DIR
from har.data.synthetic import SYNTHETIC_CLASSES
from har.utils.files import atomic_path

OUT = REPO_ROOT / "docs" / "synthetic-classes.png"


def main() -> int:
    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in SYNTHETIC_CLASSES:
            out = Path(tmp) / name
            if har(["frames", str(SAMPLES_DIR / f"{name}_1.mp4"), "--out", str(out)]) != 0:
                return 1
            frame = cv2.imread(str(sorted(out.glob("frame_10_*.png"))[0]))
            tile = cv2.resize(frame, (128, 128), interpolation=cv2.INTER_NEAREST)
            label = np.full((22, 128, 3), 255, np.uint8)
            cv2.putText(label, name, (3, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1)
            tiles.append(np.vstack([tile, label]))
    rows = [np.hstack(tiles[i : i + 5]) for i in range(0, len(tiles), 5)]
    with atomic_path(OUT) as tmp:
        cv2.imwrite(str(tmp), np.vstack(rows))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
