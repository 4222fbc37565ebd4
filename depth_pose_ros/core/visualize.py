"""Pictures for people: colourised depth with skeletons drawn on it (previews, overlays, the
node's debug image)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from depth_pose_ros.core import schema
from depth_pose_ros.core.skeleton import KeypointState, Skeleton

# A fixed palette (BGR), indexed by track id, so a person keeps a colour.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (75, 25, 230),
    (75, 180, 60),
    (25, 225, 255),
    (200, 130, 0),
    (48, 130, 245),
    (180, 30, 145),
    (240, 240, 70),
    (230, 50, 240),
    (60, 245, 210),
    (190, 190, 250),
)


def colour_for(track_id: int) -> tuple[int, int, int]:
    return PALETTE[track_id % len(PALETTE)]


def colourise_depth(depth_m: np.ndarray, near: float = 0.5, far: float = 6.0) -> np.ndarray:
    """Depth in metres (NaN invalid) as a BGR image: near warm, far cool, invalid black."""
    valid = np.isfinite(depth_m) & (depth_m > 0)
    scaled = np.clip((far - np.where(valid, depth_m, far)) / (far - near), 0, 1)
    image = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    image[~valid] = 0
    return image


def draw_skeleton(
    image: np.ndarray,
    uv: np.ndarray,
    present: np.ndarray,
    confident: np.ndarray,
    colour: tuple[int, int, int],
    label: str | None = None,
) -> None:
    """Draw one skeleton in place: bones between present joints, confident joints filled,
    the others hollow, and an optional label above the head."""
    scale = max(1, round(image.shape[0] / 424))
    points = np.rint(uv).astype(int)
    for a, b in schema.BONES:
        if present[a] and present[b]:
            cv2.line(image, tuple(points[a]), tuple(points[b]), colour, scale, cv2.LINE_AA)
    for j in np.flatnonzero(present):
        thickness = -1 if confident[j] else scale
        cv2.circle(image, tuple(points[j]), 2 * scale + 1, colour, thickness, cv2.LINE_AA)
    if label is not None and present.any():
        anchor = points[schema.JOINT_INDEX["Head"]] if present[3] else points[present].min(0)
        cv2.putText(
            image,
            label,
            (int(anchor[0]) - 8 * scale, int(anchor[1]) - 10 * scale),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45 * scale,
            colour,
            scale,
            cv2.LINE_AA,
        )


def draw_skeletons(
    image: np.ndarray,
    skeletons: Sequence[Skeleton],
    labels: Sequence[str],
    colour_ids: Sequence[int],
    scale: float = 1.0,
) -> None:
    """Draw estimated skeletons in place (pixels times `scale`): TRACKED joints filled,
    INFERRED hollow, NOT_TRACKED left out; each in the palette colour of its colour id."""
    for skeleton, label, colour_id in zip(skeletons, labels, colour_ids, strict=True):
        draw_skeleton(
            image,
            skeleton.uv * scale,
            skeleton.state != KeypointState.NOT_TRACKED,
            skeleton.state == KeypointState.TRACKED,
            colour_for(colour_id),
            label,
        )


def grid(images: Sequence[np.ndarray], columns: int) -> np.ndarray:
    """Tile equally sized images row by row (missing cells black)."""
    height, width = images[0].shape[:2]
    rows = -(-len(images) // columns)
    canvas = np.zeros((rows * height, columns * width, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        canvas[r * height : (r + 1) * height, c * width : (c + 1) * width] = image
    return canvas
