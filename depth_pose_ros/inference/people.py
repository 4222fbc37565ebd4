"""The person stage: who is in a depth frame, and which pixels are theirs (PeopleNet, decoded).

The network's centre heatmap gives the people (local maxima at least `threshold` high, their
value the person score); every foreground cell goes to the person its predicted centre offset
points at, so people who touch or overlap separate by their centres. A person's reference depth
is the median depth at their cells' own pixels; their mask is their cells at full resolution
less the pixels whose depth is far from it (background seen through the coarse cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from depth_pose_ros.core.depth_image import within_range
from depth_pose_ros.inference.backends import Backend
from depth_pose_ros.model.people import PeopleConfig
from depth_pose_ros.model.preprocess import MIN_VALID_PIXELS, mask_bounds

MASK_DEPTH_TOLERANCE_M = 1.0  # mask pixels this much nearer or farther than the person drop out
MIN_CELLS = 6  # a person covers at least this many output cells
FOCAL_TOLERANCE = 0.03  # closer to the stage's focal length than this: the frame is used as is


@dataclass
class Proposal:
    """One person the stage found: their pixels, where they are and how sure it is."""

    mask: np.ndarray  # (H, W) bool, full resolution
    box: tuple[int, int, int, int]  # the mask's bounds (x0, y0, x1, y1), inclusive, pixels
    reference_depth: float  # median depth of the mask, metres
    score: float  # the centre heatmap's peak, 0..1


def network_input(depth: np.ndarray, config: PeopleConfig) -> np.ndarray:
    """(2, h, w) input of a float32 metre frame (NaN invalid): scaled depth and validity, every
    `downsample`-th pixel, padded at the bottom and right to the network's granularity."""
    small = depth[:: config.downsample, :: config.downsample]
    valid = np.isfinite(small) & (small > 0) & (small <= config.max_depth)
    granularity = 2 ** (len(config.encoder) - 1)
    height = -(-small.shape[0] // granularity) * granularity
    width = -(-small.shape[1] // granularity) * granularity
    out = np.zeros((2, height, width), np.float32)
    out[0, : small.shape[0], : small.shape[1]] = np.where(valid, small / config.depth_scale, 0.0)
    out[1, : small.shape[0], : small.shape[1]] = valid
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def decode(
    output: np.ndarray, config: PeopleConfig, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """(cells labelled 0 nobody / k + 1 person k, (K,) scores) from one (4, h, w) output."""
    centre, foreground = _sigmoid(output[0]), _sigmoid(output[1])
    peaks = (centre >= threshold) & (centre >= cv2.dilate(centre, np.ones((3, 3), np.uint8)))
    rows, columns = np.nonzero(peaks)
    order = np.argsort(-centre[rows, columns], kind="stable")
    rows, columns = rows[order], columns[order]
    scores = centre[rows, columns]
    labels = np.zeros(centre.shape, np.int32)
    if len(rows) == 0:
        return labels, scores
    cell_rows, cell_columns = np.nonzero(foreground >= 0.5)
    offsets = output[2:, cell_rows, cell_columns] * config.offset_scale
    aim = np.column_stack([cell_columns + offsets[0], cell_rows + offsets[1]])
    centres = np.column_stack([columns, rows]).astype(np.float64)
    distance = np.linalg.norm(aim[:, None, :] - centres[None], axis=2)  # (cells, people)
    nearest = distance.argmin(axis=1)
    reach = np.linalg.norm(np.column_stack([cell_columns, cell_rows]) - centres[nearest], axis=1)
    # A cell far from where it points belongs to nobody we found (a person too hidden to count).
    kept = distance[np.arange(len(nearest)), nearest] <= 3.0 + 0.5 * reach
    labels[cell_rows[kept], cell_columns[kept]] = nearest[kept] + 1
    labels[rows, columns] = np.arange(1, len(rows) + 1)  # a peak is its own person's
    return labels, scores


class PeopleFinder:
    """A depth frame in, the people in it out (most confident first)."""

    def __init__(self, backend: Backend, config: PeopleConfig, threshold: float = 0.3) -> None:
        self.backend = backend
        self.config = config
        self.threshold = threshold

    def __call__(self, depth: np.ndarray, focal_length: float | None = None) -> list[Proposal]:
        """Everyone in a float32 metre frame (NaN invalid), as proposals. With the camera's
        `focal_length` (pixels) the frame is first resampled to the focal length the stage
        was trained at, so a person spans the same number of cells on any camera."""
        return self.find(within_range(depth), focal_length)

    def find(self, depth: np.ndarray, focal_length: float | None = None) -> list[Proposal]:
        """As calling the finder, on a frame already cut to the valid range (`within_range`),
        as the estimator's is: the per-frame path does not cut it twice."""
        seen = depth
        if focal_length:
            scale = self.config.focal_length / focal_length
            if abs(scale - 1.0) > FOCAL_TOLERANCE:
                size = (round(depth.shape[1] * scale), round(depth.shape[0] * scale))
                seen = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)
        output = self.backend(network_input(seen, self.config)[None])[0]
        labels, scores = decode(output, self.config, self.threshold)
        return self.proposals(depth, seen, labels, scores)

    def proposals(
        self, depth: np.ndarray, seen: np.ndarray, labels: np.ndarray, scores: np.ndarray
    ) -> list[Proposal]:
        """Full-resolution people from decoded cell labels of `seen` (the frame as the network
        saw it). A person's reference depth is the median of the depth at their cells' own
        pixels (what the network saw and called them), so the background that shares a coarse
        cell with a thin or far person does not count."""
        height, width = seen.shape
        stride = self.config.stride
        cells = labels[: -(-height // stride), : -(-width // stride)]
        sampled = seen[::stride, ::stride]
        counts = np.bincount(cells.ravel(), minlength=len(scores) + 1)
        full = cv2.resize(
            cells.astype(np.uint16),
            (cells.shape[1] * stride, cells.shape[0] * stride),
            interpolation=cv2.INTER_NEAREST,
        )[:height, :width]
        if full.shape != depth.shape:
            full = cv2.resize(full, depth.shape[::-1], interpolation=cv2.INTER_NEAREST)
        found = []
        for k, score in enumerate(scores, start=1):
            if counts[k] < MIN_CELLS:
                continue
            values = sampled[cells[: sampled.shape[0], : sampled.shape[1]] == k]
            values = values[np.isfinite(values)]
            if values.size < MIN_CELLS:
                continue
            reference = float(np.median(values))
            with np.errstate(invalid="ignore"):
                mask = (full == k) & (np.abs(depth - reference) <= MASK_DEPTH_TOLERANCE_M)
            if np.count_nonzero(mask) < MIN_VALID_PIXELS:
                continue
            found.append(Proposal(mask, mask_bounds(mask), reference, float(score)))
        return found
