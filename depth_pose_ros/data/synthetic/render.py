"""Exact depth rendering by ray casting capsules, ellipsoids, boxes and a room.

Everything is in the camera's optical frame. The ray through pixel (u, v) is (x[u], y[v], 1),
so a hit's ray parameter is its depth, and every dot product with a ray is a sum of a row and
a column vector: no per-pixel 3-vectors are ever stored. Each primitive is intersected only
with the pixels of its projected bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_pose_ros.core.camera import CameraIntrinsics

NEAR = 0.05  # metres: nothing closer to the camera is rendered

# Label values of the rendered label image (0: nothing).
FLOOR = 1
WALL = 2
FURNITURE = 3
DISTRACTOR = 4  # objects of a person's size and shape (coats on a rack, a punching bag, ...)
PERSON_BASE = 16  # person k, part p -> PERSON_BASE + k * PARTS_PER_PERSON + p
PARTS_PER_PERSON = 16


def person_label(person: int, part: int) -> int:
    return PERSON_BASE + person * PARTS_PER_PERSON + part


def person_of(label: np.ndarray) -> np.ndarray:
    """Person index per pixel of a label image, -1 where no person."""
    return np.where(label >= PERSON_BASE, (label - PERSON_BASE) // PARTS_PER_PERSON, -1)


def part_of(label: np.ndarray) -> np.ndarray:
    """Body part per pixel of a label image, -1 where no person."""
    return np.where(label >= PERSON_BASE, (label - PERSON_BASE) % PARTS_PER_PERSON, -1)


@dataclass(frozen=True)
class Box:
    """An oriented box: centre, unit axes (columns) and half sizes along them."""

    centre: np.ndarray
    axes: np.ndarray
    half: np.ndarray


class Rays:
    """The rays (x[u], y[v], 1) of a window of pixels, as broadcastable row and column."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = x[None, :]
        self.y = y[:, None]

    def dot(self, vector: np.ndarray) -> np.ndarray:
        return self.x * vector[0] + self.y * vector[1] + vector[2]

    def squared_norm(self) -> np.ndarray:
        return self.x**2 + self.y**2 + 1.0


