"""The DDS isolation every test, demo and benchmark process uses."""

import json
import os
import subprocess
import sys

from depth_pose_ros.ros import dds

REPORT = (
    "import json, os; from depth_pose_ros.ros import dds; d = dds.isolate(); "
    "print(json.dumps({'domain': d, 'pid': os.getpid(), 'env': dict(os.environ)}))"
)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_isolate_restricts_discovery_to_localhost_on_a_run_specific_domain():
    result = run_python(
        REPORT,
        ROS_AUTOMATIC_DISCOVERY_RANGE="SUBNET",
        ROS_DOMAIN_ID="0",
        ROS_STATIC_PEERS="192.0.2.10",
        ROS_DISCOVERY_SERVER="192.0.2.11:11811",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    env = report["env"]
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert env["ROS_DOMAIN_ID"] == str(report["domain"]) == str(dds.run_domain_id(report["pid"]))
    assert "ROS_STATIC_PEERS" not in env and "ROS_DISCOVERY_SERVER" not in env


def test_isolate_refuses_to_run_after_rclpy_is_imported():
    late = "import rclpy\nfrom depth_pose_ros.ros import dds\ndds.isolate()"
    result = run_python(late, ROS_AUTOMATIC_DISCOVERY_RANGE="SUBNET", ROS_DOMAIN_ID="0")
    assert result.returncode != 0
    assert "must run before rclpy is imported" in result.stderr


def test_isolating_an_isolated_process_again_changes_nothing():
    """A benchmark that isolates itself, run inside the (isolated) test suite after rclpy has
    loaded, keeps the suite's domain; asking for another domain then is still refused."""
    again = (
        "from depth_pose_ros.ros import dds; d = dds.isolate(); import rclpy; "
        "print(dds.isolate() == d == dds.isolate(d), flush=True); dds.isolate(d % 101 + 1)"
    )
    result = run_python(again, ROS_AUTOMATIC_DISCOVERY_RANGE="SUBNET")
    assert result.stdout.strip() == "True", result.stderr
    assert result.returncode != 0 and "must run before rclpy is imported" in result.stderr


def test_domain_ids_stay_in_the_valid_range():
    assert {dds.run_domain_id(pid) for pid in range(1000)} == set(range(1, 102))


def test_this_test_session_is_isolated():
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert 1 <= int(os.environ["ROS_DOMAIN_ID"]) <= 101
