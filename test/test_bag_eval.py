"""Bag evaluation, regression checks against golden outputs, playback, the demo."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from depth_pose_ros.cli import main
from depth_pose_ros.core.skeleton import KeypointState, Skeleton
from depth_pose_ros.evaluation.regression import compare
from depth_pose_ros.evaluation.sequence import SequenceRun, evaluate
from depth_pose_ros.inference.estimator import PoseEstimator, Thresholds
from depth_pose_ros.inference.pipeline import Pipeline
from depth_pose_ros.inference.tracking import Tracker
from depth_pose_ros.ros import bag_eval
from depth_pose_ros.ros.bag import BagReader, BagWriter
from depth_pose_ros.ros.recordings import write_sequence_bag

DEPTH_POSE = Path(sys.executable).with_name("depth-pose")


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bags") / "rec.mcap"
    return write_sequence_bag(path, seed=5, seconds=0.5, people=2, progress=False)


def pipeline(weights_path: Path, fallback=None) -> Pipeline:
    estimator = PoseEstimator(str(weights_path), "onnxruntime", Thresholds(person=0.0))
    return Pipeline(estimator, Tracker(), fallback)


def test_eval_bag_writes_outputs_metrics_and_pictures(tmp_path, tiny_weights, recording):
    out = tmp_path / "report"
    arguments = ["eval-bag", str(recording), "--out", str(out), "--weights", str(tiny_weights)]
    assert main(arguments) == 0
    for name in (
        "outputs.mcap",
        "metrics.json",
        "summary.md",
        "per_joint_ap.png",
        "overlays.png",
        "overlay.gif",
    ):
        assert (out / name).is_file(), name
    figures = json.loads((out / "metrics.json").read_text())
    assert figures["depth_frames"] == figures["processed_frames"] == 15
    assert {"mAP", "AP50", "AP75", "per_joint", "mpjpe_mm", "latency_ms"} <= set(figures)
    with BagReader(recording) as original, BagReader(out / "outputs.mcap") as outputs:
        sent = [f.stamp_ns for f in original.depth_frames("/depth/image_raw")]
        returned = [f.stamp_ns for f in outputs.skeleton_frames("/depth_pose/skeletons")]
    assert returned == sent
    assert main(arguments) == 1, "an evaluation is never overwritten"
    assert figures["flip_test"] is False
    flipped = tmp_path / "flipped"
    options = ["--flip-test", "--second-look"]
    assert main([*arguments[:3], str(flipped), *arguments[4:], *options]) == 0
    figures = json.loads((flipped / "metrics.json").read_text())
    assert figures["flip_test"] is figures["second_look"] is True


def test_bags_without_camera_info_need_intrinsics(tmp_path, tiny_weights, recording):
    stripped = tmp_path / "no_info.mcap"
    with BagReader(recording) as source, BagWriter(stripped) as target:
        for frame in source.depth_frames("/depth/image_raw"):
            target.write_depth("/depth/image_raw", frame.stamp_ns, frame.frame_id, frame.depth)
    with pytest.raises(Exception, match="no camera_info on /depth/camera_info"):
        bag_eval.run(stripped, pipeline(tiny_weights), progress=False)
    result = bag_eval.run(
        stripped, pipeline(tiny_weights, (365.0, 365.0, 256.0, 212.0)), progress=False
    )
    assert len(result.outputs) == 15 and not result.truth
    assert evaluate(result) is None


def test_unusable_bags_give_clear_errors(tmp_path, tiny_weights, recording, capsys):
    arguments = ["--weights", str(tiny_weights), "--out", str(tmp_path / "r")]
    assert main(["eval-bag", str(recording), "--depth-topic", "/camera/depth", *arguments]) == 1
    error = capsys.readouterr().err
    assert "no depth topic /camera/depth" in error and "/depth/image_raw" in error
    arguments[-1] = str(tmp_path / "r2")
    assert (
        main(["eval-bag", str(recording), "--depth-topic", "/depth/camera_info", *arguments]) == 1
    )
    assert (
        "carries sensor_msgs/msg/CameraInfo, not sensor_msgs/msg/Image" in capsys.readouterr().err
    )
    truncated = tmp_path / "truncated.mcap"
    truncated.write_bytes(recording.read_bytes()[: recording.stat().st_size // 3])
    arguments[-1] = str(tmp_path / "r3")
    assert main(["eval-bag", str(truncated), *arguments]) == 1
    assert "truncated.mcap" in capsys.readouterr().err


def test_regress_passes_unchanged_outputs_and_names_drift(
    tmp_path, tiny_weights, recording, capsys
):
    golden = tmp_path / "golden.mcap"
    common = [str(recording), "--golden", str(golden), "--weights", str(tiny_weights)]
    assert main(["regress", *common, "--update"]) == 0
    assert main(["regress", *common]) == 0
    assert "match" in capsys.readouterr().out
    outputs = bag_eval.read_outputs(golden)
    stamp = sorted(outputs)[3]
    extra = {s: list(frame) for s, frame in outputs.items()}
    extra[stamp].append(person(99))
    drifted = tmp_path / "drifted.mcap"
    run = SequenceRun(frame_id="camera", stamps=sorted(extra), outputs=extra)
    bag_eval.write_outputs(run, drifted)
    arguments = [str(recording), "--golden", str(drifted), "--weights", str(tiny_weights)]
    assert main(["regress", *arguments]) == 1
    report = capsys.readouterr().out
    assert f"frame {stamp / 1e9:.3f} s, skeleton 99: skeleton only in the golden outputs" in report


def person(identity: int) -> Skeleton:
    rng = np.random.default_rng(identity)
    return Skeleton(
        id=identity,
        uv=rng.uniform(100, 300, (21, 2)),
        xyz=rng.uniform(0.5, 3, (21, 3)),
        confidence=np.ones(21),
        state=np.full(21, KeypointState.TRACKED),
    )


def test_compare_names_joints_that_drift_beyond_tolerance():
    golden = {7: [person(1)]}
    moved = replace(person(1), uv=person(1).uv.copy(), xyz=person(1).xyz.copy())
    moved.uv[6] += [3.0, 0.0]  # WristLeft, 3 px
    moved.xyz[13] += [0.0, 0.01, 0.0]  # KneeLeft, 1 cm: within tolerance
    moved.xyz[3] = np.nan  # Head: no position any more
    drifts = [str(d) for d in compare({7: [moved]}, golden, tolerance_px=2.0, tolerance_m=0.02)]
    assert drifts == [
        "frame 0.000 s, skeleton 1, Head: position only in the golden output",
        "frame 0.000 s, skeleton 1, WristLeft: pixels moved 3.000 px (> 2.0)",
    ]
    assert compare({7: [person(1)]}, golden) == []


def test_compare_reports_missing_frames_and_people():
    frame = {1: [], 2: []}
    assert [str(d) for d in compare(frame, {1: []})] == [
        "frame 0.000 s: frame not in the golden outputs"
    ]
    assert "frame missing from the outputs" in str(compare({}, {5: []})[0])


def test_player_restamps_headers_like_a_live_camera(tmp_path, recording):
    from depth_pose_ros.ros.player import restamped

    with BagReader(recording) as bag:
        _, _, _, raw = next(bag.raw_messages(["/depth/image_raw"]))
    patched, old = restamped(bytes(raw), 42_000_000_007)
    assert old == 1_700_000_000 * 10**9
    assert len(patched) == len(raw) and patched[12:] == bytes(raw)[12:]
    result = subprocess.run(
        [DEPTH_POSE, "play", recording, "--topics", "/nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "has no topic /nope" in result.stderr


@pytest.mark.slow
def test_demo_runs_the_whole_system(tmp_path):
    result = subprocess.run(
        [DEPTH_POSE, "demo", "--out", tmp_path, "--seconds", "3", "--people", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert figures["answered_frames"] > 0 and "mAP" in figures
    assert (tmp_path / "report" / "overlay.gif").is_file()
    assert np.isfinite(float(figures["node_latency_p50_ms"]))
