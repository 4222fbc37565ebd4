"""Test-wide setup that must happen before anything imports rclpy."""

import os
from pathlib import Path

import pytest

from depth_pose_ros.ros import dds

DOMAIN_ID = dds.isolate()
# Fixed-size message fields raise on a wrong length instead of crashing at serialization.
os.environ["ROS_PYTHON_CHECK_FIELDS"] = "1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite test/data/regression_golden.mcap from today's outputs (make golden)",
    )


def pytest_report_header() -> str:
    return f"ROS_DOMAIN_ID={DOMAIN_ID} ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST"


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights file of the tiny test network (helpers.TINY)."""
    from helpers import save_tiny_weights

    return save_tiny_weights(tmp_path_factory.mktemp("weights") / "tiny.pt")


@pytest.fixture(scope="session", autouse=True)
def _installed_package() -> None:
    """The tests exercise the installed package (its messages are built at install time)."""
    import depth_pose_ros

    location = Path(depth_pose_ros.__file__).resolve().parent
    if not (location / "msg").is_dir():
        pytest.exit(
            f"depth_pose_ros imported from {location}, which has no built messages: "
            "install the package (make test does) and run pytest from its virtual environment",
            returncode=2,
        )
