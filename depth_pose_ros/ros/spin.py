"""Spinning a node until shutdown, with rclpy's SIGTERM race handled: the node and every
process that publishes for it stop the same clean way."""

from __future__ import annotations

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.impl.implementation_singleton import rclpy_implementation
from rclpy.node import Node


def spin_until_shutdown(node: Node) -> None:
    """Spin `node` until its context shuts down. A SIGTERM whose shutdown lands while the
    executor builds its wait set surfaces as an RCLError on a context no longer valid: that is
    the same clean stop, not a failure (the process exits 0 as launch expects)."""
    try:
        rclpy.spin(node)
    except ExternalShutdownException:
        pass
    except rclpy_implementation.RCLError:
        if node.context.ok():
            raise
