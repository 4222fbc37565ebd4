"""The synthetic generator: determinism, exact and consistent ground truth, realism checks."""

import itertools
import json

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from depth_pose_ros.cli import main
from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.skeleton import KeypointState
from depth_pose_ros.data import coco, open_dataset
from depth_pose_ros.data.synthetic import dataset, poses, sequence
from depth_pose_ros.data.synthetic.body import J, sample_shape
from depth_pose_ros.data.synthetic.generator import OCCLUDED, OUTSIDE, VISIBLE
from depth_pose_ros.data.synthetic.geometry import project
from depth_pose_ros.data.synthetic.render import Box, Renderer
from depth_pose_ros.data.synthetic.scenarios import FAMILIES, generate_frame
from depth_pose_ros.data.synthetic.sequence import generate_sequence
from depth_pose_ros.ros.bag import BagReader
from depth_pose_ros.ros.recordings import write_sequence_bag

INTRINSICS = CameraIntrinsics(width=64, height=48, fx=50.0, fy=50.0, cx=32.0, cy=24.0)


def test_frames_are_deterministic_per_split_seed_and_index():
    a, b = generate_frame("train", 7, 3), generate_frame("train", 7, 3)
    np.testing.assert_array_equal(a.depth_mm, b.depth_mm)
    assert len(a.people) == len(b.people)
    for p, q in zip(a.people, b.people, strict=True):
        np.testing.assert_array_equal(p.joints_3d, q.joints_3d)
    for other in (generate_frame("test", 7, 3), generate_frame("train", 8, 3)):
        assert not np.array_equal(a.depth_mm, other.depth_mm)


@pytest.mark.parametrize("index", range(6))
def test_ground_truth_is_consistent_with_the_rendered_frame(index):
    frame = generate_frame("val", 1, index)
    height, width = frame.depth_mm.shape
    assert (height, width) == (424, 512)
    assert 0 <= len(frame.people) <= 7
    for k, person in enumerate(frame.people):
        np.testing.assert_allclose(
            person.joints_2d, project(person.joints_3d, frame.intrinsics), rtol=1e-5, atol=1e-3
        )
        inside = (
            (person.joints_2d[:, 0] >= 0)
            & (person.joints_2d[:, 0] <= width - 1)
            & (person.joints_2d[:, 1] >= 0)
            & (person.joints_2d[:, 1] <= height - 1)
            & (person.joints_3d[:, 2] > 0)
        )
        np.testing.assert_array_equal(person.visibility != OUTSIDE, inside)
        for j in np.flatnonzero(person.visibility == VISIBLE):
            u, v = np.rint(person.joints_2d[j]).astype(int)
            assert frame.person_mask[v, u] == k + 1, "a visible joint lies on its own person"
        assert person.mask_pixels == np.count_nonzero(frame.person_mask == k + 1)
        assert person.ignore == (np.count_nonzero(person.visibility == VISIBLE) < 4)


def test_depth_is_kinect_like():
    frame = generate_frame("train", 2, 0)
    depth = frame.depth_mm
    assert depth.dtype == np.uint16
    valid = depth[depth > 0]
    assert valid.min() >= 500, "nothing nearer than the sensor's minimum range"
    assert valid.max() <= 8000
    assert 0.001 < np.mean(depth == 0) < 0.6, "some but not most pixels are invalid"


def test_many_frames_cover_the_variety_the_generator_promises():
    frames = [generate_frame("train", 11, i) for i in range(40)]
    counts = {len(f.people) for f in frames}
    assert counts >= {1, 2, 3, 4, 5}
    people = [p for f in frames for p in f.people]
    assert any((p.visibility == OUTSIDE).any() and (p.visibility == VISIBLE).any() for p in people)
    assert any((p.visibility == OCCLUDED).sum() >= 3 for p in people), "occlusion happens"
    assert any(p.ignore for p in people) and not all(p.ignore for p in people)
    heights = [np.ptp(p.joints_3d[:, 1]) for p in people if not p.ignore]
    assert min(heights) < 1.2 < max(heights)


def test_body_shapes_range_from_children_to_tall_adults():
    rng = np.random.default_rng(0)
    heights = [sample_shape(rng).height for _ in range(400)]
    assert min(heights) < 1.2 and max(heights) > 1.9
    assert all(1.0 <= h <= 2.02 for h in heights)


