"""The depth_pose node as its own process, with a listener node in this one: start it, wait
until it serves, talk to it over DDS, stop it with a signal. What `depth-pose demo`, the node
benchmarks and the tests that treat the node as a black box share.

The caller must have called `dds.isolate()` (or set up its ROS environment) before rclpy loads.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile

OUTPUT_TOPIC = "/depth_pose/skeletons"


class NodeProcess:
    """`depth-pose node --ros-args ARGUMENTS` in a child process and a listener here."""

    def __init__(
        self, ros_arguments: Sequence[str] = (), name: str = "depth_pose_listener"
    ) -> None:
        self.arguments = [str(a) for a in ros_arguments]
        self.context = Context()
        rclpy.init(context=self.context)
        self.listener: Node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.listener)
        self._spinner = threading.Thread(target=self._spin, daemon=True)
        self._spinner.start()
        self.process: subprocess.Popen[str] | None = None
        self.log_lines: list[str] = []
        self._reader: threading.Thread | None = None

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:  # the context was shut down while waiting: the listener is done
            return

    def subscribe(
        self, msg_type: type, topic: str, callback: Callable[[Any], None], qos: QoSProfile | int
    ) -> None:
        self.listener.create_subscription(msg_type, topic, callback, qos)

    def publisher(self, msg_type: type, topic: str, qos: QoSProfile | int) -> Publisher:
        return self.listener.create_publisher(msg_type, topic, qos)

    @property
    def log(self) -> str:
        """What the node wrote to stderr so far."""
        return "".join(self.log_lines)

    def start(self, timeout_s: float = 120.0) -> None:
        """Start the node and wait until it says it is ready and its outputs are visible here;
        RuntimeError (with the end of its log) if it exits or takes longer than `timeout_s`."""
        command = [str(Path(sys.executable).with_name("depth-pose")), "node"]
        self.process = subprocess.Popen(
            [*command, "--ros-args", *self.arguments], stderr=subprocess.PIPE, text=True
        )
        self.log_lines = []
        stream = self.process.stderr
        assert stream is not None
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout_s
        while not ("ready:" in self.log and self.listener.count_publishers(OUTPUT_TOPIC) > 0):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the node exited ({self.process.returncode}): {self.log[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the node did not start within {timeout_s:g} s: {self.log}")
            time.sleep(0.05)

    def _read(self, stream: Any) -> None:
        for line in stream:  # read all the time, so the node never blocks on a full pipe
            self.log_lines.append(line)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self, signal_number: int = signal.SIGINT, timeout_s: float = 30.0) -> int:
        """Signal the node and wait for it; its exit code (killed after `timeout_s`: -9)."""
        process = self.process
        if process is None or process.poll() is not None:
            return -1 if process is None else int(process.returncode)
        process.send_signal(signal_number)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5.0)
        return int(process.returncode)

    def close(self) -> None:
        """Stop the node if it runs and shut the listener down."""
        self.stop()
        self.executor.shutdown(timeout_sec=5)
        self.listener.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self._spinner.join(timeout=5.0)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
