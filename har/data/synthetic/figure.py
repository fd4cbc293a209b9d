"""An articulated stick-and-limb human, a horse and a dog, drawn with OpenCV.

Angles are radians from straight down; positive swings a limb towards the way the figure
faces. Joint positions come from forward kinematics on a Pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Strong clothing colors that stand out against the muted scenes.
SHIRTS = [
    [220, 30, 30],
    [30, 60, 220],
    [240, 200, 20],
    [20, 160, 60],
    [240, 120, 0],
    [160, 30, 200],
    [250, 250, 250],
    [20, 20, 20],
    [0, 180, 200],
]


@dataclass
class Body:
    """Per-clip proportions and colors (pixels at scale 1, BGR-free: RGB tuples)."""

    torso: float
    upper_arm: float
    forearm: float
    thigh: float
    shin: float
    head: float
    width: float
    skin: tuple[int, int, int]
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]

    @classmethod
    def random(cls, rng: np.random.Generator, height: float) -> Body:
        """A body `height` pixels tall with varied proportions and clothes."""
        u = height / 6.0
        skin = tuple(
            int(v)
            for v in rng.choice(
                [[233, 192, 160], [198, 134, 66], [141, 85, 36], [255, 219, 172], [110, 70, 40]]
            )
        )
        shirt = (
            tuple(int(v) for v in rng.choice(SHIRTS))
            if rng.random() < 0.8
            else tuple(int(v) for v in rng.integers(30, 230, 3))
        )
        trousers = tuple(int(v) for v in rng.integers(10, 90, 3))
        s = rng.uniform(0.9, 1.1, 6)
        return cls(
            torso=2.0 * u * s[0],
            upper_arm=1.15 * u * s[1],
            forearm=1.05 * u * s[2],
            thigh=1.4 * u * s[3],
            shin=1.35 * u * s[4],
            head=0.42 * u * s[5],
            width=max(2.5, 0.42 * u * rng.uniform(0.85, 1.2)),
            skin=skin,
            shirt=shirt,
            trousers=trousers,
        )


@dataclass
class Pose:
    """Where the hip is, which way the figure faces (+1 right, -1 left), and joint angles."""

    hip: tuple[float, float]
    facing: int = 1
    lean: float = 0.0  # torso angle from vertical, + leans forward
    shoulders: tuple[float, float] = (0.1, -0.1)  # near arm, far arm
    elbows: tuple[float, float] = (0.2, 0.2)
    hips: tuple[float, float] = (0.05, -0.05)  # near leg, far leg
    knees: tuple[float, float] = (0.05, 0.05)


def _step(origin, length: float, angle: float, facing: int) -> np.ndarray:
    return np.asarray(origin, float) + length * np.array([facing * np.sin(angle), np.cos(angle)])


def joints(body: Body, pose: Pose) -> dict[str, np.ndarray]:
    """Forward kinematics: pixel positions of every joint."""
    f = pose.facing
    hip = np.asarray(pose.hip, float)
    neck = hip + body.torso * np.array([f * np.sin(pose.lean), -np.cos(pose.lean)])
    head = neck + body.head * 1.25 * np.array([f * np.sin(pose.lean), -np.cos(pose.lean)])
    out = {"hip": hip, "neck": neck, "head": head}
    for side, name in enumerate(("near", "far")):
        a = pose.shoulders[side] + pose.lean
        elbow = _step(neck, body.upper_arm, a, f)
        out[f"{name}_elbow"] = elbow
        out[f"{name}_hand"] = _step(elbow, body.forearm, a + pose.elbows[side], f)
        knee = _step(hip, body.thigh, pose.hips[side], f)
        out[f"{name}_knee"] = knee
        out[f"{name}_foot"] = _step(knee, body.shin, pose.hips[side] - pose.knees[side], f)
    return out


def _shade(color, k: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c * k, 0, 255)) for c in color)


def limb(img, a, b, color, width: float) -> None:
    cv2.line(img, pt(a), pt(b), color, max(1, round(width)), cv2.LINE_AA)


def pt(p) -> tuple[int, int]:
    return int(round(p[0])), int(round(p[1]))


def draw_person(img: np.ndarray, body: Body, pose: Pose, light: float = 1.0) -> dict:
    """Draw far limbs darker, then torso and head, then near limbs; return the joints."""
    j = joints(body, pose)
    w = body.width
    far, near = light * 0.7, light
    limb(img, j["hip"], j["far_knee"], _shade(body.trousers, far), w * 1.1)
    limb(img, j["far_knee"], j["far_foot"], _shade(body.trousers, far), w)
    limb(img, j["neck"], j["far_elbow"], _shade(body.shirt, far), w * 0.9)
    limb(img, j["far_elbow"], j["far_hand"], _shade(body.skin, far), w * 0.8)
    limb(img, j["hip"], j["neck"], _shade(body.shirt, light), w * 1.8)
    cv2.circle(
        img, pt(j["head"]), max(2, round(body.head)), _shade(body.skin, light), -1, cv2.LINE_AA
    )
    limb(img, j["hip"], j["near_knee"], _shade(body.trousers, near), w * 1.1)
    limb(img, j["near_knee"], j["near_foot"], _shade(body.trousers, near), w)
    limb(img, j["neck"], j["near_elbow"], _shade(body.shirt, near * 1.05), w * 0.9)
    limb(img, j["near_elbow"], j["near_hand"], _shade(body.skin, near), w * 0.8)
    return j


def draw_quadruped(
    img, centre, length: float, facing: int, phase: float, color, gallop: bool, light: float = 1.0
) -> dict:
    """A horse (gallop=True, long neck) or a dog: body, neck, head, tail and four moving legs."""
    cx, cy = centre
    col = _shade(color, light)
    dark = _shade(color, light * 0.7)
    h = length * (0.32 if gallop else 0.3)
    leg = length * (0.55 if gallop else 0.45)
    swing = 0.55 if gallop else 0.45
    hips = [(cx - facing * length * 0.38, cy), (cx + facing * length * 0.38, cy)]
    for k, (hx, hy) in enumerate(hips):
        for side, c in ((0, dark), (1, col)):
            ph = phase + (np.pi if side else 0) + (0.8 * k if gallop else np.pi * k)
            a = swing * np.sin(ph)
            knee = (hx + facing * leg * 0.5 * np.sin(a), hy + leg * 0.5 * np.cos(a))
            foot = (
                knee[0] + facing * leg * 0.5 * np.sin(a * 0.4 - 0.3 * np.cos(ph)),
                knee[1] + leg * 0.5,
            )
            limb(img, (hx, hy), knee, c, max(1.5, length * 0.07))
            limb(img, knee, foot, c, max(1.0, length * 0.05))
    cv2.ellipse(
        img,
        pt((cx, cy - h * 0.2)),
        (max(2, int(length * 0.5)), max(2, int(h * 0.55))),
        0,
        0,
        360,
        col,
        -1,
        cv2.LINE_AA,
    )
    neck_base = (cx + facing * length * 0.42, cy - h * 0.4)
    head = (
        neck_base[0] + facing * length * (0.25 if gallop else 0.12),
        neck_base[1] - length * (0.42 if gallop else 0.22),
    )
    limb(img, neck_base, head, col, max(2, length * (0.13 if gallop else 0.12)))
    cv2.ellipse(
        img,
        pt((head[0] + facing * length * 0.08, head[1] + length * 0.03)),
        (max(2, int(length * (0.16 if gallop else 0.12))), max(1, int(length * 0.07))),
        20 * facing,
        0,
        360,
        col,
        -1,
        cv2.LINE_AA,
    )
    tail = (cx - facing * length * 0.5, cy - h * 0.3)
    limb(
        img,
        tail,
        (
            tail[0] - facing * length * 0.2,
            tail[1] + length * (0.3 if gallop else -0.12) * (1 + 0.3 * np.sin(phase)),
        ),
        dark,
        max(1, length * 0.04),
    )
    return {"back": (cx, cy - h * 0.7), "head": head}
