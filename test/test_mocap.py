"""Real motion-capture poses retargeted onto the synthetic body: faithful, within limits,
mirrored, sampled for coverage, shipped with CMU's acknowledgment."""

import json

import numpy as np
import pytest

from depth_pose_ros.cli import main
from depth_pose_ros.data.synthetic import mocap, poses
from depth_pose_ros.data.synthetic.body import TREE, J, Pose, forward_kinematics, sample_shape

M = {name: i for i, name in enumerate(mocap.MOCAP_JOINTS)}
# Our joints (Kinect v2 order) that stand for each mocap joint, for poses of our own body.
OURS = {
    "pelvis": J.SPINE_BASE, "chest": J.SPINE_MID, "neck": J.SPINE_SHOULDER, "head": J.NECK,
    "head_top": J.HEAD, "l_shoulder": J.SHOULDER_L, "l_elbow": J.ELBOW_L, "l_wrist": J.WRIST_L,
    "l_hand": J.HAND_L, "r_shoulder": J.SHOULDER_R, "r_elbow": J.ELBOW_R, "r_wrist": J.WRIST_R,
    "r_hand": J.HAND_R, "l_hip": J.HIP_L, "l_knee": J.KNEE_L, "l_ankle": J.ANKLE_L,
    "l_foot": J.FOOT_L, "r_hip": J.HIP_R, "r_knee": J.KNEE_R, "r_ankle": J.ANKLE_R,
    "r_foot": J.FOOT_R,
}  # fmt: skip
COMPARED = [j for j in J if j not in (J.HAND_TIP_L, J.HAND_TIP_R, J.THUMB_L, J.THUMB_R)]


def as_mocap(pose: Pose) -> np.ndarray:
    """A pose of the reference body as the mocap file holds poses (24 joints, mocap axes)."""
    joints, frames = forward_kinematics(mocap.reference_shape(), pose)
    out = np.zeros((len(mocap.MOCAP_JOINTS), 3))
    for name, joint in OURS.items():
        out[M[name]] = joints[joint]
    out[M["spine"]] = joints[J.SPINE_BASE] + 0.1 * frames[J.SPINE_BASE][:, 2]  # lower back
    for side, foot in (("l", J.FOOT_L), ("r", J.FOOT_R)):
        out[M[f"{side}_toe"]] = joints[foot] + 0.05 * frames[foot][:, 0]
    return out @ mocap._MOCAP_TO_BODY  # body axes -> mocap axes (x left, y up, z forward)


@pytest.mark.parametrize("family", ["standing", "sitting", "bending", "crouching"])
def test_retargeting_reproduces_poses_of_our_own_body(family):
    rng = np.random.default_rng(5)
    shape = mocap.reference_shape()
    for _ in range(20):
        original = poses.sample_pose(rng, family)
        original = Pose(original.angles, rng.uniform(-20, 20), original.pitch, original.roll)
        retargeted = mocap.retarget(as_mocap(original))
        want = forward_kinematics(shape, original)[0][COMPARED]
        got = forward_kinematics(shape, retargeted)[0][COMPARED]
        assert np.abs(got - want).max() < 0.05  # metres, at any joint
        assert mocap.retarget_error(as_mocap(original), retargeted) < 2.0  # degrees


def test_library_poses_keep_bone_lengths_and_joint_limits():
    library = mocap.load_library()
    rng = np.random.default_rng(0)
    parent = dict(TREE)
    for index in rng.choice(len(library), 200, replace=False):
        pose = library.pose(int(index))
        for joint in J:
            low, high = np.array(poses.JOINT_LIMITS.get(joint, ((0, 0),) * 3), dtype=float).T
            assert np.all(pose.angles[joint] >= low - 0.2)  # float16 storage: 0.1 degree
            assert np.all(pose.angles[joint] <= high + 0.2)
        shape = sample_shape(rng)
        joints, _ = forward_kinematics(shape, pose)
        for joint, of in parent.items():
            length = np.linalg.norm(joints[joint] - joints[of])
            assert length == pytest.approx(np.linalg.norm(shape.offsets[joint]), abs=1e-9)


def test_the_shipped_library_is_real_varied_and_credited():
    library = mocap.load_library()
    assert 10_000 <= len(library) <= 30_000
    assert library.mirror.any() and not library.mirror.all()
    assert len(set(library.clip.tolist())) >= 70
    assert "mocap.cs.cmu.edu" in library.info["acknowledgment"]
    assert "NSF EIA-0196217" in library.info["acknowledgment"]
    arms = np.array([library.pose(i).angles[J.ELBOW_L, 1] for i in range(0, len(library), 7)])
    assert (arms > 75).mean() > 0.02, "arms raised sideways (T and Y) are in the library"


def test_mirroring_swaps_left_and_right():
    rng = np.random.default_rng(1)
    joints = rng.normal(size=(len(mocap.MOCAP_JOINTS), 3))
    flipped = mocap.mirrored(joints)
    np.testing.assert_array_equal(mocap.mirrored(flipped), joints)
    assert flipped[M["r_hand"], 0] == -joints[M["l_hand"], 0]
    assert flipped[M["pelvis"], 1] == joints[M["pelvis"], 1]


def test_coverage_sampling_keeps_poses_that_differ_somewhere_by_the_distance():
    base = np.zeros((25, 3))
    near = base.copy()
    near[3, 0] += 0.03  # 3 cm at one joint: the same pose
    far = base.copy()
    far[7, 2] += 0.2  # 20 cm at one joint: another pose
    kept = mocap.coverage_sample(np.stack([base, near, far, near + 0.001]), 0.05)
    np.testing.assert_array_equal(kept, [0, 2])


def test_poses_library_command_builds_from_a_mocap_file(tmp_path, capsys):
    rng = np.random.default_rng(3)
    originals = [poses.sample_pose(rng, "standing") for _ in range(6)]
    positions = np.stack([as_mocap(p) for p in originals + originals[:2]])  # two repeats
    clips = json.dumps([{"cmu_motion": "00_00", "description": "made up"}])
    source = tmp_path / "mocap.npz"
    np.savez(
        source,
        positions=positions.astype(np.float32),
        joint_names=np.array(mocap.MOCAP_JOINTS),
        parents=np.zeros(24, np.int32),
        clip_id=np.zeros(len(positions), np.int32),
        source_frame=np.arange(len(positions), dtype=np.int32),
        pelvis_height=np.ones(len(positions), np.float32),
        clips=clips,
    )
    out = tmp_path / "library.npz"
    assert main(["poses", "library", str(source), "--out", str(out)]) == 0
    assert "poses of 16" in capsys.readouterr().out
    library = mocap.load_library(out)
    assert len(library) <= 12, "the repeated poses are kept once"
    assert library.info["mocap_poses"] == 8 and library.info["acknowledgment"]
    assert main(["poses", "library", str(tmp_path / "missing.npz")]) == 1
    assert "does not exist" in capsys.readouterr().err
