"""Stable ids across frames and smooth joints: assignment on 3D distance, One Euro filters.

Each frame's skeletons are matched to the live tracks by the distance between their torso
centres (Hungarian assignment, gated by `match_distance_m`). A track is TENTATIVE until it has
been matched `confirm_hits` times, then TRACKED; unmatched, it is LOST (its last skeleton is
still reported) until `timeout_s` has passed without it. Joint positions (pixels and metres) go
through a One Euro filter (Casiez et al., CHI 2012): smooth when still, responsive when moving.
Stamps that go backwards (a bag restarting) reset all tracks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from depth_pose_ros.core import schema
from depth_pose_ros.core.skeleton import KeypointState, Skeleton, TrackingState

TORSO = [
    schema.JOINT_INDEX[name]
    for name in (
        "SpineBase",
        "SpineMid",
        "SpineShoulder",
        "Neck",
        "ShoulderLeft",
        "ShoulderRight",
        "HipLeft",
        "HipRight",
    )
]


@dataclass(frozen=True)
class TrackerSettings:
    match_distance_m: float = 0.6
    timeout_s: float = 1.0
    confirm_hits: int = 3
    smoothing: bool = True
    min_cutoff_hz: float = 1.0  # One Euro: lower is smoother when still
    beta: float = 0.3  # One Euro: higher follows fast motion more closely
    derivative_cutoff_hz: float = 1.0


class OneEuroFilter:
    """Element-wise One Euro filter over arrays of a fixed shape; NaN resets an element."""

    def __init__(self, min_cutoff: float, beta: float, derivative_cutoff: float) -> None:
        self.min_cutoff, self.beta, self.derivative_cutoff = min_cutoff, beta, derivative_cutoff
        self.value: np.ndarray | None = None
        self.derivative: np.ndarray | None = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, dt: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.value is None or dt <= 0:
            self.value, self.derivative = x.copy(), np.zeros_like(x)
            return x
        previous = self.derivative if self.derivative is not None else np.zeros_like(x)
        fresh = ~np.isfinite(self.value)  # restart elements that had no value
        derivative = np.where(fresh, 0.0, (x - self.value) / dt)
        a_d = self._alpha(self.derivative_cutoff, dt)
        self.derivative = a_d * derivative + (1 - a_d) * previous
        cutoff = self.min_cutoff + self.beta * np.abs(self.derivative)
        a = self._alpha(cutoff, dt)
        smoothed = np.where(fresh, x, a * x + (1 - a) * self.value)
        self.value = np.where(np.isfinite(x), smoothed, np.nan)
        self.derivative = np.where(np.isfinite(x), self.derivative, 0.0)
        return self.value.copy()


def torso_centre(skeleton: Skeleton) -> np.ndarray | None:
    """Mean 3D position of the torso joints with depth (any joints if no torso joint has)."""
    for joints in (skeleton.xyz[TORSO], skeleton.xyz):
        finite = joints[np.isfinite(joints).all(axis=1)]
        if len(finite):
            return finite.mean(axis=0)
    return None


@dataclass
class _Track:
    id: int
    skeleton: Skeleton
    hits: int
    last_seen: float
    uv_filter: OneEuroFilter
    xyz_filter: OneEuroFilter


class Tracker:
    """Assigns ids and tracking states and smooths joints, frame by frame."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.tracks: list[_Track] = []
        self.settings = settings or TrackerSettings()
        self.next_id = 1
        self.last_stamp: float | None = None

    @property
    def settings(self) -> TrackerSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: TrackerSettings) -> None:
        """New settings apply from the next update, to the live tracks' filters too."""
        self._settings = settings
        for track in self.tracks:
            for one_euro in (track.uv_filter, track.xyz_filter):
                one_euro.min_cutoff = settings.min_cutoff_hz
                one_euro.beta = settings.beta
                one_euro.derivative_cutoff = settings.derivative_cutoff_hz

    def reset(self) -> None:
        self.tracks = []
        self.last_stamp = None

    def _filters(self) -> tuple[OneEuroFilter, OneEuroFilter]:
        s = self.settings
        return (
            OneEuroFilter(s.min_cutoff_hz, s.beta, s.derivative_cutoff_hz),
            OneEuroFilter(s.min_cutoff_hz, s.beta, s.derivative_cutoff_hz),
        )

    def update(self, skeletons: list[Skeleton], stamp_s: float) -> list[Skeleton]:
        """The skeletons of this frame with ids, tracking states and smoothed joints, followed
        by the LOST tracks still within their timeout."""
        if self.last_stamp is not None and stamp_s < self.last_stamp:
            self.reset()
        self.last_stamp = stamp_s
        s = self.settings
        centres = [torso_centre(k) for k in skeletons]
        track_centres = [torso_centre(t.skeleton) for t in self.tracks]
        cost = np.full((len(skeletons), len(self.tracks)), np.inf)
        for i, a in enumerate(centres):
            for j, b in enumerate(track_centres):
                if a is not None and b is not None:
                    cost[i, j] = float(np.linalg.norm(a - b))
        gated = np.where(cost <= s.match_distance_m, cost, 1e6)
        rows, columns = linear_sum_assignment(gated) if gated.size else ([], [])
        matches = {int(r): int(c) for r, c in zip(rows, columns, strict=True) if gated[r, c] < 1e6}

        output = []
        for i, skeleton in enumerate(skeletons):
            if i in matches:
                track = self.tracks[matches[i]]
                track.hits += 1
                dt = stamp_s - track.last_seen
            else:
                uv_filter, xyz_filter = self._filters()
                track = _Track(self.next_id, skeleton, 1, stamp_s, uv_filter, xyz_filter)
                self.next_id += 1
                self.tracks.append(track)
                dt = 0.0
            uv, xyz = skeleton.uv, skeleton.xyz
            if s.smoothing:
                uv = track.uv_filter(uv, dt)
                xyz = track.xyz_filter(np.where(np.isfinite(xyz), xyz, np.nan), dt)
            state = (
                TrackingState.TRACKED if track.hits >= s.confirm_hits else TrackingState.TENTATIVE
            )
            track.skeleton = replace(skeleton, id=track.id, uv=uv, xyz=xyz, tracking_state=state)
            track.last_seen = stamp_s
            output.append(track.skeleton)

        # Unseen tracks wait out the timeout; confirmed ones are reported as LOST meanwhile.
        self.tracks = [t for t in self.tracks if stamp_s - t.last_seen <= s.timeout_s]
        for track in self.tracks:
            if track.last_seen != stamp_s and track.hits >= s.confirm_hits:
                lost = replace(track.skeleton, tracking_state=TrackingState.LOST)
                lost.state = np.minimum(lost.state, KeypointState.INFERRED).astype(np.uint8)
                output.append(lost)
        return output
