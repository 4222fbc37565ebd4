"""Regression tests on bags: today's outputs against golden ones, within tolerances.

Frames are matched by stamp and skeletons by id. A joint drifts when its pixels move more than
`tolerance_px`, its 3D position more than `tolerance_m`, or it has a position on one side only;
a frame drifts when it has a different set of skeleton ids or is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_pose_ros.core import schema
from depth_pose_ros.core.skeleton import Skeleton


@dataclass(frozen=True)
class Drift:
    stamp_ns: int
    skeleton_id: int | None
    joint: str | None
    problem: str

    def __str__(self) -> str:
        where = f"frame {self.stamp_ns / 1e9:.3f} s"
        if self.skeleton_id is not None:
            where += f", skeleton {self.skeleton_id}"
        if self.joint is not None:
            where += f", {self.joint}"
        return f"{where}: {self.problem}"


def _joint_drifts(
    stamp: int, now: Skeleton, golden: Skeleton, tolerance_px: float, tolerance_m: float
) -> list[Drift]:
    drifts = []
    for j, name in enumerate(schema.JOINT_NAMES):
        for label, a, b, tolerance, unit in (
            ("pixels", now.uv[j], golden.uv[j], tolerance_px, "px"),
            ("position", now.xyz[j], golden.xyz[j], tolerance_m, "m"),
        ):
            finite_a, finite_b = np.isfinite(a).all(), np.isfinite(b).all()
            if finite_a != finite_b:
                side = "now" if finite_a else "golden"
                drifts.append(Drift(stamp, now.id, name, f"{label} only in the {side} output"))
            elif finite_a and (distance := float(np.linalg.norm(a - b))) > tolerance:
                drifts.append(
                    Drift(
                        stamp, now.id, name, f"{label} moved {distance:.3f} {unit} (> {tolerance})"
                    )
                )
    return drifts


def compare(
    outputs: dict[int, list[Skeleton]],
    golden: dict[int, list[Skeleton]],
    tolerance_px: float = 2.0,
    tolerance_m: float = 0.02,
) -> list[Drift]:
    """Every difference between today's outputs and the golden ones beyond tolerance."""
    drifts = []
    for stamp in sorted(set(outputs) | set(golden)):
        if stamp not in outputs:
            drifts.append(Drift(stamp, None, None, "frame missing from the outputs"))
            continue
        if stamp not in golden:
            drifts.append(Drift(stamp, None, None, "frame not in the golden outputs"))
            continue
        now = {s.id: s for s in outputs[stamp]}
        then = {s.id: s for s in golden[stamp]}
        for identity in sorted(set(now) ^ set(then)):
            side = "outputs" if identity in now else "golden outputs"
            drifts.append(Drift(stamp, identity, None, f"skeleton only in the {side}"))
        for identity in sorted(set(now) & set(then)):
            drifts += _joint_drifts(stamp, now[identity], then[identity], tolerance_px, tolerance_m)
    return drifts
