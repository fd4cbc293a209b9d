"""Everything around the actor: background, camera, light, noise, occluders and distractors.

A Scene is drawn from the (class, group) seed, so clips of one group share background and
camera style, as in UCF50; `difficulty` scales every source of variation.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from har.data.synthetic.figure import Body, Pose, draw_person

DIFFICULTY = {
    #           shake  pan   zoom  light  noise  occlude  distract  clutter
    "easy":    (0.0,   0.0,  0.0,  0.05,  2.0,   0.0,     0.0,      2),
    "default": (0.8,   0.06, 0.06, 0.15,  5.0,   0.3,     0.5,      3),
    "hard":    (1.8,   0.12, 0.12, 0.30,  9.0,   0.6,     0.9,      9),
}  # fmt: skip
MARGIN = 1.25  # the canvas is this much larger than the output, so the camera can move


@dataclass
class Scene:
    background: np.ndarray  # canvas-sized RGB uint8
    ground: float  # y of the ground line on the canvas
    shake: float
    pan: float
    zoom: float
    light_amp: float
    light_freq: float
    noise: float
    occlude: bool
    occluder: tuple[int, int, int, int, tuple[int, int, int]]
    distract: bool


def _color(rng, lo=0, hi=255) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(lo, hi, 3))


# Where an action typically happens, as in UCF50 (horse races on a track, swings in a
# playground): (ground color, sky/wall color, indoor?). Classes not listed here get a
# random setting, so for them only the motion tells the class.
SETTINGS = {
    "HorseRace": ((150, 110, 70), (150, 190, 230), False),  # dirt track
    "Swing": ((215, 195, 140), (160, 200, 235), False),  # playground sand
    "WalkingWithDog": ((135, 135, 140), (175, 200, 225), False),  # pavement
    "TaiChi": ((90, 150, 80), (190, 215, 235), False),  # park lawn
    "PullUps": ((120, 110, 100), (215, 205, 185), True),  # gym
    "PushUps": ((70, 90, 150), (210, 210, 200), True),  # exercise mat
}


def _jitter(rng, color, amount: float) -> np.ndarray:
    return np.clip(np.array(color, float) + rng.normal(0, amount, 3), 0, 255)


def make_scene(
    rng: np.random.Generator, size: tuple[int, int], difficulty: str, class_name: str = ""
) -> Scene:
    """A background with horizon, textures and clutter, plus camera and light style."""
    shake, pan, zoom, light, noise, occlude, distract, clutter = DIFFICULTY[difficulty]
    w, h = int(size[0] * MARGIN), int(size[1] * MARGIN)
    horizon = int(h * rng.uniform(0.4, 0.62))
    # Muted scene colors (mixed towards grey) so the actor stands out from the scenery.
    grey = np.array([150.0, 150.0, 150.0])
    if class_name in SETTINGS:
        ground, sky, indoor = SETTINGS[class_name]
        spread = {"easy": 12, "default": 22, "hard": 40}[difficulty]
        sky_top, sky_low = _jitter(rng, sky, spread), _jitter(rng, sky, spread)
        if indoor:
            sky_low = sky_top
        ground_col = _jitter(rng, ground, spread)
    else:
        sky_top = 0.5 * grey + 0.5 * np.array(_color(rng, 90, 255))
        sky_low = 0.5 * grey + 0.5 * np.array(_color(rng, 120, 255))
        ground_col = 0.45 * grey + 0.55 * np.array(_color(rng, 40, 200))
    img = np.empty((h, w, 3), np.float32)
    ramp = np.linspace(0, 1, horizon)[:, None, None]
    img[:horizon] = sky_top * (1 - ramp) + sky_low * ramp
    depth = np.linspace(0.75, 1.15, h - horizon)[:, None, None]
    img[horizon:] = ground_col * depth
    texture = cv2.resize(
        rng.normal(0, 1, (h // 8 + 1, w // 8 + 1)).astype(np.float32),
        (w, h),
        interpolation=cv2.INTER_CUBIC,
    )
    img += texture[:, :, None] * rng.uniform(3, 8)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(clutter // 2, clutter + 1))):
        col = tuple(int(0.5 * 150 + 0.5 * c) for c in _color(rng, 20, 230))
        x0 = int(rng.integers(0, w))
        bw, bh = int(rng.integers(6, w // 7)), int(rng.integers(8, int(horizon * 0.6) + 9))
        if rng.random() < 0.5:  # a building or a wall
            cv2.rectangle(img, (x0, horizon - bh), (x0 + bw, horizon), col, -1)
        else:  # a tree
            cv2.line(img, (x0, horizon), (x0, horizon - bh // 2), (90, 60, 30), 2)
            cv2.circle(img, (x0, horizon - bh // 2), max(3, bw // 2), col, -1, cv2.LINE_AA)
    ground = h * rng.uniform(0.76, 0.84)  # inside the visible crop
    if class_name == "HorseRace":  # the track's rails
        rail_y = int(ground - h * rng.uniform(0.25, 0.35))
        cv2.line(img, (0, rail_y), (w, rail_y), (235, 235, 235), 2)
        for x in range(int(rng.integers(0, 20)), w, 20):
            cv2.line(img, (x, rail_y), (x, rail_y + int(h * 0.08)), (235, 235, 235), 1)
    ow, oh = int(w * rng.uniform(0.06, 0.16)), int(h * rng.uniform(0.3, 0.8))
    ox = int(rng.uniform(0.1, 0.9) * w)
    return Scene(
        background=img,
        ground=ground,
        shake=shake,
        pan=pan * w * rng.uniform(0.5, 1.0),
        zoom=zoom * rng.uniform(0.5, 1.0),
        light_amp=light * rng.uniform(0.5, 1.0),
        light_freq=rng.uniform(0.1, 0.5),
        noise=noise,
        occlude=rng.random() < occlude,
        occluder=(ox, h - oh, ow, oh, _color(rng, 20, 200)),
        distract=rng.random() < distract,
    )


def camera_matrix(scene: Scene, t: float, rng: np.random.Generator, out_size, phase: float):
    """Affine map from canvas to output at time t: a slow pan, a zoom drift and hand shake."""
    w, h = out_size
    s = 1.0 + scene.zoom * np.sin(0.6 * t + phase)
    cx = (MARGIN - 1) * w / 2 + scene.pan * np.sin(0.4 * t + phase)
    cy = (MARGIN - 1) * h / 2
    sx, sy = rng.normal(0, scene.shake, 2)
    # output = s * (canvas - centre) + output centre
    ox, oy = w / 2 + cx + sx, h / 2 + cy + sy
    m = np.array([[s, 0, w / 2 - s * ox], [0, s, h / 2 - s * oy]], np.float32)
    return m


def draw_distractor(img, t: float, rng_seed: int, scene: Scene, body: Body) -> None:
    """A small passer-by walking along the horizon, or a bouncing ball."""
    rng = np.random.default_rng(rng_seed)
    h, w = img.shape[:2]
    if rng.random() < 0.5:
        x = (rng.uniform(0, w) + rng.choice([-1, 1]) * 18 * t) % w
        ph = 2 * np.pi * 1.1 * t
        small = Body(
            **{k: (v * 0.45 if isinstance(v, float) else v) for k, v in body.__dict__.items()}
        )
        small.shirt = tuple(int(v) for v in rng.integers(30, 230, 3))
        y = scene.ground - h * 0.28
        draw_person(
            img,
            small,
            Pose(
                hip=(x, y),
                facing=1,
                hips=(0.4 * np.sin(ph), -0.4 * np.sin(ph)),
                shoulders=(-0.3 * np.sin(ph), 0.3 * np.sin(ph)),
            ),
        )
    else:
        x = (rng.uniform(0, w) + 30 * t) % w
        y = scene.ground - abs(np.sin(3 * t + rng.uniform(0, 3))) * h * 0.3 - 3
        cv2.circle(
            img,
            (int(x), int(y)),
            3,
            tuple(int(v) for v in rng.integers(0, 255, 3)),
            -1,
            cv2.LINE_AA,
        )


def finish_frame(canvas: np.ndarray, scene: Scene, t: float, rng, out_size, cam_phase: float):
    """Occluder, camera, light drift and sensor noise: canvas -> output frame."""
    if scene.occlude:
        x, y, w, h, col = scene.occluder
        cv2.rectangle(canvas, (x, y), (x + w, y + h), col, -1)
    frame = cv2.warpAffine(
        canvas,
        camera_matrix(scene, t, rng, out_size, cam_phase),
        out_size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )
    gain = 1.0 + scene.light_amp * np.sin(2 * np.pi * scene.light_freq * t + cam_phase)
    noisy = frame.astype(np.float32) * gain + rng.normal(0, scene.noise, frame.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)
