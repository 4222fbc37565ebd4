"""Hand-corrected labels as `depth-pose annotate` writes them: a COCO keypoints file whose images
are 16-bit depth PNGs beside it, readable as a data set (`--data labels.json`).

    labels.json                COCO keypoints (+ track_id, camera per image) of the frames
                               edited or reviewed, and the tool's own state under "annotate"
    labels.json.depth/000007.png   depth in millimetres, 0 invalid, one per labelled frame

Only frames a person edited or marked reviewed are labels; untouched frames are not in
`images`, so training never sees an unchecked starting skeleton as ground truth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import read_depth_file
from depth_pose_ros.data.sample import PersonAnnotation, Sample

FORMAT = "depth_pose_ros.labels"


def depth_directory(labels: str | Path) -> Path:
    """Where the depth PNGs of a labels file live."""
    labels = Path(labels)
    return labels.with_name(labels.name + ".depth")


def person_from_annotation(annotation: dict[str, Any]) -> PersonAnnotation:
    keypoints = np.asarray(annotation["keypoints"], dtype=np.float32).reshape(-1, 3)
    xyz = annotation.get("keypoints_3d")
    return PersonAnnotation(
        uv=keypoints[:, :2],
        visibility=keypoints[:, 2].astype(np.uint8),
        xyz=None if xyz is None else np.asarray(xyz, dtype=np.float32).reshape(-1, 3),
        track_id=int(annotation.get("track_id", 0)),
    )


class LabelsDataset:
    """The labelled frames of a labels file, as a data set for training and evaluation."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            document = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot read labels {self.path}: {error}") from None
        if not isinstance(document, dict) or document.get("info", {}).get("format") != FORMAT:
            raise ValueError(f"{self.path} is not a {FORMAT} file (written by depth-pose annotate)")
        self._coco = {key: document[key] for key in ("info", "images", "annotations", "categories")}
        self.images = sorted(document["images"], key=lambda image: image["id"])
        self._people: dict[int, list[dict[str, Any]]] = {image["id"]: [] for image in self.images}
        for annotation in document["annotations"]:
            self._people[annotation["image_id"]].append(annotation)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Sample:
        image = self.images[index]
        camera = image["camera"]
        intrinsics = CameraIntrinsics(
            image["width"],
            image["height"],
            camera["fx"],
            camera["fy"],
            camera["cx"],
            camera["cy"],
            distortion_model=camera.get("distortion_model", ""),
            distortion=tuple(camera.get("distortion", ())),
        )
        depth = read_depth_file(self.path.parent / image["file_name"])
        people = [person_from_annotation(a) for a in self._people[image["id"]]]
        return Sample(image["id"], depth, intrinsics, people)

    def coco(self) -> dict[str, Any]:
        return self._coco
