"""The 21-joint body model: joint order, kinematic tree, left/right symmetry and OKS sigmas.

The order is Kinect v2's JointType order without its last four joints (hand tips and thumbs),
exactly as the paper (D'Eusanio et al. 2019) and the Watch-R-Patch annotations use it, and as
`depth_pose_ros/Skeleton` carries its keypoints. Nothing here imports ROS.
"""

from __future__ import annotations

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "SpineBase",
    "SpineMid",
    "Neck",
    "Head",
    "ShoulderLeft",
    "ElbowLeft",
    "WristLeft",
    "HandLeft",
    "ShoulderRight",
    "ElbowRight",
    "WristRight",
    "HandRight",
    "HipLeft",
    "KneeLeft",
    "AnkleLeft",
    "FootLeft",
    "HipRight",
    "KneeRight",
    "AnkleRight",
    "FootRight",
    "SpineShoulder",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

# Kinect v2 body joints (JointType order); the last four are not part of our model.
KINECT25_JOINT_NAMES: tuple[str, ...] = (
    *JOINT_NAMES,
    "HandTipLeft",
    "ThumbLeft",
    "HandTipRight",
    "ThumbRight",
)
# For each of Kinect's 25 joints, our joint index, or -1 where the joint is dropped.
KINECT25_TO_JOINT: np.ndarray = np.array(
    [JOINT_INDEX.get(name, -1) for name in KINECT25_JOINT_NAMES], dtype=np.int64
)


def _pairs(*names: tuple[str, str]) -> tuple[tuple[int, int], ...]:
    return tuple((JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in names)


# Kinematic tree rooted at SpineBase, as (parent, child) joint indices.
BONES: tuple[tuple[int, int], ...] = _pairs(
    ("SpineBase", "SpineMid"),
    ("SpineMid", "SpineShoulder"),
    ("SpineShoulder", "Neck"),
    ("Neck", "Head"),
    ("SpineShoulder", "ShoulderLeft"),
    ("ShoulderLeft", "ElbowLeft"),
    ("ElbowLeft", "WristLeft"),
    ("WristLeft", "HandLeft"),
    ("SpineShoulder", "ShoulderRight"),
    ("ShoulderRight", "ElbowRight"),
    ("ElbowRight", "WristRight"),
    ("WristRight", "HandRight"),
    ("SpineBase", "HipLeft"),
    ("HipLeft", "KneeLeft"),
    ("KneeLeft", "AnkleLeft"),
    ("AnkleLeft", "FootLeft"),
    ("SpineBase", "HipRight"),
    ("HipRight", "KneeRight"),
    ("KneeRight", "AnkleRight"),
    ("AnkleRight", "FootRight"),
)
ROOT_JOINT = JOINT_INDEX["SpineBase"]

# Joints that swap under a horizontal flip, as (left, right) pairs.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (JOINT_INDEX[name], JOINT_INDEX[name.replace("Left", "Right")])
    for name in JOINT_NAMES
    if name.endswith("Left")
)


def _flip_permutation() -> np.ndarray:
    permutation = np.arange(NUM_JOINTS)
    for left, right in LEFT_RIGHT_PAIRS:
        permutation[left], permutation[right] = right, left
    return permutation


# FLIP_PERMUTATION[j] is the joint that j becomes in a mirrored image.
FLIP_PERMUTATION: np.ndarray = _flip_permutation()

# Per-joint OKS sigmas of the paper's section 5.1 (k_i = 2 * sigma_i in the OKS formula).
_SIGMA_BY_PART: dict[str, float] = {
    "Spine": 0.107,
    "Neck": 0.107,
    "Head": 0.107,
    "Hip": 0.107,
    "Ankle": 0.089,
    "Foot": 0.089,
    "Knee": 0.087,
    "Shoulder": 0.079,
    "Elbow": 0.072,
    "Wrist": 0.062,
    "Hand": 0.062,
}


def _sigma(name: str) -> float:
    part = name.removesuffix("Left").removesuffix("Right")
    part = "Spine" if part.startswith("Spine") else part
    return _SIGMA_BY_PART[part]


OKS_SIGMAS: np.ndarray = np.array([_sigma(name) for name in JOINT_NAMES], dtype=np.float64)

for _constant in (KINECT25_TO_JOINT, FLIP_PERMUTATION, OKS_SIGMAS):
    _constant.setflags(write=False)


def from_kinect25(values: np.ndarray) -> np.ndarray:
    """Select our 21 joints, in our order, from an array whose first axis has Kinect's 25."""
    values = np.asarray(values)
    if values.shape[:1] != (len(KINECT25_JOINT_NAMES),):
        raise ValueError(
            f"expected {len(KINECT25_JOINT_NAMES)} Kinect v2 joints on the first axis, "
            f"got shape {values.shape}"
        )
    keep = KINECT25_TO_JOINT >= 0
    out = np.empty((NUM_JOINTS, *values.shape[1:]), dtype=values.dtype)
    out[KINECT25_TO_JOINT[keep]] = values[keep]
    return out
