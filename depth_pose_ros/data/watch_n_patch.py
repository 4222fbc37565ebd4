"""Watch-n-Patch (Wu et al., CVPR 2015) and the Watch-R-Patch refined annotations (the paper's).

Watch-n-Patch, per sequence directory (e.g. `office/data_03-58-25/`):
    depth/0001.mat ...   variable `depth`: 424x512 depth (millimetres, or metres as floats)
    body.mat             variable `body`: a frames x 6 cell array of body structs with
                         `isBodyTracked` and `joints`, 25 structs with `trackingState`
                         (0 not tracked, 1 inferred, 2 tracked), `camera` (x, y, z in metres,
                         Kinect camera space) and `depth` (u, v in depth-image pixels)
Rows of `body` follow the sorted depth file names. Kinect camera space has x to the sensor's
left and y up, and the SDK's depth images are mirrored left-right, so a point to the sensor's
left shows at a larger column: in the optical frame of those images (x right, y down) a joint is
(X, -Y, Z). The loader checks this on the data: of the two signs of x, the one whose projected
3D joints land on the recorded depth pixels is used (`camera_x_sign`).

Watch-R-Patch: a JSON object {depth frame path: {joint index: [u, v]}} with (-1, -1) for a
joint the annotators marked missing; paths are matched by their last three components
(`<sequence>/depth/<frame>.mat`) to frames under the Watch-n-Patch root.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from depth_pose_ros.core import schema
from depth_pose_ros.core.camera import KINECT_V2, CameraIntrinsics
from depth_pose_ros.core.depth_image import millimetres_to_metres
from depth_pose_ros.data import coco
from depth_pose_ros.data.sample import PersonAnnotation, Sample, coco_document

# Kinect TrackingState -> visibility flag
_VISIBILITY = {0: coco.UNLABELLED, 1: coco.OCCLUDED, 2: coco.VISIBLE}
MIRRORED = 1.0  # x of the optical frame of mirrored depth images is Kinect camera space's X


def read_depth_mat(path: str | Path) -> np.ndarray:
    """A Watch-n-Patch depth frame as float32 metres, NaN invalid."""
    try:
        depth = np.asarray(scipy.io.loadmat(str(path))["depth"])
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path} is not a Watch-n-Patch depth frame: {error}") from None
    if depth.ndim != 2:
        raise ValueError(f"{path}: depth has shape {depth.shape}, expected 2-D")
    if np.issubdtype(depth.dtype, np.integer) or np.nanmax(depth, initial=0) > 20:
        return millimetres_to_metres(depth)
    metres = depth.astype(np.float32)
    metres[~(metres > 0)] = np.nan
    return metres


def _field(struct: object, name: str) -> Any:
    if isinstance(struct, dict):
        return struct[name]
    return getattr(struct, name)


def read_bodies(
    path: str | Path, intrinsics: CameraIntrinsics = KINECT_V2
) -> list[list[PersonAnnotation]]:
    """The tracked bodies of every frame of a body.mat, as our 21-joint annotations, with 3D in
    the optical frame of the depth images (x sign checked by `camera_x_sign`)."""
    try:
        body = scipy.io.loadmat(str(path), simplify_cells=True)["body"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path} is not a Watch-n-Patch body.mat: {error}") from None
    frames = np.asarray(body, dtype=object)
    if frames.ndim == 1:
        frames = frames[:, None]
    read: list[list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]] = []
    for slots in frames:
        people = []
        for slot, entry in enumerate(slots):
            if not entry or not int(_field(entry, "isBodyTracked")):
                continue
            joints = list(np.ravel(np.asarray(_field(entry, "joints"), dtype=object)))
            if len(joints) != len(schema.KINECT25_JOINT_NAMES):
                raise ValueError(f"{path}: a body has {len(joints)} joints, expected 25")
            state = np.array([int(_field(j, "trackingState")) for j in joints])
            uv = np.array([np.ravel(_field(j, "depth"))[:2] for j in joints], dtype=np.float32)
            xyz = np.array([np.ravel(_field(j, "camera"))[:3] for j in joints], dtype=np.float32)
            people.append((slot, state, uv, xyz))
        read.append(people)
    sign = camera_x_sign(
        [(uv[s == 2], xyz[s == 2]) for people in read for _, s, uv, xyz in people], intrinsics
    )
    to_optical = np.array([sign, -1.0, 1.0], dtype=np.float32)
    return [
        [
            PersonAnnotation(
                uv=schema.from_kinect25(uv),
                visibility=schema.from_kinect25(
                    np.vectorize(_VISIBILITY.get)(state).astype(np.uint8)
                ),
                xyz=schema.from_kinect25(xyz * to_optical),
                track_id=slot + 1,
            )
            for slot, state, uv, xyz in people
        ]
        for people in read
    ]


def camera_x_sign(
    tracked: list[tuple[np.ndarray, np.ndarray]], intrinsics: CameraIntrinsics = KINECT_V2
) -> float:
    """+1 or -1: the sign of Kinect camera space's X in the depth images' optical frame, the
    one whose projections of tracked 3D joints land nearer their recorded depth pixels (the
    images are mirrored, +1, unless the data says otherwise)."""
    errors = {}
    for sign in (MIRRORED, -MIRRORED):
        distances = [
            np.linalg.norm(
                np.column_stack(
                    [
                        intrinsics.cx + intrinsics.fx * sign * xyz[:, 0] / xyz[:, 2],
                        intrinsics.cy - intrinsics.fy * xyz[:, 1] / xyz[:, 2],
                    ]
                )
                - uv,
                axis=1,
            )
            for uv, xyz in tracked
            if len(uv) and np.all(xyz[:, 2] > 0)
        ]
        errors[sign] = float(np.median(np.concatenate(distances))) if distances else 0.0
    return MIRRORED if errors[MIRRORED] <= errors[-MIRRORED] else -MIRRORED


class WatchNPatch:
    """Watch-n-Patch frames with the Kinect SDK's skeletons as annotations."""

    def __init__(
        self,
        root: str | Path,
        sequences: list[str] | None = None,
        intrinsics: CameraIntrinsics = KINECT_V2,
    ) -> None:
        self.root = Path(root)
        self.intrinsics = intrinsics
        found = sorted(p.parent for p in self.root.rglob("body.mat"))
        if sequences is not None:
            found = [p for p in found if p.name in set(sequences)]
        if not found:
            raise FileNotFoundError(f"no Watch-n-Patch sequence (a body.mat) under {self.root}")
        self.frames: list[tuple[Path, list[PersonAnnotation]]] = []
        for sequence in found:
            depth_files = sorted((sequence / "depth").glob("*.mat"))
            bodies = read_bodies(sequence / "body.mat", intrinsics)
            if len(bodies) != len(depth_files):
                raise ValueError(
                    f"{sequence}: body.mat has {len(bodies)} frames but depth/ has "
                    f"{len(depth_files)}"
                )
            self.frames += list(zip(depth_files, bodies, strict=True))

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> Sample:
        path, people = self.frames[index]
        return Sample(index + 1, read_depth_mat(path), self.intrinsics, people)

    def coco(self) -> dict[str, Any]:
        size = (self.intrinsics.width, self.intrinsics.height)
        return coco_document(
            [i + 1 for i in range(len(self))],
            [size] * len(self),
            [people for _, people in self.frames],
            {"format": "watch-n-patch", "root": str(self.root)},
        )


