"""Scenario families: the situations that break person finding, each a named generator option.

Every frame comes from its own random stream, keyed by (split, seed, index, family), so a
family's frames do not depend on which other families are asked for. Families:

- `room`: the general scene: 1-4 people in any pose (real motion capture first), furniture;
- `tpose`: arms spread wide or raised in a Y, facing the camera or turned;
- `arms_up`: one or both arms overhead, reaching, waving high;
- `side_by_side`: 2-5 people shoulder to shoulder, touching, as in a group photo or a queue;
- `behind`: one person partly hidden behind another (30-80 % of their body covered);
- `crowd`: 5-7 people at 1-5 m, overlapping;
- `close_range`: upper body at 0.6-1.3 m, no floor in view (a robot arm's camera);
- `high_camera`: camera 2.0-2.8 m high looking down 25-50 degrees (a corner mount);
- `far`: people at 4.5-7 m, small and noisy;
- `seated`: on chairs, at desks, on a sofa;
- `low`: crouching, kneeling, bending to the floor, lying on the floor or a sofa;
- `distractors`: nobody, or people among office chairs, coat racks with coats, punching bags,
  mannequin-sized cylinders and stacked boxes, none of which is a person;
- `wall`: people right in front of a wall (their farthest joint 15-72 cm from it), as by an
  office's back wall or in a corridor: they hardly stand out from what is behind them.

`v1` is the first version of the generator (hand-written pose presets), which makes
synthetic:test and synthetic:val. Without a family, a frame draws one from `MIX`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.data.synthetic import poses
from depth_pose_ros.data.synthetic.body import BodyShape, J, Pose, sample_shape
from depth_pose_ros.data.synthetic.generator import (
    SPLITS,
    Scene,
    SyntheticFrame,
    draw_people,
    draw_room,
    generate_v1_frame,
    render_frame,
)
from depth_pose_ros.data.synthetic.geometry import CameraPose, rotation_z
from depth_pose_ros.data.synthetic.mocap import load_library
from depth_pose_ros.data.synthetic.render import Box, Renderer, person_of
from depth_pose_ros.data.synthetic.scene import (
    HALF_FOV,
    Blob,
    PlacedPerson,
    Rod,
    chair_for,
    distance_to_segment,
    facing_yaw,
    place_person,
    sample_camera,
    sample_furniture,
    sample_intrinsics,
    sample_room,
    table,
    upright_box,
)
from depth_pose_ros.data.synthetic.sensor import sample_profile

SCENARIOS: tuple[str, ...] = (
    "tpose", "arms_up", "side_by_side", "behind", "crowd", "close_range", "high_camera", "far",
    "seated", "low", "distractors", "wall",
)  # fmt: skip
# The families of synthetic:hard: every family but `wall`, which came later and has a set of its
# own (synthetic:wall), so that hard's frames and figures stay comparable across releases.
HARD_FAMILIES: tuple[str, ...] = SCENARIOS[:-1]
# The default mix of the training data: general scenes, and every family besides.
MIX: dict[str, float] = {"room": 0.34} | dict.fromkeys(SCENARIOS, 0.06)
BEHIND_SHARE = (0.3, 0.8)  # of the hidden person's pixels covered by the one in front
_PEOPLE_WEIGHTS = np.array([0.4, 0.3, 0.18, 0.12])  # 1-4 people in a general scene


@dataclass
class Layout:
    """What a family decides before rendering: people, camera, furniture and objects."""

    shapes: list[BodyShape] = field(default_factory=list)
    poses: list[Pose] = field(default_factory=list)
    grounds: list[np.ndarray] = field(default_factory=list)  # floor (x, y) per person
    lifts: list[float] = field(default_factory=list)  # metres above the floor per person
    camera: CameraPose | None = None  # None: a camera where a robot would carry it
    intrinsics: CameraIntrinsics | None = None  # None: a Kinect v2 of the usual spread
    furniture: list[Box] = field(default_factory=list)
    props: list[Box | Rod | Blob] = field(default_factory=list)
    room: Box | None = None  # None: a room around the camera and the people
    clutter: float = 2.0  # mean number of extra pieces of furniture away from the people

    def add(self, shape: BodyShape, pose: Pose, ground: np.ndarray, lift: float = 0.0) -> None:
        self.shapes.append(shape)
        self.poses.append(pose)
        self.grounds.append(np.asarray(ground, dtype=np.float64))
        self.lifts.append(lift)


def scenario_rng(split: str, seed: int, index: int, scenario: str | None) -> np.random.Generator:
    """The random stream of one frame of one family (None: the mixed stream)."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    family = 0 if scenario is None else 1 + (("room", *SCENARIOS).index(scenario))
    return np.random.default_rng(np.random.SeedSequence((SPLITS[split], seed, index, family)))


