"""Where poses for coverage come from: data sets, COCO JSON files and the shipped mocap library.

Bags are read by the ROS layer (`depth_pose_ros.ros.bag`) and given here as skeletons. Frame ids
are strings: a data set's or COCO file's image id, a bag message's stamp in nanoseconds, a mocap
pose's `clip:frame` (with `m` when mirrored).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from depth_pose_ros.core import schema
from depth_pose_ros.core.skeleton import KeypointState, Skeleton
from depth_pose_ros.core.visualize import colourise_depth
from depth_pose_ros.data import open_dataset
from depth_pose_ros.data.coco import UNLABELLED
from depth_pose_ros.data.sample import PersonAnnotation
from depth_pose_ros.evaluation.coverage import CoverageError, PoseSet, pose_set

MOCAP = "mocap"  # the source name of the shipped pose library
CROP_SIZE = 96


def from_coco(name: str, document: Any) -> PoseSet:
    """Poses of a COCO keypoint ground-truth document or results list: metric (3D) when every
    person carries `keypoints_3d`, else pixels (2D). A joint counts when it is labelled (ground
    truth: v > 0; results: confidence > 0) and, in 3D, has a position."""
    if isinstance(document, dict) and "annotations" in document:
        people = [a for a in document["annotations"] if a.get("category_id", 1) == 1]
        images = {image["id"]: image for image in document.get("images", [])}
    elif isinstance(document, list):
        people, images = document, {}
    else:
        raise CoverageError(f"{name}: neither a COCO keypoint document nor a results list")
    metric = bool(people) and all(p.get("keypoints_3d") for p in people)
    skeletons, groups = [], []
    for person in people:
        try:
            triples = np.asarray(person["keypoints"], dtype=np.float64).reshape(-1, 3)
        except (KeyError, ValueError, TypeError) as error:
            raise CoverageError(f"{name}: an annotation without 21 keypoint triples") from error
        if len(triples) != schema.NUM_JOINTS:
            raise CoverageError(f"{name}: {len(triples)} keypoints per person, not 21")
        labelled = triples[:, 2] > UNLABELLED
        if metric:
            values = [np.nan if v is None else v for v in person["keypoints_3d"]]
            joints = np.asarray(values, dtype=np.float64).reshape(-1, 3)
        else:
            joints = triples[:, :2].copy()
        joints[~labelled] = np.nan
        skeletons.append((str(person.get("image_id")), joints))
        groups.append(images.get(person.get("image_id"), {}).get("scenario"))
    return pose_set(name, skeletons, groups)


def from_skeletons(name: str, frames: Iterable[tuple[str, list[Skeleton]]]) -> PoseSet:
    """Poses of estimated skeletons (a node's outputs): metric joints that are TRACKED or
    INFERRED."""
    skeletons = []
    for frame, people in frames:
        for skeleton in people:
            joints = np.asarray(skeleton.xyz, dtype=np.float64).copy()
            joints[np.asarray(skeleton.state) == KeypointState.NOT_TRACKED] = np.nan
            skeletons.append((frame, joints))
    return pose_set(name, skeletons)


def from_mocap() -> PoseSet:
    """The generator's pose library (CMU motion capture, retargeted) on the reference body,
    turned into the camera's optical frame as if facing it."""
    from depth_pose_ros.data.synthetic.mocap import load_library, pose_joints

    library = load_library()
    # Body frame (x forward, y left, z up) -> optical (x right of the image, y down, z away):
    # a person facing the camera has their left at +x.
    to_optical = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
    skeletons = []
    for index in range(len(library)):
        joints25 = pose_joints(library.pose(index)) @ to_optical.T
        mirror = "m" if library.mirror[index] else ""
        frame = f"{int(library.clip[index])}:{int(library.frame[index])}{mirror}"
        skeletons.append((frame, schema.from_kinect25(joints25)))
    return pose_set(MOCAP, skeletons)


def load(spec: str) -> tuple[PoseSet, Callable[[int], np.ndarray | None] | None]:
    """A source that is not a bag: `mocap`, a COCO JSON file, or a data set spec. Also returns,
    for data sets, a function giving the depth crop around pose i (for reports)."""
    if spec == MOCAP:
        return from_mocap(), None
    path = Path(spec)
    if path.suffix == ".json":
        if not path.is_file():
            raise FileNotFoundError(f"{spec} does not exist")
        try:
            document = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CoverageError(f"{spec} is not JSON: {error}") from error
        return from_coco(spec, document), None
    dataset = open_dataset(spec)
    poses = from_coco(spec, dataset.coco())
    index_of = {int(image["id"]): i for i, image in enumerate(dataset.coco()["images"])}

    def crop(pose: int) -> np.ndarray | None:
        frame = index_of.get(int(poses.frames[pose]))
        if frame is None:
            return None
        sample = dataset[frame]
        return _depth_crop(sample.depth, _pixels_of(poses.joints[pose], sample.people))

    return poses, crop


def _pixels_of(joints: np.ndarray, people: list[PersonAnnotation]) -> np.ndarray | None:
    """The pixels of the annotated person whose joints these are (matched by position)."""
    best, best_distance = None, np.inf
    for person in people:
        mine = person.xyz if joints.shape[1] == 3 and person.xyz is not None else person.uv
        distance = np.nanmean(np.linalg.norm(np.asarray(mine, np.float64) - joints, axis=1))
        if np.isfinite(distance) and distance < best_distance:
            best, best_distance = person.uv, distance
    return best


def _depth_crop(depth: np.ndarray, uv: np.ndarray | None) -> np.ndarray | None:
    """A square colourised crop around a person's pixels."""
    if uv is None:
        return None
    points = uv[np.isfinite(uv).all(axis=1)]
    if len(points) == 0:
        return None
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    half = max(x1 - x0, y1 - y0) * 0.6 + 8
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    height, width = depth.shape
    left, top = int(max(cx - half, 0)), int(max(cy - half, 0))
    right, bottom = int(min(cx + half, width)), int(min(cy + half, height))
    if right - left < 2 or bottom - top < 2:
        return None
    patch = colourise_depth(depth[top:bottom, left:right])
    side = max(right - left, bottom - top)
    square = np.zeros((side, side, 3), np.uint8)
    square[: bottom - top, : right - left] = patch
    return cv2.resize(square, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_AREA)
