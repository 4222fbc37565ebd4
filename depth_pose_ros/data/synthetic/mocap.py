"""Real motion-capture poses as the generator's main pose source (CMU's database, retargeted).

The shipped library (`poses_cmu.npz`) holds joint angles for our body model, derived from the
3D joints of the CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu; the database was
created with funding from NSF EIA-0196217). Angles, not positions, so every synthetic body keeps
its own size and proportions.

Retargeting follows the bones: the pelvis (hip line and lower back) gives the root's
orientation; every bone of our skeleton is turned so that it points where the matching mocap
bone points, the elbows and knees as hinges (the upper arm and thigh twist so that the forearm
and shin bend in their plane), and every angle is then clamped to `poses.JOINT_LIMITS`. Poses
are mirrored left/right and sampled for coverage, not frequency: a pose whose joints all lie
within `COVERAGE_M` of a pose already kept (root at the origin, facing forward, on a reference
body) is skipped, so repeated walking cycles count once.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from depth_pose_ros.data.synthetic.body import (
    KINECT_JOINTS,
    TREE,
    BodyShape,
    J,
    Pose,
    bone_rotation,
    forward_kinematics,
)
from depth_pose_ros.data.synthetic.poses import JOINT_LIMITS, within_limits

LIBRARY = Path(__file__).resolve().parent / "poses_cmu.npz"
COVERAGE_M = 0.05  # two poses closer than this at every joint are one pose (Shotton et al.)
ACKNOWLEDGMENT = (
    "The data used in this project was obtained from mocap.cs.cmu.edu. "
    "The database was created with funding from NSF EIA-0196217."
)

# The mocap file's joints (see ../shared/mocap/README.md): y up, facing +z, left towards +x.
MOCAP_JOINTS = (
    "pelvis", "spine", "chest", "neck", "head", "head_top",
    "l_shoulder", "l_elbow", "l_wrist", "l_hand", "r_shoulder", "r_elbow", "r_wrist", "r_hand",
    "l_hip", "l_knee", "l_ankle", "l_foot", "l_toe", "r_hip", "r_knee", "r_ankle", "r_foot",
    "r_toe",
)  # fmt: skip
_M = {name: i for i, name in enumerate(MOCAP_JOINTS)}
# Mocap axes (x left, y up, z forward) to our body frame (x forward, y left, z up).
_MOCAP_TO_BODY = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

# Each of our bones (by the joint it ends at) points along this mocap bone (from, to).
_BONE_TARGETS: dict[J, tuple[str, str]] = {
    J.SPINE_MID: ("pelvis", "chest"),
    J.SPINE_SHOULDER: ("chest", "neck"),
    J.NECK: ("neck", "head"),
    J.HEAD: ("head", "head_top"),
    J.SHOULDER_L: ("neck", "l_shoulder"),
    J.ELBOW_L: ("l_shoulder", "l_elbow"),
    J.WRIST_L: ("l_elbow", "l_wrist"),
    J.HAND_L: ("l_wrist", "l_hand"),
    J.SHOULDER_R: ("neck", "r_shoulder"),
    J.ELBOW_R: ("r_shoulder", "r_elbow"),
    J.WRIST_R: ("r_elbow", "r_wrist"),
    J.HAND_R: ("r_wrist", "r_hand"),
    J.KNEE_L: ("l_hip", "l_knee"),
    J.ANKLE_L: ("l_knee", "l_ankle"),
    J.FOOT_L: ("l_ankle", "l_foot"),
    J.KNEE_R: ("r_hip", "r_knee"),
    J.ANKLE_R: ("r_knee", "r_ankle"),
    J.FOOT_R: ("r_ankle", "r_foot"),
}
# Hinges: the bone ending at the key bends at its end towards the bone ending at the value;
# +1 when a positive flex of the child swings it towards the parent frame's +x (elbows), -1
# when towards -x (knees bend backwards).
# A straight leg takes its twist from the foot (which shows the way the knee faces); a straight
# arm (the hand bends both ways, so it shows nothing) faces the front of the body.
_HINGES: dict[J, tuple[J, float, J | None]] = {
    J.ELBOW_L: (J.WRIST_L, 1.0, None),
    J.ELBOW_R: (J.WRIST_R, 1.0, None),
    J.KNEE_L: (J.ANKLE_L, -1.0, J.FOOT_L),
    J.KNEE_R: (J.ANKLE_R, -1.0, J.FOOT_R),
}
_FINGER_ANGLES = {J.HAND_TIP_L: (20.0, 0.0, 0.0), J.HAND_TIP_R: (20.0, 0.0, 0.0)}
_STRAIGHT = 0.05  # sine of the bend below which a hinge counts as straight (about 3 degrees)


def reference_shape() -> BodyShape:
    """A 1.75 m adult of average build: the body poses are retargeted and compared on."""
    h = 1.75
    offsets = np.zeros((KINECT_JOINTS, 3))
    offsets[J.SPINE_MID] = (0.0, 0.0, 0.13 * h)
    offsets[J.SPINE_SHOULDER] = (0.0, 0.0, 0.15 * h)
    offsets[J.NECK] = (0.0, 0.0, 0.04 * h)
    offsets[J.HEAD] = (0.008 * h, 0.0, 0.072 * h)
    for sign, (shoulder, elbow, wrist, hand, tip, thumb, hip, knee, ankle, foot) in (
        (1.0, (J.SHOULDER_L, J.ELBOW_L, J.WRIST_L, J.HAND_L, J.HAND_TIP_L, J.THUMB_L, J.HIP_L,
               J.KNEE_L, J.ANKLE_L, J.FOOT_L)),
        (-1.0, (J.SHOULDER_R, J.ELBOW_R, J.WRIST_R, J.HAND_R, J.HAND_TIP_R, J.THUMB_R, J.HIP_R,
                J.KNEE_R, J.ANKLE_R, J.FOOT_R)),
    ):  # fmt: skip
        offsets[shoulder] = (0.0, sign * 0.105 * h, -0.02 * h)
        offsets[elbow] = (0.0, 0.0, -0.172 * h)
        offsets[wrist] = (0.0, 0.0, -0.145 * h)
        offsets[hand] = (0.0, 0.0, -0.05 * h)
        offsets[tip] = (0.0, 0.0, -0.055 * h)
        offsets[thumb] = (0.03 * h, -sign * 0.005 * h, -0.035 * h)
        offsets[hip] = (0.0, sign * 0.055 * h, -0.03 * h)
        offsets[knee] = (0.0, 0.0, -0.245 * h)
        offsets[ankle] = (0.0, 0.0, -0.246 * h)
        offsets[foot] = (0.085 * h, 0.0, -0.028 * h)
    return BodyShape(height=h, offsets=offsets, girth=1.0, head_scale=1.0, looseness=1.0)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def _frame(z: np.ndarray, y_hint: np.ndarray) -> np.ndarray:
    """A rotation whose z axis is `z` and whose y axis is as close to `y_hint` as possible."""
    z = _unit(z)
    y = y_hint - (y_hint @ z) * z
    if np.linalg.norm(y) < 1e-6:  # the hint is along z: any perpendicular will do
        y = np.cross(z, [1.0, 0.0, 0.0] if abs(z[0]) < 0.9 else [0.0, 1.0, 0.0])
    y = _unit(y)
    return np.column_stack([np.cross(y, z), y, z])


def _swing(rest: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction `rest` to direction `target`."""
    a, b = _unit(rest), _unit(target)
    axis = np.cross(a, b)
    sine, cosine = float(np.linalg.norm(axis)), float(a @ b)
    if sine < 1e-9:
        if cosine > 0:
            return np.eye(3)
        axis = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        sine = 0.0
    k = _unit(axis)
    cross = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + sine * cross + (1 - cosine) * cross @ cross


