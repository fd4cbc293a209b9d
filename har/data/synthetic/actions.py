"""One function per action class: draw the actor at time t onto the scene canvas.

Each motion is what a person would recognise (a walker with a dog on a leash, slow Tai Chi
arm circles with a weight shift, a pendulum swing, galloping horses with riders, ...).
Several classes share standing poses (TaiChi, Punch, JumpingJack, JumpRope), so one still
frame is often not enough: the motion over time tells them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from har.data.synthetic.figure import Body, Pose, draw_person, draw_quadruped, limb, pt


@dataclass
class Actor:
    """Everything about one clip's performer that varies from clip to clip."""

    body: Body
    x: float  # starting hip x on the canvas
    ground: float  # y of the feet
    facing: int
    tempo: float  # cycles per second
    phase: float
    speed: float  # px per second for actions that travel
    amplitude: float  # 0.75..1.25 scale on the motion's size
    extra_color: tuple[int, int, int]  # dog, horse, rope or bar color
    height: float

    def hip_y(self) -> float:
        return self.ground - self.body.thigh - self.body.shin


def _travel_x(actor: Actor, t: float, width: int) -> float:
    span = width + 80
    return (actor.x + actor.facing * actor.speed * t + 40) % span - 40


def walking_with_dog(img, t, actor: Actor, light: float) -> None:
    w = img.shape[1]
    ph = 2 * np.pi * actor.tempo * t + actor.phase
    x = _travel_x(actor, t, w)
    a = 0.45 * actor.amplitude
    pose = Pose(
        hip=(x, actor.hip_y() - 1.5 * abs(np.sin(ph))),
        facing=actor.facing,
        lean=0.06,
        shoulders=(0.65, -0.35 * np.sin(ph)),
        elbows=(-0.1, 0.3),
        hips=(a * np.sin(ph), -a * np.sin(ph)),
        knees=(0.5 * max(0, np.sin(ph + 1.4)), 0.5 * max(0, np.sin(ph + 1.4 + np.pi))),
    )
    j = draw_person(img, actor.body, pose, light)
    dog_len = actor.height * 0.38
    dog = (x + actor.facing * actor.height * 0.75, actor.ground - dog_len * 0.45)
    parts = draw_quadruped(
        img, dog, dog_len, actor.facing, ph * 1.6, actor.extra_color, gallop=False, light=light
    )
    collar = parts["head"]
    mid = ((j["near_hand"][0] + collar[0]) / 2, max(j["near_hand"][1], collar[1]) + 6)
    pts = np.array([j["near_hand"], mid, collar], np.int32)
    cv2.polylines(img, [pts], False, (30, 30, 30), 1, cv2.LINE_AA)


def tai_chi(img, t, actor: Actor, light: float) -> None:
    ph = 2 * np.pi * actor.tempo * 0.35 * t + actor.phase  # slow
    a = actor.amplitude
    shift = 0.06 * actor.height * np.sin(ph)
    up = 1.3 + 0.75 * a * np.sin(ph)
    pose = Pose(
        hip=(actor.x + shift, actor.hip_y() + 3 + 2 * np.cos(ph)),
        facing=actor.facing,
        lean=0.05 * np.sin(ph),
        shoulders=(up, 1.3 + 0.75 * a * np.sin(ph + 1.2)),
        elbows=(0.5 + 0.4 * np.cos(ph), 0.6 + 0.4 * np.cos(ph + 1.2)),
        hips=(0.28 + 0.08 * np.sin(ph), -0.3 + 0.08 * np.sin(ph)),
        knees=(0.35, 0.25),
    )
    draw_person(img, actor.body, pose, light)


def swing(img, t, actor: Actor, light: float) -> None:
    ph = 2 * np.pi * actor.tempo * 0.55 * t + actor.phase
    theta = 0.55 * actor.amplitude * np.sin(ph)
    rope = actor.height * 0.95
    pivot = np.array([actor.x, actor.ground - actor.height * 1.35])
    frame_col = tuple(int(c * light) for c in actor.extra_color)
    top_l, top_r = pivot + [-actor.height * 0.6, 0], pivot + [actor.height * 0.6, 0]
    limb(img, top_l, top_r, frame_col, 3)
    for top in (top_l, top_r):
        limb(img, top, top + [-actor.height * 0.3, actor.height * 1.35], frame_col, 2)
        limb(img, top, top + [actor.height * 0.3, actor.height * 1.35], frame_col, 2)
    seat = pivot + rope * np.array([np.sin(theta), np.cos(theta)])
    limb(img, pivot, seat, (60, 60, 60), 1)
    limb(img, seat - [6, 0], seat + [6, 0], (90, 60, 30), 3)
    kick = 0.5 * np.sin(ph + np.pi / 2) * actor.amplitude
    pose = Pose(
        hip=(seat[0], seat[1] - 2),
        facing=actor.facing,
        lean=-0.15 - 0.2 * kick,
        shoulders=(2.7 - theta * actor.facing, 2.7 - theta * actor.facing),
        elbows=(0.2, 0.2),
        hips=(1.5 + 0.2 * kick, 1.4 + 0.2 * kick),
        knees=(1.3 - kick, 1.3 - kick),
    )
    draw_person(img, actor.body, pose, light)


