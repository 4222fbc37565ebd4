"""What the node does with every depth frame, without ROS: checks, estimation, tracking.

The node feeds it rclpy messages from topics; bag evaluation feeds it rosbags messages read in
order, so both do exactly the same processing. A depth frame it cannot use raises
BadFrameError and a camera_info it cannot use raises BadCameraInfoError, each naming the kind of
problem and what it is; the caller skips the message (and counts a skipped frame or a skipped
camera_info, the same way in the node and in bag evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import check_plausible, depth_to_metres
from depth_pose_ros.core.protocols import CameraInfoLike, StampedImageLike, stamp_ns
from depth_pose_ros.core.skeleton import Skeleton
from depth_pose_ros.inference.estimator import PoseEstimator
from depth_pose_ros.inference.tracking import Tracker


class PipelineError(Exception):
    """A message the pipeline cannot use; `kind` groups problems for throttled warnings."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class BadFrameError(PipelineError):
    """A depth frame that is skipped (bad image, no usable camera model, a stamp going back)."""


class BadCameraInfoError(PipelineError):
    """A camera_info that is rejected (the previous one, if any, stays in use)."""


@dataclass
class FrameResult:
    stamp_ns: int
    depth: np.ndarray  # metres, NaN invalid
    skeletons: list[Skeleton]


class Pipeline:
    """Depth image and camera_info messages in, tracked skeletons out."""

    def __init__(
        self,
        estimator: PoseEstimator,
        tracker: Tracker,
        fallback: tuple[float, float, float, float] | None = None,
        camera_info_topic: str = "depth/camera_info",
        rectified: bool | None = None,
    ) -> None:
        self.estimator = estimator
        self.tracker = tracker
        self.fallback = fallback  # fx, fy, cx, cy for streams without camera_info
        self.camera_info_topic = camera_info_topic
        self._rectified = rectified  # the images are rectified (None: decide by D)
        self._info: CameraInfoLike | None = None
        self.intrinsics: CameraIntrinsics | None = None
        self.last_stamp: int | None = None

    @property
    def rectified(self) -> bool | None:
        return self._rectified

    @rectified.setter
    def rectified(self, rectified: bool | None) -> None:
        """Read the images as rectified or raw from now on (the last camera_info again too)."""
        self._rectified = rectified
        if self._info is not None:
            self.camera_info(self._info)

    def camera_info(self, info: CameraInfoLike) -> None:
        """Take a CameraInfo; an invalid one is rejected and the previous one kept."""
        try:
            self.intrinsics = CameraIntrinsics.from_camera_info(info, self._rectified)
        except ValueError as error:
            raise BadCameraInfoError("camera_info", f"bad camera_info: {error}") from None
        self._info = info

    def _camera(self, width: int, height: int) -> CameraIntrinsics:
        intrinsics = self.intrinsics
        if intrinsics is None and self.fallback is not None:
            intrinsics = CameraIntrinsics(width, height, *self.fallback)
        if intrinsics is None:
            raise BadFrameError(
                "camera_info",
                f"no camera_info on {self.camera_info_topic} and no fx/fy/cx/cy parameters",
            )
        if (intrinsics.width, intrinsics.height) != (width, height):
            raise BadFrameError(
                "camera_info",
                f"camera_info is {intrinsics.width}x{intrinsics.height} but the depth image is "
                f"{width}x{height}",
            )
        return intrinsics

    def process(self, image: StampedImageLike) -> FrameResult:
        """Estimate and track the people of one depth image (rclpy or rosbags message)."""
        stamp = stamp_ns(image.header)
        if self.last_stamp is not None and stamp <= self.last_stamp:
            self.last_stamp = stamp
            self.tracker.reset()
            raise BadFrameError(
                "stamp", f"stamp {stamp / 1e9:.3f} s is not after the previous; tracks reset"
            )
        self.last_stamp = stamp
        try:
            depth = depth_to_metres(image)
            check_plausible(depth, image.encoding)
        except ValueError as error:
            raise BadFrameError("image", f"bad depth image: {error}") from None
        intrinsics = self._camera(int(image.width), int(image.height))
        skeletons = self.tracker.update(self.estimator(depth, intrinsics), stamp / 1e9)
        return FrameResult(stamp, depth, skeletons)

    def describe(self) -> dict[str, str]:
        """What runs and how many people it follows, for diagnostics."""
        return {
            "model": self.estimator.config.name,
            "backend": self.estimator.backend.name,
            "people": str(len(self.tracker.tracks)),
        }
