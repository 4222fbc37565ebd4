"""What every data set yields: depth frames with annotated people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.data import coco
from depth_pose_ros.model.preprocess import CropBox, PersonRegion, reference_depth


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
    mask: np.ndarray | None = None  # (H, W) uint8 person index + 1 (255: objects), where known


def person_region(sample: Sample, index: int, margin: float) -> PersonRegion | None:
    """Where annotated person `index` is: the crop around their mask (or, without masks, around
    their labelled joints, with the middle of that box standing for their depth); None when
    nothing of them is labelled or too little of them has valid depth."""
    if sample.mask is not None:
        mask = sample.mask == index + 1
        if not mask.any():
            return None
        box = CropBox.around_mask(mask, margin)
    else:
        person = sample.people[index]
        labelled = person.uv[person.visibility > 0]
        if len(labelled) < 2:
            return None
        (x0, y0), (x1, y1) = labelled.min(axis=0), labelled.max(axis=0)
        box = CropBox.around(x0, y0, x1, y1, margin)
        mask = np.zeros(sample.depth.shape, dtype=bool)
        half = box.size / 6
        rows = slice(max(int(box.cy - half), 0), max(int(box.cy + half), 1))
        columns = slice(max(int(box.cx - half), 0), max(int(box.cx + half), 1))
        mask[rows, columns] = True
    reference = reference_depth(sample.depth, mask)
    return None if reference is None else PersonRegion(box, mask, reference)


def annotated_regions(sample: Sample, margin: float) -> list[tuple[int, PersonRegion]]:
    """(person index, region) of every person the metric counts (not `ignore`) who has one: the
    crops the network gets when the people are given, as in the paper's evaluation."""
    regions = []
    for index, person in enumerate(sample.people):
        region = None if person.ignore else person_region(sample, index, margin)
        if region is not None:
            regions.append((index, region))
    return regions


class Dataset(Protocol):
    """A sequence of samples whose ground truth is also available as a COCO document."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Sample: ...

    def coco(self) -> dict[str, Any]: ...


def coco_document(
    image_ids: Sequence[int],
    sizes: Sequence[tuple[int, int]],
    people: Sequence[list[PersonAnnotation]],
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A COCO ground-truth document for frames given by id, (width, height) and people."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
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