def generate_frame(
    split: str,
    seed: int,
    index: int,
    people: int | None = None,
    scenario: str | None = None,
) -> SyntheticFrame:
    """Frame `index` of `split` for `seed`: of the named family, or (None) of a family drawn
    from MIX; `people` fixes the number of people where the family allows it."""
    if scenario == "v1":
        return generate_v1_frame(split, seed, index, people)
    if scenario is not None and scenario not in FAMILIES:
        raise ValueError(f"scenario {scenario!r} is not one of {', '.join(FAMILIES)} (or v1)")
    rng = scenario_rng(split, seed, index, scenario)
    if scenario is None:
        names = list(MIX)
        weights = np.array(list(MIX.values()))
        scenario = names[rng.choice(len(names), p=weights / weights.sum())]
    layout = FAMILIES[scenario](rng, people)
    return _render_layout(rng, layout, scenario)


def scenario_of(index: int, scenarios: Sequence[str] | None) -> str | None:
    """The family of frame `index` when frames cycle through `scenarios` (None: the mix)."""
    return scenarios[index % len(scenarios)] if scenarios else None


# The poses the scenario families draw by name; real motion capture ("mocap") is the main
# source, with what it lacks (seated, kneeling, lying, deep crouches) made here.
SCENE_FAMILIES: dict[str, tuple[float, Callable[[np.random.Generator], Pose]]] = {
    "mocap": (0.6, lambda rng: mocap_pose(rng)),  # defined below
    "sitting": (0.1, poses.sitting),
    "typing": (0.03, poses.typing),
    "crouching": (0.06, poses.crouching),
    "kneeling": (0.06, poses.kneeling),
    "lying": (0.04, poses.lying),
    "bending": (0.03, poses.bending),
    "tpose": (0.04, poses.tpose),
    "arms_up": (0.04, poses.arms_up),
}


def mocap_pose(rng: np.random.Generator) -> Pose:
    """A pose of the shipped motion-capture library, each equally likely."""
    library = load_library()
    return library.pose(int(rng.integers(len(library))))


def sample_scene_pose(rng: np.random.Generator, family: str | None = None) -> tuple[str, Pose]:
    """(family, pose) from SCENE_FAMILIES by name, or chosen by their weights."""
    if family is None:
        names = list(SCENE_FAMILIES)
        weights = np.array([SCENE_FAMILIES[n][0] for n in names])
        family = names[rng.choice(len(names), p=weights / weights.sum())]
    pose = SCENE_FAMILIES[family][1](rng)
    return family, pose if family == "mocap" else poses.within_limits(pose)


# --- shared pieces ---------------------------------------------------------------------------


def _count(rng: np.random.Generator, people: int | None, low: int, high: int) -> int:
    return people if people is not None else int(rng.integers(low, high + 1))


def _adult(rng: np.random.Generator) -> BodyShape:
    """A body at least 1.55 m tall (poses like a T or a group photo are adults' poses here)."""
    while (shape := sample_shape(rng)).height < 1.55:
        pass
    return shape


def _turned(pose: Pose, yaw: float) -> Pose:
    return Pose(pose.angles, yaw, pose.pitch, pose.roll, pose.sitting)


def _ground_points(
    rng: np.random.Generator,
    count: int,
    distance: tuple[float, float] = (1.0, 5.0),
    spacing: float = 0.7,
    spread: float = 1.1,
) -> list[np.ndarray]:
    """Floor points in view (within `spread` of the half field of view), at `distance` from the
    camera and `spacing` apart (fewer when they do not fit)."""
    points: list[np.ndarray] = []
    for _ in range(60 * max(count, 1)):
        if len(points) == count:
            break
        along = rng.uniform(*distance)
        angle = rng.uniform(-spread, spread) * HALF_FOV
        point = along * np.array([np.cos(angle), np.sin(angle)])
        if all(np.linalg.norm(point - p) > spacing for p in points):
            points.append(point)
    return points


