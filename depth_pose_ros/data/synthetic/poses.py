"""Random plausible poses within joint limits, and a walking gait for sequences.

Angles are (flex, abduct, twist) in degrees per bone, as `body.bone_rotation` reads them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from depth_pose_ros.data.synthetic.body import KINECT_JOINTS, J, Pose

Range = tuple[float, float]

# Anatomical limits (min, max) of (flex, abduct, twist) per bone; every pose stays inside them.
JOINT_LIMITS: dict[J, tuple[Range, Range, Range]] = {
    J.SPINE_MID: ((-30, 70), (-30, 30), (-30, 30)),
    J.SPINE_SHOULDER: ((-30, 60), (-30, 30), (-30, 30)),
    J.NECK: ((-40, 60), (-40, 40), (-60, 60)),
    J.HEAD: ((-40, 50), (-30, 30), (-60, 60)),
    **dict.fromkeys((J.SHOULDER_L, J.SHOULDER_R), ((-15, 15), (-15, 15), (0, 0))),
    **dict.fromkeys((J.ELBOW_L, J.ELBOW_R), ((-60, 180), (-45, 180), (-90, 90))),
    **dict.fromkeys((J.WRIST_L, J.WRIST_R), ((0, 155), (0, 0), (-90, 90))),
    **dict.fromkeys((J.HAND_L, J.HAND_R), ((-80, 80), (-30, 30), (0, 0))),
    **dict.fromkeys((J.HAND_TIP_L, J.HAND_TIP_R), ((0, 90), (0, 0), (0, 0))),
    **dict.fromkeys((J.KNEE_L, J.KNEE_R), ((-30, 130), (-45, 50), (-45, 45))),
    **dict.fromkeys((J.ANKLE_L, J.ANKLE_R), ((0, 155), (0, 0), (0, 0))),
    **dict.fromkeys((J.FOOT_L, J.FOOT_R), ((-50, 40), (0, 0), (0, 0))),
}  # bones not listed (the root's children at the hips, the thumbs) do not rotate
# One arm: shoulder (flex, abduct, twist), elbow flex, wrist flex, each a (low, high) range.
ArmPreset = tuple[tuple[Range, Range, Range], Range, Range]

ARM_PRESETS: dict[str, ArmPreset] = {
    "hanging": (((-10, 15), (3, 15), (-10, 30)), (0, 25), (-10, 20)),
    "hand_on_hip": (((-15, 5), (35, 55), (50, 80)), (95, 120), (-20, 10)),
    "holding_in_front": (((15, 50), (0, 20), (15, 50)), (60, 100), (-20, 20)),
    "phone_at_ear": (((20, 45), (15, 35), (40, 70)), (130, 150), (-10, 30)),
    "waving": (((0, 40), (70, 100), (-90, -60)), (60, 110), (-20, 20)),
    "reaching_forward": (((60, 110), (-10, 25), (0, 40)), (0, 35), (-20, 20)),
    "reaching_up": (((130, 170), (0, 35), (-20, 20)), (0, 35), (-20, 20)),
    "pointing_sideways": (((-5, 25), (70, 100), (-20, 20)), (0, 25), (-10, 10)),
    "typing": (((10, 40), (5, 25), (20, 50)), (70, 105), (-10, 30)),
    "arms_crossed": (((20, 40), (-25, -10), (55, 80)), (105, 130), (-10, 10)),
}
# Arms the scenario families need; apart from ARM_PRESETS, whose order the version-1
# generator's random draws depend on.
WIDE_ARM_PRESETS: dict[str, ArmPreset] = {
    "spread": (((-15, 15), (80, 100), (-20, 20)), (0, 15), (-10, 15)),  # a T
    "raised_wide": (((-10, 15), (110, 130), (-20, 20)), (0, 15), (-10, 15)),  # a Y
    "overhead": (((150, 180), (-5, 30), (-20, 20)), (0, 40), (-20, 20)),
    "waving_high": (((0, 40), (110, 150), (-90, -60)), (40, 100), (-20, 20)),
}
ARM_PRESET_NAMES = tuple(ARM_PRESETS)
# Presets other than these are picked for one arm at a time.
_ARM_WEIGHTS = np.array([0.35, 0.08, 0.12, 0.05, 0.05, 0.1, 0.06, 0.05, 0.09, 0.05])
_ARM_WEIGHTS /= _ARM_WEIGHTS.sum()


def within_limits(pose: Pose) -> Pose:
    """The pose with every angle clamped to JOINT_LIMITS (unlisted bones held at zero)."""
    low, high = np.zeros((KINECT_JOINTS, 3)), np.zeros((KINECT_JOINTS, 3))
    for joint, limits in JOINT_LIMITS.items():
        low[joint], high[joint] = zip(*limits, strict=True)
    angles = np.clip(pose.angles, low, high)
    return Pose(angles, pose.yaw, pose.pitch, pose.roll, pose.sitting)


def _uniform(rng: np.random.Generator, ranges: tuple[Range, ...]) -> np.ndarray:
    return np.array([rng.uniform(low, high) for low, high in ranges])


def _set_arm(angles: np.ndarray, rng: np.random.Generator, side: str, preset: str) -> None:
    shoulder, elbow, wrist = ARM_PRESETS.get(preset) or WIDE_ARM_PRESETS[preset]
    joints = (
        (J.ELBOW_L, J.WRIST_L, J.HAND_L, J.HAND_TIP_L)
        if side == "L"
        else (
            J.ELBOW_R,
            J.WRIST_R,
            J.HAND_R,
            J.HAND_TIP_R,
        )
    )
    angles[joints[0]] = _uniform(rng, shoulder)
    angles[joints[1]] = (rng.uniform(*elbow), 0.0, rng.uniform(-20, 20))
    angles[joints[2]] = (rng.uniform(*wrist), rng.uniform(-15, 15), 0.0)
    angles[joints[3]] = (rng.uniform(0, 40), 0.0, 0.0)


def _arms(angles: np.ndarray, rng: np.random.Generator, allow_crossed: bool = True) -> None:
    if allow_crossed and rng.random() < 0.08:
        _set_arm(angles, rng, "L", "arms_crossed")
        _set_arm(angles, rng, "R", "arms_crossed")
        return
    names = [n for n in ARM_PRESET_NAMES if n != "arms_crossed"]
    weights = _ARM_WEIGHTS[: len(names)] / _ARM_WEIGHTS[: len(names)].sum()
    for side in ("L", "R"):
        _set_arm(angles, rng, side, names[rng.choice(len(names), p=weights)])


def _spine(angles: np.ndarray, rng: np.random.Generator, bend: float = 0.0) -> None:
    angles[J.SPINE_MID] = (
        bend * 0.6 + rng.uniform(-5, 10),
        rng.uniform(-6, 6),
        rng.uniform(-12, 12),
    )
    angles[J.SPINE_SHOULDER] = (
        bend * 0.4 + rng.uniform(-5, 10),
        rng.uniform(-5, 5),
        rng.uniform(-10, 10),
    )
    angles[J.NECK] = (rng.uniform(-10, 20), rng.uniform(-8, 8), rng.uniform(-20, 20))
    angles[J.HEAD] = (rng.uniform(-15, 20), rng.uniform(-10, 10), rng.uniform(-35, 35))
    shrug = rng.uniform(-8, 8)
    angles[J.SHOULDER_L] = (rng.uniform(-8, 8), shrug, 0.0)
    angles[J.SHOULDER_R] = (rng.uniform(-8, 8), -shrug, 0.0)


def _legs(
    angles: np.ndarray,
    rng: np.random.Generator,
    hip: tuple[Range, Range],
    knee: tuple[Range, Range],
    abduct: Range = (-3, 10),
) -> None:
    for thigh, shin, foot, hip_range, knee_range in (
        (J.KNEE_L, J.ANKLE_L, J.FOOT_L, hip[0], knee[0]),
        (J.KNEE_R, J.ANKLE_R, J.FOOT_R, hip[1], knee[1]),
    ):
        angles[thigh] = (rng.uniform(*hip_range), rng.uniform(*abduct), rng.uniform(-15, 20))
        angles[shin] = (rng.uniform(*knee_range), 0.0, 0.0)
        angles[foot] = (rng.uniform(-10, 15), 0.0, 0.0)


def standing(rng: np.random.Generator) -> Pose:
    angles = np.zeros((KINECT_JOINTS, 3))
    _spine(angles, rng)
    _arms(angles, rng)
    if rng.random() < 0.3:  # a step or weight on one leg
        front = rng.uniform(10, 30)
        hips = ((front, front), (-15, 0)) if rng.random() < 0.5 else ((-15, 0), (front, front))
        _legs(angles, rng, hips, ((0, 20), (0, 20)))
    else:
        _legs(angles, rng, ((-5, 10), (-5, 10)), ((0, 15), (0, 15)))
    return Pose(angles, yaw=0.0, pitch=rng.uniform(-3, 5), roll=rng.uniform(-3, 3))


def walking(rng: np.random.Generator) -> Pose:
    return gait(standing_still(rng), phase=rng.uniform(0, 2 * np.pi), stride=rng.uniform(0.7, 1.2))


def standing_still(rng: np.random.Generator) -> Pose:
    """Upright with hanging arms and straight legs: the base a gait is added to."""
    angles = np.zeros((KINECT_JOINTS, 3))
    _spine(angles, rng)
    _set_arm(angles, rng, "L", "hanging")
    _set_arm(angles, rng, "R", "hanging")
    if rng.random() < 0.3:
        _set_arm(angles, rng, "L" if rng.random() < 0.5 else "R", "holding_in_front")
    _legs(angles, rng, ((0, 3), (0, 3)), ((3, 6), (3, 6)), abduct=(0, 4))
    return Pose(angles, yaw=0.0, pitch=rng.uniform(0, 5))


def sitting(rng: np.random.Generator) -> Pose:
    angles = np.zeros((KINECT_JOINTS, 3))
    _spine(angles, rng, bend=rng.uniform(-15, 20))
    _arms(angles, rng)
    _legs(angles, rng, ((70, 100), (70, 100)), ((60, 110), (60, 110)), abduct=(0, 20))
    if rng.random() < 0.2:  # legs crossed at the knee
        angles[J.KNEE_L] = (rng.uniform(90, 110), rng.uniform(-25, -15), 0.0)
        angles[J.ANKLE_L] = (rng.uniform(70, 100), 0.0, 0.0)
    return Pose(angles, yaw=0.0, pitch=rng.uniform(-15, 10), sitting=True)


def bending(rng: np.random.Generator) -> Pose:
    angles = np.zeros((KINECT_JOINTS, 3))
    pitch = rng.uniform(20, 70)
    _spine(angles, rng, bend=rng.uniform(10, 40))
    _arms(angles, rng, allow_crossed=False)
    for arm in (J.ELBOW_L, J.ELBOW_R):  # arms hang towards the floor
        angles[arm, 0] += pitch * rng.uniform(0.4, 1.0)
    knee = rng.uniform(0, 40)
    _legs(angles, rng, ((pitch, pitch + 10), (pitch, pitch + 10)), ((knee, knee + 10),) * 2)
    return Pose(angles, yaw=0.0, pitch=pitch)


def crouching(rng: np.random.Generator) -> Pose:
    angles = np.zeros((KINECT_JOINTS, 3))
    _spine(angles, rng, bend=rng.uniform(10, 40))
    _arms(angles, rng, allow_crossed=False)
    hip = rng.uniform(70, 110)
    knee = rng.uniform(90, 130)
    _legs(angles, rng, ((hip, hip + 10),) * 2, ((knee, knee + 10),) * 2, abduct=(0, 12))
    for foot in (J.FOOT_L, J.FOOT_R):
        angles[foot, 0] = rng.uniform(10, 30)
    return Pose(angles, yaw=0.0, pitch=rng.uniform(10, 40))


def tpose(rng: np.random.Generator) -> Pose:
    """Standing with both arms spread wide, as a T or raised in a Y."""
    angles = np.zeros((KINECT_JOINTS, 3))
    _spine(angles, rng)
    preset = "spread" if rng.random() < 0.65 else "raised_wide"
    _set_arm(angles, rng, "L", preset)
    _set_arm(angles, rng, "R", preset)
    _legs(angles, rng, ((-5, 10), (-5, 10)), ((0, 10), (0, 10)), abduct=(0, 15))
    return Pose(angles, yaw=0.0, pitch=rng.uniform(-3, 5), roll=rng.uniform(-3, 3))


def arms_up(rng: np.random.Generator) -> Pose:
    """Standing with one or both arms overhead: reaching up, waving high."""
    pose = standing(rng)
    angles = pose.angles.copy()
    raised = ["L", "R"] if rng.random() < 0.45 else [str(rng.choice(["L", "R"]))]
    for side in raised:
        _set_arm(angles, rng, side, str(rng.choice(["overhead", "waving_high", "reaching_up"])))
    return Pose(angles, yaw=0.0, pitch=pose.pitch, roll=pose.roll)


def typing(rng: np.random.Generator) -> Pose:
    """Seated with both hands forward at desk height."""
    pose = sitting(rng)
    angles = pose.angles.copy()
    _set_arm(angles, rng, "L", "typing")
    _set_arm(angles, rng, "R", "typing")
    return Pose(angles, yaw=0.0, pitch=rng.uniform(-5, 15), sitting=True)


def kneeling(rng: np.random.Generator) -> Pose:
    """On both knees (upright or sitting back on the heels) or on one knee."""
    angles = np.zeros((KINECT_JOINTS, 3))
    _spine(angles, rng, bend=rng.uniform(-5, 25))
    _arms(angles, rng)
    if rng.random() < 0.5:
        hip = rng.uniform(0, 25) if rng.random() < 0.6 else rng.uniform(70, 100)
        knee = hip + rng.uniform(85, 105)
        _legs(angles, rng, ((hip, hip + 5),) * 2, ((knee, knee + 5),) * 2, abduct=(0, 10))
    else:
        kneel, step = ((0, 20), (70, 100)) if rng.random() < 0.5 else ((70, 100), (0, 20))
        knees = ((95, 120), (70, 100)) if kneel[0] == 0 else ((70, 100), (95, 120))
        _legs(angles, rng, (kneel, step), knees, abduct=(0, 10))
    for foot in (J.FOOT_L, J.FOOT_R):
        angles[foot, 0] = rng.uniform(-40, 0)  # toes pointing back along the floor
    return Pose(angles, yaw=0.0, pitch=rng.uniform(-5, 20))


def lying(rng: np.random.Generator) -> Pose:
    """On the back, the front or a side, legs straight or one knee up."""
    angles = np.zeros((KINECT_JOINTS, 3))
    _spine(angles, rng)
    _arms(angles, rng)
    bend = rng.uniform(40, 110) if rng.random() < 0.3 else rng.uniform(0, 15)
    _legs(angles, rng, ((bend * 0.6, bend * 0.6 + 5), (0, 10)), ((bend, bend + 5), (0, 10)))
    if rng.random() < 0.5:
        angles[[J.KNEE_L, J.ANKLE_L, J.KNEE_R, J.ANKLE_R]] = angles[
            [J.KNEE_R, J.ANKLE_R, J.KNEE_L, J.ANKLE_L]
        ]
    kind = rng.random()
    if kind < 0.5:  # on the back
        return Pose(angles, yaw=0.0, pitch=-rng.uniform(80, 95), roll=rng.uniform(-10, 10))
    if kind < 0.7:  # on the front
        return Pose(angles, yaw=0.0, pitch=rng.uniform(80, 95), roll=rng.uniform(-10, 10))
    side = float(rng.choice([-1.0, 1.0]))
    return Pose(angles, yaw=0.0, pitch=rng.uniform(-10, 10), roll=side * rng.uniform(80, 95))


FAMILIES: dict[str, tuple[float, Callable[[np.random.Generator], Pose]]] = {
    "standing": (0.38, standing),
    "walking": (0.22, walking),
    "sitting": (0.17, sitting),
    "bending": (0.13, bending),
    "crouching": (0.1, crouching),
}


def sample_pose(rng: np.random.Generator, family: str | None = None) -> Pose:
    """A pose from a named family of FAMILIES (the version-1 generator's mix), or from a
    family chosen at random."""
    if family is None:
        names = list(FAMILIES)
        weights = np.array([FAMILIES[n][0] for n in names])
        family = names[rng.choice(len(names), p=weights / weights.sum())]
    return within_limits(FAMILIES[family][1](rng))


def gait(base: Pose, phase: float, stride: float = 1.0) -> Pose:
    """`base` with the legs and arms of a walk at gait phase `phase` (radians).

    The left hip swings forward as sin(phase); the knee bends most in mid-swing; the arms swing
    against the legs. `stride` scales the amplitudes.
    """
    angles = base.angles.copy()
    for thigh, shin, foot, arm, offset in (
        (J.KNEE_L, J.ANKLE_L, J.FOOT_L, J.ELBOW_R, 0.0),
        (J.KNEE_R, J.ANKLE_R, J.FOOT_R, J.ELBOW_L, np.pi),
    ):
        swing = np.sin(phase + offset)
        mid_swing = max(0.0, np.cos(phase + offset))
        angles[thigh, 0] = 4.0 + 24.0 * stride * swing
        angles[shin, 0] = 6.0 + 50.0 * stride * mid_swing**1.5
        angles[foot, 0] = 8.0 * swing
        angles[arm, 0] = angles[arm, 0] + 18.0 * stride * swing
    return within_limits(
        Pose(angles, yaw=base.yaw, pitch=base.pitch + 3.0, roll=base.roll, sitting=False)
    )
