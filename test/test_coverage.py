"""Pose coverage: normalisation, clusters, missing clusters, novel poses, reports, the CLI."""

import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depth_pose_ros.cli import main
from depth_pose_ros.core import schema
from depth_pose_ros.data.synthetic.scenarios import generate_frame
from depth_pose_ros.evaluation import pose_sources
from depth_pose_ros.evaluation.coverage import (
    MIN_JOINTS,
    CoverageError,
    cluster,
    coverage,
    normalise,
    pose_set,
)
from depth_pose_ros.evaluation.pose_report import clusters_sheet, coverage_sheet
from depth_pose_ros.ros.bag import BagWriter

ARMS = ("tpose", "arms_up")


def family_poses(families, frames, seed):
    """Ground-truth 3D skeletons (and their family) of generated frames."""
    skeletons, groups = [], []
    for family in families:
        for index in range(frames):
            frame = generate_frame("train", seed, index, scenario=family)
            for person in frame.people:
                joints = person.joints_3d.astype(np.float64).copy()
                joints[person.visibility == 0] = np.nan
                skeletons.append((f"{family}-{index}", joints))
                groups.append(family)
    return skeletons, groups


@pytest.fixture(scope="module")
def sets():
    reference = pose_set("reference", *family_poses([*ARMS, "room", "seated"], 14, 1))
    target = pose_set("target", *family_poses(["room", "seated"], 28, 2))
    return reference, target


def some_pose(seed: int) -> np.ndarray:
    frame = generate_frame("train", seed, 0, scenario="room")
    return frame.people[0].joints_3d.astype(np.float64)


@settings(max_examples=40, deadline=None)
@given(
    shift=st.tuples(*[st.floats(-3, 3)] * 3),
    scale=st.floats(0.3, 3.0),
    heading=st.floats(-np.pi, np.pi),
)
def test_normalisation_ignores_position_size_and_heading(shift, scale, heading):
    pose = some_pose(3)
    cos, sin = np.cos(heading), np.sin(heading)
    turn = np.array([[cos, 0.0, sin], [0.0, 1.0, 0.0], [-sin, 0.0, cos]])  # about the vertical
    moved = (pose @ turn.T) * scale + np.array(shift)
    np.testing.assert_allclose(normalise(moved[None])[0], normalise(pose[None])[0], atol=1e-9)
    flat = normalise(pose[None, :, :2])[0]  # 2D: position and size only
    np.testing.assert_allclose(normalise(pose[None, :, :2] * scale + shift[:2])[0], flat)
    torso = normalise(pose[None])[0]
    assert np.linalg.norm(torso[schema.JOINT_INDEX["SpineShoulder"]]) == pytest.approx(1.0)
    assert np.abs(torso[schema.JOINT_INDEX["SpineBase"]]).max() < 1e-12


def test_normalisation_faces_the_body_to_the_camera():
    pose = normalise(some_pose(4)[None])[0]
    left = pose[schema.JOINT_INDEX["HipLeft"]] - pose[schema.JOINT_INDEX["HipRight"]]
    assert left[0] > 0 and abs(left[2]) < 0.5 * left[0]


def test_a_target_without_arm_poses_misses_the_arm_clusters(sets):
    reference, target = sets
    clustering = cluster(reference, 12)
    groups = np.array(reference.extra["groups"])
    result = coverage(clustering, target)
    arm_clusters = []
    for c in clustering.clusters:
        members = groups[clustering.labels == c.id]
        if np.isin(members, ARMS).mean() >= 0.8 and len(members) >= 5:
            arm_clusters.append(c.id)
    assert arm_clusters, "the arm poses form clusters of their own"
    assert set(arm_clusters) <= {c.cluster.id for c in result.missing}
    document = result.to_dict()
    assert {c["id"] for c in document["clusters"] if c["missing"]} >= set(arm_clusters)
    first = document["clusters"][arm_clusters[0]]
    assert first["reference_count"] > 0 and first["target_count"] <= 1
    # The reference against itself misses nothing and finds nothing novel.
    itself = coverage(clustering, reference)
    assert itself.missing == [] and itself.novel == []


