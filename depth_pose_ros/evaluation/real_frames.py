"""Real depth frames without joint labels: is the one person found, and nothing else?

Each frame may come with the box the person stands in (hand-marked, `real_dev_people.json` for
the development frames of ../shared/real-dev, or a `person_box` array in the frame's `.npz`). A
skeleton is on the person when most of its located joints lie in that box (widened a little),
so a skeleton on a chair next to a missed person counts as what it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depth_pose_ros.core.skeleton import KeypointState, Skeleton

MARKED_BOXES = Path(__file__).with_name("real_dev_people.json")
BOX_SLACK = 0.1  # of the box's width and height added on every side
ON_PERSON_SHARE = 0.7  # of a skeleton's located joints in the person's box


@dataclass(frozen=True)
class FrameVerdict:
    """One frame's skeletons judged against the person's box (None: no box known)."""

    on_person: list[bool] | None

    @property
    def found(self) -> bool | None:
        return None if self.on_person is None else any(self.on_person)

    @property
    def alone(self) -> bool | None:
        """The person found and no other skeleton: what a real frame of one person should give."""
        return None if self.on_person is None else self.on_person == [True]

    @property
    def off_person(self) -> int | None:
        return None if self.on_person is None else self.on_person.count(False)


def as_box(values: Iterable[float]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in whole pixels from four numbers."""
    x0, y0, x1, y1 = (int(v) for v in values)
    return x0, y0, x1, y1


def marked_boxes(path: Path = MARKED_BOXES) -> dict[str, tuple[int, int, int, int]]:
    """Frame name -> the person's box (x0, y0, x1, y1), pixels, inclusive."""
    return {name: as_box(box) for name, box in json.loads(path.read_text()).items()}


def share_in_box(skeleton: Skeleton, box: tuple[int, int, int, int]) -> float:
    """The share of the skeleton's located joints inside `box`, widened by BOX_SLACK."""
    x0, y0, x1, y1 = box
    dx, dy = BOX_SLACK * (x1 - x0), BOX_SLACK * (y1 - y0)
    known = skeleton.state != KeypointState.NOT_TRACKED
    u, v = skeleton.uv[known, 0], skeleton.uv[known, 1]
    if u.size == 0:
        return 0.0
    inside = (u >= x0 - dx) & (u <= x1 + dx) & (v >= y0 - dy) & (v <= y1 + dy)
    return float(np.mean(inside))


def judge(skeletons: list[Skeleton], box: tuple[int, int, int, int] | None) -> FrameVerdict:
    """Which of a frame's skeletons are on its one person."""
    if box is None:
        return FrameVerdict(None)
    return FrameVerdict([share_in_box(s, box) >= ON_PERSON_SHARE for s in skeletons])
