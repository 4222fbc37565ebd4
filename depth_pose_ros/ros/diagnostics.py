"""The node's health: rates, stamp-to-publish latency, dropped and rejected frames.

Plain Python; the node turns a `Health` snapshot into a diagnostic_msgs/DiagnosticArray.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

WINDOW_SECONDS = 5.0
OK, WARN = 0, 1  # diagnostic_msgs/DiagnosticStatus levels


@dataclass
class Health:
    """One diagnostics snapshot."""

    level: int
    message: str
    values: dict[str, str] = field(default_factory=dict)


class Monitor:
    """Counts what happens to frames; thread-safe (the subscription and worker both report)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: deque[float] = deque()
        self.published: deque[float] = deque()
        self.latencies: deque[tuple[float, float]] = deque()  # (wall time, seconds)
        self.dropped = 0
        self.rejected = 0  # depth frames skipped
        self.rejected_camera_info = 0  # camera_info messages rejected
        self.answered = 0
        self.pending: dict[str, str] = {}  # problems since the last snapshot, by kind
        self.problems: dict[str, str] = {}  # the latest problem of every kind seen

    def _trim(self, now: float) -> None:
        for times in (self.received, self.published):
            while times and times[0] < now - WINDOW_SECONDS:
                times.popleft()
        while self.latencies and self.latencies[0][0] < now - WINDOW_SECONDS:
            self.latencies.popleft()

    def frame_received(self, now: float) -> None:
        with self._lock:
            self.received.append(now)

    def frame_dropped(self) -> None:
        with self._lock:
            self.dropped += 1

    def frame_rejected(self, kind: str, message: str) -> None:
        with self._lock:
            self.rejected += 1
            self.pending[kind] = self.problems[kind] = message

    def camera_info_rejected(self, message: str) -> None:
        with self._lock:
            self.rejected_camera_info += 1
            self.pending["camera_info"] = self.problems["camera_info"] = message

    def frame_published(self, now: float, latency_s: float) -> None:
        with self._lock:
            self.answered += 1
            self.published.append(now)
            self.latencies.append((now, latency_s))

    def snapshot(
        self,
        now: float,
        expected_rate_hz: float,
        max_latency_s: float,
        details: dict[str, str],
    ) -> Health:
        """Rates and latency over the last WINDOW_SECONDS, with a level and a message."""
        with self._lock:
            self._trim(now)
            input_rate = len(self.received) / WINDOW_SECONDS
            output_rate = len(self.published) / WINDOW_SECONDS
            latencies = np.array([latency for _, latency in self.latencies]) * 1000.0
            dropped, rejected, problems = self.dropped, self.rejected, dict(self.pending)
            rejected_camera_info = self.rejected_camera_info
            self.pending.clear()
        p50, p99 = np.percentile(latencies, [50, 99]) if len(latencies) else (np.nan, np.nan)
        values = {
            "input rate (Hz)": f"{input_rate:.1f}",
            "output rate (Hz)": f"{output_rate:.1f}",
            "latency p50 (ms)": f"{p50:.1f}",
            "latency p99 (ms)": f"{p99:.1f}",
            "dropped frames (total)": str(dropped),
            "rejected frames (total)": str(rejected),
            "rejected camera_info (total)": str(rejected_camera_info),
            **details,
        }
        warnings = []
        if input_rate == 0:
            warnings.append("no depth images")
        elif expected_rate_hz > 0 and input_rate < 0.8 * expected_rate_hz:
            warnings.append(f"camera rate {input_rate:.1f} Hz below {expected_rate_hz:g} Hz")
        if np.isfinite(p99) and p99 > max_latency_s * 1000.0:
            warnings.append(f"latency p99 {p99:.0f} ms above {max_latency_s * 1000:.0f} ms")
        warnings += list(problems.values())
        if not warnings:
            return Health(OK, "ok", values)
        return Health(WARN, "; ".join(warnings), values)