def test_novel_finds_poses_far_from_every_reference_pose(sets):
    reference, target = sets
    clustering = cluster(reference, 12)
    odd = some_pose(5)
    hands = [schema.JOINT_INDEX[n] for n in ("WristLeft", "HandLeft", "WristRight", "HandRight")]
    odd[hands] += np.array([0.0, 1.2, -0.9])  # hands far below the feet and in front
    rows = [*zip(target.frames, target.joints, strict=True), ("odd-1", odd)]
    injected = pose_set("injected", rows)
    result = coverage(clustering, injected)
    novel_frames = [injected.frames[n.index] for n in result.novel]
    assert "odd-1" in novel_frames
    assert result.frames_to_annotate()[0] == "odd-1"  # the farthest first


def test_skeletons_with_too_few_joints_are_counted_not_clustered():
    full = some_pose(6)
    few = full.copy()
    few[MIN_JOINTS - 2 :] = np.nan
    no_torso = full.copy()
    no_torso[schema.JOINT_INDEX["SpineShoulder"]] = np.nan
    poses = pose_set("mixed", [("a", full), ("b", few), ("c", no_torso)])
    assert poses.frames == ["a"] and poses.skipped == 2


def test_reports_for_empty_and_tiny_inputs(tmp_path, sets):
    reference, _ = sets
    with pytest.raises(CoverageError, match="no skeleton to cluster"):
        cluster(pose_set("empty", []))
    tiny = pose_set("tiny", [("only", some_pose(7))])
    one = cluster(tiny, 24)
    assert len(one.clusters) == 1 and one.clusters[0].count == 1
    assert clusters_sheet(one).shape[0] > 0
    empty_target = coverage(cluster(reference, 6), pose_set("empty", []))
    assert len(empty_target.missing) == len(empty_target.clusters)  # it has none of them
    assert coverage_sheet(empty_target).shape[0] > 0


def test_coco_sources_are_3d_when_every_person_has_metric_joints():
    rows = [(f"{k}", some_pose(k)) for k in range(3)]
    annotations = []
    for k, (_, joints) in enumerate(rows):
        annotations.append(
            {
                "image_id": k,
                "category_id": 1,
                "keypoints": [v for x, y, _ in joints for v in (100 * x, 100 * y, 2)],
                "keypoints_3d": joints.ravel().tolist(),
            }
        )
    document = {"images": [{"id": k} for k in range(3)], "annotations": annotations}
    assert pose_sources.from_coco("doc", document).dims == 3
    del annotations[0]["keypoints_3d"]
    assert pose_sources.from_coco("doc", document).dims == 2
    with pytest.raises(CoverageError, match="neither"):
        pose_sources.from_coco("bad", {"images": []})


def test_the_cli_writes_clusters_and_coverage_from_a_data_set_and_a_bag(tmp_path, capsys):
    from depth_pose_ros.core.skeleton import Skeleton

    data = tmp_path / "data"
    assert (
        main(["synth", "--frames", "8", "--seed", "3", "--out", str(data), "--workers", "1"]) == 0
    )
    out = tmp_path / "clusters"
    assert main(["poses", "clusters", str(data), "--out", str(out), "--clusters", "3"]) == 0
    document = json.loads((out / "clusters.json").read_text())
    assert document["space"] == "3d" and sum(c["count"] for c in document["clusters"]) > 0
    assert cv2.imread(str(out / "clusters.png")) is not None
    bag = tmp_path / "outputs.mcap"
    with BagWriter(bag) as writer:
        for k in range(4):
            skeleton = Skeleton(xyz=some_pose(k), state=np.full(21, 2, np.uint8), score=0.9)
            writer.write_skeletons("/depth_pose/skeletons", 10**9 * (k + 1), "cam", [skeleton])
    frames_out = tmp_path / "todo.txt"
    arguments = ["poses", "coverage", "--reference", str(data), "--target", str(bag)]
    arguments += ["--out", str(tmp_path / "cov"), "--clusters", "3"]
    assert main([*arguments, "--frames-out", str(frames_out)]) == 0
    report = json.loads((tmp_path / "cov" / "coverage.json").read_text())
    assert report["target_poses"] == 4 and len(report["clusters"]) == 3
    assert frames_out.read_text().startswith("# frames of")
    capsys.readouterr()
    wrong = [*arguments[:-4], "--topic", "/nothing", "--out", str(tmp_path / "x")]
    assert main(wrong) == 1
    assert "/nothing" in capsys.readouterr().err