def _towards_camera(ground: np.ndarray) -> float:
    return float(np.degrees(np.arctan2(-ground[1], -ground[0])))


def _seat(rng: np.random.Generator, layout: Layout, k: int) -> None:
    """Furniture for seated person k: a chair, and a desk in front when they type."""
    placed = place_person(layout.shapes[k], layout.poses[k], layout.grounds[k])
    layout.furniture += chair_for(placed, rng)
    if _typing(layout.poses[k]):
        forward = placed.forward[:2] / max(np.linalg.norm(placed.forward[:2]), 1e-6)
        hands = 0.5 * (placed.joints[J.HAND_L] + placed.joints[J.HAND_R])
        centre = placed.joints[J.SPINE_BASE][:2] + forward * rng.uniform(0.55, 0.7)
        size = np.array([rng.uniform(0.6, 0.8), rng.uniform(1.0, 1.6), hands[2] - 0.03])
        layout.furniture += table(centre, float(np.arctan2(forward[1], forward[0])), size, 0.03)


def _typing(pose: Pose) -> bool:
    """Whether a seated pose holds both forearms forward (the typing arms)."""
    return bool(pose.sitting and min(pose.angles[J.WRIST_L, 0], pose.angles[J.WRIST_R, 0]) > 65)


def _add_people(
    rng: np.random.Generator,
    layout: Layout,
    grounds: list[np.ndarray],
    family: str | None = None,
    adults: bool = False,
) -> None:
    """People at `grounds` with poses of `family` (or drawn), facing about as people do."""
    for ground in grounds:
        shape = _adult(rng) if adults else sample_shape(rng)
        kind, pose = sample_scene_pose(rng, family)
        lift = 0.0
        if kind == "lying" and rng.random() < 0.3:
            lift = rng.uniform(0.38, 0.46)
            layout.furniture += _sofa_under(rng, shape, pose, ground, lift)
        layout.add(shape, _turned(pose, pose.yaw + facing_yaw(rng, ground)), ground, lift)
        if pose.sitting:
            _seat(rng, layout, len(layout.shapes) - 1)


def _sofa_under(
    rng: np.random.Generator, shape: BodyShape, pose: Pose, ground: np.ndarray, seat: float
) -> list[Box]:
    """A sofa whose seat (`seat` metres high) carries someone lying along it."""
    body = place_person(shape, pose, ground, seat).joints
    along = body[J.HEAD, :2] - body[J.SPINE_BASE, :2]
    yaw = float(np.arctan2(along[1], along[0])) if np.linalg.norm(along) > 1e-3 else 0.0
    centre = 0.5 * (body[J.HEAD, :2] + body[J.SPINE_BASE, :2])
    return _sofa(rng, centre, yaw, seat, rng.uniform(1.9, 2.2))


def _sofa(
    rng: np.random.Generator, centre: np.ndarray, yaw: float, seat: float, length: float
) -> list[Box]:
    """A sofa along `yaw` (its length), seat top `seat` high, backrest on its left side."""
    depth = rng.uniform(0.75, 0.9)
    side = rotation_z(yaw)[:2, 1]
    parts = [upright_box(centre, 0.1, np.array([length, depth, seat - 0.1]), yaw)]
    back = centre + side * (depth / 2 + 0.08)
    parts.append(upright_box(back, 0.1, np.array([length, 0.16, seat + 0.35]), yaw))
    forward = rotation_z(yaw)[:2, 0]
    for end in (-1, 1):
        arm = centre + forward * end * (length / 2 + 0.08)
        parts.append(upright_box(arm, 0.1, np.array([0.16, depth, seat + 0.12]), yaw))
    return parts


# --- families --------------------------------------------------------------------------------


def _room(rng: np.random.Generator, people: int | None) -> Layout:
    layout = Layout()
    count = people if people is not None else int(rng.choice(4, p=_PEOPLE_WEIGHTS)) + 1
    _add_people(rng, layout, _ground_points(rng, count))
    return layout


