"""Reliability: QoS combinations, a camera that stops and restarts or changes resolution, node
restarts, bad weights, signals, and no shared memory left behind."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import metres_to_image
from depth_pose_ros.core.protocols import stamp_ns
from depth_pose_ros.data.synthetic.generator import generate_v1_frame
from depth_pose_ros.msg import SkeletonArray
from depth_pose_ros.ros import messages
from depth_pose_ros.ros.diagnostics import WARN, Monitor
from depth_pose_ros.ros.node_process import NodeProcess
from node_harness import Harness

DEPTH_POSE = Path(sys.executable).with_name("depth-pose")


def shared_memory() -> set[str]:
    return {path.name for path in Path("/dev/shm").iterdir()}


def mapped_shared_memory() -> set[str]:
    """Segments some live process still maps (this test process's own DDS participants keep
    the ports of peers they met open until they exit: those are not the node's leftovers)."""
    names = set()
    for maps in Path("/proc").glob("[0-9]*/maps"):
        try:
            lines = maps.read_text().splitlines()
        except OSError:  # the process ended meanwhile
            continue
        names |= {line.rsplit("/dev/shm/", 1)[1] for line in lines if "/dev/shm/" in line}
    return names


TYPES = messages.rclpy_message_types()
FRAME = generate_v1_frame("test", 41, 0, people=1)
DEPTH = FRAME.depth_m
QOS = {
    "reliable": QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE),
    "best_effort": QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT),
}


def image(stamp: int, depth: np.ndarray = DEPTH) -> Image:
    header = messages.header(TYPES, stamp, "camera")
    return messages.image_msg(TYPES, metres_to_image(depth, "16UC1"), header)


def camera_info(intrinsics: CameraIntrinsics = FRAME.intrinsics) -> CameraInfo:
    return messages.camera_info_msg(TYPES, intrinsics, messages.header(TYPES, 0, "camera"))


def answered(harness: Harness, stamp: int, received=None) -> bool:
    arrays = harness.skeletons if received is None else received
    return harness.wait_for(lambda: any(stamp_ns(a.header) == stamp for a in arrays))


def test_every_publisher_and_subscriber_qos_combination_works(tiny_weights):
    harness = Harness(tiny_weights)
    try:
        listener = harness.listener
        inputs = {
            name: listener.create_publisher(Image, "/depth/image_raw", qos)
            for name, qos in QOS.items()
        }
        outputs = {name: [] for name in QOS}
        for name, qos in QOS.items():
            listener.create_subscription(
                SkeletonArray, "/depth_pose/skeletons", outputs[name].append, qos
            )
        assert harness.wait_for(
            lambda: (
                all(p.get_subscription_count() for p in inputs.values())
                and listener.count_publishers("/depth_pose/skeletons")
            )
        )
        harness.camera_info.publish(camera_info())
        assert harness.wait_for(lambda: harness.node.pipeline.intrinsics is not None)
        for offset, (name, publisher) in enumerate(inputs.items()):
            stamp = 10**9 * (offset + 1)
            publisher.publish(image(stamp))
            for output_name, received in outputs.items():
                assert answered(harness, stamp, received), (name, output_name)
    finally:
        harness.close()


def test_a_camera_that_stops_and_restarts_is_served_again(tiny_weights):
    harness = Harness(tiny_weights)
    try:
        harness.with_camera(camera_info())
        # The camera is a node of its own, which goes away and comes back as a new one. It only
        # publishes, so no executor spins it: destroying it cannot race the spinning thread
        # (destroying a publisher the executor is waiting on kills the spin thread).
        for number, stamp in enumerate((10**9, 2 * 10**9)):
            camera = rclpy.create_node(f"camera_{number}", context=harness.context)
            publisher = camera.create_publisher(Image, "/depth/image_raw", QOS["best_effort"])
            assert harness.wait_for(publisher.get_subscription_count)
            publisher.publish(image(stamp))
            assert answered(harness, stamp)
            camera.destroy_node()
    finally:
        harness.close()


def test_silence_and_slow_cameras_show_in_diagnostics():
    monitor = Monitor()
    health = monitor.snapshot(100.0, 30.0, 0.05, {})
    assert health.level == WARN and "no depth images" in health.message
    for t in np.arange(0, 5, 0.1):  # 10 Hz instead of 30
        monitor.frame_received(95.0 + t)
        monitor.frame_published(95.0 + t, 0.2)
    health = monitor.snapshot(100.0, 30.0, 0.05, {})
    assert "camera rate 10.0 Hz below 30 Hz" in health.message
    assert "latency p99 200 ms above 50 ms" in health.message


def test_a_resolution_change_mid_stream_is_followed(tiny_weights):
    harness = Harness(tiny_weights)
    try:
        harness.with_camera(camera_info())
        harness.images.publish(image(10**9))
        assert answered(harness, 10**9)
        i = FRAME.intrinsics
        half = CameraIntrinsics(256, 212, i.fx / 2, i.fy / 2, i.cx / 2, i.cy / 2)
        small = cv2.resize(DEPTH.astype(np.float32), (256, 212), interpolation=cv2.INTER_NEAREST)
        rejected = harness.node.monitor.rejected
        harness.images.publish(image(2 * 10**9, small))  # before the new camera_info
        assert harness.wait_for(lambda: harness.node.monitor.rejected > rejected)
        harness.camera_info.publish(camera_info(half))
        assert harness.wait_for(lambda: harness.node.pipeline.intrinsics.width == 256)
        harness.images.publish(image(3 * 10**9, small))
        assert answered(harness, 3 * 10**9)
    finally:
        harness.close()


def test_bad_or_missing_weights_stop_the_node_with_a_clear_message(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00" * 100)
    for weights_value, message in (
        (str(corrupt), "not a readable weights file"),
        (str(tmp_path / "missing.pt"), "does not exist"),
        ("nonexistent", "no weights named 'nonexistent'"),
    ):
        result = subprocess.run(
            [DEPTH_POSE, "node", "--ros-args", "-p", f"weights:={weights_value}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1
        assert "cannot start" in result.stderr and message in result.stderr


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_signals_end_the_node_cleanly_without_leftover_shared_memory(tiny_weights, signal_number):
    before = shared_memory()
    with NodeProcess(["-p", f"weights:={tiny_weights}"]) as node:
        node.start()
        assert any(name.startswith("fastdds_") for name in shared_memory() - before)
        assert node.stop(signal_number) == 0, node.log[-2000:]
        assert "shutting down" in node.log
    assert shared_memory() - before - mapped_shared_memory() == set()


def test_a_restarted_node_serves_again(tiny_weights):
    received: list[SkeletonArray] = []
    with NodeProcess(["-p", f"weights:={tiny_weights}"], "client") as node:
        node.subscribe(SkeletonArray, "/depth_pose/skeletons", received.append, 10)
        images = node.publisher(Image, "/depth/image_raw", 10)
        infos = node.publisher(CameraInfo, "/depth/camera_info", 10)

        def serve(stamp: int) -> bool:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                infos.publish(camera_info())
                images.publish(image(stamp))
                time.sleep(0.2)
                if any(stamp_ns(a.header) == stamp for a in received):
                    return True
            return False

        node.start()
        assert serve(10**9), "the node answers"
        assert node.stop(signal.SIGTERM) == 0
        node.start()
        assert serve(2 * 10**9), "the restarted node answers again"
        assert node.stop(signal.SIGTERM) == 0
