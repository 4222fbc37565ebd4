"""The plain-data skeleton that estimation, tracking, evaluation and bag I/O exchange.

It mirrors depth_pose_ros/Skeleton (one person, 21 keypoints in schema order) as numpy arrays,
so everything below the ROS node can work without rclpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from depth_pose_ros.core.schema import NUM_JOINTS


class KeypointState(IntEnum):
    """Per-joint state; the values of Keypoint.msg's constants (Kinect's TrackingState)."""

    NOT_TRACKED = 0
    INFERRED = 1
    TRACKED = 2


class TrackingState(IntEnum):
    """Per-person track state; the values of Skeleton.msg's constants."""

    TENTATIVE = 0
    TRACKED = 1
    LOST = 2


def _nan(*shape: int) -> np.ndarray:
    return np.full(shape, np.nan, dtype=np.float32)


@dataclass
class Skeleton:
    """One person: pixels, metric 3D, confidence and state for each of the 21 joints."""

    id: int = 0
    uv: np.ndarray = field(default_factory=lambda: _nan(NUM_JOINTS, 2))  # depth-image pixels
    xyz: np.ndarray = field(default_factory=lambda: _nan(NUM_JOINTS, 3))  # metres, camera frame
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(NUM_JOINTS, np.float32))
    state: np.ndarray = field(
        default_factory=lambda: np.full(NUM_JOINTS, KeypointState.NOT_TRACKED, np.uint8)
    )
    score: float = 0.0
    tracking_state: TrackingState = TrackingState.TRACKED

    def __post_init__(self) -> None:
        self.uv = np.asarray(self.uv, dtype=np.float32)
        self.xyz = np.asarray(self.xyz, dtype=np.float32)
        self.confidence = np.asarray(self.confidence, dtype=np.float32)
        self.state = np.asarray(self.state, dtype=np.uint8)
        self.tracking_state = TrackingState(self.tracking_state)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError unless every per-joint array has exactly NUM_JOINTS rows.

        Messages carry a fixed-size Keypoint[21]; a wrong length must never reach serialization.
        """
        expected = {
            "uv": (NUM_JOINTS, 2),
            "xyz": (NUM_JOINTS, 3),
            "confidence": (NUM_JOINTS,),
            "state": (NUM_JOINTS,),
        }
        for name, shape in expected.items():
            actual = np.shape(getattr(self, name))
            if actual != shape:
                raise ValueError(f"skeleton {self.id}: {name} has shape {actual}, expected {shape}")
        if not 0 <= self.id <= np.iinfo(np.uint32).max:
            raise ValueError(f"skeleton id {self.id} does not fit in uint32")