class WatchRPatch:
    """Frames with the refined Watch-R-Patch annotations (2D only)."""

    def __init__(
        self,
        annotations: str | Path,
        root: str | Path,
        intrinsics: CameraIntrinsics = KINECT_V2,
    ) -> None:
        self.root = Path(root)
        self.intrinsics = intrinsics
        entries = json.loads(Path(annotations).read_text())
        self.frames: list[tuple[Path, PersonAnnotation]] = []
        for key, joints in sorted(entries.items()):
            tail = Path(*Path(key.replace("\\", "/")).parts[-3:])
            matches = sorted(self.root.glob(f"**/{tail}"))
            if not matches:
                raise FileNotFoundError(f"annotated frame {key} not found under {self.root}")
            self.frames.append((matches[0], self._person(key, joints)))

    @staticmethod
    def _person(key: str, joints: dict | list) -> PersonAnnotation:
        if isinstance(joints, dict):
            joints = [joints[k] for k in sorted(joints, key=int)]
        points = np.asarray(joints, dtype=np.float32).reshape(-1, 2)
        if len(points) == len(schema.KINECT25_JOINT_NAMES):
            points = schema.from_kinect25(points)
        if len(points) != schema.NUM_JOINTS:
            raise ValueError(f"{key}: {len(points)} joints, expected 21 or 25")
        missing = np.all(points == -1, axis=1)
        visibility = np.where(missing, coco.UNLABELLED, coco.VISIBLE).astype(np.uint8)
        return PersonAnnotation(uv=np.where(missing[:, None], 0, points), visibility=visibility)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> Sample:
        path, person = self.frames[index]
        return Sample(index + 1, read_depth_mat(path), self.intrinsics, [person])

    def coco(self) -> dict[str, Any]:
        size = (self.intrinsics.width, self.intrinsics.height)
        return coco_document(
            [i + 1 for i in range(len(self))],
            [size] * len(self),
            [[person] for _, person in self.frames],
            {"format": "watch-r-patch", "root": str(self.root)},
        )
