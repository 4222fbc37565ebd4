"""The camera model of the depth images, read from sensor_msgs/CameraInfo as ROS defines it.

As image_geometry reads a CameraInfo: rectified images (a `..._rect` topic, or a camera_info
whose D is all zero) back-project through P, their projection matrix, without distortion; raw
images through K and D. Binning and a region of interest describe the image actually sent: the
model is that image's (its size, its principal point). Works on any object with CameraInfo's
field names (rclpy or rosbags messages); no ROS imports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
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
    def from_camera_info(
        cls, info: CameraInfoLike, rectified: bool | None = None
    ) -> CameraIntrinsics:
        """The model of the images a CameraInfo describes; raises ValueError naming the bad field.

        `rectified`: whether the images are rectified (then P is their camera and D does not
        apply); None decides by D (all zero: rectified).
        """
        k = _matrix("K", info.k, 9)
        if not np.any(k):
            raise ValueError("K is all zeros: the camera is not calibrated")
        if not np.allclose(k[6:], (0.0, 0.0, 1.0)) or k[3] != 0.0:
            raise ValueError(f"K is not a pinhole camera matrix: {k.tolist()}")
        d = np.asarray(info.d, dtype=np.float64).ravel()
        if rectified is None:
            rectified = not np.any(d)
        p = _matrix("P", getattr(info, "p", np.zeros(12)), 12)
        if rectified and np.any(p):  # P holds the rectified camera (image_geometry's fx(), ...)
            if p[4] != 0.0 or p[8:11].tolist() != [0.0, 0.0, 1.0]:
                raise ValueError(f"P is not a projection matrix: {p.tolist()}")
            fx, skew, cx, fy, cy = p[0], p[1], p[2], p[5], p[6]
        else:
            fx, skew, cx, fy, cy = k[0], k[1], k[2], k[4], k[5]
        binning_x = max(int(getattr(info, "binning_x", 0)), 1)
        binning_y = max(int(getattr(info, "binning_y", 0)), 1)
        width, height = int(info.width), int(info.height)
        x_offset = y_offset = 0
        roi = getattr(info, "roi", None)
        if roi is not None and int(roi.width) > 0 and int(roi.height) > 0:
            x_offset, y_offset = int(roi.x_offset), int(roi.y_offset)
            width, height = int(roi.width), int(roi.height)
            if x_offset + width > int(info.width) or y_offset + height > int(info.height):
                raise ValueError(
                    f"ROI {width}x{height}+{x_offset}+{y_offset} is outside the "
                    f"{info.width}x{info.height} image"
                )
        return cls(
            width=width // binning_x,
            height=height // binning_y,
            fx=float(fx) / binning_x,
            fy=float(fy) / binning_y,
            cx=(float(cx) - x_offset) / binning_x,
            cy=(float(cy) - y_offset) / binning_y,
            skew=float(skew) / binning_x,
            distortion_model="" if rectified else str(info.distortion_model),
            distortion=() if rectified else tuple(float(c) for c in d),
        )

    def normalised(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 2) pixels to (N, 2) normalised image coordinates (x/z, y/z) of their rays, the
        lens distortion undone (image_geometry's rectifyPoint, then projectPixelTo3dRay)."""
        pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        if not self.has_distortion:
            y = (pixels[:, 1] - self.cy) / self.fy
            x = (pixels[:, 0] - self.cx - self.skew * y) / self.fx
            return np.column_stack([x, y])
        coefficients = np.asarray(self.distortion, dtype=np.float64)
        points = pixels.reshape(-1, 1, 2)
        if self.distortion_model == "equidistant":
            out = cv2.fisheye.undistortPoints(points, self.matrix, coefficients)
        else:  # iterate to convergence (the default five steps are not exact off-axis)
            criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-10)
            # OpenCV 4 has a separate function for this; OpenCV 5 takes the criteria directly.
            iterate = getattr(cv2, "undistortPointsIter", None)
            if iterate is not None:
                out = iterate(points, self.matrix, coefficients, None, None, criteria)
            else:
                out = cv2.undistortPoints(
                    points, self.matrix, coefficients, None, None, None, criteria
                )
        return out.reshape(-1, 2)

    def camera_info_fields(self) -> dict[str, Any]:
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


def _matrix(name: str, values: object, size: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size != size:
        raise ValueError(f"{name} must have {size} values, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has non-finite values: {array.tolist()}")
    return array


# Typical Kinect v2 depth camera; a fallback for streams without CameraInfo.
KINECT_V2 = CameraIntrinsics(width=512, height=424, fx=365.0, fy=365.0, cx=256.0, cy=212.0)
