"""Playing a rosbag2 bag into ROS topics with its original timing (what `ros2 bag play` does).

Messages go out as recorded (serialized CDR, never decoded), in log-time order, spaced as they
were recorded divided by `rate` (or back to back with `max_speed`). With `clock`, /clock follows
the bag so nodes with use_sim_time see the recording's time. With `restamp`, header stamps are
set to the time of publishing, as a live camera would stamp them (so stamp-to-publish latency
means what it says); the mapping from recorded to new stamps is returned.
"""

from __future__ import annotations

import importlib
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import rclpy
from rclpy.context import Context
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from depth_pose_ros.core.protocols import NANOSECONDS_PER_SECOND, seconds_and_nanoseconds
from depth_pose_ros.ros.bag import BagError, BagReader, typestore

HEADER = "std_msgs/msg/Header"


@dataclass
class Played:
    messages: int = 0
    stamps: dict[int, int] = field(default_factory=dict)  # recorded stamp -> new (restamp)


def starts_with_header(msgtype: str) -> bool:
    """Whether a message's first field is a std_msgs/Header (so its stamp leads the CDR)."""
    definition = typestore().fielddefs.get(msgtype)
    if definition is None:
        return False
    _, (_, kind) = definition[1][0]
    return kind == HEADER


def restamped(raw: bytes, stamp_ns: int) -> tuple[bytes, int]:
    """A CDR message whose leading Header gets `stamp_ns`; and the stamp it had."""
    order = "<" if raw[1] == 1 else ">"  # encapsulation: CDR little or big endian
    seconds, nanoseconds = struct.unpack_from(f"{order}iI", raw, 4)
    patched = bytearray(raw)
    struct.pack_into(f"{order}iI", patched, 4, *seconds_and_nanoseconds(stamp_ns))
    return bytes(patched), seconds * NANOSECONDS_PER_SECOND + nanoseconds


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
    restamp: bool = False,
    context: Context | None = None,
) -> Played:
    """Publish the bag's messages (all topics or `topics`).

    Before the first message, waits up to `wait_for_subscribers_s` for every publisher to be
    matched, so a node that starts alongside does not miss the first frames.
    """
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    node = Node("depth_pose_player", context=context)
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
            publishers: dict[str, Publisher] = {
                topic: node.create_publisher(message_class(available[topic].msgtype), topic, qos)
                for topic in chosen
            }
            clock_publisher = node.create_publisher(Clock, "/clock", 10) if clock else None
            stamped = {t for t in chosen if restamp and starts_with_header(available[t].msgtype)}
            deadline = time.monotonic() + wait_for_subscribers_s
            while time.monotonic() < deadline and not all(
                p.get_subscription_count() for p in publishers.values()
            ):
                time.sleep(0.05)
            played, start_wall, start_bag = Played(), time.monotonic(), None
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
                    now.clock.sec, now.clock.nanosec = seconds_and_nanoseconds(log_time)
                    clock_publisher.publish(now)
                raw = bytes(raw)
                if topic in stamped:
                    now = node.get_clock().now().nanoseconds
                    raw, recorded = restamped(raw, now)
                    played.stamps[recorded] = now
                publishers[topic].publish(raw)
                played.messages += 1
            return played
    finally:
        node.destroy_node()


def main(
    path: str,
    rate: float,
    max_speed: bool,
    topics: Sequence[str] | None,
    clock: bool,
    restamp: bool = False,
) -> int:
    """`depth-pose play`: initialise rclpy, play, shut down; returns a process exit code."""
    rclpy.init()
    try:
        played = play(path, rate, max_speed, topics, clock, restamp=restamp)
        print(f"played {played.messages} messages from {path}")
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        rclpy.try_shutdown()
