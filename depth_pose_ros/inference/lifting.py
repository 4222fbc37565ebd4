"""From joint pixels to metric 3D in the camera's optical frame.

A joint's depth is the median of the person's own valid depth pixels within a few centimetres of
it (robust to holes and to the background behind thin limbs), plus the distance from the body's
surface to the joint's centre. Pixels are back-projected through the camera model
(`CameraIntrinsics.normalised`: P for rectified images, K and the distortion for raw ones).
Joints with no valid depth nearby get NaN.
"""

from __future__ import annotations

import numpy as np

from depth_pose_ros.core import schema
from depth_pose_ros.core.camera import CameraIntrinsics

WINDOW_M = 0.04  # half width of the depth window around a joint, metres at the person
MAX_WINDOW_PX = 64
# The joint centre lies this far behind the surface the camera sees (metres, adult build).
_SURFACE_OFFSET_BY_PART = {
    "Spine": 0.1,
    "Neck": 0.05,
    "Head": 0.08,
    "Shoulder": 0.06,
    "Elbow": 0.04,
    "Wrist": 0.03,
    "Hand": 0.02,
    "Hip": 0.08,
    "Knee": 0.05,
    "Ankle": 0.04,
    "Foot": 0.03,
}
SURFACE_OFFSET = np.array(
    [
        _SURFACE_OFFSET_BY_PART[
            "Spine" if name.startswith("Spine") else name.removesuffix("Left").removesuffix("Right")
        ]
        for name in schema.JOINT_NAMES
    ]
)


def joint_depths(
    uv: np.ndarray, depth: np.ndarray, mask: np.ndarray | None, radius: int
) -> np.ndarray:
    """Median valid depth of `mask` pixels within `radius` pixels of each joint (NaN if none),
    all joints at once: one gather of (K, 2r+1, 2r+1) windows, one median along them."""
    height, width = depth.shape
    centres = np.rint(np.nan_to_num(uv, nan=-1e6)).astype(np.int64)
    steps = np.arange(-radius, radius + 1)
    columns = centres[:, 0, None] + steps  # (K, W)
    rows = centres[:, 1, None] + steps
    inside = ((rows >= 0) & (rows < height))[:, :, None] & ((columns >= 0) & (columns < width))[
        :, None, :
    ]
    rows, columns = np.clip(rows, 0, height - 1), np.clip(columns, 0, width - 1)
    window = depth[rows[:, :, None], columns[:, None, :]]  # (K, W, W)
    usable = inside & np.isfinite(window)
    if mask is not None:
        usable &= mask[rows[:, :, None], columns[:, None, :]]
    ordered = np.sort(np.where(usable, window, np.inf).reshape(len(uv), -1), axis=1)
    counts = usable.reshape(len(uv), -1).sum(axis=1)
    rows_k = np.arange(len(uv))
    low = ordered[rows_k, np.maximum(counts - 1, 0) // 2]
    high = ordered[rows_k, counts // 2 - (counts == 0)]
    return np.where(counts > 0, (low.astype(np.float64) + high) / 2.0, np.nan)


def lift(
    uv: np.ndarray,
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    mask: np.ndarray | None = None,
    reference_depth: float | None = None,
) -> np.ndarray:
    """(K, 3) joint centres in metres (optical frame), NaN where no depth was found."""
    scale = reference_depth if reference_depth and np.isfinite(reference_depth) else 2.0
    radius = int(min(max(WINDOW_M * intrinsics.fx / max(scale, 0.1), 1.0), MAX_WINDOW_PX))
    z = joint_depths(uv, depth, mask, radius) + SURFACE_OFFSET[: len(uv)]
    normalised = intrinsics.normalised(np.nan_to_num(uv))
    return np.column_stack([normalised * z[:, None], z])
