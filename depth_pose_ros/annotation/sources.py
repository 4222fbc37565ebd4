"""What can be annotated: the frames of a bag, a data set or a folder of depth PNGs, each with
the skeletons to start from (recorded node outputs, ground truth, Kinect SDK skeletons)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import read_depth_file
from depth_pose_ros.core.skeleton import KeypointState, Skeleton
from depth_pose_ros.data import coco
from depth_pose_ros.data.sample import PersonAnnotation


class AnnotationError(ValueError):
    """A source that cannot be opened or read, or labels that cannot be used; the message names
    the problem."""


@dataclass
class Frame:
    """One frame to annotate."""

    key: str  # stable id: a bag's header stamp in ns, a data set's image id, a PNG's file name
    depth: np.ndarray  # float32 metres, NaN invalid
    intrinsics: CameraIntrinsics
    people: list[PersonAnnotation] | None  # the skeletons to start from; None: none recorded


class FrameSource(Protocol):
    name: str

    def keys(self) -> list[str]: ...

    def origins(self) -> list[str]:
        """Per frame, the name the Watch-R-Patch export gives it."""
        ...

    def frame(self, index: int) -> Frame: ...


def person_from_skeleton(skeleton: Skeleton) -> PersonAnnotation:
    """A recorded skeleton as labels: TRACKED joints visible, INFERRED occluded, the rest not
    labelled."""
    visibility = np.select(
        [skeleton.state == KeypointState.TRACKED, skeleton.state == KeypointState.INFERRED],
        [coco.VISIBLE, coco.OCCLUDED],
        coco.UNLABELLED,
    ).astype(np.uint8)
    visibility[~np.all(np.isfinite(skeleton.uv), axis=1)] = coco.UNLABELLED
    return PersonAnnotation(np.nan_to_num(skeleton.uv), visibility, track_id=skeleton.id)


class DatasetSource:
    """Frames of a data set (`open_dataset` spec), starting from its annotations."""

    def __init__(self, spec: str) -> None:
        from depth_pose_ros.data import open_dataset

        try:
            self.dataset = open_dataset(spec, progress=False)
        except (OSError, ValueError) as error:
            raise AnnotationError(f"cannot open data set {spec}: {error}") from None
        self.name = spec
        self._keys = [str(image["id"]) for image in self.dataset.coco()["images"]]
        files = getattr(self.dataset, "frames", None)  # Watch-n-Patch: (depth .mat path, ...)
        self._origins = (
            [Path(*Path(path).parts[-3:]).as_posix() for path, _ in files]
            if files is not None
            else self._keys
        )

    def keys(self) -> list[str]:
        return self._keys

    def origins(self) -> list[str]:
        return self._origins

    def frame(self, index: int) -> Frame:
        sample = self.dataset[index]
        return Frame(self._keys[index], sample.depth, sample.intrinsics, sample.people)


class PngFolderSource:
    """A folder of 16-bit depth PNGs (millimetres) taken with one pinhole camera."""

    def __init__(
        self, folder: str | Path, pinhole: tuple[float, float, float, float] | None
    ) -> None:
        self.folder = Path(folder)
        self.name = str(folder)
        self.files = sorted(self.folder.glob("*.png"))
        if not self.files:
            raise AnnotationError(f"{folder} holds no .png depth images")
        if pinhole is None:
            raise AnnotationError(f"{folder}: a folder of PNGs needs --fx --fy --cx --cy")
        self.pinhole = pinhole  # fx, fy, cx, cy

    def keys(self) -> list[str]:
        return [path.name for path in self.files]

    def origins(self) -> list[str]:
        return self.keys()

    def frame(self, index: int) -> Frame:
        path = self.files[index]
        try:
            depth = read_depth_file(path)
        except ValueError as error:
            raise AnnotationError(str(error)) from None
        intrinsics = CameraIntrinsics(depth.shape[1], depth.shape[0], *self.pinhole)
        return Frame(path.name, depth, intrinsics, None)


def select(keys: Sequence[str], every: int, first: Sequence[str]) -> list[int]:
    """Indices of the frames to annotate: every `every`-th, with the frames listed in `first`
    (that exist) moved to the front in their order."""
    if every < 1:
        raise AnnotationError(f"--every must be at least 1, got {every}")
    position = {key: index for index, key in enumerate(keys)}
    unknown = [key for key in first if key not in position]
    if first and len(unknown) == len(first):
        raise AnnotationError(f"none of the {len(first)} listed frames is in the source")
    front = list(dict.fromkeys(position[key] for key in first if key in position))
    chosen = set(front)
    return front + [index for index in range(0, len(keys), every) if index not in chosen]


def read_frame_list(path: str | Path) -> list[str]:
    """Frame ids, one per line; `#` lines are comments (what `poses coverage --frames-out`
    writes)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as error:
        raise AnnotationError(f"cannot read frame list {path}: {error.strerror}") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
