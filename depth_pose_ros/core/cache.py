"""Where the package keeps what it generates once and reuses (named data sets, engines, models)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_directory() -> Path:
    """$DEPTH_POSE_CACHE, else $XDG_CACHE_HOME/depth_pose_ros, else ~/.cache/depth_pose_ros."""
    override = os.environ.get("DEPTH_POSE_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "depth_pose_ros"