def _tpose(rng: np.random.Generator, people: int | None) -> Layout:
    layout = Layout()
    for ground in _ground_points(rng, _count(rng, people, 1, 3), (1.5, 4.5), spacing=1.2):
        pose = poses.within_limits(poses.tpose(rng))
        turn = (
            rng.uniform(-30, 30)
            if rng.random() < 0.6
            else rng.choice([-1, 1]) * rng.uniform(30, 90)
        )
        layout.add(_adult(rng), _turned(pose, _towards_camera(ground) + turn), ground)
    return layout


def _arms_up(rng: np.random.Generator, people: int | None) -> Layout:
    layout = Layout()
    for ground in _ground_points(rng, _count(rng, people, 1, 3), (1.3, 4.5)):
        pose = poses.within_limits(poses.arms_up(rng))
        layout.add(sample_shape(rng), _turned(pose, facing_yaw(rng, ground)), ground)
    return layout


def _side_by_side(rng: np.random.Generator, people: int | None) -> Layout:
    """A row of touching people across the view: a group photo (facing the camera) or a queue
    (all facing along the row, front to back)."""
    layout = Layout()
    count = _count(rng, people, 2, 5)
    distance = rng.uniform(1.8, 4.0)
    bearing = rng.uniform(-0.5, 0.5) * HALF_FOV
    centre = distance * np.array([np.cos(bearing), np.sin(bearing)])
    across = np.array([-np.sin(bearing), np.cos(bearing)])
    across = rotation_z(np.radians(rng.uniform(-15, 15)))[:2, :2] @ across
    queue = rng.random() < 0.35
    shapes = [_adult(rng) if rng.random() < 0.8 else sample_shape(rng) for _ in range(count)]
    if queue:
        sizes = [0.11 * s.scale * s.girth * s.looseness for s in shapes]  # half body depth
    else:
        sizes = [s.offsets[J.SHOULDER_L][1] + 0.06 * s.scale * s.girth for s in shapes]
    steps = [(a + b) * rng.uniform(0.8, 0.95) for a, b in itertools.pairwise(sizes)]
    offsets = np.concatenate([[0.0], np.cumsum(steps)])
    offsets -= offsets.mean()
    heading = float(np.degrees(np.arctan2(across[1], across[0]))) * rng.choice([-1, 1])
    for shape, offset in zip(shapes, offsets, strict=True):
        ground = centre + offset * across
        pose = poses.sample_pose(rng, "standing")
        yaw = (
            heading + rng.uniform(-10, 10)
            if queue
            else _towards_camera(ground) + rng.uniform(-20, 20)
        )
        layout.add(shape, _turned(pose, yaw), ground)
    layout.clutter = 1.0
    return layout


def _behind(rng: np.random.Generator, people: int | None) -> Layout:
    """Two people on about the same line of sight; the one behind steps sideways out of the
    other's shadow until the one in front covers a share of them drawn from BEHIND_SHARE."""
    layout = Layout()
    camera, intrinsics = sample_camera(rng), sample_intrinsics(rng)
    front_distance = rng.uniform(1.5, 3.2)
    bearing = rng.uniform(-0.6, 0.6) * HALF_FOV
    ray = np.array([np.cos(bearing), np.sin(bearing)])
    across = np.array([-ray[1], ray[0]]) * rng.choice([-1, 1])
    shapes = sorted((sample_shape(rng), sample_shape(rng)), key=lambda s: -s.height)
    if rng.random() < 0.3:  # now and then the smaller one in front
        shapes.reverse()
    back_distance = front_distance + rng.uniform(0.7, 2.0)
    chosen = []
    for ground in (front_distance * ray, back_distance * ray):
        _, pose = sample_scene_pose(rng, "mocap" if rng.random() < 0.7 else None)
        while pose.sitting or abs(pose.pitch) > 45 or abs(pose.roll) > 45:
            _, pose = sample_scene_pose(rng, "mocap")
        chosen.append(_turned(pose, pose.yaw + facing_yaw(rng, ground)))
    low, high = BEHIND_SHARE
    target = rng.uniform(low + 0.05, high - 0.05)
    front = place_person(shapes[0], chosen[0], front_distance * ray)
    best, best_share = back_distance * ray, 0.0
    for _ in range(3):  # farther back when even straight behind too little is covered
        for step in range(24):
            ground = back_distance * ray + step * 0.03 * shapes[1].height * across
            back = place_person(shapes[1], chosen[1], ground)
            share = _covered_share(camera, intrinsics, front, back)
            if abs(share - target) < abs(best_share - target):
                best, best_share = ground, share
            if share < target:
                break
        if low + 0.02 <= best_share <= high - 0.02:
            break
        back_distance += 1.0
    layout.camera, layout.intrinsics = camera, intrinsics
    layout.add(shapes[0], chosen[0], front_distance * ray)
    layout.add(shapes[1], chosen[1], best)
    layout.clutter = 1.5
    return layout


