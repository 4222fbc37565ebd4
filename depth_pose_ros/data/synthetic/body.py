"""An articulated human body with Kinect v2's 25 joints: shapes, poses and surface primitives.

Body frame: x forward, y left, z up, origin at SpineBase. Every joint except the root carries the
rotation of the bone that ends at it (relative to its parent's frame), so a pose is one
(flex, abduct, twist) triple in degrees per bone plus the root's yaw, pitch and roll.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from depth_pose_ros.data.synthetic.geometry import rotation_x, rotation_y, rotation_z


class J(IntEnum):
    """Kinect v2 JointType indices."""

    SPINE_BASE = 0
    SPINE_MID = 1
    NECK = 2
    HEAD = 3
    SHOULDER_L = 4
    ELBOW_L = 5
    WRIST_L = 6
    HAND_L = 7
    SHOULDER_R = 8
    ELBOW_R = 9
    WRIST_R = 10
    HAND_R = 11
    HIP_L = 12
    KNEE_L = 13
    ANKLE_L = 14
    FOOT_L = 15
    HIP_R = 16
    KNEE_R = 17
    ANKLE_R = 18
    FOOT_R = 19
    SPINE_SHOULDER = 20
    HAND_TIP_L = 21
    THUMB_L = 22
    HAND_TIP_R = 23
    THUMB_R = 24


KINECT_JOINTS = len(J)

# (joint, parent) in an order where parents come first.
TREE: tuple[tuple[J, J], ...] = (
    (J.SPINE_MID, J.SPINE_BASE),
    (J.SPINE_SHOULDER, J.SPINE_MID),
    (J.NECK, J.SPINE_SHOULDER),
    (J.HEAD, J.NECK),
    (J.SHOULDER_L, J.SPINE_SHOULDER),
    (J.ELBOW_L, J.SHOULDER_L),
    (J.WRIST_L, J.ELBOW_L),
    (J.HAND_L, J.WRIST_L),
    (J.HAND_TIP_L, J.HAND_L),
    (J.THUMB_L, J.WRIST_L),
    (J.SHOULDER_R, J.SPINE_SHOULDER),
    (J.ELBOW_R, J.SHOULDER_R),
    (J.WRIST_R, J.ELBOW_R),
    (J.HAND_R, J.WRIST_R),
    (J.HAND_TIP_R, J.HAND_R),
    (J.THUMB_R, J.WRIST_R),
    (J.HIP_L, J.SPINE_BASE),
    (J.KNEE_L, J.HIP_L),
    (J.ANKLE_L, J.KNEE_L),
    (J.FOOT_L, J.ANKLE_L),
    (J.HIP_R, J.SPINE_BASE),
    (J.KNEE_R, J.HIP_R),
    (J.ANKLE_R, J.KNEE_R),
    (J.FOOT_R, J.ANKLE_R),
)
LEFT_LIMB_JOINTS = frozenset(
    (J.ELBOW_L, J.WRIST_L, J.HAND_L, J.HAND_TIP_L, J.THUMB_L, J.KNEE_L, J.ANKLE_L, J.FOOT_L)
)
RIGHT_LIMB_JOINTS = frozenset(
    (J.ELBOW_R, J.WRIST_R, J.HAND_R, J.HAND_TIP_R, J.THUMB_R, J.KNEE_R, J.ANKLE_R, J.FOOT_R)
)


@dataclass(frozen=True)
class BodyShape:
    """A person's size and build (all lengths in metres)."""

    height: float
    offsets: np.ndarray  # (25, 3) rest offset of each joint from its parent, body frame
    girth: float  # 1 = average build
    head_scale: float
    looseness: float  # clothing: 1 = tight

    @property
    def scale(self) -> float:
        return self.height / 1.75


