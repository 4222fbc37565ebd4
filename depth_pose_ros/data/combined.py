"""Several data sets as one (`--data data/train,data/mine`): samples in order, image ids kept
unique by an offset per part."""

from __future__ import annotations

import bisect
import copy
from collections.abc import Sequence
from typing import Any

from depth_pose_ros.data.sample import Dataset, Sample


class Combined:
    """The samples of every part in turn; part k's image ids are shifted past those before it."""

    def __init__(self, parts: Sequence[Dataset]) -> None:
        if not parts:
            raise ValueError("no data set to combine")
        self.parts = list(parts)
        self._starts: list[int] = []
        self._id_offsets: list[int] = []
        start = offset = 0
        for part in self.parts:
            self._starts.append(start)
            self._id_offsets.append(offset)
            start += len(part)
            ids = [image["id"] for image in part.coco()["images"]]
            offset += max(ids, default=0) + 1

    def __len__(self) -> int:
        return self._starts[-1] + len(self.parts[-1])

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(index)
        part = bisect.bisect_right(self._starts, index) - 1
        sample = self.parts[part][index - self._starts[part]]
        sample.image_id += self._id_offsets[part]
        return sample

    def coco(self) -> dict[str, Any]:
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for part, offset in zip(self.parts, self._id_offsets, strict=True):
            document = part.coco()
            for image in document["images"]:
                images.append({**image, "id": image["id"] + offset})
            for annotation in document["annotations"]:
                shifted = copy.copy(annotation)
                shifted["image_id"] = annotation["image_id"] + offset
                shifted["id"] = len(annotations) + 1
                annotations.append(shifted)
        first = self.parts[0].coco()
        return {**first, "images": images, "annotations": annotations}
