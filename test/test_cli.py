import subprocess
import sys
from pathlib import Path

from depth_pose_ros.cli import main
from depth_pose_ros.core import schema
from depth_pose_ros.core.camera import KINECT_V2
from depth_pose_ros.ros.bag import BagWriter

DEPTH_POSE = Path(sys.executable).with_name("depth-pose")


def test_entry_point_is_installed():
    result = subprocess.run([DEPTH_POSE, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "info" in result.stdout and "bag-info" in result.stdout


def test_info_lists_every_joint(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "share directory:" in out
    for name in schema.JOINT_NAMES:
        assert name in out


def test_bag_info_lists_topics_and_counts(tmp_path, capsys):
    path = tmp_path / "info.mcap"
    with BagWriter(path) as writer:
        for i in range(3):
            writer.write_camera_info("/depth/camera_info", i, "camera", KINECT_V2)
    assert main(["bag-info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 topics" in out
    assert "/depth/camera_info" in out and "sensor_msgs/msg/CameraInfo" in out
    assert "      3  " in out


def test_user_errors_print_one_line_without_a_traceback(tmp_path):
    result = subprocess.run(
        [DEPTH_POSE, "bag-info", str(tmp_path / "missing.mcap")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"depth-pose bag-info: error: bag {tmp_path / 'missing.mcap'} does not exist"
    )
