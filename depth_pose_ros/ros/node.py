"""The depth_pose ROS 2 node: depth images in; skeletons, markers, a debug image and
diagnostics out. Thin: the work happens in the Pipeline (checks, PoseEstimator, Tracker).

    depth-pose node --ros-args -p weights:=lite -r depth/image_raw:=/kinect2/sd/image_depth_rect

Subscribes (sensor-data QoS): depth/image_raw (16UC1 mm or 32FC1 m), depth/camera_info.
Publishes (reliable): ~/skeletons (SkeletonArray with the image's header, every frame),
~/markers (MarkerArray), ~/debug_image (only computed while someone subscribes),
~/skeleton_description (transient local, once) and /diagnostics.

The subscription only puts the newest image in a one-frame slot; a worker thread runs the
estimator on it. A frame replaced before the worker took it is dropped and counted, so a slow
model never builds a backlog and the callback never blocks. A bad frame (encoding, size, units,
no valid depth, no or mismatching camera_info, a stamp going backwards) is skipped with a
throttled warning naming the problem, and the node goes on. Thresholds, tracking, smoothing and
the diagnostics limits change at runtime (`ros2 param set`); the models and backend are
read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from depth_pose_ros.evaluation.calibration import DEFAULT_SET as CALIBRATION_SET
from depth_pose_ros.evaluation.calibration import estimator_crops
from depth_pose_ros.inference.estimator import PoseEstimator, Thresholds
from depth_pose_ros.inference.pipeline import BadCameraInfoError, BadFrameError, Pipeline
from depth_pose_ros.inference.tracking import Tracker, TrackerSettings
from depth_pose_ros.model.weights import WeightsError
from depth_pose_ros.msg import SkeletonArray, SkeletonDescription
from depth_pose_ros.ros import messages
from depth_pose_ros.ros.diagnostics import Monitor
from depth_pose_ros.ros.markers import marker_array
from depth_pose_ros.ros.spin import spin_until_shutdown

WARNING_PERIOD_S = 5.0  # a problem of one kind is logged at most this often
RECTIFIED = ("auto", "true", "false")


@dataclass(frozen=True)
class Declared:
    """A parameter: its default (config/depth_pose.yaml), meaning, range and whether it can
    change while the node runs."""

    default: object
    description: str
    low: float | None = None
    high: float | None = None
    read_only: bool = False


_THRESHOLDS, _TRACKING = Thresholds(), TrackerSettings()
PARAMETERS: dict[str, Declared] = {
    "weights": Declared("lite", "pose weights: shipped name or .pt file", read_only=True),
    "people": Declared("people", "person-stage weights: shipped name or .pt file", read_only=True),
    "backend": Declared("auto", "auto, tensorrt, torch-cuda, onnxruntime or torch", read_only=True),
    "precision": Declared(
        "fp16", "fp32, fp16 (GPU; a CPU runs fp32) or int8 (calibrated once)", read_only=True
    ),
    "calibration": Declared(
        CALIBRATION_SET,
        "int8: the data set whose crops calibrate the quantization (a spec as --data takes)",
        read_only=True,
    ),
    "threads": Declared(0, "ONNX Runtime threads per network (0: one per core)", 0, 64, True),
    "rectified": Declared(
        "auto", "images are rectified (P) or raw (K and D); auto: by topic name and D"
    ),
    "max_people": Declared(0, "most people per frame (0: no limit, 1: fast path)", 0, 16),
    "flip_test": Declared(False, "average each crop's heatmaps with its mirror's (2x network)"),
    "second_look": Declared(False, "look again at skeletons cut off at their crop's edge"),
    "person_stage_threshold": Declared(
        _THRESHOLDS.stage, "person-stage score to look at someone", 0.0, 1.0
    ),
    "person_threshold": Declared(
        _THRESHOLDS.person, "mean joint confidence to report a person", 0.0, 1.0
    ),
    "duplicate_threshold": Declared(
        _THRESHOLDS.duplicate, "OKS with a more confident skeleton that drops one", 0.0, 1.0
    ),
    "joint_tracked_threshold": Declared(
        _THRESHOLDS.tracked, "joint confidence for TRACKED", 0.0, 1.0
    ),
    "joint_inferred_threshold": Declared(
        _THRESHOLDS.inferred, "joint confidence for INFERRED", 0.0, 1.0
    ),
    "match_distance_m": Declared(
        _TRACKING.match_distance_m, "largest torso move between frames", 0.05, 3.0
    ),
    "track_timeout_s": Declared(
        _TRACKING.timeout_s, "how long an unseen person keeps their id", 0.0, 30.0
    ),
    "confirm_hits": Declared(_TRACKING.confirm_hits, "frames before a track is TRACKED", 1, 30),
    "smoothing": Declared(_TRACKING.smoothing, "One Euro filter on joint positions"),
    "one_euro_min_cutoff": Declared(
        _TRACKING.min_cutoff_hz, "One Euro minimum cutoff (Hz)", 0.01, 30.0
    ),
    "one_euro_beta": Declared(_TRACKING.beta, "One Euro speed coefficient", 0.0, 10.0),
    "one_euro_d_cutoff": Declared(
        _TRACKING.derivative_cutoff_hz, "One Euro derivative cutoff (Hz)", 0.01, 30.0
    ),
    "fx": Declared(0.0, "fallback focal length x (px) without camera_info; 0: none", 0.0, 1e4),
    "fy": Declared(0.0, "fallback focal length y (px)", 0.0, 1e4),
    "cx": Declared(0.0, "fallback principal point x (px)", 0.0, 1e4),
    "cy": Declared(0.0, "fallback principal point y (px)", 0.0, 1e4),
    "expected_rate_hz": Declared(30.0, "camera rate below which diagnostics warn", 0.0, 500.0),
    "max_latency_s": Declared(
        0.1, "stamp-to-publish p99 above which diagnostics warn", 0.001, 10.0
    ),
    "diagnostics_period_s": Declared(
        1.0, "how often /diagnostics is published", 0.1, 60.0, read_only=True
    ),
    "publish_markers": Declared(True, "publish ~/markers"),
}


def _descriptor(name: str, declared: Declared) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(
        name=name, description=declared.description, read_only=declared.read_only
    )
    if declared.low is not None and declared.high is not None:
        if isinstance(declared.default, float):
            descriptor.floating_point_range = [
                FloatingPointRange(from_value=float(declared.low), to_value=float(declared.high))
            ]
        elif isinstance(declared.default, int):
            descriptor.integer_range = [
                IntegerRange(from_value=int(declared.low), to_value=int(declared.high), step=1)
            ]
    return descriptor


class FrameSlot:
    """Holds only the newest frame; replacing an untaken frame counts as a drop."""

    def __init__(self, on_drop: Callable[[], None]) -> None:
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
        super().__init__("depth_pose", **kwargs)  # type: ignore[arg-type]
        for name, declared in PARAMETERS.items():
            self.declare_parameter(name, declared.default, _descriptor(name, declared))
        try:
            weights, people, precision = (
                self._value(n) for n in ("weights", "people", "precision")
            )
            estimator = PoseEstimator(
                weights,
                self._value("backend"),
                precision=precision,
                people=people,
                calibration=estimator_crops(self._value("calibration"), weights, people)
                if precision == "int8"
                else None,
                threads=self._value("threads"),
            )
        except Exception:
            self.destroy_node()  # no half-made participant left behind
            raise
        image_topic = self.resolve_topic_name("depth/image_raw")
        self.pipeline = Pipeline(
            estimator, Tracker(), camera_info_topic=self.resolve_topic_name("depth/camera_info")
        )
        self.image_topic = image_topic
        self._apply({name: self._value(name) for name in PARAMETERS})
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._parameters_set)
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
        self.create_timer(float(self._value("diagnostics_period_s")), self._publish_diagnostics)

        self.slot = FrameSlot(self.monitor.frame_dropped)
        self.worker = threading.Thread(target=self._work, name="depth_pose_worker", daemon=True)
        self.worker.start()
        self.get_logger().info(
            f"ready: weights {self._value('weights')} ({estimator.config.name}), person stage "
            f"{self._value('people')}, backend {estimator.backend.name}; listening on "
            f"{image_topic}"
        )

    def _value(self, name: str) -> Any:
        return self.get_parameter(name).value

    # --- parameters ----------------------------------------------------------------------------

    def _check_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Refuse combinations that cannot work; ranges and read-only are rclpy's to check."""
        values = {name: self._value(name) for name in PARAMETERS}
        values |= {p.name: p.value for p in parameters}
        if values["rectified"] not in RECTIFIED:
            return SetParametersResult(
                successful=False, reason=f"rectified must be one of {', '.join(RECTIFIED)}"
            )
        if values["joint_inferred_threshold"] > values["joint_tracked_threshold"]:
            return SetParametersResult(
                successful=False,
                reason="joint_inferred_threshold must not exceed joint_tracked_threshold",
            )
        return SetParametersResult(successful=True)

    def _parameters_set(self, parameters: list[Parameter]) -> None:
        self._apply({p.name: p.value for p in parameters})
        names = ", ".join(f"{p.name}={p.value}" for p in parameters)
        self.get_logger().info(f"parameters set: {names} (from the next frame)")

    def _apply(self, changed: dict[str, Any]) -> None:
        """Hand changed parameters to the pipeline; the worker reads them from the next frame."""
        values = {name: self._value(name) for name in PARAMETERS} | changed
        estimator, tracker = self.pipeline.estimator, self.pipeline.tracker
        estimator.thresholds = Thresholds(
            tracked=float(values["joint_tracked_threshold"]),
            inferred=float(values["joint_inferred_threshold"]),
            person=float(values["person_threshold"]),
            stage=float(values["person_stage_threshold"]),
            duplicate=float(values["duplicate_threshold"]),
        )
        estimator.max_people = int(values["max_people"]) or None
        estimator.flip_test = bool(values["flip_test"])
        estimator.second_look = bool(values["second_look"])
        tracker.settings = replace(
            tracker.settings,
            match_distance_m=float(values["match_distance_m"]),
            timeout_s=float(values["track_timeout_s"]),
            confirm_hits=int(values["confirm_hits"]),
            smoothing=bool(values["smoothing"]),
            min_cutoff_hz=float(values["one_euro_min_cutoff"]),
            beta=float(values["one_euro_beta"]),
            derivative_cutoff_hz=float(values["one_euro_d_cutoff"]),
        )
        focal = [float(values[k]) for k in ("fx", "fy", "cx", "cy")]
        self.pipeline.fallback = (focal[0], focal[1], focal[2], focal[3]) if focal[0] > 0 else None
        if "rectified" in changed:
            rectified = values["rectified"]
            topic_says = "rect" in self.image_topic.rsplit("/", 1)[-1]
            self.pipeline.rectified = (
                True if rectified == "true" or (rectified == "auto" and topic_says) else
                False if rectified == "false" else None
            )  # fmt: skip
        self.expected_rate_hz = float(values["expected_rate_hz"])
        self.max_latency_s = float(values["max_latency_s"])
        self.publish_markers = bool(values["publish_markers"])

    # --- callbacks (executor thread): cheap, never block -----------------------------------

    def _on_image(self, msg: Image) -> None:
        self.monitor.frame_received(time.monotonic())
        self.slot.put(msg)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self.pipeline.camera_info(msg)
        except BadCameraInfoError as problem:
            self.monitor.camera_info_rejected(str(problem))
            self._warn(problem.kind, f"{problem} (camera_info skipped)")

    # --- the worker thread ---------------------------------------------------------------------

    def _warn(self, kind: str, message: str) -> None:
        """Log a problem at most once per WARNING_PERIOD_S per kind."""
        now = time.monotonic()
        if now - self.last_warning.get(kind, -WARNING_PERIOD_S) >= WARNING_PERIOD_S:
            self.last_warning[kind] = now
            self.get_logger().warning(message)

    def _reject(self, kind: str, message: str) -> None:
        """Count a skipped frame and warn (throttled)."""
        self.monitor.frame_rejected(kind, message)
        self._warn(kind, f"{message} (frame skipped)")

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
            self.markers_publisher.publish(marker_array(self.types, skeletons, msg.header))
        if self.debug_publisher.get_subscription_count() > 0:
            self.debug_publisher.publish(
                messages.debug_image_msg(self.types, result.depth, skeletons, msg.header)
            )
        now = self.get_clock().now().nanoseconds
        self.monitor.frame_published(time.monotonic(), (now - result.stamp_ns) / 1e9)

    def _publish_diagnostics(self) -> None:
        details = {"weights": str(self._value("weights")), **self.pipeline.describe()}
        health = self.monitor.snapshot(
            time.monotonic(), self.expected_rate_hz, self.max_latency_s, details
        )
        status = DiagnosticStatus(
            level=bytes([health.level]),
            name=f"{self.get_name()}: pose estimation",
            message=health.message,
            hardware_id=details["backend"],
            values=[KeyValue(key=k, value=v) for k, v in health.values.items()],
        )
        header = Header(stamp=self.get_clock().now().to_msg())
        self.diagnostics_publisher.publish(DiagnosticArray(header=header, status=[status]))

    def close(self) -> None:
        """Stop the worker (after the frame in hand)."""
        self.slot.close()
        self.worker.join(timeout=10.0)


def main(args: Sequence[str] | None = None) -> int:
    """Run the node until SIGINT or SIGTERM; exit code 1 when it cannot start."""
    try:
        with rclpy.init(args=list(args) if args is not None else None):
            try:
                node = DepthPoseNode()
            except (WeightsError, ValueError) as error:
                rclpy.logging.get_logger("depth_pose").fatal(f"cannot start: {error}")
                return 1
            try:
                spin_until_shutdown(node)
            finally:
                node.get_logger().info("shutting down")
                node.close()
                node.destroy_node()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    return 0
