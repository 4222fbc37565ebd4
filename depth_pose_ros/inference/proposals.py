"""Person proposals from depth alone: floor removal, then blobs on a ground-plane grid.

Everything above the floor is projected onto a 5 cm grid lying on the floor. People are seeded
at torso height: blobs of cells holding points higher than SEED_HEIGHT, where tables end and
neighbours' upper bodies stand apart. Lower cells (legs, a chair) join the nearest seed within
REACH; low cells near no seed form blobs of their own (a crouching person, a small child).
Blobs with a person's height and footprint become proposals. Working on the floor plane keeps a
person whole when an arm or leg crosses in front of their body and keeps two people apart when
one stands in front of the other. The floor is fitted by RANSAC among roughly horizontal planes
below the camera, scored by the points on it minus the points under it (nothing is under a
floor, while table legs and people are under a tabletop); the previous frame's floor seeds the
next.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.model.preprocess import mask_bounds

CELL = 0.05  # metres per ground-plane grid cell
FLOOR_TOLERANCE = 0.04  # points this close to the floor plane are floor
MIN_HEIGHT, MAX_HEIGHT = 0.08, 2.4  # metres above the floor a person occupies
MIN_TOP = 0.55  # a person's highest point is at least this high (a crouching child)
MAX_FOOTPRINT = 1.6  # metres: a blob wider than this on the floor is not one person
MIN_POINTS = 80  # sampled points in a blob
MAX_TILT = np.radians(50)  # floor normal vs the camera's -y axis
MIN_CAMERA_HEIGHT = 0.35  # metres above the floor
BELOW_FLOOR = 0.1  # points this far under a candidate plane count against it
PRIOR_STILL_FITS = 0.15  # share of points on the previous floor that skips the search
SEED_HEIGHT = 0.9  # metres: torsos and heads, above tables
REACH = 0.4  # metres on the floor from a seed within which lower cells join it


@dataclass(frozen=True)
class Floor:
    """A plane n . p + d = 0 in the optical frame with n pointing up (away from the floor)."""

    normal: np.ndarray
    offset: float

    def height(self, points: np.ndarray) -> np.ndarray:
        return points @ self.normal + self.offset


@dataclass
class Proposal:
    """One likely person: their pixels and depth."""

    mask: np.ndarray  # (H, W) bool
    box: tuple[int, int, int, int]  # the mask's bounds (x0, y0, x1, y1), inclusive
    reference_depth: float  # median depth of the mask, metres
    top_height: float  # highest point above the floor, metres


def points_from_depth(depth: np.ndarray, rays: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(H, W, 3) optical-frame points from depth (NaN stays NaN) and per-pixel ray slopes."""
    x_over_z, y_over_z = rays
    return np.stack([x_over_z * depth, y_over_z * depth, depth], axis=-1)


def pixel_slopes(intrinsics: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray]:
    """x/z and y/z of every pixel's ray, lens distortion removed."""
    from depth_pose_ros.inference.lifting import undistort

    v, u = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width].astype(np.float64)
    normalised = undistort(np.column_stack([u.ravel(), v.ravel()]), intrinsics)
    shape = (intrinsics.height, intrinsics.width)
    return normalised[:, 0].reshape(shape), normalised[:, 1].reshape(shape)


def _plane(points: np.ndarray) -> tuple[np.ndarray, float]:
    centre = points.mean(axis=0)
    normal = np.linalg.svd(points - centre, full_matrices=False)[2][-1]
    return normal, -float(normal @ centre)


