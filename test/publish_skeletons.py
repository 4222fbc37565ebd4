"""Publishes sample SkeletonArrays from a process of its own, until stopped (test_transport)."""

import argparse

import rclpy

from depth_pose_ros.msg import SkeletonArray
from depth_pose_ros.ros import messages
from depth_pose_ros.ros.spin import spin_until_shutdown
from helpers import sample_skeletons


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topic", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()

    rclpy.init()
    node = rclpy.create_node("skeleton_publisher")
    publisher = node.create_publisher(SkeletonArray, args.topic, 10)
    types = messages.rclpy_message_types()
    skeletons = sample_skeletons(seed=args.seed, count=args.count)
    sequence = 0

    def publish() -> None:
        nonlocal sequence
        header = messages.header(types, sequence, "publisher_frame")
        publisher.publish(messages.skeleton_array_msg(types, skeletons, header))
        sequence += 1

    node.create_timer(0.05, publish)
    try:
        spin_until_shutdown(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
