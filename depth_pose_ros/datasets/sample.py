"""What every data set yields: depth frames with annotated people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from depth_pose_ros import coco
from depth_pose_ros.camera import CameraIntrinsics


@dataclass
class PersonAnnotation:
    """One person's labels: pixels and visibility per joint, 3D where known."""

    uv: np.ndarray  # (21, 2) depth-image pixels
    visibility: np.ndarray  # (21,) coco.UNLABELLED / OCCLUDED / VISIBLE
    xyz: np.ndarray | None = None  # (21, 3) metres in the camera frame
    track_id: int = 0

    @property
    def ignore(self) -> bool:
        return coco.is_ignored(self.visibility)


@dataclass
class Sample:
    """One depth frame with its annotations."""

    image_id: int
    depth: np.ndarray  # (H, W) float32 metres, NaN invalid
    intrinsics: CameraIntrinsics
    people: list[PersonAnnotation]
    mask: np.ndarray | None = None  # (H, W) uint8 person index + 1, where known


class Dataset(Protocol):
    """A sequence of samples whose ground truth is also available as a COCO document."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Sample: ...

    def coco(self) -> dict[str, object]: ...


def coco_document(
    image_ids: Sequence[int],
    sizes: Sequence[tuple[int, int]],
    people: Sequence[list[PersonAnnotation]],
    info: dict[str, object] | None = None,
) -> dict[str, object]:
    """A COCO ground-truth document for frames given by id, (width, height) and people."""
    images, annotations = [], []
    for image_id, (width, height), persons in zip(image_ids, sizes, people, strict=True):
        images.append({"id": image_id, "width": width, "height": height})
        for person in persons:
            annotations.append(
                coco.annotation(
                    len(annotations) + 1,
                    image_id,
                    person.uv,
                    person.visibility,
                    person.xyz,
                    person.track_id,
                )
            )
    return coco.document(images, annotations, info)