def _bone_angles(joint: J, rotation: np.ndarray) -> np.ndarray:
    """(flex, abduct, twist) in degrees whose `bone_rotation(joint, ...)` is `rotation`, of the
    two Y-X-Z decompositions the one that needs the least clamping to the joint's limits.

    bone_rotation is Ry(sf * flex) Rx(sa * abduct) Rz(st * twist) with signs per joint kind.
    """
    a = np.degrees(np.arctan2(rotation[0, 2], rotation[2, 2]))
    b = np.degrees(np.arcsin(np.clip(-rotation[1, 2], -1.0, 1.0)))
    c = np.degrees(np.arctan2(rotation[1, 0], rotation[1, 1]))
    signs = _ANGLE_SIGNS[joint]
    low, high = np.array(JOINT_LIMITS.get(joint, ((0, 0),) * 3), dtype=np.float64).T
    best, best_excess = np.zeros(3), np.inf
    for raw in ((a, b, c), (a + 180.0, 180.0 - b, c + 180.0)):
        angles = (np.asarray(raw) + 180.0) % 360.0 - 180.0
        angles = np.where(angles == -180.0, 180.0, angles) * signs
        excess = float(np.sum(np.maximum(low - angles, 0) + np.maximum(angles - high, 0)))
        if excess < best_excess:
            best, best_excess = angles, excess
    return best


def _signs(joint: J) -> np.ndarray:
    """Which way each of bone_rotation's Y, X, Z angles turns for (flex, abduct, twist)."""
    probe = bone_rotation(joint, 1.0, 1.0, 1.0)
    return np.sign(
        [
            np.arctan2(probe[0, 2], probe[2, 2]),
            np.arcsin(-probe[1, 2]),
            np.arctan2(probe[1, 0], probe[1, 1]),
        ]
    )


