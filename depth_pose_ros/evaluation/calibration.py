"""INT8 calibration sets: the estimator's own crops of a data set, as the network will see them
(the person stage's boxes, the reference depths, the normalisation)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np

from depth_pose_ros.data import open_dataset
from depth_pose_ros.inference.estimator import MIN_CROP_EXTENT_M, PoseEstimator
from depth_pose_ros.inference.precision import CALIBRATION_BATCH, CalibrationSet
from depth_pose_ros.model.weights import resolve

DEFAULT_SET = "synthetic:val"


def estimator_crops(spec: str, weights: str, people: str, batches: int = 32) -> CalibrationSet:
    """Up to `batches` batches of CALIBRATION_BATCH crops of the data set `spec`; its name ties
    it to the data set, the count, the person stage that chose the crops and how they are cut."""
    stage = hashlib.sha256(resolve(people).read_bytes()).hexdigest()[:12]
    name = (
        f"{spec} crops, {batches}x{CALIBRATION_BATCH}, person stage {stage}, "
        f"at least {MIN_CROP_EXTENT_M} m"
    )

    def make() -> Iterator[np.ndarray]:
        data = open_dataset(spec)
        estimator = PoseEstimator(weights, "onnxruntime", precision="fp32", people=people)
        pending = np.zeros((0, 1, *estimator.config.input_size), np.float32)
        made = 0
        for index in range(len(data)):
            sample = data[index]
            pending = np.concatenate([pending, estimator.crops(sample.depth, sample.intrinsics)])
            while len(pending) >= CALIBRATION_BATCH and made < batches:
                yield pending[:CALIBRATION_BATCH]
                pending, made = pending[CALIBRATION_BATCH:], made + 1
            if made == batches:
                return
        if len(pending):  # a small data set: its last crops make a short batch
            yield pending

    return CalibrationSet(name, make)
