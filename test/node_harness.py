"""A depth_pose node and a listener in one private rclpy context, for node-level tests."""

import threading
import time
from pathlib import Path

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import MarkerArray

from depth_pose_ros.msg import SkeletonArray
from depth_pose_ros.ros.node import DepthPoseNode


class Harness:
    """A depth_pose node and a listener in one private context, spinning in a thread."""

    def __init__(self, weights_path: Path, **parameters: object) -> None:
        self.context = Context()
        rclpy.init(context=self.context)
        overrides = {"weights": str(weights_path), "person_threshold": 0.0} | parameters
        self.node = DepthPoseNode(
            context=self.context,
            parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()],
        )
        self.listener = rclpy.create_node("listener", context=self.context)
        self.skeletons: list[SkeletonArray] = []
        self.markers: list[MarkerArray] = []
        self.diagnostics: list[DiagnosticArray] = []
        self.listener.create_subscription(
            SkeletonArray, "/depth_pose/skeletons", self.skeletons.append, 50
        )
        self.listener.create_subscription(
            MarkerArray, "/depth_pose/markers", self.markers.append, 50
        )
        self.listener.create_subscription(
            DiagnosticArray, "/diagnostics", self.diagnostics.append, 50
        )
        self.images = self.listener.create_publisher(Image, "/depth/image_raw", 10)
        self.camera_info = self.listener.create_publisher(CameraInfo, "/depth/camera_info", 10)
        self.executor = MultiThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.listener)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def wait_for(self, condition, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return False

    def with_camera(self, info: CameraInfo) -> None:
        """Wait until the node listens, give it camera_info, wait until it has taken it."""
        assert self.wait_for(lambda: self.images.get_subscription_count() > 0)
        self.camera_info.publish(info)
        assert self.wait_for(lambda: self.node.pipeline.intrinsics is not None)

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=5)
        self.thread.join(timeout=5)
        self.node.close()
        self.node.destroy_node()
        self.listener.destroy_node()
        rclpy.try_shutdown(context=self.context)
