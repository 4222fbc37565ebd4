"""Scenes: a camera where a robot would carry it, a room, furniture, people on the floor."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.data.synthetic.body import (
    BodyShape,
    Capsule,
    Ellipsoid,
    J,
    Part,
    Pose,
    forward_kinematics,
    surface,
)
from depth_pose_ros.data.synthetic.geometry import CameraPose, rotation_z
from depth_pose_ros.data.synthetic.render import Box

WIDTH, HEIGHT = 512, 424
PEOPLE_WEIGHTS = np.array([0.45, 0.3, 0.15, 0.1])  # 1, 2, 3, 4 people
HALF_FOV = np.radians(35.0)
OPEN_SIDE = 60.0  # half size of a room side without a wall (beyond the sensor's range)


def sample_intrinsics(rng: np.random.Generator) -> CameraIntrinsics:
    """Kinect v2 depth intrinsics with the spread seen between units."""
    fx = rng.uniform(361.0, 369.0)
    return CameraIntrinsics(
        width=WIDTH,
        height=HEIGHT,
        fx=fx,
        fy=fx * rng.uniform(0.997, 1.003),
        cx=rng.uniform(250.0, 262.0),
        cy=rng.uniform(201.0, 209.0),
    )


def sample_camera(rng: np.random.Generator) -> CameraPose:
    """A camera 0.5-1.8 m high (robot heads to tripods) aimed at people's torsos, with error."""
    height = rng.uniform(0.5, 1.8)
    target_height, target_distance = rng.uniform(0.7, 1.2), rng.uniform(2.0, 3.5)
    pitch = np.arctan2(target_height - height, target_distance) + np.radians(rng.normal(0, 5))
    pitch = float(np.clip(pitch, np.radians(-30), np.radians(10)))
    return CameraPose.looking_forward(height, pitch, roll=np.radians(rng.normal(0, 1.5)))


@dataclass(frozen=True)
class PlacedPerson:
    """A person in the world: joints (25, 3) and surface primitives, feet on the floor."""

    joints: np.ndarray
    primitives: list
    forward: np.ndarray  # (3,) unit vector the pelvis faces


@dataclass(frozen=True)
class Rod:
    """An object shaped like a capsule: a pole, a punching bag, a mannequin-sized cylinder."""

    a: np.ndarray
    b: np.ndarray
    radius: float


@dataclass(frozen=True)
class Blob:
    """An object shaped like an ellipsoid: a coat on a hook, a hat."""

    centre: np.ndarray
    axes: np.ndarray  # (3, 3) columns: unit axes
    radii: np.ndarray


def _translate(primitive: Capsule | Ellipsoid, offset: np.ndarray) -> Capsule | Ellipsoid:
    if isinstance(primitive, Capsule):
        return Capsule(primitive.a + offset, primitive.b + offset, primitive.radius, primitive.part)
    return Ellipsoid(primitive.centre + offset, primitive.axes, primitive.radii, primitive.part)


def lowest_point(primitives: list) -> float:
    lowest = np.inf
    for p in primitives:
        if isinstance(p, Capsule):
            lowest = min(lowest, p.a[2] - p.radius, p.b[2] - p.radius)
        else:
            lowest = min(lowest, p.centre[2] - np.sqrt(((p.axes[2] * p.radii) ** 2).sum()))
    return float(lowest)


def place_person(
    shape: BodyShape, pose: Pose, ground: np.ndarray, lift: float = 0.0
) -> PlacedPerson:
    """Pose the body and stand it (or seat it, feet down) on the floor at `ground` (x, y), or
    rest its lowest point `lift` metres above the floor (someone lying on a sofa)."""
    joints, frames = forward_kinematics(shape, pose)
    primitives = surface(shape, joints, frames)
    offset = np.array([ground[0], ground[1], lift - lowest_point(primitives)])
    return PlacedPerson(
        joints=joints + offset,
        primitives=[_translate(p, offset) for p in primitives],
        forward=frames[J.SPINE_BASE][:, 0],
    )


def upright_box(centre_xy: np.ndarray, bottom: float, size: np.ndarray, yaw: float) -> Box:
    """A box standing on height `bottom` with sizes (depth, width, height) turned by yaw."""
    centre = np.array([centre_xy[0], centre_xy[1], bottom + size[2] / 2])
    return Box(centre, rotation_z(yaw), np.asarray(size, dtype=float) / 2)


