"""Rotations and the pinhole camera of the generator (world: z up; camera: optical frame)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_pose_ros.core.camera import CameraIntrinsics


def rotation_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rotation_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rotation_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


# Camera optical axes (x right, y down, z forward) in a world frame looking along +x, z up.
_OPTICAL_IN_WORLD = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class CameraPose:
    """Where the depth camera sits in the world: its optical frame's position and rotation."""

    position: np.ndarray  # (3,) world
    rotation: np.ndarray  # (3, 3) columns: optical x, y, z axes in world coordinates

    @classmethod
    def looking_forward(
        cls, height: float, pitch: float, roll: float = 0.0, yaw: float = 0.0
    ) -> CameraPose:
        """A camera at `height` above the origin looking along world +x rotated by `yaw`,
        tilted down by -`pitch` (radians: negative pitch looks down) and rolled by `roll`."""
        body = rotation_z(yaw) @ rotation_y(-pitch) @ rotation_x(roll)
        return cls(np.array([0.0, 0.0, height]), body @ _OPTICAL_IN_WORLD)

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) into the optical frame."""
        return (np.asarray(points) - self.position) @ self.rotation

    def direction_to_camera(self, vectors: np.ndarray) -> np.ndarray:
        """World directions (..., 3) into the optical frame."""
        return np.asarray(vectors) @ self.rotation


def project(points: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """Optical-frame points (..., 3) to pixels (..., 2) (pinhole, no distortion)."""
    z = points[..., 2]
    u = intrinsics.fx * points[..., 0] / z + intrinsics.skew * points[..., 1] / z + intrinsics.cx
    v = intrinsics.fy * points[..., 1] / z + intrinsics.cy
    return np.stack([u, v], axis=-1)