class Renderer:
    """Accumulates a depth image (inf = nothing) and a label image, nearest surface wins."""

    def __init__(self, intrinsics: CameraIntrinsics) -> None:
        i = self.intrinsics = intrinsics
        self.ray_y = (np.arange(i.height) - i.cy) / i.fy
        # Skew shifts x by a multiple of y; it is zero for every camera the generator makes.
        if i.skew != 0.0:
            raise ValueError("the synthetic renderer models cameras without skew")
        self.ray_x = (np.arange(i.width) - i.cx) / i.fx
        self.depth = np.full((i.height, i.width), np.inf)
        self.label = np.zeros((i.height, i.width), dtype=np.int16)

    def rays(self, window: tuple[slice, slice] | None = None) -> Rays:
        rows, columns = window or (slice(None), slice(None))
        return Rays(self.ray_x[columns], self.ray_y[rows])

    def _window(self, low: np.ndarray, high: np.ndarray) -> tuple[slice, slice] | None:
        """Pixel rows and columns covered by the axis-aligned box [low, high] (optical frame)."""
        if high[2] < NEAR:
            return None
        height, width = self.depth.shape
        if low[2] < NEAR:
            return slice(0, height), slice(0, width)
        corners = np.array(np.meshgrid(*zip(low, high, strict=True))).reshape(3, -1)
        i = self.intrinsics
        u = i.fx * corners[0] / corners[2] + i.cx
        v = i.fy * corners[1] / corners[2] + i.cy
        u0, u1 = max(int(np.floor(u.min())), 0), min(int(np.ceil(u.max())) + 1, width)
        v0, v1 = max(int(np.floor(v.min())), 0), min(int(np.ceil(v.max())) + 1, height)
        if u0 >= u1 or v0 >= v1:
            return None
        return slice(v0, v1), slice(u0, u1)

    def _merge(self, window: tuple[slice, slice], t: np.ndarray, label: int) -> None:
        depth = self.depth[window]
        closer = (t >= NEAR) & (t < depth)
        depth[closer] = t[closer]
        self.label[window][closer] = label

    def capsule(self, a: np.ndarray, b: np.ndarray, radius: float, label: int) -> None:
        window = self._window(np.minimum(a, b) - radius, np.maximum(a, b) + radius)
        if window is None:
            return
        rays = self.rays(window)
        rr = rays.squared_norm()
        hits = np.minimum(_sphere_hits(rays, rr, a, radius), _sphere_hits(rays, rr, b, radius))
        axis = b - a
        length = float(np.linalg.norm(axis))
        if length > 1e-9:
            unit = axis / length
            w = -a  # ray origin relative to a
            d_u = rays.dot(unit)
            w_u = float(w @ unit)
            qa = rr - d_u**2
            qb = rays.dot(w) - d_u * w_u
            qc = float(w @ w) - w_u**2 - radius**2
            with np.errstate(invalid="ignore", divide="ignore"):
                t = (-qb - np.sqrt(qb**2 - qa * qc)) / qa
            along = t * d_u + w_u
            t[~((along >= 0) & (along <= length))] = np.inf
            np.fmin(hits, t, out=hits)  # fmin ignores the NaN of rays that miss
        self._merge(window, hits, label)

    def ellipsoid(
        self, centre: np.ndarray, axes: np.ndarray, radii: np.ndarray, label: int
    ) -> None:
        extent = np.sqrt(((axes * radii) ** 2).sum(axis=1))
        window = self._window(centre - extent, centre + extent)
        if window is None:
            return
        to_unit = (axes / radii).T  # optical-frame offsets -> the unit sphere's frame
        origin = -to_unit @ centre
        rays = self.rays(window)
        direction = [rays.dot(row) for row in to_unit]
        qa = sum(d * d for d in direction)
        qb = sum(d * o for d, o in zip(direction, origin, strict=True))
        qc = float(origin @ origin) - 1.0
        with np.errstate(invalid="ignore"):
            t = (-qb - np.sqrt(qb**2 - qa * qc)) / qa
        self._merge(window, np.nan_to_num(t, nan=np.inf), label)

    def box(self, box: Box, label: int) -> None:
        signs = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T
        corners = box.centre + (signs * box.half) @ box.axes.T
        window = self._window(corners.min(axis=0), corners.max(axis=0))
        if window is None:
            return
        rays = self.rays(window)
        origin = -box.centre @ box.axes  # the camera in box coordinates
        t_near = np.full((rays.y.shape[0], rays.x.shape[1]), -np.inf)
        t_far = np.full_like(t_near, np.inf)
        for k in range(3):
            direction = rays.dot(box.axes[:, k])
            with np.errstate(divide="ignore", invalid="ignore"):
                t1 = (-box.half[k] - origin[k]) / direction
                t2 = (box.half[k] - origin[k]) / direction
            np.fmax(t_near, np.minimum(t1, t2), out=t_near)
            np.fmin(t_far, np.maximum(t1, t2), out=t_far)
        hits = np.where((t_near <= t_far) & (t_near > 0), t_near, np.inf)
        self._merge(window, hits, label)

    def room(self, room: Box, floor_axis: int) -> None:
        """The inside of a box around the camera (walls, floor, ceiling): every ray's exit.

        `floor_axis` is the box axis pointing up; its lower face is labelled FLOOR.
        """
        rays = self.rays()
        origin = -room.centre @ room.axes
        exit_t = np.full(self.depth.shape, np.inf)
        floor = np.zeros(self.depth.shape, dtype=bool)
        for k in range(3):
            direction = rays.dot(room.axes[:, k])
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (np.where(direction > 0, room.half[k], -room.half[k]) - origin[k]) / direction
            t[~(t > 0)] = np.inf
            nearer = t < exit_t
            exit_t[nearer] = t[nearer]
            floor[nearer] = (k == floor_axis) & (direction[nearer] < 0)
        closer = np.isfinite(exit_t) & (exit_t < self.depth)
        self.depth[closer] = exit_t[closer]
        self.label[closer] = np.where(floor[closer], FLOOR, WALL)


def _sphere_hits(rays: Rays, rr: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    qb = rays.dot(centre)
    qc = float(centre @ centre) - radius**2
    with np.errstate(invalid="ignore"):
        t = (qb - np.sqrt(qb**2 - rr * qc)) / rr
    return np.nan_to_num(t, nan=np.inf)
