"""Where this installation keeps its share/ files (message definitions, config, launch files)."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

PACKAGE = "depth_pose_ros"


def _candidates() -> list[Path]:
    candidates = [
        Path(prefix) / "share" / PACKAGE
        for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)
        if prefix
    ]  # colcon workspaces and sourced ROS installs
    candidates.append(Path(sys.prefix) / "share" / PACKAGE)  # pip install into a venv
    candidates.append(Path(__file__).resolve().parents[2])  # a source checkout
    return candidates


@functools.cache
def share_directory() -> Path:
    """The first share/depth_pose_ros (or source tree) that has our message definitions."""
    for candidate in _candidates():
        if (candidate / "msg" / "Skeleton.msg").is_file():
            return candidate
    searched = ", ".join(str(c) for c in _candidates())
    raise FileNotFoundError(f"cannot find {PACKAGE}'s share directory; searched {searched}")


def message_definitions() -> dict[str, str]:
    """Our message definitions as {'depth_pose_ros/msg/Name': text}."""
    msg_dir = share_directory() / "msg"
    return {
        f"{PACKAGE}/msg/{path.stem}": path.read_text() for path in sorted(msg_dir.glob("*.msg"))
    }
