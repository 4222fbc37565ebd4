"""Bag regression: the shipped model's outputs on a fixed generated recording stay within
tolerance of the golden outputs committed in test/data (`make golden` rewrites them after an
intended change of model or processing)."""

from pathlib import Path

import pytest

from depth_pose_ros.cli import main
from depth_pose_ros.evaluation.sequence import SequenceRun
from depth_pose_ros.ros import bag_eval
from depth_pose_ros.ros.recordings import write_sequence_bag

GOLDEN = Path(__file__).parent / "data" / "regression_golden.mcap"
# ONNX Runtime on the CPU is the backend every machine has, so the outputs compare everywhere.
REGRESS = ["--weights", "lite", "--backend", "onnxruntime"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """Two people for one second, from the test split (never trained on)."""
    path = tmp_path_factory.mktemp("regression") / "recording.mcap"
    return write_sequence_bag(path, seed=11, seconds=1.0, people=2, split="test", progress=False)


def test_shipped_model_matches_golden_outputs(recording, request, capsys):
    if request.config.getoption("update_golden"):
        assert main(["regress", str(recording), "--golden", str(GOLDEN), *REGRESS, "--update"]) == 0
    assert main(["regress", str(recording), "--golden", str(GOLDEN), *REGRESS]) == 0, (
        capsys.readouterr().out
    )
    golden = bag_eval.read_outputs(GOLDEN)
    assert len(golden) == 30
    assert sum(len(people) for people in golden.values()) >= 30, "golden outputs find people"


def test_regress_names_the_joint_that_drifts_from_golden(recording, tmp_path, capsys):
    golden = bag_eval.read_outputs(GOLDEN)
    stamp = sorted(stamp for stamp, people in golden.items() if people)[5]
    moved = golden[stamp][0]
    moved.uv[3] += (3.0, 0.0)  # the head, 3 px to the right
    drifted = tmp_path / "drifted.mcap"
    run = SequenceRun(frame_id="kinect2_ir_optical_frame", stamps=sorted(golden), outputs=golden)
    bag_eval.write_outputs(run, drifted)
    capsys.readouterr()
    assert main(["regress", str(recording), "--golden", str(drifted), *REGRESS]) == 1
    report = capsys.readouterr().out
    assert "1 differences" in report
    assert f"frame {stamp / 1e9:.3f} s, skeleton {moved.id}, Head: pixels moved 3.0" in report
