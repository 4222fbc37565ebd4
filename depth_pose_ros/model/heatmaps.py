"""Heatmap targets for training and their decoding back to image pixels.

Heatmap cell (i, j) at stride s covers input pixels [s*j, s*j + s - 1], so its centre is input
pixel s*j + (s - 1)/2; targets and decoding use this one mapping. A target is the paper's
H_k(p) = exp(-|p - x_k|^2 / sigma^2) with sigma in input pixels (7 in the paper, eq. 4), in
heatmap units. The stride and sigma come from the model's config.
"""

from __future__ import annotations

import numpy as np

from depth_pose_ros.core.schema import FLIP_PERMUTATION
from depth_pose_ros.model.preprocess import apply, invert


def input_to_heatmap(points: np.ndarray, stride: int) -> np.ndarray:
    return (points - (stride - 1) / 2.0) / stride


def heatmap_to_input(points: np.ndarray, stride: int) -> np.ndarray:
    return points * stride + (stride - 1) / 2.0


def targets(
    joints_input: np.ndarray,
    labelled: np.ndarray,
    heatmap_size: tuple[int, int],
    stride: int,
    sigma: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(K, h, w) Gaussian heatmaps and (K,) loss weights alpha_k for joints in input pixels.

    alpha_k = 0 for joints that are not labelled (and, since a heatmap cannot place a peak
    outside itself, for joints that fall more than one sigma outside the input).
    """
    height, width = heatmap_size
    centres = input_to_heatmap(np.asarray(joints_input, dtype=np.float64), stride)
    sigma_cells = sigma / stride
    ys = np.arange(height, dtype=np.float64)[None, :, None]
    xs = np.arange(width, dtype=np.float64)[None, None, :]
    dx2 = (xs - centres[:, 0, None, None]) ** 2
    dy2 = (ys - centres[:, 1, None, None]) ** 2
    heatmaps = np.exp(-(dx2 + dy2) / sigma_cells**2).astype(np.float32)
    margin = sigma_cells
    inside = (
        (centres[:, 0] >= -margin)
        & (centres[:, 0] <= width - 1 + margin)
        & (centres[:, 1] >= -margin)
        & (centres[:, 1] <= height - 1 + margin)
    )
    weights = np.asarray(labelled, dtype=bool) & inside & np.isfinite(centres).all(axis=1)
    heatmaps[~weights] = 0.0
    return heatmaps, weights.astype(np.float32)


def decode(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak of every (K, h, w) heatmap with sub-cell refinement, and its value as confidence.

    Refinement is one Newton step on the log-heatmap around the peak (exact for a Gaussian),
    kept within half a cell; peaks on the border or not locally concave keep the cell centre.
    """
    joints, height, width = heatmaps.shape
    flat = heatmaps.reshape(joints, -1)
    index = flat.argmax(axis=1)
    peak_y, peak_x = np.divmod(index, width)
    confidence = flat[np.arange(joints), index]
    points = np.column_stack([peak_x, peak_y]).astype(np.float64)
    interior = (peak_x > 0) & (peak_x < width - 1) & (peak_y > 0) & (peak_y < height - 1)
    k = np.flatnonzero(interior & (confidence > 0))
    around = np.arange(-1, 2)
    patches = heatmaps[
        k[:, None, None],
        peak_y[k, None, None] + around[None, :, None],
        peak_x[k, None, None] + around[None, None, :],
    ]
    log = np.log(np.maximum(patches, 1e-10))
    gx = (log[:, 1, 2] - log[:, 1, 0]) / 2.0
    gy = (log[:, 2, 1] - log[:, 0, 1]) / 2.0
    dxx = log[:, 1, 2] - 2 * log[:, 1, 1] + log[:, 1, 0]
    dyy = log[:, 2, 1] - 2 * log[:, 1, 1] + log[:, 0, 1]
    dxy = (log[:, 2, 2] - log[:, 2, 0] - log[:, 0, 2] + log[:, 0, 0]) / 4.0
    det = dxx * dyy - dxy**2
    concave = (det > 0) & (dxx < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = -np.column_stack([dyy * gx - dxy * gy, dxx * gy - dxy * gx]) / det[:, None]
    points[k[concave]] += np.clip(offset[concave], -0.5, 0.5)
    return points, np.clip(confidence, 0.0, 1.0)


def to_image(points_heatmap: np.ndarray, affine: np.ndarray, stride: int) -> np.ndarray:
    """Heatmap coordinates back to depth-image pixels through the crop's `affine`."""
    return apply(invert(affine), heatmap_to_input(points_heatmap, stride))


def flip_averaged(heatmaps: np.ndarray, mirrored: np.ndarray) -> np.ndarray:
    """Flip testing: the (N, K, h, w) heatmaps of N crops averaged with those of the same crops
    mirrored, the latter first mapped back (columns reversed, left and right joints swapped).
    A cell's centre, s*j + (s - 1)/2, mirrors onto another's, so the mapping is exact."""
    return (heatmaps + mirrored[:, FLIP_PERMUTATION, :, ::-1]) / 2.0
