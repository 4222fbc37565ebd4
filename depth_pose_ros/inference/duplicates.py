"""Duplicate skeletons: when the person stage splits one person into two proposals, the pose
network finds that same person in both crops. Two skeletons this alike (object keypoint
similarity, the metric's own OKS) are one person; the more confident one stays. This is the
OKS non-maximum suppression of multi-person pose estimators.
"""

from __future__ import annotations

import numpy as np

from depth_pose_ros.core.schema import OKS_SIGMAS
from depth_pose_ros.core.skeleton import Skeleton

_KAPPA_SQUARED = (2.0 * OKS_SIGMAS) ** 2  # the OKS formula's k_i = 2 sigma_i
# Skeletons whose median joint depths differ by more than this are two people (a body is about
# 0.3 m deep). Chosen on data/val, synthetic:val and synthetic:hard-val (people card, "Duplicates
# apart in depth"): 0.8 and 1.0 m give the same; 0.5 m finds a few more people for more false
# skeletons (0.132 per frame summed against 0.118), 0.3 m many more (0.183).
DEPTH_APART_M = 0.8


def _box_area(uv: np.ndarray) -> float:
    """Area (px^2) of the box around a skeleton's joints: the OKS scale."""
    finite = uv[np.isfinite(uv).all(axis=1)]
    if len(finite) == 0:
        return 0.0
    return float(np.ptp(finite[:, 0]) * np.ptp(finite[:, 1]))


def keypoint_similarity(a: Skeleton, b: Skeleton) -> float:
    """OKS between two skeletons' pixels (0..1), at the scale of the larger one, over the
    joints both have."""
    return image_similarity(a.uv, b.uv)


def image_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """`keypoint_similarity` of two (K, 2) sets of joint pixels (NaN: not there), for joints
    not yet made into skeletons."""
    area = max(_box_area(a), _box_area(b), 1.0)
    both = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    if not both.any():
        return 0.0
    squared = ((a[both] - b[both]) ** 2).sum(axis=1)
    return float(np.mean(np.exp(-squared / (2.0 * area * _KAPPA_SQUARED[both]))))


def skeleton_depth(skeleton: Skeleton) -> float:
    """Median depth (m) of a skeleton's joints with a 3D position; NaN if it has none."""
    depths = skeleton.xyz[:, 2]
    depths = depths[np.isfinite(depths)]
    return float(np.median(depths)) if depths.size else float("nan")


def without_duplicates(skeletons: list[Skeleton], threshold: float) -> list[Skeleton]:
    """The skeletons, most confident first, less any whose OKS with a more confident one
    kept is above `threshold` (1 keeps every skeleton) unless the two are more than
    DEPTH_APART_M apart in depth (one person behind another; unknown depth: not apart)."""
    kept: list[tuple[Skeleton, float]] = []
    for skeleton in sorted(skeletons, key=lambda s: -s.score):
        depth = skeleton_depth(skeleton)
        if not any(
            keypoint_similarity(skeleton, other) > threshold
            and not abs(depth - other_depth) > DEPTH_APART_M  # NaN: not known to be apart
            for other, other_depth in kept
        ):
            kept.append((skeleton, depth))
    return [skeleton for skeleton, _ in kept]