def sample_shape(rng: np.random.Generator) -> BodyShape:
    """A random body from a small child to a tall adult, with varied proportions and build."""
    if rng.random() < 0.15:
        height = rng.uniform(1.0, 1.5)
    else:
        height = float(np.clip(rng.normal(1.72, 0.09), 1.45, 2.02))
    childness = float(np.clip((1.55 - height) / 0.55, 0.0, 1.0))
    head_scale = (1.0 + 0.35 * childness) * rng.uniform(0.93, 1.07)
    leg = (1.0 - 0.07 * childness) * rng.uniform(0.95, 1.05)
    arm = rng.uniform(0.95, 1.05)
    shoulder = rng.uniform(0.9, 1.12)
    hip = rng.uniform(0.9, 1.15)
    h = height

    def jitter() -> float:
        return float(rng.uniform(0.96, 1.04))

    offsets = np.zeros((KINECT_JOINTS, 3))
    offsets[J.SPINE_MID] = (0.0, 0.0, 0.13 * h * jitter())
    offsets[J.SPINE_SHOULDER] = (0.0, 0.0, 0.15 * h * jitter())
    offsets[J.NECK] = (0.0, 0.0, 0.04 * h * head_scale)
    offsets[J.HEAD] = (0.008 * h, 0.0, 0.072 * h * head_scale)
    for side, sign in ((0, 1.0), (1, -1.0)):
        shoulder_j, elbow, wrist, hand, tip, thumb = (
            (J.SHOULDER_L, J.ELBOW_L, J.WRIST_L, J.HAND_L, J.HAND_TIP_L, J.THUMB_L),
            (J.SHOULDER_R, J.ELBOW_R, J.WRIST_R, J.HAND_R, J.HAND_TIP_R, J.THUMB_R),
        )[side]
        hip_j, knee, ankle, foot = (
            (J.HIP_L, J.KNEE_L, J.ANKLE_L, J.FOOT_L),
            (J.HIP_R, J.KNEE_R, J.ANKLE_R, J.FOOT_R),
        )[side]
        offsets[shoulder_j] = (0.0, sign * 0.105 * h * shoulder, -0.02 * h)
        offsets[elbow] = (0.0, 0.0, -0.172 * h * arm * jitter())
        offsets[wrist] = (0.0, 0.0, -0.145 * h * arm * jitter())
        offsets[hand] = (0.0, 0.0, -0.05 * h * arm)
        offsets[tip] = (0.0, 0.0, -0.055 * h * arm)
        offsets[thumb] = (0.03 * h, -sign * 0.005 * h, -0.035 * h)
        offsets[hip_j] = (0.0, sign * 0.055 * h * hip, -0.03 * h)
        offsets[knee] = (0.0, 0.0, -0.245 * h * leg * jitter())
        offsets[ankle] = (0.0, 0.0, -0.246 * h * leg * jitter())
        offsets[foot] = (0.085 * h, 0.0, -0.028 * h)
    return BodyShape(
        height=height,
        offsets=offsets,
        girth=float(rng.uniform(0.82, 1.45)),
        head_scale=head_scale,
        looseness=float(rng.uniform(1.0, 1.2)),
    )


@dataclass(frozen=True)
class Pose:
    """Joint angles (degrees) per bone as (flex, abduct, twist), the root's orientation, and
    whether the person sits (the root then rests on a seat instead of the feet on the floor)."""

    angles: np.ndarray  # (25, 3)
    yaw: float  # degrees, about world z
    pitch: float = 0.0  # forward lean of the whole body
    roll: float = 0.0
    sitting: bool = False

    def blend(self, other: Pose, weight: float) -> Pose:
        """Interpolate towards `other` (weight 0 -> self, 1 -> other), yaw the short way."""
        turn = (other.yaw - self.yaw + 180.0) % 360.0 - 180.0
        return Pose(
            angles=(1 - weight) * self.angles + weight * other.angles,
            yaw=self.yaw + weight * turn,
            pitch=(1 - weight) * self.pitch + weight * other.pitch,
            roll=(1 - weight) * self.roll + weight * other.roll,
            sitting=other.sitting if weight >= 0.5 else self.sitting,
        )


