"""Depth frame in, skeletons out, without ROS: backends, person proposals, 3D, the estimator."""

from depth_pose_ros.inference.estimator import PoseEstimator, Thresholds

__all__ = ["PoseEstimator", "Thresholds"]