def _covered_share(
    camera: CameraPose, intrinsics: CameraIntrinsics, front: PlacedPerson, back: PlacedPerson
) -> float:
    """The share of `back`'s pixels that `front` covers (0 when `back` is not in view)."""
    alone, both = Renderer(intrinsics), Renderer(intrinsics)
    draw_people(alone, camera, [back])
    draw_people(both, camera, [back, front])
    own = np.count_nonzero(person_of(alone.label) == 0)
    seen = np.count_nonzero(person_of(both.label) == 0)
    return 0.0 if own == 0 else 1.0 - seen / own


def _crowd(rng: np.random.Generator, people: int | None) -> Layout:
    layout = Layout()
    grounds = _ground_points(rng, _count(rng, people, 5, 7), (1.0, 5.0), spacing=0.45, spread=0.9)
    _add_people(rng, layout, grounds, "mocap")
    layout.clutter = 0.5
    return layout


def _close_range(rng: np.random.Generator, people: int | None) -> Layout:
    """One person (rarely two) filling the view from 0.6-1.3 m, a wall behind, no floor."""
    layout = Layout()
    shape = sample_shape(rng)
    distance = rng.uniform(0.6, 1.3)
    ground = distance * np.array([1.0, rng.uniform(-0.15, 0.15)])
    _, pose = sample_scene_pose(rng, "mocap" if rng.random() < 0.7 else "arms_up")
    layout.add(
        shape, _turned(pose, pose.yaw + _towards_camera(ground) + rng.uniform(-40, 40)), ground
    )
    chest = 0.72 * shape.height
    height = chest + rng.uniform(-0.15, 0.15)
    pitch = rng.uniform(-5, 15)
    wall = distance + rng.uniform(0.4, 1.2)
    half = np.array([wall / 2 + 0.5, rng.uniform(1.2, 2.5), rng.uniform(1.3, 1.6)])
    roll = np.radians(rng.normal(0, 2))
    layout.intrinsics = sample_intrinsics(rng)
    layout.room = Box(np.array([wall / 2 - 0.5, 0.0, half[2]]), np.eye(3), half)
    while True:  # look up a little more until nothing in view is near the floor
        layout.camera = CameraPose.looking_forward(height, np.radians(pitch), roll=roll)
        if _lowest_in_view(layout.camera, layout.intrinsics, layout.room) > 0.3 or pitch >= 40:
            break
        pitch += 4.0
    layout.clutter = 0.0
    return layout


def _lowest_in_view(camera: CameraPose, intrinsics: CameraIntrinsics, room: Box) -> float:
    """The height above the floor of the lowest point of an empty room the camera sees."""
    empty = Renderer(intrinsics)
    draw_room(empty, camera, room)
    rays = empty.rays()
    depth = empty.depth
    optical = np.stack([rays.x * depth, rays.y * depth, depth], axis=-1)[np.isfinite(depth)]
    return float((optical @ camera.rotation.T + camera.position)[:, 2].min())


def _high_camera(rng: np.random.Generator, people: int | None) -> Layout:
    layout = Layout()
    height = rng.uniform(2.0, 2.8)
    pitch = -np.radians(rng.uniform(25, 50))
    layout.camera = CameraPose.looking_forward(height, pitch, roll=np.radians(rng.normal(0, 1.5)))
    count = _count(rng, people, 1, 4)
    _add_people(rng, layout, _ground_points(rng, count, (1.0, 4.5), spread=0.9))
    return layout


def _far(rng: np.random.Generator, people: int | None) -> Layout:
    layout = Layout()
    grounds = _ground_points(rng, _count(rng, people, 1, 3), (4.5, 7.0), spread=0.9)
    _add_people(rng, layout, grounds)
    return layout


