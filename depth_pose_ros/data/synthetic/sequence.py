"""Sequences: one static scene with people who walk between places, pause, gesture, stand or
sit, moving smoothly from frame to frame as a 30 Hz camera would see them.

A scene has a few stations (places people walk between); furniture keeps off the paths between
them. Every person draws from a random stream of their own and plans lazily, so a shorter
sequence is exactly the beginning of a longer one with the same seed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from depth_pose_ros.data.synthetic import poses
from depth_pose_ros.data.synthetic.body import J, Pose, sample_shape
from depth_pose_ros.data.synthetic.generator import (
    FPS,
    SPLITS,
    SyntheticFrame,
    render_frame,
    sample_scene,
)
from depth_pose_ros.data.synthetic.scene import HALF_FOV, chair_for, facing_yaw, place_person

SEQUENCE_SALT = 100  # sequences draw from streams no single frame uses
_LEG_BONES = [J.KNEE_L, J.ANKLE_L, J.FOOT_L, J.KNEE_R, J.ANKLE_R, J.FOOT_R]
_TRANSITION_SECONDS = 0.5  # from walking to standing and back
PERSONAL_SPACE = 0.7  # metres a walker keeps from other people
CLEARANCE = 1.0  # metres between where people start, and between a stayer and a station
PLACEMENT_TRIES = 50  # draws for a clear place before taking the last one
DETOURS = (0.0, 35.0, -35.0, 70.0, -70.0, 105.0, -105.0)  # degrees off the way to the target
MAX_DETOUR_S = 2.0  # walking around someone this long: the walker heads somewhere else


def _ease(weight: float) -> float:
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(weight, 0.0, 1.0))


def _floor_point(rng: np.random.Generator) -> np.ndarray:
    """A floor point in view, 1.3-4.5 m from the camera."""
    distance = rng.uniform(1.3, 4.5)
    angle = rng.uniform(-0.9, 0.9) * HALF_FOV
    return distance * np.array([np.cos(angle), np.sin(angle)])


def _clear(point: np.ndarray, taken: list[np.ndarray], distance: float) -> bool:
    return all(np.linalg.norm(point - other) >= distance for other in taken)


def _clear_floor_point(
    rng: np.random.Generator, taken: list[np.ndarray], stations: list[np.ndarray]
) -> np.ndarray:
    """A floor point (as `_floor_point`) CLEARANCE away from people and stations, so nobody
    starts inside someone else and nobody stays where walkers are heading."""
    for _ in range(PLACEMENT_TRIES):
        point = _floor_point(rng)
        if _clear(point, taken + stations, CLEARANCE):
            break
    return point


def _heading(vector: np.ndarray) -> float:
    return float(np.degrees(np.arctan2(vector[1], vector[0])))


def _turned(pose: Pose, yaw: float) -> Pose:
    return Pose(pose.angles, yaw, pose.pitch, pose.roll, pose.sitting)


class _Stayer:
    """Someone who stays in one place, standing or seated, changing pose every few seconds."""

    def __init__(self, rng: np.random.Generator, place: np.ndarray) -> None:
        self.rng = rng
        self.shape = sample_shape(rng)
        self.position = place
        self.sitting = rng.random() < 0.4
        self.yaw = facing_yaw(rng, place)
        first = poses.sample_pose(rng, "sitting" if self.sitting else "standing")
        self.first = _turned(first, self.yaw)
        self.times, self.poses = [0.0], [self.first]

    def _next_keyframe(self) -> Pose:
        rng = self.rng
        if self.sitting:  # the chair stays put: keep the legs and the lean
            angles = poses.sample_pose(rng, "sitting").angles
            angles[_LEG_BONES] = self.first.angles[_LEG_BONES]
            following = Pose(angles, 0.0, self.first.pitch, 0.0, sitting=True)
        else:
            following = poses.sample_pose(rng, rng.choice(["standing", "standing", "bending"]))
        return _turned(following, self.yaw + rng.uniform(-30, 30))

    def step(self, t: float, dt: float, others: list[np.ndarray]) -> tuple[Pose, np.ndarray]:
        while self.times[-1] <= t:
            self.times.append(self.times[-1] + self.rng.uniform(1.5, 3.5))
            self.poses.append(self._next_keyframe())
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        weight = (t - self.times[i]) / (self.times[i + 1] - self.times[i])
        return self.poses[i].blend(self.poses[i + 1], _ease(weight)), self.position


class _Walker:
    """Someone walking between stations at a steady speed, sometimes stopping to gesture."""

    sitting = False

    def __init__(
        self, rng: np.random.Generator, stations: list[np.ndarray], taken: list[np.ndarray]
    ) -> None:
        """Starts near a station CLEARANCE away from the people already placed (`taken`)."""
        self.rng = rng
        self.stations = stations
        self.shape = sample_shape(rng)
        for _ in range(PLACEMENT_TRIES):
            start = int(rng.integers(len(stations)))
            self.position = stations[start] + rng.normal(0, 0.2, size=2)
            if _clear(self.position, taken, CLEARANCE):
                break
        self.target = self._choose_station(exclude=start)
        self.yaw = _heading(stations[self.target] - self.position)
        self.speed = rng.uniform(0.6, 1.3) * self.shape.scale
        self.stride = rng.uniform(0.8, 1.1)
        self.cycle = 1.45 * self.shape.height * self.stride  # metres per gait cycle
        self.phase = rng.uniform(0, 2 * np.pi)
        self.still = poses.within_limits(poses.standing_still(rng))
        self.pause_left = 0.0
        self.pause_pose = self.still
        self.walking = 1.0  # 1 walking, 0 stopped
        self.detour_s = 0.0  # how long the walker has been going around someone

    def _choose_station(self, exclude: int) -> int:
        choices = [i for i in range(len(self.stations)) if i != exclude]
        return int(self.rng.choice(choices))

    def _ahead(self, heading: float, distance: float) -> np.ndarray:
        direction = np.radians(heading)
        return self.position + distance * np.array([np.cos(direction), np.sin(direction)])

    def _approaches(self, point: np.ndarray, others: list[np.ndarray]) -> bool:
        """Whether stepping to `point` comes closer to someone already within PERSONAL_SPACE."""
        return any(
            np.linalg.norm(point - other) < PERSONAL_SPACE
            and np.linalg.norm(point - other) < np.linalg.norm(self.position - other)
            for other in others
        )

    def _free_detour(
        self, heading: float, distance: float, others: list[np.ndarray]
    ) -> float | None:
        """The smallest of DETOURS (degrees) off `heading` that keeps clear of `others`."""
        for detour in DETOURS:
            if not self._approaches(self._ahead(heading + detour, distance), others):
                return detour
        return None

    def step(self, t: float, dt: float, others: list[np.ndarray]) -> tuple[Pose, np.ndarray]:
        """The pose and floor position after advancing the walk by dt, going around anyone at
        `others` in the way (or stopping for a moment and heading elsewhere when boxed in)."""
        ramp = dt / _TRANSITION_SECONDS
        if self.pause_left > 0:
            self.pause_left -= dt
            self.walking = max(0.0, self.walking - ramp)
        else:
            self.walking = min(1.0, self.walking + ramp)
            target = self.stations[self.target]
            distance = self.speed * dt * self.walking
            way = _heading(target - self.position)
            detour = self._free_detour(way, distance, others)
            if detour is None or self.detour_s > MAX_DETOUR_S:
                self.pause_left = self.rng.uniform(0.5, 1.5)
                self.pause_pose = self.still
                self.target = self._choose_station(exclude=self.target)
                self.detour_s = 0.0
            else:
                turn = (way + detour - self.yaw + 180.0) % 360.0 - 180.0
                self.yaw += float(np.clip(turn, -150 * dt, 150 * dt))
                ahead = self._ahead(self.yaw, distance)
                if not self._approaches(ahead, others):  # else: still turning away this frame
                    self.position = ahead
                    self.phase += 2 * np.pi * distance / self.cycle
                self.detour_s = self.detour_s + dt if detour else 0.0
            if np.linalg.norm(target - self.position) < 0.3:
                self.target = self._choose_station(exclude=self.target)
                if self.rng.random() < 0.4:
                    self.pause_left = self.rng.uniform(1.0, 3.0)
                    self.pause_pose = poses.sample_pose(self.rng, "standing")
        walking = poses.gait(self.still, self.phase, self.stride * self.walking)
        pose = self.pause_pose.blend(walking, _ease(self.walking))
        return _turned(pose, self.yaw), self.position


def _cast(
    seed: int, people: int, split: str
) -> tuple[np.random.Generator, list[np.ndarray], list[_Stayer | _Walker]]:
    """The scene's random stream, its stations and its people, placed apart."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    if people < 0:
        raise ValueError(f"people must not be negative, got {people}")
    streams = np.random.SeedSequence((SEQUENCE_SALT + SPLITS[split], seed)).spawn(people + 1)
    rng = np.random.default_rng(streams[-1])
    stations = [_floor_point(rng) for _ in range(rng.integers(3, 6))]
    persons: list[_Stayer | _Walker] = []
    for stream in streams[:-1]:
        own = np.random.default_rng(stream)
        taken = [p.position for p in persons]
        persons.append(
            _Walker(own, stations, taken)
            if own.random() < 0.6
            else _Stayer(own, _clear_floor_point(own, taken, stations))
        )
    return rng, stations, persons


