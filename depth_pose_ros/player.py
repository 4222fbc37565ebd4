"""Playing a rosbag2 bag into ROS topics with its original timing (what `ros2 bag play` does).

Messages go out as recorded (serialized CDR, never decoded), in log-time order, spaced as they
were recorded divided by `rate` (or back to back with `max_speed`). With `clock`, /clock follows
the bag so nodes with use_sim_time see the recording's time.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from pathlib import Path

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from depth_pose_ros.bag import BagError, BagReader


def message_class(msgtype: str) -> type:
    """The rclpy class of a type name like "sensor_msgs/msg/Image"."""
    package, kind, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError):
        raise BagError(f"message type {msgtype} is not installed here") from None


def play(
    path: str | Path,
    rate: float = 1.0,
    max_speed: bool = False,
    topics: Sequence[str] | None = None,
    clock: bool = False,
    wait_for_subscribers_s: float = 2.0,
    reliable: bool = True,
) -> int:
    """Publish the bag's messages (all topics or `topics`); returns how many were published.

    Before the first message, waits up to `wait_for_subscribers_s` for every publisher to be
    matched, so a node that starts alongside does not miss the first frames.
    """
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    node = Node("depth_pose_player")
    try:
        with BagReader(path) as bag:
            available = bag.topics
            chosen = list(topics) if topics else sorted(available)
            missing = [t for t in chosen if t not in available]
            if missing:
                raise BagError(f"bag {path} has no topic {', '.join(missing)}")
            qos = QoSProfile(
                depth=10,
                reliability=ReliabilityPolicy.RELIABLE
                if reliable
                else ReliabilityPolicy.BEST_EFFORT,
            )
            publishers = {
                topic: node.create_publisher(message_class(available[topic].msgtype), topic, qos)
                for topic in chosen
            }
            clock_publisher = node.create_publisher(Clock, "/clock", 10) if clock else None
            deadline = time.monotonic() + wait_for_subscribers_s
            while time.monotonic() < deadline and not all(
                p.get_subscription_count() for p in publishers.values()
            ):
                time.sleep(0.05)
            count, start_wall, start_bag = 0, time.monotonic(), None
            for topic, _, log_time, raw in bag.raw_messages(chosen):
                if start_bag is None:
                    start_bag = log_time
                if not max_speed:
                    due = start_wall + (log_time - start_bag) / 1e9 / rate
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if clock_publisher is not None:
                    now = Clock()
                    now.clock.sec, now.clock.nanosec = divmod(log_time, 1_000_000_000)
                    clock_publisher.publish(now)
                publishers[topic].publish(bytes(raw))
                count += 1
            return count
    finally:
        node.destroy_node()


def main(path: str, rate: float, max_speed: bool, topics: Sequence[str] | None, clock: bool) -> int:
    """`depth-pose play`: initialise rclpy, play, shut down; returns a process exit code."""
    rclpy.init()
    try:
        count = play(path, rate, max_speed, topics, clock)
        print(f"played {count} messages from {path}")
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        rclpy.try_shutdown()
