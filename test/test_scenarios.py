"""Scenario families: each makes what its name says, deterministically, with exact labels."""

import hashlib
import json

import cv2
import numpy as np
import pytest

from depth_pose_ros.cli import main
from depth_pose_ros.data import open_dataset
from depth_pose_ros.data.synthetic import dataset, poses
from depth_pose_ros.data.synthetic import scenarios as S  # noqa: N812
from depth_pose_ros.data.synthetic.body import J, Pose, forward_kinematics, sample_shape
from depth_pose_ros.data.synthetic.generator import generate_v1_frame
from depth_pose_ros.data.synthetic.render import Renderer, person_of
from depth_pose_ros.data.synthetic.scene import lowest_point, place_person

FRAMES = range(4)


def layout_and_frame(name: str, index: int):
    """A family's layout (world coordinates) and the frame made of it, as generate_frame does."""
    rng = S.scenario_rng("test", 0, index, name)
    layout = S.FAMILIES[name](rng, None)
    return layout, S._render_layout(rng, layout, name)


def world_joints(layout, k):
    return place_person(layout.shapes[k], layout.poses[k], layout.grounds[k], layout.lifts[k])


def test_version_1_frames_stay_bit_for_bit():
    """synthetic:test and synthetic:val are made by the first generator: their frames must not
    change, or figures on them stop being comparable."""
    expected = {
        ("test", 0, 0): "a5c72b36169e2bb8",
        ("test", 0, 7): "f933805ed99acddc",
        ("val", 0, 3): "fa7350fc410c8ae8",
        ("train", 1, 5): "f7acf2c839f63d66",
    }
    for (split, seed, index), digest in expected.items():
        frame = S.generate_frame(split, seed, index, scenario="v1")
        data = frame.depth_mm.tobytes() + frame.person_mask.tobytes()
        data += b"".join(p.joints_2d.tobytes() for p in frame.people)
        assert hashlib.sha256(data).hexdigest()[:16] == digest
    assert np.array_equal(generate_v1_frame("test", 0, 0).depth_mm, frame_of("v1").depth_mm)


def frame_of(name):
    return S.generate_frame("test", 0, 0, scenario=name)


@pytest.mark.parametrize("name", [*S.FAMILIES, None])
def test_every_family_is_deterministic_and_its_labels_are_exact(name):
    a = S.generate_frame("val", 2, 1, scenario=name)
    b = S.generate_frame("val", 2, 1, scenario=name)
    np.testing.assert_array_equal(a.depth_mm, b.depth_mm)
    assert a.scenario == (name or a.scenario) and a.scenario in S.FAMILIES
    for k, person in enumerate(a.people):
        assert person.mask_pixels == np.count_nonzero(a.person_mask == k + 1)
        for j in np.flatnonzero(person.visibility == 2):
            u, v = np.rint(person.joints_2d[j]).astype(int)
            assert a.person_mask[v, u] == k + 1, "a visible joint lies on its own person"


def test_a_family_does_not_depend_on_the_others_asked_for(tmp_path):
    root = dataset.write_dataset(
        tmp_path / "d", "test", 0, 4, workers=1, progress=False, scenarios=["tpose", "far"]
    )
    data = dataset.SyntheticDataset(root)
    assert [image["scenario"] for image in data.images] == ["tpose", "far", "tpose", "far"]
    alone = S.generate_frame("test", 0, 2, scenario="tpose")
    np.testing.assert_array_equal(np.nan_to_num(data[2].depth), np.nan_to_num(alone.depth_m))


@pytest.mark.parametrize("index", FRAMES)
def test_tpose_spreads_the_arms_wide(index):
    layout, frame = layout_and_frame("tpose", index)
    assert 1 <= len(frame.people) <= 3
    for person, shape in zip(frame.people, layout.shapes, strict=True):
        span = np.linalg.norm(person.joints_3d[6] - person.joints_3d[10])  # wrist to wrist
        assert span >= 0.65 * shape.height  # a T is 0.84 of the height, a Y about 0.7
        assert span >= 1.3 or shape.height < 1.85


@pytest.mark.parametrize("index", FRAMES)
def test_arms_up_raises_a_hand_above_the_shoulders(index):
    layout, _ = layout_and_frame("arms_up", index)
    for k in range(len(layout.shapes)):
        joints = world_joints(layout, k).joints
        assert max(joints[J.WRIST_L, 2], joints[J.WRIST_R, 2]) > joints[J.SHOULDER_L, 2]


