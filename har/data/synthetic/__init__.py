"""HAR Studio's built-in synthetic action dataset: drawn people performing UCF50 actions.

The real UCF50 cannot be downloaded here, so the project makes its own clips: an
articulated figure performs one of ten actions named after UCF50 classes, in scenes that
vary like UCF50's (background, camera motion, lighting, noise, occlusion, distractors).
Clips of one group share their scene. Models trained on these clips are labelled synthetic
everywhere: they will not recognise real footage.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from har.config import cache_dir
from har.data.encode import write_mp4
from har.data.synthetic.actions import ACTIONS, TRAVELLING, Actor
from har.data.synthetic.figure import Body
from har.data.synthetic.marker import MARKER, read_settings
from har.data.synthetic.scene import DIFFICULTY, draw_distractor, finish_frame, make_scene
from har.errors import DatasetError
from har.utils.files import write_json
from har.utils.progress import Progress, reporting

# The paper's four classes first.
SYNTHETIC_CLASSES: tuple[str, ...] = tuple(ACTIONS)
FPS = 25
DEFAULT_SIZE = (160, 120)


def _check(class_name: str, difficulty: str) -> int:
    if class_name not in ACTIONS:
        raise DatasetError(
            f"No synthetic class {class_name!r}; choose from: {', '.join(SYNTHETIC_CLASSES)}."
        )
    if difficulty not in DIFFICULTY:
        raise DatasetError(f"Difficulty must be one of {', '.join(DIFFICULTY)}.")
    return SYNTHETIC_CLASSES.index(class_name)


def make_actor(
    rng: np.random.Generator,
    class_name: str,
    canvas: tuple[int, int],
    ground: float,
    difficulty: str,
) -> Actor:
    w, h = canvas
    spread = {"easy": 0.1, "default": 0.25, "hard": 0.35}[difficulty]
    height = h * rng.uniform(0.62 - spread / 3, 0.62 + spread / 3)
    # Horses, and the swing's and pull-up bar's frames, are taller than the actor.
    height *= {"HorseRace": 0.75, "Swing": 0.72, "PullUps": 0.72}.get(class_name, 1.0)
    body = Body.random(rng, height)
    travelling = class_name in TRAVELLING
    return Actor(
        body=body,
        x=rng.uniform(0.1, 0.9) * w if travelling else w * rng.uniform(0.5 - spread, 0.5 + spread),
        ground=ground - rng.uniform(0, 0.05) * h,
        facing=int(rng.choice([-1, 1])),
        tempo=rng.uniform(0.8, 1.25),
        phase=rng.uniform(0, 2 * np.pi),
        speed=rng.uniform(18, 34) * (2.4 if class_name == "HorseRace" else 1.0),
        amplitude=rng.uniform(1 - spread, 1 + spread / 2),
        extra_color=tuple(int(v) for v in rng.integers(40, 200, 3)),
        height=height,
    )


def render_clip(
    class_name: str,
    group: int = 1,
    clip: int = 1,
    seed: int = 0,
    difficulty: str = "default",
    size: tuple[int, int] = DEFAULT_SIZE,
    seconds: float | None = None,
) -> np.ndarray:
    """Frames (T, H, W, 3) RGB uint8 of one clip; the same arguments give the same array."""
    cls = _check(class_name, difficulty)
    scene_rng = np.random.default_rng([seed, cls, group, 1])  # shared by the group's clips
    clip_rng = np.random.default_rng([seed, cls, group, clip, 2])
    scene = make_scene(scene_rng, size, difficulty, class_name)
    cam_phase = scene_rng.uniform(0, 2 * np.pi)
    canvas_size = (scene.background.shape[1], scene.background.shape[0])
    actor = make_actor(clip_rng, class_name, canvas_size, scene.ground, difficulty)
    seconds = seconds or clip_rng.uniform(2.0, 4.0)
    draw = ACTIONS[class_name]
    distractor_seed = int(clip_rng.integers(1 << 31))
    frames = []
    for i in range(max(1, round(seconds * FPS))):
        t = i / FPS
        canvas = scene.background.copy()
        if scene.distract:
            draw_distractor(canvas, t, distractor_seed, scene, actor.body)
        draw(canvas, t, actor, 1.0)
        frames.append(finish_frame(canvas, scene, t, clip_rng, size, cam_phase))
    return np.stack(frames)


def clip_path(root: Path, class_name: str, group: int, clip: int) -> Path:
    return root / class_name / f"v_{class_name}_g{group:02d}_c{clip:02d}.mp4"


def _render_and_write(job: tuple) -> str:
    path, class_name, group, clip, seed, difficulty, size, crf = job
    frames = render_clip(class_name, group, clip, seed, difficulty, size)
    write_mp4(path, frames, fps=FPS, crf=crf)
    return str(path)


def _pool(workers: int) -> Executor:
    """Worker processes, except in a process that has TensorFlow loaded (the app, a training
    worker, the tests): TensorFlow's runtime is not fork-safe, and a forked child aborted while
    collecting a TensorFlow function it had inherited (seen in the test suite, 2026-12-03).
    There, threads: the drawing holds the GIL, the encoding (PyAV) releases it."""
    if "tensorflow" in sys.modules:
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="har-synth")
    return ProcessPoolExecutor(max_workers=workers)


def generate_dataset(
    out_dir: str | Path,
    classes: Sequence[str] | None = None,
    groups: int = 25,
    clips_per_group: int = 4,
    difficulty: str = "default",
    seed: int = 0,
    workers: int | None = None,
    progress: Progress = True,
    size: tuple[int, int] = DEFAULT_SIZE,
    crf: int = 23,
) -> Path:
    """Write a UCF50-shaped folder of synthetic clips; existing clips are kept (resumable)."""
    root = Path(out_dir)
    classes = list(classes or SYNTHETIC_CLASSES)
    for name in classes:
        _check(name, difficulty)
    if groups < 1 or clips_per_group < 1:
        raise DatasetError("Need at least one group and one clip per group.")
    settings = {
        "generator": "har.synthetic",
        "note": "Synthetic clips of drawn figures, not real video. Models trained on them "
        "will not recognise real footage.",
        "classes": classes,
        "groups": groups,
        "clips_per_group": clips_per_group,
        "difficulty": difficulty,
        "seed": seed,
        "size": list(size),
        "fps": FPS,
    }
    marker = root / MARKER
    old = read_settings(root)
    if old is not None:
        if any(old.get(k) != settings[k] for k in ("difficulty", "seed", "size")):
            raise DatasetError(
                f"{root} holds synthetic clips made with other settings; use a new folder."
            )
    root.mkdir(parents=True, exist_ok=True)
    write_json(marker, settings)
    jobs = [
        (clip_path(root, c, g, k), c, g, k, seed, difficulty, size, crf)
        for c in classes
        for g in range(1, groups + 1)
        for k in range(1, clips_per_group + 1)
    ]
    todo = [j for j in jobs if not j[0].exists()]
    workers = workers or os.cpu_count() or 1
    pool = None
    if workers == 1 or len(todo) <= 2:
        results = map(_render_and_write, todo)
    else:
        pool = _pool(workers)
        results = pool.map(_render_and_write, todo, chunksize=2)
    try:
        with reporting(progress, len(jobs), "synth", "clip", done=len(jobs) - len(todo)) as advance:
            for _ in results:
                advance()
    except BaseException:
        if old is None and not any(j[0].exists() for j in jobs):  # nothing made: no marker
            marker.unlink(missing_ok=True)
        raise
    finally:
        if pool is not None:
            pool.shutdown()
    return root


def cached_dataset(
    classes: Sequence[str],
    groups: int = 6,
    clips_per_group: int = 2,
    seed: int = 1,
    difficulty: str = "default",
    progress: Progress = False,
) -> Path:
    """A small synthetic set in the cache folder, made on first use (for the app's pages)."""
    key = f"{'-'.join(sorted(classes))}_g{groups}_c{clips_per_group}_s{seed}_{difficulty}"
    root = cache_dir() / "synthetic" / key
    return generate_dataset(
        root, classes, groups, clips_per_group, difficulty, seed, progress=progress
    )