def fit_floor(
    points: np.ndarray, rng: np.random.Generator, prior: Floor | None = None
) -> Floor | None:
    """RANSAC for the floor among points of the lower two thirds of the image: a plane whose
    normal is within MAX_TILT of the camera's up (-y), at least MIN_CAMERA_HEIGHT below the
    camera, with the most points on it and the fewest under it."""
    height = points.shape[0]
    lower = points[height // 3 :].reshape(-1, 3)
    lower = lower[np.isfinite(lower[:, 2])]
    if len(lower) < 200:
        return prior

    candidates = lower[rng.integers(0, len(lower), size=min(2000, len(lower)))]

    def score(normal: np.ndarray, offset: float) -> int:
        heights = candidates @ normal + offset
        on = np.count_nonzero(np.abs(heights) < FLOOR_TOLERANCE)
        return on - 2 * int(np.count_nonzero(heights < -BELOW_FLOOR))

    best, best_score = prior, 0
    if prior is not None:
        best_score = score(prior.normal, prior.offset)
        if best_score >= PRIOR_STILL_FITS * len(candidates):  # a still camera: just refine
            return _refined(prior, candidates)
    for _ in range(60):
        sample = candidates[rng.choice(len(candidates), 3, replace=False)]
        normal = np.cross(sample[1] - sample[0], sample[2] - sample[0])
        length = np.linalg.norm(normal)
        if length < 1e-9:
            continue
        normal /= length
        if normal[1] > 0:
            normal = -normal  # point up: the optical y axis points down
        if np.arccos(np.clip(-normal[1], -1, 1)) > MAX_TILT:
            continue
        offset = -float(normal @ sample[0])
        if offset < MIN_CAMERA_HEIGHT:
            continue
        candidate_score = score(normal, offset)
        if candidate_score > best_score:
            best, best_score = Floor(normal, offset), candidate_score
    if best is None or best_score < 0.05 * len(candidates):
        return prior
    return _refined(best, candidates)


def _refined(floor: Floor, candidates: np.ndarray) -> Floor:
    """The least-squares plane through the points on `floor`, normal pointing up."""
    normal, offset = _plane(candidates[np.abs(floor.height(candidates)) < FLOOR_TOLERANCE])
    if normal[1] > 0:
        normal, offset = -normal, -offset
    return Floor(normal, offset)


def default_floor(camera_height: float = 1.0) -> Floor:
    """A level floor `camera_height` below a camera looking straight ahead (no floor seen)."""
    return Floor(np.array([0.0, -1.0, 0.0]), camera_height)


def _blobs(occupied: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected blobs of occupied grid cells, gaps of one cell bridged (0 = no blob)."""
    bridged = cv2.dilate(occupied.astype(np.uint8), np.ones((3, 3), np.uint8))
    count, labels = cv2.connectedComponents(bridged, connectivity=8)
    return count, np.where(occupied, labels, 0)


def propose(points: np.ndarray, depth: np.ndarray, floor: Floor) -> list[Proposal]:
    """People standing, sitting or crouching on `floor`, largest first."""
    heights = floor.height(points)
    above = np.isfinite(heights) & (heights > MIN_HEIGHT) & (heights < MAX_HEIGHT)
    if not above.any():
        return []
    axis_a = np.cross(floor.normal, [0.0, 0.0, 1.0])
    if np.linalg.norm(axis_a) < 1e-6:
        axis_a = np.cross(floor.normal, [1.0, 0.0, 0.0])
    axis_a /= np.linalg.norm(axis_a)
    axis_b = np.cross(floor.normal, axis_a)
    selected = points[above]
    point_heights = heights[above]
    a, b = selected @ axis_a, selected @ axis_b
    column = np.floor((a - a.min()) / CELL).astype(np.int64)
    row = np.floor((b - b.min()) / CELL).astype(np.int64)
    shape = (int(row.max()) + 1, int(column.max()) + 1)
    cells = row * shape[1] + column
    counts = np.bincount(cells, minlength=shape[0] * shape[1]).reshape(shape)
    high = np.bincount(cells[point_heights > SEED_HEIGHT], minlength=counts.size).reshape(shape)

    # Seeds at torso height, then every occupied cell within REACH of a seed joins it.
    seed_count, seeds = _blobs(high >= 2)
    occupied = counts >= 2
    blob_of_cell = np.zeros(shape, np.int64)
    if seed_count > 1:
        distance, (nearest_row, nearest_column) = distance_transform_edt(
            seeds == 0, return_indices=True
        )
        near = occupied & (distance * CELL <= REACH)
        blob_of_cell[near] = seeds[nearest_row[near], nearest_column[near]]
    # What no seed reaches forms blobs of its own.
    low_count, low = _blobs(occupied & (blob_of_cell == 0))
    blob_of_cell[low > 0] = low[low > 0] + seed_count
    point_blob = blob_of_cell.ravel()[cells]

    order = np.argsort(point_blob, kind="stable")
    bounds = np.searchsorted(point_blob[order], np.arange(seed_count + low_count + 1))
    proposals = []
    for blob in range(1, seed_count + low_count):
        members = order[bounds[blob] : bounds[blob + 1]]
        if len(members) < MIN_POINTS:
            continue
        rows, columns = np.divmod(np.unique(cells[members]), shape[1])
        footprint = max(np.ptp(rows) + 1, np.ptp(columns) + 1) * CELL
        top_height = float(np.percentile(point_heights[members], 99))
        if footprint > MAX_FOOTPRINT or top_height < MIN_TOP:
            continue
        inside = np.zeros(len(point_blob), dtype=bool)
        inside[members] = True
        mask = np.zeros(depth.shape, dtype=bool)
        mask[above] = inside
        proposals.append(
            Proposal(mask, mask_bounds(mask), float(np.median(depth[mask])), top_height)
        )
    proposals.sort(key=lambda p: -int(p.mask.sum()))
    return proposals


class PersonFinder:
    """Proposals for full-resolution depth frames: works on every SCALE-th pixel, remembers the
    camera's ray slopes and (optionally) the floor between frames."""

    SCALE = 2

    def __init__(self, remember_floor: bool = True) -> None:
        self.remember_floor = remember_floor
        self.floor: Floor | None = None
        self._slopes: tuple[CameraIntrinsics, tuple[np.ndarray, np.ndarray]] | None = None

    def reset(self) -> None:
        """Forget the floor (a new camera or scene)."""
        self.floor = None

    def __call__(self, depth: np.ndarray, intrinsics: CameraIntrinsics) -> list[Proposal]:
        if self._slopes is None or self._slopes[0] != intrinsics:
            slopes = pixel_slopes(intrinsics)
            step = self.SCALE
            self._slopes = (intrinsics, (slopes[0][::step, ::step], slopes[1][::step, ::step]))
        small = depth[:: self.SCALE, :: self.SCALE]
        points = points_from_depth(small, self._slopes[1])
        rng = np.random.default_rng(0)  # the same frame always gives the same floor
        floor = fit_floor(points, rng, self.floor if self.remember_floor else None)
        if floor is not None and self.remember_floor:
            self.floor = floor
        proposals = propose(points, small, floor or default_floor())
        height, width = depth.shape
        for proposal in proposals:
            proposal.mask = cv2.resize(
                proposal.mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST
            ).astype(bool)
        return proposals
