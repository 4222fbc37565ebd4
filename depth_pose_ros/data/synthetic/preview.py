"""A picture of what the generator makes: a grid of frames with their ground truth drawn."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from depth_pose_ros.core.visualize import colour_for, colourise_depth, draw_skeleton, grid
from depth_pose_ros.data.synthetic.generator import OUTSIDE, VISIBLE, generate_frame


def write_preview(
    path: str | Path, split: str, seed: int, frames: int, people: int | None = None
) -> None:
    """Frames 0..frames-1 of a split and seed, four per row: colourised depth (invalid black),
    skeletons in their track colour, visible joints filled, occluded ones hollow, and people too
    hidden to count (ignored by the metric) labelled with their id in brackets."""
    tiles = []
    for index in range(frames):
        frame = generate_frame(split, seed, index, people)
        depth = frame.depth_m
        tile = colourise_depth(depth)
        for person in frame.people:
            label = f"({person.track_id})" if person.ignore else str(person.track_id)
            draw_skeleton(
                tile,
                np.nan_to_num(person.joints_2d),
                person.visibility != OUTSIDE,
                person.visibility == VISIBLE,
                colour_for(person.track_id),
                label,
            )
        tiles.append(tile)
    if not cv2.imwrite(str(path), grid(tiles, columns=min(4, frames))):
        raise ValueError(f"cannot write a PNG to {path}")
