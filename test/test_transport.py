"""Our messages travel between OS processes over (localhost-only) DDS."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor

from depth_pose_ros.core.protocols import stamp_ns
from depth_pose_ros.msg import SkeletonArray
from depth_pose_ros.ros import messages
from helpers import assert_same_skeletons, sample_skeletons

PUBLISHER = Path(__file__).with_name("publish_skeletons.py")


def test_skeleton_array_from_another_process_arrives_intact():
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    topic = f"/test_skeletons_{os.getpid()}"
    publisher = subprocess.Popen(
        [sys.executable, str(PUBLISHER), "--topic", topic, "--seed", "11", "--count", "3"]
    )
    context = Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("skeleton_listener", context=context)
        received: list[SkeletonArray] = []
        node.create_subscription(SkeletonArray, topic, received.append, 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        deadline = time.monotonic() + 30
        while len(received) < 3 and time.monotonic() < deadline:
            assert publisher.poll() is None, "the publisher process died"
            executor.spin_once(timeout_sec=0.1)
        assert len(received) >= 3, "no SkeletonArray arrived from the other process in 30 s"
        expected = sample_skeletons(seed=11, count=3)
        for msg in received:
            assert msg.header.frame_id == "publisher_frame"
            assert_same_skeletons(messages.skeletons_from_msg(msg), expected)
        stamps = [stamp_ns(m.header) for m in received]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
        publisher.send_signal(signal.SIGTERM)
        assert publisher.wait(timeout=10) == 0, "the publisher did not exit cleanly on SIGTERM"
