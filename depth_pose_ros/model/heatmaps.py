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

# Sigma (heatmap cells) of the blur a peak is read through. Chosen on the validation sets, whole
# estimator: no blur / 0.4 / 0.5 / 0.6 give 2.226 / 2.239 / 2.243 / 2.244 mAP summed over
# data/val, synthetic:val and synthetic:hard-val, with 0.124 / 0.119 / 0.122 / 0.126 false
# skeletons per frame summed (0.3 / 0.7 / 0.9, measured with mirrored borders: 2.231 / 2.244 /
# 2.235). Zeros beyond the border, not a mirror (2.245 at 0.5): a mirror pulls a peak near the
# edge of an exact Gaussian by up to 4 input pixels (zeros: 0.17 at the 99th percentile).
PEAK_SMOOTHING_SIGMA = 0.5


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


def smoothed(heatmaps: np.ndarray, sigma: float) -> np.ndarray:
    """Every (..., h, w) heatmap convolved with a 3x3 Gaussian of `sigma` cells, zero beyond its
    border: the blur that distribution-aware decoding (DARK) applies before reading a peak."""
    taps = np.exp(-(np.arange(-1.0, 2.0) ** 2) / (2 * sigma**2))
    taps /= taps.sum()
    padded = np.pad(heatmaps, [(0, 0)] * (heatmaps.ndim - 2) + [(1, 1), (1, 1)])
    rows = taps[0] * padded[..., :-2, :] + taps[1] * padded[..., 1:-1, :]
    rows += taps[2] * padded[..., 2:, :]
    return taps[0] * rows[..., :-2] + taps[1] * rows[..., 1:-1] + taps[2] * rows[..., 2:]


def decode(
    heatmaps: np.ndarray, smoothing: float = PEAK_SMOOTHING_SIGMA
) -> tuple[np.ndarray, np.ndarray]:
    """Peak of every (K, h, w) heatmap with sub-cell refinement, and the heatmap's highest value
    as confidence.

    The peak is read from the heatmap blurred by `smoothing` cells (0: as it is), since a
    network's heatmaps are not clean Gaussians and one noisy cell moves a raw peak; then one
    Newton step on the log-heatmap around it refines it (exact for a Gaussian; after the blur,
    within a 50th of a cell away from the border), kept within half a cell; peaks on the border
    or not locally concave keep the cell centre.
    """
    joints, height, width = heatmaps.shape
    confidence = heatmaps.reshape(joints, -1).max(axis=1)
    if smoothing > 0:
        heatmaps = smoothed(heatmaps, smoothing)
    flat = heatmaps.reshape(joints, -1)
    index = flat.argmax(axis=1)
    peak_y, peak_x = np.divmod(index, width)
    peak = flat[np.arange(joints), index]
    points = np.column_stack([peak_x, peak_y]).astype(np.float64)
    interior = (peak_x > 0) & (peak_x < width - 1) & (peak_y > 0) & (peak_y < height - 1)
    k = np.flatnonzero(interior & (peak > 0))
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