def masks_touch(mask: np.ndarray, a: int, b: int) -> bool:
    grown = cv2.dilate((mask == a).astype(np.uint8), np.ones((3, 3), np.uint8))
    return bool(np.any(grown.astype(bool) & (mask == b)))


@pytest.mark.parametrize("index", FRAMES)
def test_side_by_side_people_touch_their_neighbours(index):
    frame = S.generate_frame("test", 0, index, scenario="side_by_side")
    assert 2 <= len(frame.people) <= 5
    for k in range(1, len(frame.people)):  # people stand in row order
        if frame.people[k - 1].mask_pixels and frame.people[k].mask_pixels:
            assert masks_touch(frame.person_mask, k, k + 1)


@pytest.mark.parametrize("index", range(8))
def test_behind_covers_a_share_of_the_person_behind_within_its_range(index):
    layout, frame = layout_and_frame("behind", index)
    assert len(frame.people) == 2
    alone = Renderer(layout.intrinsics)
    S.draw_people(alone, layout.camera, [world_joints(layout, 1)])
    own = np.count_nonzero(person_of(alone.label) == 0)
    covered = 1.0 - frame.people[1].mask_pixels / own
    assert S.BEHIND_SHARE[0] <= covered <= S.BEHIND_SHARE[1]


def test_crowds_far_people_and_high_cameras():
    for index in FRAMES:
        assert 5 <= len(S.generate_frame("test", 0, index, scenario="crowd").people) <= 7
        far = S.generate_frame("test", 0, index, scenario="far")
        assert all(p.joints_3d[0, 2] >= 4.0 for p in far.people)  # SpineBase depth
        high, _ = layout_and_frame("high_camera", index)
        assert 2.0 <= high.camera.position[2] <= 2.8
        looking = high.camera.rotation[:, 2]  # the optical axis in the world
        assert 25 <= np.degrees(np.arcsin(-looking[2])) <= 50 + 5  # roll adds a little


@pytest.mark.parametrize("index", FRAMES)
def test_close_range_shows_the_upper_body_and_no_floor(index):
    layout, frame = layout_and_frame("close_range", index)
    person = frame.people[0]
    assert 0.5 <= person.joints_3d[20, 2] <= 1.6  # SpineShoulder depth
    depth = frame.depth_m
    v, u = np.nonzero(np.isfinite(depth))
    i = frame.intrinsics
    optical = np.column_stack(
        [(u - i.cx) / i.fx * depth[v, u], (v - i.cy) / i.fy * depth[v, u], depth[v, u]]
    )
    world = optical @ layout.camera.rotation.T + layout.camera.position
    assert world[:, 2].min() > 0.25, "no pixel shows the floor (or anything near it)"


def test_seated_and_low_people():
    for index in FRAMES:
        seated, _ = layout_and_frame("seated", index)
        assert all(p.sitting for p in seated.poses) and seated.furniture
        low, _ = layout_and_frame("low", index)
        for k, shape in enumerate(low.shapes):
            top = world_joints(low, k).joints[:, 2].max() - low.lifts[k]
            standing = forward_kinematics(shape, Pose(np.zeros((25, 3)), 0.0))[0][:, 2]
            assert top < 0.85 * np.ptp(standing)


@pytest.mark.parametrize("index", range(6))
def test_distractors_are_in_view_and_never_labelled(index):
    layout, frame = layout_and_frame("distractors", index)
    assert len({id(p) for p in layout.props}) >= 2 and len(frame.people) == len(layout.shapes)
    assert frame.distractor_mask is not None and frame.distractor_mask.any()
    assert not np.any(frame.person_mask[frame.distractor_mask])


def test_nobody_frames_exist_among_the_distractors():
    counts = [len(S.generate_frame("test", 0, i, scenario="distractors").people) for i in range(10)]
    assert 0 in counts and max(counts) >= 1


def test_scene_poses_stay_within_joint_limits():
    rng = np.random.default_rng(2)
    for family in S.SCENE_FAMILIES:
        for _ in range(40):
            _, pose = S.sample_scene_pose(rng, family)
            for joint in J:
                limits = poses.JOINT_LIMITS.get(joint, ((0, 0),) * 3)
                low, high = np.array(limits, dtype=float).T
                assert np.all(pose.angles[joint] >= low - 0.1)
                assert np.all(pose.angles[joint] <= high + 0.1)


