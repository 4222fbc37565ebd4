"""Pinhole intrinsics with lens distortion, read from and written as sensor_msgs/CameraInfo fields.

Works on any object with CameraInfo's field names (rclpy or rosbags messages); no ROS imports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from depth_pose_ros.core.protocols import CameraInfoLike

# ROS distortion model name -> number of coefficients (sensor_msgs/distortion_models.hpp)
DISTORTION_MODELS: dict[str, int] = {
    "plumb_bob": 5,  # k1 k2 p1 p2 k3
    "rational_polynomial": 8,  # k1 k2 p1 p2 k3 k4 k5 k6
    "equidistant": 4,  # k1 k2 k3 k4 (fisheye)
}


@dataclass(frozen=True)
class CameraIntrinsics:
    """A calibrated depth camera: image size, pinhole matrix and distortion."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    skew: float = 0.0
    distortion_model: str = ""
    distortion: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(
                f"camera image size must be positive, got width={self.width}, height={self.height}"
            )
        values = (self.fx, self.fy, self.cx, self.cy, self.skew, *self.distortion)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"camera intrinsics must be finite, got {values}")
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if self.has_distortion:
            expected = DISTORTION_MODELS.get(self.distortion_model)
            if expected is None:
                raise ValueError(
                    f"distortion_model {self.distortion_model!r} is not supported "
                    f"(expected one of {', '.join(DISTORTION_MODELS)})"
                )
            if len(self.distortion) != expected:
                raise ValueError(
                    f"distortion_model {self.distortion_model!r} needs {expected} coefficients "
                    f"in D, got {len(self.distortion)}"
                )

    @property
    def has_distortion(self) -> bool:
        """Whether any distortion coefficient is non-zero."""
        return any(c != 0.0 for c in self.distortion)

    @property
    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        return np.array(
            [[self.fx, self.skew, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]],
            dtype=np.float64,
        )

    @classmethod
    def from_camera_info(cls, info: CameraInfoLike) -> CameraIntrinsics:
        """Read and validate CameraInfo; raises ValueError naming the bad field."""
        k = np.asarray(info.k, dtype=np.float64).ravel()
        if k.size != 9:
            raise ValueError(f"K must have 9 values, got {k.size}")
        if not np.all(np.isfinite(k)):
            raise ValueError(f"K has non-finite values: {k.tolist()}")
        if not np.any(k):
            raise ValueError("K is all zeros: the camera is not calibrated")
        if not np.allclose(k[6:], (0.0, 0.0, 1.0)) or k[3] != 0.0:
            raise ValueError(f"K is not a pinhole camera matrix: {k.tolist()}")
        d = np.asarray(info.d, dtype=np.float64).ravel()
        return cls(
            width=int(info.width),
            height=int(info.height),
            fx=float(k[0]),
            fy=float(k[4]),
            cx=float(k[2]),
            cy=float(k[5]),
            skew=float(k[1]),
            distortion_model=str(info.distortion_model),
            distortion=tuple(float(c) for c in d),
        )

    def camera_info_fields(self) -> dict[str, object]:
        """CameraInfo fields (without header and ROI) describing these intrinsics."""
        k = self.matrix
        p = np.zeros((3, 4))
        p[:, :3] = k
        return {
            "height": self.height,
            "width": self.width,
            "distortion_model": self.distortion_model or "plumb_bob",
            "d": np.asarray(self.distortion or (0.0,) * 5, dtype=np.float64),
            "k": k.ravel(),
            "r": np.eye(3).ravel(),
            "p": p.ravel(),
            "binning_x": 0,
            "binning_y": 0,
        }


# Typical Kinect v2 depth camera; a fallback for streams without CameraInfo.
KINECT_V2 = CameraIntrinsics(width=512, height=424, fx=365.0, fy=365.0, cx=256.0, cy=212.0)
