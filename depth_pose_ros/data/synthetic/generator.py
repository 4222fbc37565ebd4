"""Synthetic depth frames and sequences with exact ground truth, deterministic from a seed.

Every frame draws its randomness from SeedSequence((split, seed, index)), so a frame does not
depend on how many were generated before it or on which worker made it, and the train, val and
test splits never share a random stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from depth_pose_ros.core import schema
from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import millimetres_to_metres
from depth_pose_ros.core.skeleton import KeypointState, Skeleton, TrackingState
from depth_pose_ros.data import coco
from depth_pose_ros.data.synthetic import poses
from depth_pose_ros.data.synthetic.body import (
    JOINT_DEPTH_TOLERANCE,
    BodyShape,
    Capsule,
    Pose,
    sample_shape,
)
from depth_pose_ros.data.synthetic.geometry import CameraPose, project
from depth_pose_ros.data.synthetic.render import (
    DISTRACTOR,
    FURNITURE,
    NEAR,
    Box,
    Renderer,
    person_label,
    person_of,
)
from depth_pose_ros.data.synthetic.scene import (
    PEOPLE_WEIGHTS,
    Blob,
    PlacedPerson,
    Rod,
    chair_for,
    distance_to_segment,
    facing_yaw,
    place_person,
    sample_camera,
    sample_furniture,
    sample_ground_points,
    sample_intrinsics,
    sample_room,
)
from depth_pose_ros.data.synthetic.sensor import SensorProfile, apply_sensor, sample_profile

GENERATOR_VERSION = 3  # bump when frames for the same seed change (v1: generate_v1_frame)
SPLITS = {"train": 0, "val": 1, "test": 2}
FPS = 30.0

# Joint visibility flags, COCO's v: joints outside the image are unlabelled.
OUTSIDE, OCCLUDED, VISIBLE = coco.UNLABELLED, coco.OCCLUDED, coco.VISIBLE


@dataclass
class PersonTruth:
    """Ground truth of one person in one frame (our 21 joints)."""

    track_id: int
    joints_2d: np.ndarray  # (21, 2) pixels (outside the image where OUTSIDE; NaN behind it)
    joints_3d: np.ndarray  # (21, 3) metres, camera optical frame
    visibility: np.ndarray  # (21,) OUTSIDE / OCCLUDED / VISIBLE
    mask_pixels: int

    @property
    def ignore(self) -> bool:
        return coco.is_ignored(self.visibility)

    def as_skeleton(self) -> Skeleton:
        """The person as a Skeleton: visible joints TRACKED, occluded INFERRED, outside the
        image NOT_TRACKED; 3D is exact for every joint."""
        state = np.select(
            [self.visibility == VISIBLE, self.visibility == OCCLUDED],
            [KeypointState.TRACKED, KeypointState.INFERRED],
            KeypointState.NOT_TRACKED,
        )
        return Skeleton(
            id=self.track_id,
            uv=self.joints_2d,
            xyz=self.joints_3d,
            confidence=(self.visibility > 0).astype(np.float32),
            state=state,
            score=1.0,
            tracking_state=TrackingState.TRACKED,
        )


@dataclass
class SyntheticFrame:
    depth_mm: np.ndarray  # (H, W) uint16, 0 invalid
    intrinsics: CameraIntrinsics
    people: list[PersonTruth]
    person_mask: np.ndarray  # (H, W) uint8: 0 nobody, k + 1 person k
    scenario: str = "v1"  # the scenario family that made the frame
    distractor_mask: np.ndarray | None = None  # (H, W) bool: person-like objects, where shown

    @property
    def depth_m(self) -> np.ndarray:
        """Depth in float32 metres, NaN invalid."""
        return millimetres_to_metres(self.depth_mm)


@dataclass
class Scene:
    """The static part of a frame or sequence."""

    intrinsics: CameraIntrinsics
    camera: CameraPose
    room: Box
    furniture: list[Box]
    profile: SensorProfile
    shapes: list[BodyShape]
    props: list[Box | Rod | Blob] = field(default_factory=list)  # distractors: never people


def frame_rng(split: str, seed: int, index: int) -> np.random.Generator:
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    return np.random.default_rng(np.random.SeedSequence((SPLITS[split], seed, index)))


def _people_count(rng: np.random.Generator, people: int | None) -> int:
    if people is not None:
        return people
    return int(rng.choice(len(PEOPLE_WEIGHTS), p=PEOPLE_WEIGHTS)) + 1


def sample_scene(
    rng: np.random.Generator,
    shapes: list[BodyShape],
    keep_clear: list[tuple[np.ndarray, np.ndarray]],
    extra_furniture: list[Box],
) -> Scene:
    """Camera, room, furniture and sensor for people who stand or walk along the floor segments
    `keep_clear` (furniture stays off them, but for an occasional occluder in front)."""
    camera = sample_camera(rng)
    intrinsics = sample_intrinsics(rng)
    furniture = list(extra_furniture)
    ends = [point for segment in keep_clear for point in segment]
    occupied = list(ends)

    def clear(spot: np.ndarray, margin: float) -> bool:
        return all(distance_to_segment(spot, a, b) > margin for a, b in keep_clear)

    for _ in range(rng.poisson(2.0)):
        spot = np.array([rng.uniform(0.8, 6.0), rng.uniform(-3.0, 3.0)])
        if clear(spot, 1.0):
            furniture += sample_furniture(rng, spot)
            occupied.append(spot)
    if ends and rng.random() < 0.35:  # something between the camera and someone
        spot = ends[rng.integers(len(ends))] * rng.uniform(0.35, 0.7)
        if clear(spot, 0.9) and np.linalg.norm(spot) > 0.7:
            furniture += sample_furniture(rng, spot)
            occupied.append(spot)
    room = sample_room(rng, camera, occupied)
    profile = sample_profile(rng, len(shapes), intrinsics.height, intrinsics.width)
    return Scene(intrinsics, camera, room, furniture, profile, shapes)


def _in_camera(box: Box, camera: CameraPose) -> Box:
    return Box(camera.to_camera(box.centre), camera.direction_to_camera(box.axes.T).T, box.half)


def draw_room(renderer: Renderer, camera: CameraPose, room: Box) -> None:
    """The walls, floor and ceiling of a room around the camera."""
    renderer.room(_in_camera(room, camera), floor_axis=2)


def draw_people(renderer: Renderer, camera: CameraPose, people: list[PlacedPerson]) -> None:
    """People k = 0, 1, ... labelled by person and body part."""
    for k, person in enumerate(people):
        for primitive in person.primitives:
            label = person_label(k, primitive.part)
            if isinstance(primitive, Capsule):
                renderer.capsule(
                    camera.to_camera(primitive.a),
                    camera.to_camera(primitive.b),
                    primitive.radius,
                    label,
                )
            else:
                renderer.ellipsoid(
                    camera.to_camera(primitive.centre),
                    camera.direction_to_camera(primitive.axes.T).T,
                    primitive.radii,
                    label,
                )


def _render(scene: Scene, people: list[PlacedPerson]) -> Renderer:
    camera = scene.camera
    renderer = Renderer(scene.intrinsics)
    draw_room(renderer, camera, scene.room)
    for box in scene.furniture:
        renderer.box(_in_camera(box, camera), FURNITURE)
    for prop in scene.props:
        if isinstance(prop, Box):
            renderer.box(_in_camera(prop, camera), DISTRACTOR)
        elif isinstance(prop, Rod):
            a, b = camera.to_camera(prop.a), camera.to_camera(prop.b)
            renderer.capsule(a, b, prop.radius, DISTRACTOR)
        else:
            axes = camera.direction_to_camera(prop.axes.T).T
            renderer.ellipsoid(camera.to_camera(prop.centre), axes, prop.radii, DISTRACTOR)
    draw_people(renderer, camera, people)
    return renderer


def _truth(
    scene: Scene, people: list[PlacedPerson], renderer: Renderer, track_ids: list[int]
) -> tuple[list[PersonTruth], np.ndarray]:
    owner = person_of(renderer.label)
    mask = np.where(owner >= 0, owner + 1, 0).astype(np.uint8)
    height, width = owner.shape
    truths = []
    for k, person in enumerate(people):
        joints_3d = schema.from_kinect25(scene.camera.to_camera(person.joints))
        tolerance = schema.from_kinect25(JOINT_DEPTH_TOLERANCE) * scene.shapes[k].scale
        tolerance *= scene.shapes[k].girth * scene.shapes[k].looseness
        with np.errstate(divide="ignore", invalid="ignore"):
            joints_2d = project(joints_3d, scene.intrinsics)
        z = joints_3d[:, 2]
        inside = (
            (z > NEAR)
            & (joints_2d[:, 0] >= 0)
            & (joints_2d[:, 0] <= width - 1)
            & (joints_2d[:, 1] >= 0)
            & (joints_2d[:, 1] <= height - 1)
        )
        visibility = np.full(schema.NUM_JOINTS, OUTSIDE, dtype=np.uint8)
        for j in np.flatnonzero(inside):
            u, v = np.rint(joints_2d[j]).astype(int)
            seen = owner[v, u] == k and renderer.depth[v, u] >= z[j] - tolerance[j]
            visibility[j] = VISIBLE if seen else OCCLUDED
        truths.append(
            PersonTruth(
                track_id=track_ids[k],
                joints_2d=np.where((z > NEAR)[:, None], joints_2d, np.nan).astype(np.float32),
                joints_3d=joints_3d.astype(np.float32),
                visibility=visibility,
                mask_pixels=int(np.count_nonzero(owner == k)),
            )
        )
    return truths, mask


def render_frame(
    scene: Scene,
    poses_now: list[Pose],
    grounds: list[np.ndarray],
    track_ids: list[int],
    rng: np.random.Generator,
    lifts: list[float] | None = None,
    scenario: str = "v1",
) -> SyntheticFrame:
    """Pose the scene's people (resting `lifts` metres above the floor, if given), render,
    apply the sensor and compute the ground truth."""
    lifts = lifts or [0.0] * len(grounds)
    people = [
        place_person(shape, pose, ground, lift)
        for shape, pose, ground, lift in zip(scene.shapes, poses_now, grounds, lifts, strict=True)
    ]
    renderer = _render(scene, people)
    truths, mask = _truth(scene, people, renderer, track_ids)
    depth_mm = apply_sensor(renderer, scene.profile, rng)
    distractors = (renderer.label == DISTRACTOR) & (depth_mm > 0) if scene.props else None
    return SyntheticFrame(depth_mm, scene.intrinsics, truths, mask, scenario, distractors)


def generate_v1_frame(
    split: str, seed: int, index: int, people: int | None = None
) -> SyntheticFrame:
    """Frame `index` of split `split` for `seed` as version 1 of the generator made it (1-4
    people, or `people`, with hand-written pose presets in a random room): what makes
    synthetic:test and synthetic:val, kept bit for bit so their figures stay comparable."""
    rng = frame_rng(split, seed, index)
    grounds = sample_ground_points(rng, _people_count(rng, people))
    shapes = [sample_shape(rng) for _ in grounds]
    chosen = [poses.sample_pose(rng) for _ in grounds]
    chosen = [
        Pose(p.angles, facing_yaw(rng, g), p.pitch, p.roll, p.sitting)
        for p, g in zip(chosen, grounds, strict=True)
    ]
    chairs = [
        box
        for shape, pose, ground in zip(shapes, chosen, grounds, strict=True)
        if pose.sitting
        for box in chair_for(place_person(shape, pose, ground), rng)
    ]
    scene = sample_scene(rng, shapes, [(g, g) for g in grounds], chairs)
    return render_frame(scene, chosen, grounds, list(range(1, len(grounds) + 1)), rng)
