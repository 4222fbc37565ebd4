"""The person stage: who is in a depth frame, and which pixels are theirs (PeopleNet, decoded).

The network's centre heatmap gives the people (local maxima at least `threshold` high, their
value the person score); every foreground cell goes to the person its predicted centre offset
points at, so people who touch or overlap separate by their centres. A person's reference depth
is the median depth at their cells' own pixels; their mask is their cells at full resolution
less the pixels whose depth is far from it (background seen through the coarse cells).

A centre with too few foreground cells of its own (a far, thin or mostly hidden person: the
centre head sees them, the foreground head gives them to someone else or to nobody) is not
dropped: its person is the depth around the peak, the pixels within a metre of it at its depth
where the foreground is not plainly background (`claimed` False). The pose network then judges
them more strictly than the others (the estimator's CENTRE_ONLY_MARGIN), and a second skeleton
of someone already found is dropped as a duplicate.
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
# A peak without cells of its own: its person is the depth around it (chosen on data/val,
# synthetic:val and synthetic:hard-val: 2.214 mAP summed; a reach of 0.7 m, a band of 0.3 or
# 0.6 m or a floor of 0.2 give 2.213-2.215, no foreground floor 2.205).
PEAK_REACH_M = 1.0  # pixels this near the peak (at its depth)
PEAK_DEPTH_BAND_M = 0.4  # and this near its depth
PEAK_FOREGROUND = 0.1  # on cells with at least this foreground probability


@dataclass
class Proposal:
    """One person the stage found: their pixels, where they are and how sure it is."""

    mask: np.ndarray  # (H, W) bool, full resolution
    box: tuple[int, int, int, int]  # the mask's bounds (x0, y0, x1, y1), inclusive, pixels
    reference_depth: float  # median depth of the mask, metres
    score: float  # the centre heatmap's peak, 0..1
    claimed: bool = True  # False: the stage gave them no foreground, only a centre


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


@dataclass
class Decoded:
    """One output of the stage, decoded into people (cells at the output's resolution)."""

    labels: np.ndarray  # (h, w) int32: 0 nobody, k + 1 person k
    scores: np.ndarray  # (K,) centre peaks, highest first
    peaks: np.ndarray  # (K, 2) their cells (row, column)
    foreground: np.ndarray  # (h, w) foreground probability


def decode(output: np.ndarray, config: PeopleConfig, threshold: float) -> Decoded:
    """The people in one (4, h, w) output: its centre peaks and the cells of each."""
    centre, foreground = _sigmoid(output[0]), _sigmoid(output[1])
    peaks = (centre >= threshold) & (centre >= cv2.dilate(centre, np.ones((3, 3), np.uint8)))
    rows, columns = np.nonzero(peaks)
    order = np.argsort(-centre[rows, columns], kind="stable")
    rows, columns = rows[order], columns[order]
    scores = centre[rows, columns]
    labels = np.zeros(centre.shape, np.int32)
    cells = np.column_stack([rows, columns])
    if len(rows) == 0:
        return Decoded(labels, scores, cells, foreground)
    cell_rows, cell_columns = np.nonzero(foreground >= 0.5)
    offsets = output[2:, cell_rows, cell_columns] * config.offset_scale
    aim = np.column_stack([cell_columns + offsets[0], cell_rows + offsets[1]])
    centres = cells[:, ::-1].astype(np.float64)  # (x, y)
    distance = np.linalg.norm(aim[:, None, :] - centres[None], axis=2)  # (cells, people)
    nearest = distance.argmin(axis=1)
    reach = np.linalg.norm(np.column_stack([cell_columns, cell_rows]) - centres[nearest], axis=1)
    # A cell far from where it points belongs to nobody we found (a person too hidden to count).
    kept = distance[np.arange(len(nearest)), nearest] <= 3.0 + 0.5 * reach
    labels[cell_rows[kept], cell_columns[kept]] = nearest[kept] + 1
    labels[rows, columns] = np.arange(1, len(rows) + 1)  # a peak is its own person's
    return Decoded(labels, scores, cells, foreground)


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
        return self.proposals(depth, seen, decode(output, self.config, self.threshold))

    def proposals(self, depth: np.ndarray, seen: np.ndarray, decoded: Decoded) -> list[Proposal]:
        """Full-resolution people from the decoded output for `seen` (the frame as the network
        saw it), most confident first. A person's reference depth is the median of the depth
        at their cells' own pixels (what the network saw and called them), so the background
        that shares a coarse cell with a thin or far person does not count; a peak with too
        few cells of its own gets the depth around it instead."""
        stride = self.config.stride
        rows, columns = -(-seen.shape[0] // stride), -(-seen.shape[1] // stride)
        cells = decoded.labels[:rows, :columns]
        sampled = seen[::stride, ::stride]
        counts = np.bincount(cells.ravel(), minlength=len(decoded.scores) + 1)
        full = self._in_frame(cells.astype(np.uint16), seen.shape, depth.shape)
        not_background = (decoded.foreground[:rows, :columns] >= PEAK_FOREGROUND).astype(np.uint8)
        found = []
        for k, (score, peak) in enumerate(zip(decoded.scores, decoded.peaks, strict=True), 1):
            values = sampled[cells == k] if counts[k] >= MIN_CELLS else np.empty(0)
            values = values[np.isfinite(values)]
            claimed = values.size >= MIN_CELLS
            if claimed:
                reference = float(np.median(values))
                with np.errstate(invalid="ignore"):
                    mask = (full == k) & (np.abs(depth - reference) <= MASK_DEPTH_TOLERANCE_M)
            else:
                around = self._around_peak(depth, seen, peak, not_background)
                if around is None:
                    continue
                mask, reference = around
            if np.count_nonzero(mask) >= MIN_VALID_PIXELS:
                found.append(Proposal(mask, mask_bounds(mask), reference, float(score), claimed))
        return found

    def _around_peak(
        self, depth: np.ndarray, seen: np.ndarray, peak: np.ndarray, not_background: np.ndarray
    ) -> tuple[np.ndarray, float] | None:
        """(mask, reference depth) of a person known only by their centre `peak` (a cell): the
        pixels within PEAK_REACH_M of it at its depth, on the `not_background` cells (0/1)."""
        stride = self.config.stride
        row, column = (int(v) for v in peak)
        window = seen[
            max(row - 1, 0) * stride : (row + 2) * stride,
            max(column - 1, 0) * stride : (column + 2) * stride,
        ]
        values = window[np.isfinite(window)]
        if values.size < MIN_CELLS:
            return None
        reference = float(np.median(values))
        reach = round(self.config.focal_length * PEAK_REACH_M / reference / stride)  # cells
        near = np.zeros_like(not_background)
        rows = slice(max(row - reach, 0), row + reach + 1)
        columns = slice(max(column - reach, 0), column + reach + 1)
        near[rows, columns] = not_background[rows, columns]
        around = self._in_frame(near, seen.shape, depth.shape) > 0
        with np.errstate(invalid="ignore"):
            return around & (np.abs(depth - reference) <= PEAK_DEPTH_BAND_M), reference

    def _in_frame(
        self, cells: np.ndarray, seen: tuple[int, int], frame: tuple[int, int]
    ) -> np.ndarray:
        """A map of output cells at the resolution of the frame: each cell covers its `stride`
        square of `seen`, which is then resampled to the `frame`'s size if it differs."""
        stride = self.config.stride
        height, width = cells.shape[0] * stride, cells.shape[1] * stride
        full = cv2.resize(cells, (width, height), interpolation=cv2.INTER_NEAREST)
        full = full[: seen[0], : seen[1]]
        if full.shape != frame:
            full = cv2.resize(full, frame[::-1], interpolation=cv2.INTER_NEAREST)
        return full