_ANGLE_SIGNS = {joint: _signs(joint) for joint in J}


def _root(joints: np.ndarray) -> np.ndarray:
    """The pelvis frame (columns forward, left, up) of mocap joints in body axes."""
    left = joints[_M["l_hip"]] - joints[_M["r_hip"]]
    up = joints[_M["spine"]] - joints[_M["pelvis"]]
    frame = _frame(up, left)  # z up, y left
    return frame


def retarget(mocap_joints: np.ndarray, shape: BodyShape | None = None) -> Pose:
    """Our body's pose (angles within JOINT_LIMITS) for one mocap pose, (24, 3) in mocap axes."""
    shape = shape or reference_shape()
    joints = np.asarray(mocap_joints, dtype=np.float64) @ _MOCAP_TO_BODY.T
    root = _root(joints)
    pitch = np.degrees(np.arcsin(np.clip(-root[2, 0], -1.0, 1.0)))
    roll = np.degrees(np.arctan2(root[2, 1], root[2, 2]))
    yaw = np.degrees(np.arctan2(root[1, 0], root[0, 0]))
    direction = {
        joint: _unit(joints[_M[end]] - joints[_M[start]])
        for joint, (start, end) in _BONE_TARGETS.items()
    }
    left_of = {
        J.SPINE_MID: _unit(
            joints[_M["l_hip"]] - joints[_M["r_hip"]] + joints[_M["l_shoulder"]]
            - joints[_M["r_shoulder"]]
        ),
        J.SPINE_SHOULDER: _unit(joints[_M["l_shoulder"]] - joints[_M["r_shoulder"]]),
    }  # fmt: skip
    angles = np.zeros((KINECT_JOINTS, 3))
    frames = np.zeros((KINECT_JOINTS, 3, 3))
    frames[J.SPINE_BASE] = root
    for joint, parent in TREE:
        if joint in _FINGER_ANGLES:
            angles[joint] = _FINGER_ANGLES[joint]
        elif joint in direction:
            target = direction[joint]
            rest = frames[parent] @ _unit(shape.offsets[joint])
            if joint in left_of:
                desired = _frame(target, left_of[joint])
            elif joint in _HINGES:
                child, sign, end = _HINGES[joint]
                z = -target  # limb bones hang along -z of their frame
                bend = direction[child] - (direction[child] @ z) * z
                ahead = np.zeros(3) if end is None else direction[end] - (direction[end] @ z) * z
                if np.linalg.norm(bend) > _STRAIGHT:
                    x = sign * _unit(bend)
                elif np.linalg.norm(ahead) > _STRAIGHT:  # straight: face the way the foot points
                    x = ahead
                else:  # straight to the tip: face the front of the body
                    x = frames[J.SPINE_BASE][:, 0] - (frames[J.SPINE_BASE][:, 0] @ z) * z
                desired = np.column_stack([_unit(x), np.cross(z, _unit(x)), z])
            else:
                desired = _swing(rest, target) @ frames[parent]
            angles[joint] = _bone_angles(joint, frames[parent].T @ desired)
        limited = within_limits(Pose(angles, 0.0)).angles[joint]
        angles[joint] = limited
        frames[joint] = frames[parent] @ bone_rotation(joint, *limited)
    return Pose(angles, yaw=float(yaw), pitch=float(pitch), roll=float(roll))


def mirrored(mocap_joints: np.ndarray) -> np.ndarray:
    """The mirror image of mocap joints (left and right swapped, x negated)."""
    order = [
        _M[name.replace("l_", "r_", 1) if name.startswith("l_") else name.replace("r_", "l_", 1)]
        for name in MOCAP_JOINTS
    ]
    out = np.asarray(mocap_joints)[..., order, :].copy()
    out[..., 0] = -out[..., 0]
    return out


def pose_joints(pose: Pose, shape: BodyShape | None = None) -> np.ndarray:
    """(25, 3) joints of a pose on a body, root at the origin, facing forward (yaw 0)."""
    facing = Pose(pose.angles, 0.0, pose.pitch, pose.roll, pose.sitting)
    return forward_kinematics(shape or reference_shape(), facing)[0]


def coverage_sample(joints: np.ndarray, distance_m: float = COVERAGE_M) -> np.ndarray:
    """Indices of poses kept in order, each farther than `distance_m` (at its farthest joint)
    from every pose kept before it."""
    joints = np.asarray(joints, dtype=np.float32)
    kept: list[int] = []
    store = np.empty_like(joints)
    for index, pose in enumerate(joints):
        if kept:
            farthest = np.sqrt(((store[: len(kept)] - pose) ** 2).sum(-1)).max(-1)
            if farthest.min() <= distance_m:
                continue
        store[len(kept)] = pose
        kept.append(index)
    return np.array(kept, dtype=np.int64)