def bone_rotation(joint: J, flex: float, abduct: float, twist: float) -> np.ndarray:
    """The rotation of the bone ending at `joint` from anatomical angles in degrees.

    Limbs: flex swings a limb forward (knees and ankles bend the other way), abduct moves it away
    from the body's midline, twist turns it about itself (internal rotation positive). Spine, neck
    and head: flex bends forward, abduct bends sideways to the right, twist turns left.
    """
    side = 1.0 if joint in LEFT_LIMB_JOINTS else -1.0 if joint in RIGHT_LIMB_JOINTS else 0.0
    if side == 0.0:
        return (
            rotation_y(np.radians(flex))
            @ rotation_x(np.radians(abduct))
            @ rotation_z(np.radians(twist))
        )
    backwards = joint in (J.ANKLE_L, J.ANKLE_R)  # the knee bends the shin backwards
    flex_sign = 1.0 if backwards else -1.0
    if joint in (J.FOOT_L, J.FOOT_R):  # ankle: positive lifts the toes
        flex_sign = 1.0
    return (
        rotation_y(np.radians(flex_sign * flex))
        @ rotation_x(np.radians(side * abduct))
        @ rotation_z(np.radians(-side * twist))
    )


def forward_kinematics(shape: BodyShape, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Joint positions (25, 3) in the body frame rotated by the root, and each joint's frame."""
    positions = np.zeros((KINECT_JOINTS, 3))
    frames = np.zeros((KINECT_JOINTS, 3, 3))
    frames[J.SPINE_BASE] = (
        rotation_z(np.radians(pose.yaw))
        @ rotation_y(np.radians(pose.pitch))
        @ rotation_x(np.radians(pose.roll))
    )
    for joint, parent in TREE:
        frames[joint] = frames[parent] @ bone_rotation(joint, *pose.angles[joint])
        positions[joint] = positions[parent] + frames[joint] @ shape.offsets[joint]
    return positions, frames


# --- surface -----------------------------------------------------------------------------------


class Part(IntEnum):
    """Body parts, for the sensor model (hair, dark clothes) and for debugging renders."""

    HEAD = 0
    NECK = 1
    TORSO = 2
    UPPER_ARM = 3
    FOREARM = 4
    HAND = 5
    THIGH = 6
    SHIN = 7
    FOOT = 8


@dataclass(frozen=True)
class Capsule:
    a: np.ndarray
    b: np.ndarray
    radius: float
    part: Part


@dataclass(frozen=True)
class Ellipsoid:
    centre: np.ndarray
    axes: np.ndarray  # (3, 3) columns: unit axes
    radii: np.ndarray  # (3,)
    part: Part


def surface(shape: BodyShape, positions: np.ndarray, frames: np.ndarray) -> list:
    """Capsules and ellipsoids covering the posed body (positions in any frame, e.g. world).

    Sizes are those of a 1.75 m adult of average build, scaled by height, girth and clothing.
    """
    s, g, loose = shape.scale, shape.girth, shape.looseness
    p, f = positions, frames
    head = 0.11 * s * shape.head_scale
    trunk = s * loose

    def torso(
        centre: np.ndarray, frame: np.ndarray, depth: float, width: float, height: float
    ) -> Ellipsoid:
        radii = np.array([depth * g, width * g**0.7, height]) * trunk
        return Ellipsoid(centre, frame, radii, Part.TORSO)

    up = f[J.SPINE_SHOULDER][:, 2]
    parts: list = [
        Ellipsoid(p[J.HEAD], f[J.HEAD], np.array([0.88, 0.7, 1.0]) * head, Part.HEAD),
        Capsule(
            p[J.SPINE_SHOULDER], p[J.HEAD] - f[J.HEAD][:, 2] * 0.5 * head, 0.055 * s, Part.NECK
        ),
        torso(
            0.3 * p[J.SPINE_MID] + 0.7 * p[J.SPINE_SHOULDER] - up * 0.03 * s,
            f[J.SPINE_SHOULDER],
            0.1,
            0.155,
            0.17,
        ),
        torso(
            0.5 * (p[J.SPINE_BASE] + p[J.SPINE_MID]) + f[J.SPINE_MID][:, 2] * 0.02 * s,
            f[J.SPINE_MID],
            0.095,
            0.135,
            0.15,
        ),
        torso(p[J.SPINE_BASE] - f[J.SPINE_BASE][:, 2] * 0.03 * s, f[J.SPINE_BASE], 0.1, 0.16, 0.11),
    ]
    for shoulder, elbow, wrist, hand, tip in (
        (J.SHOULDER_L, J.ELBOW_L, J.WRIST_L, J.HAND_L, J.HAND_TIP_L),
        (J.SHOULDER_R, J.ELBOW_R, J.WRIST_R, J.HAND_R, J.HAND_TIP_R),
    ):
        arm = s * g**0.7 * loose
        parts += [
            Capsule(p[J.SPINE_SHOULDER], p[shoulder], 0.06 * s * g**0.5, Part.TORSO),
            Capsule(p[shoulder], 0.5 * (p[shoulder] + p[elbow]), 0.052 * arm, Part.UPPER_ARM),
            Capsule(0.5 * (p[shoulder] + p[elbow]), p[elbow], 0.043 * arm, Part.UPPER_ARM),
            Capsule(p[elbow], 0.5 * (p[elbow] + p[wrist]), 0.04 * arm, Part.FOREARM),
            Capsule(0.5 * (p[elbow] + p[wrist]), p[wrist], 0.031 * arm, Part.FOREARM),
            Ellipsoid(
                0.5 * (p[wrist] + p[tip]),
                f[hand],
                np.array([0.02 * s, 0.043 * s, 0.5 * np.linalg.norm(p[tip] - p[wrist])]),
                Part.HAND,
            ),
        ]
    for hip, knee, ankle, foot in (
        (J.HIP_L, J.KNEE_L, J.ANKLE_L, J.FOOT_L),
        (J.HIP_R, J.KNEE_R, J.ANKLE_R, J.FOOT_R),
    ):
        leg = s * g**0.8 * loose
        calf = 0.45 * p[knee] + 0.55 * p[ankle]
        heel = p[ankle] - f[foot][:, 0] * 0.04 * s - f[foot][:, 2] * 0.025 * s
        parts += [
            Capsule(p[hip], 0.5 * (p[hip] + p[knee]), 0.085 * leg, Part.THIGH),
            Capsule(0.5 * (p[hip] + p[knee]), p[knee], 0.062 * leg, Part.THIGH),
            Capsule(p[knee], calf, 0.055 * leg, Part.SHIN),
            Capsule(calf, p[ankle], 0.038 * leg, Part.SHIN),
            Capsule(heel, p[foot] + f[foot][:, 0] * 0.03 * s, 0.04 * s, Part.FOOT),
        ]
    return parts


# How far behind the body's surface each joint lies (metres at 1.75 m height, girth 1), used to
# decide whether a joint is visible or hidden by something in front of it.
_TOLERANCE_BY_JOINT = {
    J.SPINE_BASE: 0.17,
    J.SPINE_MID: 0.17,
    J.SPINE_SHOULDER: 0.15,
    J.NECK: 0.1,
    J.HEAD: 0.14,
    J.SHOULDER_L: 0.11,
    J.SHOULDER_R: 0.11,
    J.ELBOW_L: 0.08,
    J.ELBOW_R: 0.08,
    J.WRIST_L: 0.07,
    J.WRIST_R: 0.07,
    J.HIP_L: 0.15,
    J.HIP_R: 0.15,
    J.KNEE_L: 0.1,
    J.KNEE_R: 0.1,
    J.ANKLE_L: 0.08,
    J.ANKLE_R: 0.08,
    J.FOOT_L: 0.07,
    J.FOOT_R: 0.07,
    J.HAND_L: 0.06,
    J.HAND_R: 0.06,
}
JOINT_DEPTH_TOLERANCE = np.array([_TOLERANCE_BY_JOINT.get(j, 0.05) for j in J])
