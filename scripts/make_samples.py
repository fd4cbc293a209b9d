"""Write samples/<Class>_<n>.mp4: two short H.264 clips per synthetic class (`make samples`).

They come from a seed the shipped models never trained on (training used seed 0), so the
app's sample predictions are on unseen clips.
"""

from __future__ import annotations

import sys
from pathlib import Path

from har.config import SAMPLES_DIR
from har.data.encode import write_mp4
from har.data.synthetic import FPS, SYNTHETIC_CLASSES, render_clip

SEED = 2026


def main() -> int:
    SAMPLES_DIR.mkdir(exist_ok=True)
    for name in SYNTHETIC_CLASSES:
        for n in (1, 2):
            frames = render_clip(name, group=n, clip=1, seed=SEED, seconds=3.0)
            path = write_mp4(SAMPLES_DIR / f"{name}_{n}.mp4", frames, fps=FPS, crf=28)
            print(f"{path.relative_to(SAMPLES_DIR.parent)}  {path.stat().st_size / 1024:.0f} KB")
    total = sum(p.stat().st_size for p in Path(SAMPLES_DIR).glob("*.mp4"))
    print(f"total {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