@dataclass(frozen=True)
class PoseLibrary:
    """Retargeted poses: angles (N, 25, 3) and root (yaw, pitch, roll) in degrees, where each
    came from (clip, frame, mirrored), and how it was made."""

    angles: np.ndarray
    root: np.ndarray
    clip: np.ndarray
    frame: np.ndarray
    mirror: np.ndarray
    info: dict[str, Any]

    def __len__(self) -> int:
        return len(self.angles)

    def pose(self, index: int) -> Pose:
        yaw, pitch, roll = (float(v) for v in self.root[index])
        return Pose(self.angles[index].astype(np.float64), yaw, pitch, roll)


def build_library(mocap_path: str | Path, progress: bool = True) -> PoseLibrary:
    """Retarget, mirror and coverage-sample the poses of a mocap file (the shared CMU one)."""
    from tqdm import tqdm

    with np.load(mocap_path) as data:
        names = tuple(str(n) for n in data["joint_names"])
        if names != MOCAP_JOINTS:
            raise ValueError(f"{mocap_path}: joints {names} are not the expected {MOCAP_JOINTS}")
        positions = data["positions"]
        clips, frames = data["clip_id"], data["source_frame"]
        described = json.loads(str(data["clips"]))
    candidates = [(p, c, f, False) for p, c, f in zip(positions, clips, frames, strict=True)]
    candidates += [
        (mirrored(p), c, f, True) for p, c, f in zip(positions, clips, frames, strict=True)
    ]
    order = np.random.default_rng(0).permutation(len(candidates))  # no clip goes first
    poses, sources = [], []
    for index in tqdm(order, desc="retarget", unit="pose", disable=not progress):
        joints, clip, frame, flipped = candidates[index]
        poses.append(retarget(joints))
        sources.append((int(clip), int(frame), flipped))
    kept = coverage_sample(np.stack([pose_joints(p) for p in poses]))
    errors = np.array([retarget_error(candidates[order[i]][0], poses[i]) for i in kept])
    info = {
        "source": "CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu)",
        "acknowledgment": ACKNOWLEDGMENT,
        "clips": [c["cmu_motion"] + ": " + c["description"] for c in described],
        "mocap_poses": len(positions),
        "candidates_with_mirrors": len(candidates),
        "coverage_m": COVERAGE_M,
        "kept": len(kept),
        "bone_direction_error_deg": {
            "median": round(float(np.median(errors)), 1),
            "p90": round(float(np.percentile(errors, 90)), 1),
        },
    }
    return PoseLibrary(
        angles=np.stack([poses[i].angles for i in kept]).astype(np.float32),
        root=np.array([(poses[i].yaw, poses[i].pitch, poses[i].roll) for i in kept], np.float32),
        clip=np.array([sources[i][0] for i in kept], np.int16),
        frame=np.array([sources[i][1] for i in kept], np.int32),
        mirror=np.array([sources[i][2] for i in kept], bool),
        info=info,
    )


def retarget_error(mocap_joints: np.ndarray, pose: Pose) -> float:
    """Mean angle (degrees) between the retargeted bones and the mocap bones they follow."""
    joints = np.asarray(mocap_joints, dtype=np.float64) @ _MOCAP_TO_BODY.T
    ours, _ = forward_kinematics(reference_shape(), pose)
    errors = []
    for joint, (start, end) in _BONE_TARGETS.items():
        parent = next(p for j, p in TREE if j == joint)
        want = _unit(joints[_M[end]] - joints[_M[start]])
        got = _unit(ours[joint] - ours[parent])
        if joint in (J.SHOULDER_L, J.SHOULDER_R, J.HEAD):
            continue  # the skeletons place these joints differently: compare limbs and spine
        errors.append(np.degrees(np.arccos(np.clip(want @ got, -1.0, 1.0))))
    return float(np.mean(errors))


def save_library(library: PoseLibrary, path: str | Path) -> Path:
    """Write a library as a compressed npz (angles as float16: 0.1 degree is plenty)."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial.npz")
    np.savez_compressed(
        partial,
        angles=library.angles.astype(np.float16),
        root=library.root.astype(np.float16),
        clip=library.clip,
        frame=library.frame,
        mirror=library.mirror,
        info=json.dumps(library.info),
    )
    partial.replace(path)
    return path


@functools.cache
def load_library(path: Path = LIBRARY) -> PoseLibrary:
    """The shipped pose library (read once per process)."""
    with np.load(path) as data:
        return PoseLibrary(
            angles=data["angles"].astype(np.float32),
            root=data["root"].astype(np.float32),
            clip=data["clip"],
            frame=data["frame"],
            mirror=data["mirror"],
            info=json.loads(str(data["info"])),
        )