def _seated(rng: np.random.Generator, people: int | None) -> Layout:
    """People on chairs or at desks, or two or three side by side on a sofa."""
    layout = Layout()
    count = _count(rng, people, 1, 4)
    if count >= 2 and rng.random() < 0.35:
        on_sofa = min(count, int(rng.integers(2, 4)))
        distance = rng.uniform(2.0, 4.0)
        bearing = rng.uniform(-0.5, 0.5) * HALF_FOV
        centre = distance * np.array([np.cos(bearing), np.sin(bearing)])
        facing = _towards_camera(centre) + rng.uniform(-40, 40)
        along = np.radians(facing + 90.0)
        row = np.array([np.cos(along), np.sin(along)])
        seats = []
        for k in range(on_sofa):
            ground = centre + (k - (on_sofa - 1) / 2) * rng.uniform(0.6, 0.7) * row
            pose = poses.within_limits(poses.sitting(rng))
            shape = sample_shape(rng)
            layout.add(shape, _turned(pose, facing + rng.uniform(-15, 15)), ground)
            seats.append(_seat_height(place_person(shape, layout.poses[-1], ground)))
        backwards = -np.array([np.cos(np.radians(facing)), np.sin(np.radians(facing))])
        sofa_centre = centre + backwards * 0.15
        layout.furniture += _sofa(
            rng, sofa_centre, float(along), float(np.mean(seats)), on_sofa * 0.7 + 0.4
        )
        count -= on_sofa
        others = _ground_points(rng, count)
        others = [g for g in others if np.linalg.norm(g - centre) > 1.5]
    else:
        others = _ground_points(rng, count, spacing=1.0)
    for ground in others:
        kind = "typing" if rng.random() < 0.35 else "sitting"
        pose = poses.within_limits(poses.typing(rng) if kind == "typing" else poses.sitting(rng))
        layout.add(sample_shape(rng), _turned(pose, facing_yaw(rng, ground)), ground)
        _seat(rng, layout, len(layout.shapes) - 1)
    return layout


def _seat_height(person: PlacedPerson) -> float:
    """Where a seat under a sitting person is: the bottom of the pelvis and thighs."""
    return float(
        min(
            person.joints[J.SPINE_BASE][2] - 0.1 * person.joints[J.SPINE_BASE][2],
            person.joints[J.HIP_L][2],
            person.joints[J.HIP_R][2],
        )
        - 0.08
    )


def _low(rng: np.random.Generator, people: int | None) -> Layout:
    layout = Layout()
    grounds = _ground_points(rng, _count(rng, people, 1, 3), (1.2, 4.5), spacing=1.6)
    for ground in grounds:
        kind = str(
            rng.choice(["crouching", "kneeling", "bending", "lying"], p=[0.3, 0.3, 0.15, 0.25])
        )
        if kind == "bending":
            base = poses.bending(rng)
            pose = Pose(base.angles, 0.0, rng.uniform(60, 95), base.roll)
        else:
            _, pose = sample_scene_pose(rng, kind)
        pose = poses.within_limits(pose)
        shape = sample_shape(rng)
        lift = 0.0
        if kind == "lying" and rng.random() < 0.3:
            lift = rng.uniform(0.38, 0.46)
            layout.furniture += _sofa_under(rng, shape, pose, ground, lift)
        layout.add(shape, _turned(pose, pose.yaw + facing_yaw(rng, ground)), ground, lift)
    return layout


def _distractors(rng: np.random.Generator, people: int | None) -> Layout:
    """Person-sized objects, with nobody (three frames in ten) or one or two people among them."""
    layout = Layout()
    count = people if people is not None else (0 if rng.random() < 0.3 else int(rng.integers(1, 3)))
    objects = int(rng.integers(2, 7))
    spots = _ground_points(rng, count + objects, (1.0, 5.0), spacing=0.8, spread=0.95)
    _add_people(rng, layout, spots[:count])
    makers: list[Callable[[np.random.Generator, np.ndarray], list[Box | Rod | Blob]]] = [
        _office_chair, _coat_rack, _punching_bag, _cylinder, _boxes,
    ]  # fmt: skip
    for spot in spots[count:]:
        make = makers[int(rng.choice(len(makers), p=[0.3, 0.2, 0.15, 0.2, 0.15]))]
        layout.props += make(rng, spot)
    layout.clutter = 1.0
    return layout