def horse_race(img, t, actor: Actor, light: float) -> None:
    w = img.shape[1]
    for k in range(2):
        ph = 2 * np.pi * actor.tempo * 1.8 * t + actor.phase + 1.7 * k
        x = _travel_x(actor, t * (1.0 + 0.15 * k), w) - actor.facing * k * actor.height * 0.9
        length = actor.height * 0.9
        y = actor.ground - length * 0.55 - k * 4 - 2 * abs(np.sin(ph))
        color = actor.extra_color if k == 0 else tuple(int(c * 0.6) for c in actor.extra_color)
        parts = draw_quadruped(
            img, (x, y), length, actor.facing, ph, color, gallop=True, light=light * (1 - 0.15 * k)
        )
        back = parts["back"]
        body = actor.body
        pose = Pose(
            hip=(back[0], back[1] - 2),
            facing=actor.facing,
            lean=0.7 + 0.1 * np.sin(ph),
            shoulders=(0.9, 0.8),
            elbows=(0.6, 0.6),
            hips=(1.1, 1.0),
            knees=(1.6, 1.6),
        )
        small = Body(**{**body.__dict__, "thigh": body.thigh * 0.8, "shin": body.shin * 0.8})
        draw_person(img, small, pose, light)


def jumping_jack(img, t, actor: Actor, light: float) -> None:
    ph = 2 * np.pi * actor.tempo * 1.1 * t + actor.phase
    open_ = 0.5 - 0.5 * np.cos(ph)  # 0 closed .. 1 open
    a = actor.amplitude
    hop = actor.height * 0.08 * abs(np.sin(ph))
    arm = 0.2 + 2.6 * open_ * min(a, 1.1)
    pose = Pose(
        hip=(actor.x, actor.hip_y() - hop),
        facing=actor.facing,
        shoulders=(arm, -arm),
        elbows=(0.1, -0.1),
        hips=(0.05 + 0.4 * open_ * a, -0.05 - 0.4 * open_ * a),
        knees=(0.1, 0.1),
    )
    draw_person(img, actor.body, pose, light)


def push_ups(img, t, actor: Actor, light: float) -> None:
    ph = 2 * np.pi * actor.tempo * 0.8 * t + actor.phase
    down = 0.5 - 0.5 * np.cos(ph)
    b = actor.body
    rise = (b.upper_arm + b.forearm) * (1 - 0.45 * down * actor.amplitude)
    hip_y = actor.ground - rise * 0.55
    lean = 1.35 + 0.05 * down  # nearly horizontal
    elbow = 1.4 * down * actor.amplitude
    pose = Pose(
        hip=(actor.x, hip_y),
        facing=actor.facing,
        lean=lean,
        shoulders=(-lean + 0.5 * elbow, -lean + 0.5 * elbow + 0.1),
        elbows=(-elbow, -elbow),
        hips=(-1.45, -1.4),
        knees=(0.0, 0.0),
    )
    draw_person(img, actor.body, pose, light)


def pull_ups(img, t, actor: Actor, light: float) -> None:
    ph = 2 * np.pi * actor.tempo * 0.7 * t + actor.phase
    up = 0.5 - 0.5 * np.cos(ph)
    b = actor.body
    bar_y = actor.ground - actor.height * 1.45
    col = tuple(int(c * light) for c in actor.extra_color)
    limb(img, (actor.x - actor.height * 0.6, bar_y), (actor.x + actor.height * 0.6, bar_y), col, 3)
    for dx in (-actor.height * 0.6, actor.height * 0.6):
        limb(img, (actor.x + dx, bar_y), (actor.x + dx, actor.ground), col, 2)
    reach = b.upper_arm + b.forearm
    drop = reach * (1 - 0.6 * up * actor.amplitude)
    neck_y = bar_y + drop
    hip = (actor.x, neck_y + b.torso)
    elbow = 2.0 * up * actor.amplitude
    pose = Pose(
        hip=hip,
        facing=actor.facing,
        lean=0.0,
        shoulders=(np.pi - 0.2 - elbow / 2, np.pi + 0.2 - elbow / 2),
        elbows=(elbow, elbow),
        hips=(0.2 + 0.1 * up, 0.1),
        knees=(0.6, 0.7),
    )
    draw_person(img, actor.body, pose, light)


