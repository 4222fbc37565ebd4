"""Keeping DDS traffic on this machine for tests, demos and benchmarks.

Default DDS discovery multicasts on every network interface. Every process this project starts
for itself (the test suite, `depth-pose demo`, benchmarks, CI) calls `isolate()` before rclpy
is imported; child processes inherit the environment. A robot's real node does not call it.
"""

from __future__ import annotations

import os
import sys

# Variables that would send discovery to other hosts whatever the range says.
_REMOTE_PEER_VARIABLES = ("ROS_STATIC_PEERS", "ROS_DISCOVERY_SERVER")


def run_domain_id(pid: int | None = None) -> int:
    """A ROS domain id (1..101) derived from the process id, so parallel runs do not meet."""
    return 1 + (os.getpid() if pid is None else pid) % 101


def isolate(domain_id: int | None = None) -> int:
    """Restrict DDS to localhost on a run-specific domain; returns the domain id.

    Must run before rclpy is imported, since rclpy reads the environment when it initialises;
    once it has, a call that would change nothing (this process is isolated already, on the
    domain asked for) returns that domain, so a benchmark run inside the test suite works.
    """
    if "rclpy" in sys.modules:
        current = _isolated_domain()
        if current is not None and domain_id in (None, current):
            return current
        raise RuntimeError("dds.isolate() must run before rclpy is imported")
    domain = run_domain_id() if domain_id is None else domain_id
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    for name in _REMOTE_PEER_VARIABLES:
        os.environ.pop(name, None)
    return domain


def _isolated_domain() -> int | None:
    """The domain id when the environment already keeps DDS on this machine, else None."""
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        return None
    if any(name in os.environ for name in _REMOTE_PEER_VARIABLES):
        return None
    domain = os.environ.get("ROS_DOMAIN_ID", "")
    return int(domain) if domain.isdigit() else None