def chair_for(person: PlacedPerson, rng: np.random.Generator) -> list[Box]:
    """A chair under a seated person: seat at the bottom of the pelvis and thighs, four legs,
    usually a backrest."""
    hips = [p for p in person.primitives if isinstance(p, Capsule) and p.part == Part.THIGH]
    pelvis = [p for p in person.primitives if isinstance(p, Ellipsoid) and p.part == Part.TORSO][-1]
    seat_top = min(lowest_point([pelvis]), *(min(h.a[2], h.b[2]) - h.radius for h in hips[::2]))
    forward = person.forward[:2] / max(np.linalg.norm(person.forward[:2]), 1e-6)
    yaw = float(np.arctan2(forward[1], forward[0]))
    knees = 0.5 * (person.joints[J.KNEE_L] + person.joints[J.KNEE_R])
    centre = 0.55 * person.joints[J.SPINE_BASE][:2] + 0.45 * knees[:2]
    depth, width, thickness = rng.uniform(0.38, 0.5), rng.uniform(0.4, 0.55), 0.04
    seat_top = max(seat_top, 0.15)
    parts = [upright_box(centre, seat_top - thickness, np.array([depth, width, thickness]), yaw)]
    side = np.array([-forward[1], forward[0]])
    for a in (-1, 1):
        for b in (-1, 1):
            leg = centre + forward * a * (depth / 2 - 0.03) + side * b * (width / 2 - 0.03)
            parts.append(upright_box(leg, 0.0, np.array([0.035, 0.035, seat_top - thickness]), yaw))
    if rng.random() < 0.7:
        back = person.joints[J.SPINE_BASE][:2] - forward * (pelvis.radii[0] + 0.04)
        parts.append(
            upright_box(back, seat_top, np.array([0.03, width, rng.uniform(0.3, 0.5)]), yaw)
        )
    return parts


def sample_furniture(rng: np.random.Generator, centre_xy: np.ndarray) -> list[Box]:
    """A table, cabinet or crate standing at `centre_xy`."""
    yaw = rng.uniform(-np.pi, np.pi)
    kind = rng.choice(["table", "cabinet", "crate"], p=[0.4, 0.35, 0.25])
    if kind == "cabinet":
        size = np.array([rng.uniform(0.35, 0.6), rng.uniform(0.4, 1.2), rng.uniform(0.5, 2.0)])
        return [upright_box(centre_xy, 0.0, size, yaw)]
    if kind == "crate":
        return [upright_box(centre_xy, 0.0, np.full(3, rng.uniform(0.25, 0.6)), yaw)]
    depth, width = rng.uniform(0.6, 0.9), rng.uniform(0.8, 1.6)
    height, top = rng.uniform(0.7, 0.78), rng.uniform(0.03, 0.05)
    return table(centre_xy, yaw, np.array([depth, width, height]), top)


def table(centre_xy: np.ndarray, yaw: float, size: np.ndarray, top: float) -> list[Box]:
    """A table with a top `top` thick and four legs; `size` is (depth, width, height)."""
    depth, width, height = size
    parts = [upright_box(centre_xy, height - top, np.array([depth, width, top]), yaw)]
    axes = rotation_z(yaw)[:2, :2]
    for a in (-1, 1):
        for b in (-1, 1):
            leg = centre_xy + axes @ np.array([a * (depth / 2 - 0.05), b * (width / 2 - 0.05)])
            parts.append(upright_box(leg, 0.0, np.array([0.05, 0.05, height - top]), yaw))
    return parts


def sample_room(rng: np.random.Generator, camera: CameraPose, occupied: list[np.ndarray]) -> Box:
    """A room (walls, floor, ceiling) around the camera and every occupied floor point."""
    yaw = rng.uniform(-0.4, 0.4)
    axes = rotation_z(yaw)
    points = np.array([camera.position[:2], *(p[:2] for p in occupied)])
    local = points @ axes[:2, :2]
    low = local.min(axis=0) - rng.uniform([0.4, 0.8], [2.0, 2.5])
    high = local.max(axis=0) + rng.uniform([0.6, 0.8], [3.0, 2.5])
    low[1], high[1] = min(low[1], -1.5), max(high[1], 1.5)
    half = np.array([*(high - low) / 2, rng.uniform(1.2, 1.6)])
    centre_local = np.array([*(high + low) / 2, half[2]])
    if rng.random() < 0.25:  # one side without a wall
        axis, sign = rng.integers(0, 2), rng.choice([-1, 1])
        centre_local[axis] += sign * (OPEN_SIDE - half[axis])
        half[axis] = OPEN_SIDE
    return Box(axes @ centre_local, axes, half)


def facing_yaw(rng: np.random.Generator, ground: np.ndarray) -> float:
    """A body yaw (degrees): mostly facing the camera, often sideways or away."""
    towards = np.degrees(np.arctan2(-ground[1], -ground[0]))
    kind = rng.random()
    if kind < 0.4:
        offset = rng.uniform(-60, 60)
    elif kind < 0.7:
        offset = rng.choice([-1, 1]) * rng.uniform(60, 120)
    elif kind < 0.9:
        offset = rng.uniform(120, 240)
    else:
        offset = rng.uniform(-180, 180)
    return float(towards + offset)


def distance_to_segment(point: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance from a floor point to the floor segment a-b (a point when a == b)."""
    ab = b - a
    length = float(ab @ ab)
    t = 0.0 if length == 0.0 else float(np.clip((point - a) @ ab / length, 0.0, 1.0))
    return float(np.linalg.norm(point - (a + t * ab)))


def sample_ground_points(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Floor positions in front of the camera, 1-5 m away, at least 0.7 m apart, some of them
    at the edge of or just outside the field of view."""
    points: list[np.ndarray] = []
    for _ in range(50 * count):
        if len(points) == count:
            break
        distance = 1.0 + 4.0 * rng.beta(1.6, 2.2)
        angle = rng.uniform(-1.2, 1.2) * HALF_FOV
        point = distance * np.array([np.cos(angle), np.sin(angle)])
        if all(np.linalg.norm(point - p) > 0.7 for p in points):
            points.append(point)
    return points
