"""From a depth image to the network's input: a square crop around a person, normalised.

Training and inference share these functions, so what the network sees is the same in both.
One affine transform maps image pixels to input pixels (crop, scale, and for training rotation
and flip); pixel centres are at integer coordinates throughout. Depth is taken relative to the
person's own depth, so the input does not depend on how far away the person is:
    input = clip((depth - reference) / depth_range, -1, 1),  invalid pixels -> invalid_value,
with `depth_range` and `invalid_value` (and the crop's margin) from the model's config, which
the weights carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # the config is only read here; importing the network would load torch
    from depth_pose_ros.model.network import ModelConfig

MIN_VALID_PIXELS = 20


@dataclass(frozen=True)
class CropBox:
    """A square region of the depth image around one person (pixels)."""

    cx: float
    cy: float
    size: float

    @classmethod
    def around(cls, x0: float, y0: float, x1: float, y1: float, margin: float) -> CropBox:
        """The square crop around the box (x0, y0)-(x1, y1), `margin` times its longer side."""
        side = max(x1 - x0, y1 - y0, 1.0) * margin
        return cls((x0 + x1) / 2.0, (y0 + y1) / 2.0, side)

    @classmethod
    def around_mask(cls, mask: np.ndarray, margin: float) -> CropBox:
        return cls.around(*mask_bounds(mask), margin)


@dataclass(frozen=True)
class PersonRegion:
    """One person as the network needs them: the crop around them, the pixels whose depth
    stands for them (3D comes from those) and their reference depth in metres."""

    box: CropBox
    mask: np.ndarray  # (H, W) bool
    reference_depth: float


def mask_bounds(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the first and last columns and rows of a mask (inclusive)."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("cannot place a crop around an empty mask")
    return int(columns[0]), int(rows[0]), int(columns[-1]), int(rows[-1])


def crop_transform(
    box: CropBox,
    input_size: tuple[int, int],
    rotation_degrees: float = 0.0,
    flip: bool = False,
) -> np.ndarray:
    """The 2x3 affine matrix taking image pixels to input pixels (box centre -> input centre),
    optionally rotated (degrees, counter-clockwise in the image) and mirrored left-right."""
    height, width = input_size
    scale = min(height, width) / box.size
    angle = np.radians(rotation_degrees)
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    linear = np.array([[cos, sin], [-sin, cos]])
    if flip:
        linear[0] = -linear[0]
    centre_out = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    offset = centre_out - linear @ np.array([box.cx, box.cy])
    return np.column_stack([linear, offset])


def invert(affine: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(affine)


def apply(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Transform (..., 2) points by a 2x3 affine matrix."""
    return points @ affine[:, :2].T + affine[:, 2]


def warp_depth(depth: np.ndarray, affine: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """The crop of a metric depth image (NaN invalid) under `affine`; outside is NaN.

    Nearest-neighbour sampling: interpolating depth across an edge would invent surfaces.
    """
    height, width = input_size
    return cv2.warpAffine(
        depth,
        affine,
        (width, height),
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=float("nan"),
    )


def reference_depth(depth: np.ndarray, mask: np.ndarray) -> float | None:
    """The person's depth: the median of valid depth under their mask (None if too few)."""
    values = depth[mask]
    values = values[np.isfinite(values)]
    if values.size < MIN_VALID_PIXELS:
        return None
    return float(np.median(values))


def normalise(crop: np.ndarray, reference: float, config: ModelConfig) -> np.ndarray:
    """Network input from a metric crop: depth relative to the person, invalid far away."""
    relative = (crop - np.float32(reference)) / np.float32(config.depth_range)
    out = np.clip(relative, -1.0, 1.0)
    out[~np.isfinite(crop)] = config.invalid_value
    return out.astype(np.float32, copy=False)


def prepare_crop(
    depth: np.ndarray,
    box: CropBox,
    reference: float,
    config: ModelConfig,
    rotation_degrees: float = 0.0,
    flip: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The normalised network input for one person and the affine that made it."""
    affine = crop_transform(box, config.input_size, rotation_degrees, flip)
    return normalise(warp_depth(depth, affine, config.input_size), reference, config), affine