@pytest.mark.parametrize("family", list(poses.FAMILIES))
def test_poses_stay_within_joint_limits(family):
    rng = np.random.default_rng(1)
    sampled = [poses.sample_pose(rng, family) for _ in range(150)]
    sampled += [poses.gait(p, rng.uniform(0, 2 * np.pi), 1.2) for p in sampled[:50]]
    for pose in sampled:
        for joint in J:
            limits = poses.JOINT_LIMITS.get(joint, ((0, 0),) * 3)
            for value, (low, high) in zip(pose.angles[joint], limits, strict=True):
                assert low - 1e-9 <= value <= high + 1e-9, (family, joint.name, value)


def test_renderer_hits_primitives_at_their_exact_depth():
    renderer = Renderer(INTRINSICS)
    renderer.room(Box(np.zeros(3), np.eye(3), np.array([50.0, 50.0, 6.0])), floor_axis=1)
    assert renderer.depth[24, 32] == pytest.approx(6.0)
    renderer.box(Box(np.array([0.0, 0.0, 5.0]), np.eye(3), np.array([0.2, 0.2, 0.3])), 3)
    assert renderer.depth[24, 32] == pytest.approx(4.7)
    renderer.ellipsoid(np.array([0.0, 0.0, 4.0]), np.eye(3), np.array([0.1, 0.1, 0.25]), 5)
    assert renderer.depth[24, 32] == pytest.approx(3.75)
    renderer.capsule(np.array([-0.5, 0.0, 3.0]), np.array([0.5, 0.0, 3.0]), 0.1, 7)
    assert renderer.depth[24, 32] == pytest.approx(2.9)
    assert renderer.label[24, 32] == 7
    capsule_end = np.array([0.5, 0.0, 3.0])  # the rounded cap beyond the segment
    u = round(50 * 0.55 / 3.0 + 32)
    assert np.isfinite(renderer.depth[24, u]) and renderer.label[24, u] == 7
    np.testing.assert_array_less(renderer.depth[24, u], capsule_end[2] + 0.1)


def test_sequences_move_smoothly_with_stable_ids():
    frames = list(generate_sequence(seed=4, seconds=2.0, people=2))
    assert len(frames) == 60
    for before, after in itertools.pairwise(frames):
        assert [p.track_id for p in after.people] == [1, 2]
        for p, q in zip(before.people, after.people, strict=True):
            step = np.linalg.norm(q.joints_3d - p.joints_3d, axis=1).max()
            assert step < 0.12, "no joint jumps more than 12 cm between 30 Hz frames"
    again = list(generate_sequence(seed=4, seconds=0.2, people=2))
    np.testing.assert_array_equal(again[5].depth_mm, frames[5].depth_mm)


def test_people_in_sequences_keep_apart_and_walkers_get_somewhere():
    """Nobody starts inside someone else or walks into them, and no walker is stuck behind
    someone standing in the way (the demo's seed once kept one inside a seated person for
    the whole recording)."""
    for seed in range(20):
        _, _, persons = sequence._cast(seed, people=3, split="train")
        tracks = np.array(
            [[ground for _, ground in states] for states in sequence._motion(persons, 300, 30.0)]
        )  # (frames, people, 2)
        gaps = np.linalg.norm(tracks[:, :, None] - tracks[:, None, :], axis=3)
        apart = gaps[:, ~np.eye(3, dtype=bool)]
        assert apart.min() >= 0.6, f"seed {seed}: two people {apart.min():.2f} m apart"
        walked = np.linalg.norm(np.diff(tracks, axis=0), axis=2).sum(axis=0)
        for person, distance in zip(persons, walked, strict=True):
            if isinstance(person, sequence._Walker):
                assert distance > 1.0, f"seed {seed}: a walker walked {distance:.2f} m in 10 s"


def test_data_set_round_trip_and_coco_file(tmp_path):
    root = dataset.write_dataset(tmp_path / "d", "train", 5, 6, workers=2, progress=False)
    data = dataset.SyntheticDataset(root)
    assert len(data) == 6
    for index in (0, 5):
        sample = data[index]
        frame = generate_frame("train", 5, index)  # independent of workers and order
        expected = frame.depth_m
        np.testing.assert_allclose(sample.depth, expected, rtol=1e-6)
        np.testing.assert_array_equal(sample.mask, frame.person_mask)
        assert sample.intrinsics == frame.intrinsics
        for person, truth in zip(sample.people, frame.people, strict=True):
            labelled = truth.visibility > 0
            np.testing.assert_allclose(person.uv[labelled], truth.joints_2d[labelled], atol=1e-3)
            np.testing.assert_array_equal(person.visibility, truth.visibility)
            np.testing.assert_allclose(person.xyz, truth.joints_3d, atol=1e-4)
    ground_truth = data.coco()
    assert ground_truth["info"]["seed"] == 5
    assert {image["scenario"] for image in ground_truth["images"]} <= set(FAMILIES)
    official = COCO(str(root / "annotations.json"))
    assert len(official.getImgIds()) == 6
    for ann in ground_truth["annotations"]:
        keypoints = np.asarray(ann["keypoints"]).reshape(-1, 3)
        _, _, w, h = coco.keypoint_box(keypoints[:, :2], keypoints[:, 2])
        assert ann["area"] == pytest.approx(w * h, abs=1e-2)
    with pytest.raises(FileExistsError):
        dataset.write_dataset(root, "train", 5, 2, progress=False)


