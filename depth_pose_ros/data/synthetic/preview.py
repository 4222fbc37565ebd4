"""A picture of what the generator makes: a grid of frames with their ground truth drawn."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from depth_pose_ros.core.visualize import colour_for, colourise_depth, draw_skeleton, grid
from depth_pose_ros.data.synthetic.generator import OUTSIDE, VISIBLE
from depth_pose_ros.data.synthetic.scenarios import generate_frame, scenario_of


def write_preview(
    path: str | Path,
    split: str,
    seed: int,
    frames: int,
    people: int | None = None,
    scenarios: Sequence[str] | None = None,
) -> None:
    """Frames 0..frames-1 of a split and seed (cycling through `scenarios`, or the mix), four per
    row: colourised depth (invalid black), skeletons in their track colour, visible joints
    filled, occluded ones hollow, people too hidden to count (ignored by the metric) labelled
    with their id in brackets, and each frame's family in its corner."""
    tiles = []
    for index in range(frames):
        frame = generate_frame(split, seed, index, people, scenario_of(index, scenarios))
        tile = colourise_depth(frame.depth_m)
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
        cv2.putText(
            tile, frame.scenario, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1
        )
        tiles.append(tile)
    if not cv2.imwrite(str(path), grid(tiles, columns=min(4, frames))):
        raise ValueError(f"cannot write a PNG to {path}")
