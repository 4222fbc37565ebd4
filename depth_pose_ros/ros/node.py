"""The depth_pose ROS 2 node: depth images in; skeletons, markers, a debug image and
diagnostics out. Thin: the work happens in PoseEstimator and Tracker.

    depth-pose node --ros-args -p weights:=lite -r depth/image_raw:=/kinect2/sd/image_depth_rect

Subscribes (sensor-data QoS): depth/image_raw (16UC1 mm or 32FC1 m), depth/camera_info.
Publishes (reliable): ~/skeletons (SkeletonArray with the image's header, every frame),
~/markers (MarkerArray), ~/debug_image (only computed while someone subscribes),
~/skeleton_description (transient local, once) and /diagnostics.

The subscription only puts the newest image in a one-frame slot; a worker thread runs the
estimator on it. A frame replaced before the worker took it is dropped and counted, so a slow
model never builds a backlog and the callback never blocks. A bad frame (encoding, size, units,
no valid depth, no or mismatching camera_info, a stamp going backwards) is skipped with a
throttled warning naming the problem, and the node goes on.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy._rclpy_pybind11 import RCLError
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from depth_pose_ros.core.skeleton import KeypointState, Skeleton
from depth_pose_ros.core.visualize import colour_for, colourise_depth, draw_skeleton
from depth_pose_ros.inference.estimator import PoseEstimator, Thresholds
from depth_pose_ros.inference.pipeline import BadFrameError, Pipeline
from depth_pose_ros.inference.tracking import Tracker, TrackerSettings
from depth_pose_ros.model.weights import WeightsError
from depth_pose_ros.msg import SkeletonArray, SkeletonDescription
from depth_pose_ros.ros import messages
from depth_pose_ros.ros.diagnostics import Monitor
from depth_pose_ros.ros.markers import marker_array

WARNING_PERIOD_S = 5.0  # a problem of one kind is logged at most this often


@dataclass(frozen=True)
class Parameter:
    default: object
    description: str
    low: float | None = None
    high: float | None = None


_THRESHOLDS, _TRACKING = Thresholds(), TrackerSettings()
# Every parameter, with its default (the values of config/depth_pose.yaml) and range.
PARAMETERS: dict[str, Parameter] = {
    "weights": Parameter("lite", "shipped weights name or path of a .pt file"),
    "backend": Parameter("auto", "auto, tensorrt, torch-cuda, onnxruntime or torch"),
    "precision": Parameter("fp16", "TensorRT / CUDA precision: fp32, fp16 or int8"),
    "max_people": Parameter(0, "most people per frame (0: no limit, 1: fast path)", 0, 16),
    "joint_tracked_threshold": Parameter(
        _THRESHOLDS.tracked, "joint confidence for TRACKED", 0.0, 1.0
    ),
    "joint_inferred_threshold": Parameter(
        _THRESHOLDS.inferred, "joint confidence for INFERRED", 0.0, 1.0
    ),
    "person_threshold": Parameter(
        _THRESHOLDS.person, "mean joint confidence to report a person", 0.0, 1.0
    ),
    "match_distance_m": Parameter(
        _TRACKING.match_distance_m, "largest torso move between frames", 0.05, 3.0
    ),
    "track_timeout_s": Parameter(
        _TRACKING.timeout_s, "how long an unseen person keeps their id", 0.0, 30.0
    ),
    "confirm_hits": Parameter(
        _TRACKING.confirm_hits, "frames before a new track is TRACKED", 1, 30
    ),
    "smoothing": Parameter(_TRACKING.smoothing, "One Euro filter on joint positions"),
    "one_euro_min_cutoff": Parameter(
        _TRACKING.min_cutoff_hz, "One Euro minimum cutoff (Hz)", 0.01, 30.0
    ),
    "one_euro_beta": Parameter(_TRACKING.beta, "One Euro speed coefficient", 0.0, 10.0),
    "one_euro_d_cutoff": Parameter(
        _TRACKING.derivative_cutoff_hz, "One Euro derivative cutoff (Hz)", 0.01, 30.0
    ),
    "fx": Parameter(0.0, "fallback focal length x (px) without camera_info; 0: none", 0.0, 1e4),
    "fy": Parameter(0.0, "fallback focal length y (px)", 0.0, 1e4),
    "cx": Parameter(0.0, "fallback principal point x (px)", 0.0, 1e4),
    "cy": Parameter(0.0, "fallback principal point y (px)", 0.0, 1e4),
    "expected_rate_hz": Parameter(30.0, "camera rate below which diagnostics warn", 0.0, 500.0),
    "max_latency_s": Parameter(
        0.1, "stamp-to-publish p99 above which diagnostics warn", 0.001, 10.0
    ),
    "diagnostics_period_s": Parameter(1.0, "how often /diagnostics is published", 0.1, 60.0),
    "publish_markers": Parameter(True, "publish ~/markers"),
}


def _descriptor(name: str, parameter: Parameter) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(name=name, description=parameter.description)
    if parameter.low is not None and isinstance(parameter.default, float):
        descriptor.floating_point_range = [
            FloatingPointRange(from_value=float(parameter.low), to_value=float(parameter.high))
        ]
    elif parameter.low is not None and isinstance(parameter.default, int):
        descriptor.integer_range = [
            IntegerRange(from_value=int(parameter.low), to_value=int(parameter.high), step=1)
        ]
    return descriptor


class FrameSlot:
    """Holds only the newest frame; replacing an untaken frame counts as a drop."""

    def __init__(self, on_drop) -> None:
        self._condition = threading.Condition()
        self._frame: Image | None = None
        self._closed = False
        self._on_drop = on_drop

    def put(self, frame: Image) -> None:
        with self._condition:
            if self._frame is not None:
                self._on_drop()
            self._frame = frame
            self._condition.notify()

    def take(self) -> Image | None:
        """The next frame, or None once closed."""
        with self._condition:
            while self._frame is None and not self._closed:
                self._condition.wait()
            frame, self._frame = self._frame, None
            return frame

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()


class DepthPoseNode(Node):
    """Depth images in, skeletons out."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__("depth_pose", **kwargs)
        for name, parameter in PARAMETERS.items():
            self.declare_parameter(name, parameter.default, _descriptor(name, parameter))
        p = {name: self.get_parameter(name).value for name in PARAMETERS}
        self.weights = str(p["weights"])
        estimator = PoseEstimator(
            self.weights,
            str(p["backend"]),
            Thresholds(
                p["joint_tracked_threshold"], p["joint_inferred_threshold"], p["person_threshold"]
            ),
            max_people=int(p["max_people"]) or None,
            precision=str(p["precision"]),
        )
        tracker = Tracker(
            TrackerSettings(
                match_distance_m=p["match_distance_m"],
                timeout_s=p["track_timeout_s"],
                confirm_hits=int(p["confirm_hits"]),
                smoothing=bool(p["smoothing"]),
                min_cutoff_hz=p["one_euro_min_cutoff"],
                beta=p["one_euro_beta"],
                derivative_cutoff_hz=p["one_euro_d_cutoff"],
            )
        )
        fallback = (p["fx"], p["fy"], p["cx"], p["cy"]) if p["fx"] > 0 else None
        self.pipeline = Pipeline(
            estimator, tracker, fallback, self.resolve_topic_name("depth/camera_info")
        )
        self.expected_rate_hz = float(p["expected_rate_hz"])
        self.max_latency_s = float(p["max_latency_s"])
        self.publish_markers = bool(p["publish_markers"])
        self.last_warning: dict[str, float] = {}
        self.monitor = Monitor()
        self.types = messages.rclpy_message_types()

        self.create_subscription(Image, "depth/image_raw", self._on_image, qos_profile_sensor_data)
        self.create_subscription(
            CameraInfo, "depth/camera_info", self._on_camera_info, qos_profile_sensor_data
        )
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.skeletons_publisher = self.create_publisher(SkeletonArray, "~/skeletons", reliable)
        self.markers_publisher = self.create_publisher(MarkerArray, "~/markers", reliable)
        self.debug_publisher = self.create_publisher(Image, "~/debug_image", reliable)
        self.diagnostics_publisher = self.create_publisher(
            DiagnosticArray, "/diagnostics", reliable
        )
        latched = QoSProfile(
            depth=1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )
        description = self.create_publisher(SkeletonDescription, "~/skeleton_description", latched)
        description.publish(messages.description_msg(self.types))
        self.create_timer(float(p["diagnostics_period_s"]), self._publish_diagnostics)

        self.slot = FrameSlot(self.monitor.frame_dropped)
        self.worker = threading.Thread(target=self._work, name="depth_pose_worker", daemon=True)
        self.worker.start()
        self.get_logger().info(
            f"ready: weights {self.weights} ({estimator.config.name}), backend "
            f"{estimator.backend.name}; listening on "
            f"{self.resolve_topic_name('depth/image_raw')}"
        )

    # --- callbacks (executor thread): cheap, never block -----------------------------------

    def _on_image(self, msg: Image) -> None:
        self.monitor.frame_received(time.monotonic())
        self.slot.put(msg)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self.pipeline.camera_info(msg)
        except BadFrameError as problem:
            self._reject(problem.kind, str(problem))

    # --- the worker thread ---------------------------------------------------------------------

    def _reject(self, kind: str, message: str) -> None:
        """Count a skipped frame and warn, at most once per WARNING_PERIOD_S per kind."""
        self.monitor.frame_rejected(kind, message)
        now = time.monotonic()
        if now - self.last_warning.get(kind, -WARNING_PERIOD_S) >= WARNING_PERIOD_S:
            self.last_warning[kind] = now
            self.get_logger().warning(f"{message} (frame skipped)")

    def _work(self) -> None:
        while (msg := self.slot.take()) is not None:
            try:
                self._process(msg)
            except Exception as error:  # the node must go on serving whatever one frame did
                self._reject("internal", f"processing failed: {type(error).__name__}: {error}")

    def _process(self, msg: Image) -> None:
        try:
            result = self.pipeline.process(msg)
        except BadFrameError as problem:
            self._reject(problem.kind, str(problem))
            return
        skeletons = result.skeletons
        self.skeletons_publisher.publish(
            messages.skeleton_array_msg(self.types, skeletons, msg.header)
        )
        if self.publish_markers:
            self.markers_publisher.publish(marker_array(skeletons, msg.header))
        if self.debug_publisher.get_subscription_count() > 0:
            self.debug_publisher.publish(self._debug_image(result.depth, skeletons, msg))
        now = self.get_clock().now().nanoseconds
        self.monitor.frame_published(time.monotonic(), (now - result.stamp_ns) / 1e9)

    def _debug_image(self, depth, skeletons: list[Skeleton], msg: Image) -> Image:
        picture = colourise_depth(depth)
        for skeleton in skeletons:
            draw_skeleton(
                picture,
                skeleton.uv,
                skeleton.state != KeypointState.NOT_TRACKED,
                skeleton.state == KeypointState.TRACKED,
                colour_for(skeleton.id),
                str(skeleton.id),
            )
        height, width = picture.shape[:2]
        return Image(
            header=msg.header,
            height=height,
            width=width,
            encoding="bgr8",
            is_bigendian=0,
            step=width * 3,
            data=picture.tobytes(),
        )

    def _publish_diagnostics(self) -> None:
        health = self.monitor.snapshot(
            time.monotonic(),
            self.expected_rate_hz,
            self.max_latency_s,
            {
                "weights": self.weights,
                "model": self.pipeline.estimator.config.name,
                "backend": self.pipeline.estimator.backend.name,
                "people": str(len(self.pipeline.tracker.tracks)),
            },
        )
        status = DiagnosticStatus(
            level=bytes([health.level]),
            name=f"{self.get_name()}: pose estimation",
            message=health.message,
            hardware_id=self.pipeline.estimator.backend.name,
            values=[KeyValue(key=k, value=v) for k, v in health.values.items()],
        )
        header = Header(stamp=self.get_clock().now().to_msg())
        self.diagnostics_publisher.publish(DiagnosticArray(header=header, status=[status]))

    def close(self) -> None:
        """Stop the worker (after the frame in hand)."""
        self.slot.close()
        self.worker.join(timeout=10.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the node until SIGINT or SIGTERM; exit code 1 when it cannot start."""
    rclpy.init(args=list(argv) if argv is not None else sys.argv)
    logger = rclpy.logging.get_logger("depth_pose")
    # Made before the node logs `ready`, so a signal that follows cannot find the context gone.
    executor = SingleThreadedExecutor()
    try:
        node = DepthPoseNode()
    except (WeightsError, ValueError) as error:
        logger.fatal(f"cannot start: {error}")
        rclpy.try_shutdown()
        return 1
    except KeyboardInterrupt:  # SIGINT before the executor runs
        logger.info("interrupted while starting; shutting down")
        rclpy.try_shutdown()
        return 0
    try:
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RCLError:
        if rclpy.ok():
            raise
        # A signal shut the context down before the executor waited: a normal end.
    finally:
        node.get_logger().info("shutting down")
        node.close()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
