"""COCO keypoint JSON for our 21 joints: how ground truth and results are exchanged.

Ground truth follows the paper's metric: `area` (the OKS scale s^2) is the area of the box around
a person's labelled keypoints, and `bbox` is that box. Extensions other tools ignore:
`keypoints_3d` (x, y, z in metres per joint) on annotations and results, `track_id`, and a
`camera` (fx, fy, cx, cy) on images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from depth_pose_ros.core import schema

# Keypoint visibility flags (COCO's v)
UNLABELLED, OCCLUDED, VISIBLE = 0, 1, 2
# People with fewer visible joints are marked iscrowd: the metric neither counts them as missed
# nor a detection of them as a false positive.
MIN_VISIBLE_JOINTS = 4

CATEGORY: dict[str, Any] = {
    "id": 1,
    "name": "person",
    "supercategory": "person",
    "keypoints": list(schema.JOINT_NAMES),
    "skeleton": [[parent + 1, child + 1] for parent, child in schema.BONES],
}


def is_ignored(visibility: np.ndarray) -> bool:
    """Whether a person is too hidden to be required of an estimator."""
    return int(np.count_nonzero(np.asarray(visibility) == VISIBLE)) < MIN_VISIBLE_JOINTS


def keypoint_box(uv: np.ndarray, visibility: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, w, h) of the box around the labelled keypoints; zeros when none are."""
    labelled = np.asarray(uv)[np.asarray(visibility) > 0]
    if len(labelled) == 0:
        return 0.0, 0.0, 0.0, 0.0
    x0, y0 = labelled.min(axis=0)
    x1, y1 = labelled.max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def _triples(uv: np.ndarray, third: np.ndarray) -> list[float]:
    return np.column_stack([uv, third]).astype(np.float64).ravel().round(3).tolist()


def annotation(
    ann_id: int,
    image_id: int,
    uv: np.ndarray,
    visibility: np.ndarray,
    xyz: np.ndarray | None = None,
    track_id: int | None = None,
) -> dict[str, Any]:
    """A ground-truth person; unlabelled joints get x = y = 0 as COCO requires."""
    visibility = np.asarray(visibility, dtype=np.int64)
    uv = np.where((visibility > 0)[:, None], np.nan_to_num(np.asarray(uv, np.float64)), 0.0)
    uv = uv.round(3)  # as written, so the area below is that of the stored keypoints
    box = keypoint_box(uv, visibility)
    record: dict[str, Any] = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": 1,
        "keypoints": _triples(uv, visibility),
        "num_keypoints": int(np.count_nonzero(visibility)),
        "area": round(box[2] * box[3], 3),
        "bbox": [round(v, 3) for v in box],
        "iscrowd": int(is_ignored(visibility)),
    }
    if xyz is not None:
        record["keypoints_3d"] = np.asarray(xyz, np.float64).round(4).ravel().tolist()
    if track_id is not None:
        record["track_id"] = int(track_id)
    return record


def result(
    image_id: int,
    uv: np.ndarray,
    confidence: np.ndarray,
    score: float,
    xyz: np.ndarray | None = None,
) -> dict[str, Any]:
    """An estimated person as a COCO keypoint result (NaN pixels written as 0)."""
    record: dict[str, Any] = {
        "image_id": image_id,
        "category_id": 1,
        "keypoints": _triples(np.nan_to_num(np.asarray(uv, np.float64)), confidence),
        "score": round(float(score), 5),
    }
    if xyz is not None:
        record["keypoints_3d"] = [
            None if not np.isfinite(v) else round(float(v), 4) for v in np.ravel(xyz)
        ]
    return record


def document(
    images: list[dict[str, Any]],
    annotations: list[dict[str, Any]],
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A COCO keypoint ground-truth file."""
    return {
        "info": info or {},
        "images": images,
        "annotations": annotations,
        "categories": [CATEGORY],
    }