def lunges(img, t, actor: Actor, light: float) -> None:
    ph = 2 * np.pi * actor.tempo * 0.6 * t + actor.phase
    depth = max(0.0, np.sin(ph)) * actor.amplitude
    side = 1 if np.sin(ph / 2) >= 0 else -1
    drop = actor.body.thigh * 0.55 * depth
    front, back = 0.9 * depth, -0.5 * depth
    hips = (front, back) if side > 0 else (back, front)
    knees = (1.4 * depth, 0.3 + 0.9 * depth) if side > 0 else (0.3 + 0.9 * depth, 1.4 * depth)
    pose = Pose(
        hip=(actor.x, actor.hip_y() + drop),
        facing=actor.facing,
        lean=0.05,
        shoulders=(0.15, -0.15),
        elbows=(1.6, 1.6),
        hips=hips,
        knees=knees,
    )
    draw_person(img, actor.body, pose, light)


def punch(img, t, actor: Actor, light: float) -> None:
    ph = 2 * np.pi * actor.tempo * 1.3 * t + actor.phase
    jab = max(0.0, np.sin(ph)) ** 3 * actor.amplitude
    cross = max(0.0, np.sin(ph + np.pi)) ** 3 * actor.amplitude
    bounce = 1.5 * np.sin(2 * ph)
    pose = Pose(
        hip=(actor.x, actor.hip_y() + 3 + bounce),
        facing=actor.facing,
        lean=0.12,
        shoulders=(0.9 + 0.65 * jab, 0.9 + 0.65 * cross),
        elbows=(-2.1 * (1 - jab), -2.1 * (1 - cross)),
        hips=(0.3, -0.25),
        knees=(0.3, 0.2),
    )
    draw_person(img, actor.body, pose, light)


def jump_rope(img, t, actor: Actor, light: float) -> None:
    ph = 2 * np.pi * actor.tempo * 1.6 * t + actor.phase
    hop = actor.height * 0.07 * max(0.0, np.sin(2 * ph))
    pose = Pose(
        hip=(actor.x, actor.hip_y() - hop),
        facing=actor.facing,
        shoulders=(0.35 + 0.1 * np.sin(ph), 0.35 + 0.1 * np.sin(ph)),
        elbows=(0.9, 0.9),
        hips=(0.1, 0.0),
        knees=(0.3 * max(0, np.sin(2 * ph)), 0.2),
    )
    j = draw_person(img, actor.body, pose, light)
    hands = (j["near_hand"] + j["far_hand"]) / 2
    top = actor.ground - actor.height * 1.15
    arc_y = (
        (hands[1] + (top - hands[1]) * np.cos(ph))
        if np.cos(ph) > 0
        else (hands[1] + (actor.ground - hands[1] + 1) * -np.cos(ph))
    )
    half = actor.body.width * 3
    pts = np.array([[hands[0] - half, hands[1]], [hands[0], arc_y], [hands[0] + half, hands[1]]])
    cv2.polylines(img, [pts.astype(np.int32)], False, actor.extra_color, 1, cv2.LINE_AA)
    cv2.ellipse(
        img,
        pt((hands[0], (hands[1] + arc_y) / 2)),
        (int(half), max(1, int(abs(arc_y - hands[1]) / 2))),
        0,
        0,
        360,
        actor.extra_color,
        1,
        cv2.LINE_AA,
    )


ACTIONS = {
    "WalkingWithDog": walking_with_dog,
    "TaiChi": tai_chi,
    "Swing": swing,
    "HorseRace": horse_race,
    "JumpingJack": jumping_jack,
    "PushUps": push_ups,
    "PullUps": pull_ups,
    "Lunges": lunges,
    "Punch": punch,
    "JumpRope": jump_rope,
}
# Classes whose performer moves across the frame rather than staying in place.
TRAVELLING = {"WalkingWithDog", "HorseRace"}
