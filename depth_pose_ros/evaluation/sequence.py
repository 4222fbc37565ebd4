"""What the node's processing made of a recorded sequence, and its score against ground truth.

Plain data: the ROS layer fills a `SequenceRun` from a bag (or from what a running node
published); this module scores it with the paper's metric and the report draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from depth_pose_ros.core.skeleton import KeypointState, Skeleton, TrackingState
from depth_pose_ros.data import coco
from depth_pose_ros.evaluation import metrics


@dataclass
class SequenceRun:
    """What the pipeline made of a recording, frame by frame."""

    frame_id: str = ""
    stamps: list[int] = field(default_factory=list)  # every depth frame, in order
    outputs: dict[int, list[Skeleton]] = field(default_factory=dict)  # by stamp
    truth: dict[int, list[Skeleton]] = field(default_factory=dict)  # by stamp, if recorded
    rejected_frames: list[tuple[int, str]] = field(default_factory=list)  # (stamp, problem)
    rejected_camera_info: list[str] = field(default_factory=list)  # problems
    latencies_ms: list[float] = field(default_factory=list)
    kept_depth: dict[int, np.ndarray] = field(default_factory=dict)  # by stamp, for pictures


def _visibility(skeleton: Skeleton) -> np.ndarray:
    """Ground-truth keypoint states as COCO visibility: TRACKED visible, INFERRED occluded."""
    return np.select(
        [skeleton.state == KeypointState.TRACKED, skeleton.state == KeypointState.INFERRED],
        [coco.VISIBLE, coco.OCCLUDED],
        coco.UNLABELLED,
    )


def evaluate(run_result: SequenceRun) -> tuple[metrics.Report, dict[int, float]] | None:
    """The paper's metrics against the recorded ground truth, and the 3D error (mm) per frame;
    None without ground truth. Frames the pipeline rejected count as missed."""
    if not run_result.truth:
        return None
    stamps = [s for s in run_result.stamps if s in run_result.truth]
    image_id = {stamp: i + 1 for i, stamp in enumerate(stamps)}
    annotations: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for stamp in stamps:
        for person in run_result.truth[stamp]:
            annotations.append(
                coco.annotation(
                    len(annotations) + 1,
                    image_id[stamp],
                    person.uv,
                    _visibility(person),
                    person.xyz,
                    person.id,
                )
            )
        for skeleton in run_result.outputs.get(stamp, []):
            if skeleton.tracking_state != TrackingState.LOST:
                results.append(
                    coco.result(
                        image_id[stamp],
                        skeleton.uv,
                        skeleton.confidence,
                        skeleton.score,
                        skeleton.xyz,
                    )
                )
    images = [{"id": image_id[s], "width": 512, "height": 424} for s in stamps]
    report = metrics.evaluate(coco.document(images, annotations), results)
    return report, {
        stamp: figures.error_3d_mm
        for stamp in stamps
        if (figures := report.by_image.get(image_id[stamp])) is not None
        and figures.error_3d_mm is not None
    }