def test_named_split_is_generated_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPTH_POSE_CACHE", str(tmp_path))
    monkeypatch.setitem(dataset.NAMED_SETS, "test", dataset.NamedSet("test", 3, 1, ("v1",)))
    first = open_dataset("synthetic:test", progress=False)
    assert len(first) == 3 and first.info["split"] == "test" and first.info["seed"] == 0
    assert first.info["generator_version"] == 1 and first.root.name.startswith("synthetic-v1-")
    stamp = (first.root / "annotations.json").stat().st_mtime_ns
    second = open_dataset("synthetic:test", progress=False)
    assert second.root == first.root
    assert (second.root / "annotations.json").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="unknown data set"):
        open_dataset("nonsense:thing")


def test_sequence_bag_has_depth_camera_info_and_ground_truth_at_30_hz(tmp_path):
    path = write_sequence_bag(tmp_path / "s.mcap", 3, 0.5, 1, progress=False)
    with BagReader(path) as bag:
        assert {n: t.count for n, t in bag.topics.items()} == {
            "/depth/image_raw": 15,
            "/depth/camera_info": 15,
            "/ground_truth/skeletons": 15,
        }
        frames = list(bag.depth_frames("/depth/image_raw"))
        truth = list(bag.skeleton_frames("/ground_truth/skeletons"))
    stamps = np.array([f.stamp_ns for f in frames])
    np.testing.assert_array_equal(np.diff(stamps), round(1e9 / 30))
    assert [t.stamp_ns for t in truth] == list(stamps)
    expected = list(generate_sequence(3, 0.5, 1))
    for got, frame in zip(truth, expected, strict=True):
        person = frame.people[0]
        skeleton = got.skeletons[0]
        np.testing.assert_allclose(skeleton.xyz, person.joints_3d, atol=1e-6)
        states = np.where(person.visibility == VISIBLE, KeypointState.TRACKED, 0)
        states = np.where(person.visibility == OCCLUDED, KeypointState.INFERRED, states)
        np.testing.assert_array_equal(skeleton.state, states)


def test_synth_command_modes_and_errors(tmp_path, capsys):
    assert main(["synth", "--preview", str(tmp_path / "p.png"), "--frames", "2"]) == 0
    preview = cv2.imread(str(tmp_path / "p.png"))
    assert preview.shape == (424, 1024, 3)
    assert main(["synth", "--out", str(tmp_path / "d"), "--frames", "2", "--workers", "1"]) == 0
    info = json.loads((tmp_path / "d" / "dataset.json").read_text())
    assert info["frames"] == 2
    assert main(["synth", "--bag", str(tmp_path / "b.mcap")]) == 1
    assert "add --sequence" in capsys.readouterr().err


def test_data_sets_joined_by_commas_read_as_one(tmp_path):
    for name, seed in (("a", 1), ("b", 2)):
        dataset.write_dataset(tmp_path / name, "train", seed, 3, progress=False, workers=1)
    joined = open_dataset(f"{tmp_path / 'a'},{tmp_path / 'b'}")
    first, second = open_dataset(str(tmp_path / "a")), open_dataset(str(tmp_path / "b"))
    assert len(joined) == 6
    np.testing.assert_array_equal(joined[4].depth, second[1].depth)
    document = joined.coco()
    ids = [image["id"] for image in document["images"]]
    assert len(set(ids)) == 6 and joined[4].image_id == ids[4]
    people = len(first.coco()["annotations"]) + len(second.coco()["annotations"])
    assert len(document["annotations"]) == people
    assert {a["image_id"] for a in document["annotations"]} <= set(ids)
    with pytest.raises(IndexError):
        joined[6]