def _motion(
    persons: list[_Stayer | _Walker], frames: int, fps: float
) -> Iterator[list[tuple[Pose, np.ndarray]]]:
    """Everyone's pose and floor position, frame by frame (each sees where the others are)."""
    dt = 1.0 / fps
    positions = [p.position for p in persons]
    for index in range(frames):
        states = []
        for k, person in enumerate(persons):
            states.append(person.step(index * dt, dt, positions[:k] + positions[k + 1 :]))
            positions[k] = states[-1][1]
        yield states


def generate_sequence(
    seed: int, seconds: float, people: int, split: str = "train", fps: float = FPS
) -> Iterator[SyntheticFrame]:
    """Frames of a `seconds`-long sequence with `people` people, deterministic from the seed
    (a shorter sequence is the beginning of a longer one)."""
    rng, stations, persons = _cast(seed, people, split)
    chairs = [
        box
        for p in persons
        if isinstance(p, _Stayer) and p.sitting
        for box in chair_for(place_person(p.shape, p.first, p.position), p.rng)
    ]
    paths = [(a, b) for i, a in enumerate(stations) for b in stations[i + 1 :]]
    paths += [(p.position, p.position) for p in persons if isinstance(p, _Stayer)]
    scene = sample_scene(rng, [p.shape for p in persons], paths, chairs)
    track_ids = list(range(1, people + 1))
    salt = SEQUENCE_SALT + SPLITS[split]
    for index, states in enumerate(_motion(persons, round(seconds * fps), fps)):
        noise = np.random.default_rng(np.random.SeedSequence((salt, seed, index)))
        poses_now = [state[0] for state in states]
        grounds = [state[1] for state in states]
        yield render_frame(scene, poses_now, grounds, track_ids, noise)