def _office_chair(rng: np.random.Generator, spot: np.ndarray) -> list[Box | Rod | Blob]:
    yaw = rng.uniform(-np.pi, np.pi)
    seat = rng.uniform(0.42, 0.55)
    width = rng.uniform(0.45, 0.55)
    turn = rotation_z(yaw)[:2, :2]
    parts: list[Box | Rod | Blob] = [
        upright_box(spot, seat - 0.08, np.array([width, width, 0.08]), yaw),
        Rod(np.array([*spot, 0.08]), np.array([*spot, seat - 0.08]), 0.03),
    ]
    for k in range(5):
        angle = yaw + k * 2 * np.pi / 5
        tip = spot + 0.3 * np.array([np.cos(angle), np.sin(angle)])
        parts.append(Rod(np.array([*spot, 0.06]), np.array([*tip, 0.05]), 0.025))
    back = spot - turn @ np.array([width / 2 + 0.03, 0.0])
    tilt = rotation_z(yaw) @ np.array(
        [[np.cos(0.2), 0, np.sin(0.2)], [0, 1, 0], [-np.sin(0.2), 0, np.cos(0.2)]]
    )
    height = rng.uniform(0.45, 0.7)
    parts.append(
        Box(
            np.array([*back, seat + height / 2 + 0.05]),
            tilt,
            np.array([0.04, width / 2, height / 2]),
        )
    )
    if rng.random() < 0.6:
        for side in (-1, 1):
            arm = spot + turn @ np.array([0.0, side * (width / 2 + 0.03)])
            parts.append(upright_box(arm, seat + 0.15, np.array([0.3, 0.05, 0.04]), yaw))
    return parts


def _coat_rack(rng: np.random.Generator, spot: np.ndarray) -> list[Box | Rod | Blob]:
    top = rng.uniform(1.7, 1.95)
    parts: list[Box | Rod | Blob] = [
        Rod(np.array([*spot, 0.03]), np.array([*spot, top]), 0.025),
        upright_box(spot, 0.0, np.array([0.5, 0.08, 0.04]), rng.uniform(0, np.pi)),
        upright_box(spot, 0.0, np.array([0.08, 0.5, 0.04]), rng.uniform(0, np.pi)),
    ]
    for _ in range(int(rng.integers(1, 5))):
        angle = rng.uniform(-np.pi, np.pi)
        out = np.array([np.cos(angle), np.sin(angle)])
        length = rng.uniform(0.5, 0.95)
        radii = np.array([rng.uniform(0.08, 0.15), rng.uniform(0.18, 0.27), length / 2])
        centre = np.array([*(spot + out * (radii[0] + 0.03)), top - 0.08 - length / 2])
        parts.append(Blob(centre, rotation_z(angle), radii))
    if rng.random() < 0.4:
        parts.append(Blob(np.array([*spot, top + 0.06]), np.eye(3), np.array([0.14, 0.14, 0.07])))
    return parts


def _punching_bag(rng: np.random.Generator, spot: np.ndarray) -> list[Box | Rod | Blob]:
    radius = rng.uniform(0.14, 0.2)
    if rng.random() < 0.5:  # hanging from the ceiling
        bottom = rng.uniform(0.4, 0.8)
        top = bottom + rng.uniform(0.8, 1.2)
        return [
            Rod(np.array([*spot, bottom + radius]), np.array([*spot, top - radius]), radius),
            Rod(np.array([*spot, top]), np.array([*spot, 2.6]), 0.01),
        ]
    top = rng.uniform(1.4, 1.8)
    return [
        upright_box(spot, 0.0, np.array([0.55, 0.55, 0.25]), rng.uniform(0, np.pi)),
        Rod(np.array([*spot, 0.25 + radius]), np.array([*spot, top - radius]), radius),
    ]


def _cylinder(rng: np.random.Generator, spot: np.ndarray) -> list[Box | Rod | Blob]:
    radius = rng.uniform(0.12, 0.25)
    top = rng.uniform(1.4, 1.9)
    return [Rod(np.array([*spot, radius]), np.array([*spot, top - radius]), radius)]