def test_the_mix_draws_every_family_and_renders_them_with_people_in_real_poses():
    seen = {S.generate_frame("train", 9, i).scenario for i in range(60)}
    assert seen >= {"room", "crowd", "seated"} and len(seen) >= 8


def test_synthetic_hard_has_the_same_number_of_frames_of_every_family(tmp_path, monkeypatch):
    hard = dataset.NAMED_SETS["hard"]
    assert hard.frames == dataset.HARD_FRAMES_PER_FAMILY * len(S.HARD_FAMILIES) == 40 * 11
    assert hard.scenarios == S.HARD_FAMILIES and hard.split == "test"
    assert set(S.SCENARIOS) - set(S.HARD_FAMILIES) == {"wall"}  # a set of its own
    assert dataset.NAMED_SETS["wall"].scenarios == ("wall",)
    tuning = dataset.NAMED_SETS["hard-val"]  # the same families, from the validation split
    assert (tuning.split, tuning.frames, tuning.scenarios) == ("val", hard.frames, hard.scenarios)
    monkeypatch.setenv("DEPTH_POSE_CACHE", str(tmp_path))
    small = dataset.NamedSet("test", len(S.HARD_FAMILIES), 2, S.HARD_FAMILIES)
    monkeypatch.setitem(dataset.NAMED_SETS, "hard", small)
    data = open_dataset("synthetic:hard", progress=False)
    assert [image["scenario"] for image in data.images] == list(S.HARD_FAMILIES)
    # written by generator version 3; its frames are version 2's (pinned by the next test)
    assert data.info["generator_version"] == 3


def test_synthetic_hard_frames_stay_as_generator_version_2_made_them():
    """Adding a family changes the mix, never a family's own frames: hard stays comparable."""
    expected = {"tpose": "440c1ba59aeff75b", "crowd": "6a8d891fd26a5afc", "low": "b99e7d4148e7a08a"}
    for name, digest in expected.items():
        frame = S.generate_frame("test", 0, 11, scenario=name)
        data = frame.depth_mm.tobytes() + frame.person_mask.tobytes()
        assert hashlib.sha256(data).hexdigest()[:16] == digest


def test_wall_people_stand_just_in_front_of_the_wall():
    for index in FRAMES:
        layout, frame = layout_and_frame("wall", index)
        room = layout.room
        normal = room.axes[:, 0]
        wall = float(room.centre @ normal + room.half[0])
        for k in range(len(layout.shapes)):
            farthest = float((world_joints(layout, k).joints @ normal).max())
            assert 0.14 < wall - farthest < 0.73
        assert 1 <= len(frame.people) <= 3


def test_preview_and_data_sets_take_scenarios_from_the_command_line(tmp_path, capsys):
    preview = tmp_path / "p.png"
    assert main(["synth", "--scenario", "tpose", "side_by_side", "--preview", str(preview)]) == 0
    assert cv2.imread(str(preview)).shape == (3 * 424, 4 * 512, 3)
    out = tmp_path / "d"
    arguments = ["synth", "--scenario", "behind", "--frames", "2", "--workers", "1"]
    assert main([*arguments, "--out", str(out)]) == 0
    info = json.loads((out / "dataset.json").read_text())
    assert info["scenarios"] == ["behind"] and info["generator_version"] == 3
    with pytest.raises(SystemExit):
        main(["synth", "--scenario", "nonsense", "--preview", str(preview)])
    assert "invalid choice" in capsys.readouterr().err


def test_people_lying_on_a_sofa_rest_on_its_seat():
    rng = np.random.default_rng(4)
    shape = sample_shape(rng)
    pose = poses.within_limits(poses.lying(rng))
    on_floor = place_person(shape, pose, np.zeros(2))
    on_sofa = place_person(shape, pose, np.zeros(2), lift=0.42)
    assert lowest_point(on_floor.primitives) == pytest.approx(0.0, abs=1e-9)
    assert lowest_point(on_sofa.primitives) == pytest.approx(0.42, abs=1e-9)
    seat = max(box.centre[2] + box.half[2] for box in S._sofa(rng, np.zeros(2), 0.0, 0.42, 2.0))
    assert seat >= 0.42