def _boxes(rng: np.random.Generator, spot: np.ndarray) -> list[Box | Rod | Blob]:
    parts: list[Box | Rod | Blob] = []
    bottom, yaw = 0.0, rng.uniform(-np.pi, np.pi)
    for _ in range(int(rng.integers(1, 4))):
        size = np.array([rng.uniform(0.3, 0.6), rng.uniform(0.3, 0.6), rng.uniform(0.3, 0.6)])
        parts.append(upright_box(spot, bottom, size, yaw + rng.uniform(-0.3, 0.3)))
        bottom += size[2]
    return parts


def _wall(rng: np.random.Generator, people: int | None) -> Layout:
    """1-3 people in motion-capture poses just in front of a wall (the wall turned up to 25
    degrees from facing the camera): each one's farthest joint 15-72 cm from it (a body's
    surface about 12 cm beyond its joints)."""
    layout = Layout()
    yaw = np.radians(rng.uniform(-25, 25))
    axes = rotation_z(yaw)
    turn = axes[:2, :2]
    wall = rng.uniform(2.2, 6.0)  # along the wall's normal from the camera
    count = _count(rng, people, 1, 3)
    for _ in range(60 * count):
        if len(layout.shapes) == count:
            break
        shape = sample_shape(rng)
        _, pose = sample_scene_pose(rng, "mocap")
        across = rng.uniform(-3.0, 3.0)
        ground = turn @ np.array([wall - 0.5, across])
        pose = _turned(pose, pose.yaw + facing_yaw(rng, ground))
        reach = (place_person(shape, pose, np.zeros(2)).joints[:, :2] @ turn)[:, 0].max()
        ground = turn @ np.array([wall - rng.uniform(0.03, 0.6) - 0.12 - reach, across])
        if abs(np.arctan2(ground[1], ground[0])) < 0.85 * HALF_FOV and all(
            np.linalg.norm(ground - g) > 0.7 for g in layout.grounds
        ):
            layout.add(shape, pose, ground)
    side = max((abs((g @ turn)[1]) for g in layout.grounds), default=0.0) + rng.uniform(1.0, 3.0)
    height = rng.uniform(1.2, 1.6)
    centre = np.array([(wall - 2.0) / 2, 0.0, height])
    layout.room = Box(axes @ centre, axes, np.array([(wall + 2.0) / 2, side, height]))
    return layout


FAMILIES: dict[str, Callable[[np.random.Generator, int | None], Layout]] = {
    "room": _room,
    "tpose": _tpose,
    "arms_up": _arms_up,
    "side_by_side": _side_by_side,
    "behind": _behind,
    "crowd": _crowd,
    "close_range": _close_range,
    "high_camera": _high_camera,
    "far": _far,
    "seated": _seated,
    "low": _low,
    "distractors": _distractors,
    "wall": _wall,
}


# --- rendering -------------------------------------------------------------------------------


def _render_layout(rng: np.random.Generator, layout: Layout, scenario: str) -> SyntheticFrame:
    camera = layout.camera or sample_camera(rng)
    intrinsics = layout.intrinsics or sample_intrinsics(rng)
    furniture = list(layout.furniture)
    occupied = [*layout.grounds, *(_prop_spot(p) for p in layout.props)]
    camera_spot = camera.position[:2]
    for _ in range(rng.poisson(layout.clutter)):  # never between the camera and someone
        spot = np.array([rng.uniform(0.8, 6.0), rng.uniform(-3.0, 3.0)])
        if all(distance_to_segment(spot, o, o) > 1.0 for o in occupied) and all(
            distance_to_segment(spot, camera_spot, g) > 0.8 for g in layout.grounds
        ):
            furniture += sample_furniture(rng, spot)
            occupied.append(spot)
    room = layout.room or sample_room(rng, camera, occupied)
    profile = sample_profile(rng, len(layout.shapes), intrinsics.height, intrinsics.width)
    scene = Scene(intrinsics, camera, room, furniture, profile, layout.shapes, layout.props)
    track_ids = list(range(1, len(layout.shapes) + 1))
    frame = render_frame(
        scene, layout.poses, layout.grounds, track_ids, rng, layout.lifts, scenario
    )
    return frame


def _prop_spot(prop: Box | Rod | Blob) -> np.ndarray:
    if isinstance(prop, Box):
        return prop.centre[:2]
    if isinstance(prop, Rod):
        return prop.a[:2]
    return prop.centre[:2]
