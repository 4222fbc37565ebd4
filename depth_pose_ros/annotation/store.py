"""The labels being made: every change is written at once, atomically, to one COCO keypoints
file (plus the labelled frames' depth PNGs beside it), which also holds where the user was, so a
killed server loses nothing and a restart resumes."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from depth_pose_ros.annotation.sources import AnnotationError, Frame
from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.files import write_atomic
from depth_pose_ros.core.schema import NUM_JOINTS
from depth_pose_ros.data import coco
from depth_pose_ros.data.labels import FORMAT, depth_directory, person_from_annotation
from depth_pose_ros.data.sample import PersonAnnotation, coco_document

STATES = ("untouched", "edited", "reviewed")


@dataclass
class FrameLabels:
    """One frame's labels and where they stand."""

    key: str
    state: str = "untouched"
    people: list[PersonAnnotation] = field(default_factory=list)
    width: int = 0
    height: int = 0
    camera: dict[str, Any] = field(default_factory=dict)


def camera_record(intrinsics: CameraIntrinsics) -> dict[str, Any]:
    record: dict[str, Any] = {
        "fx": intrinsics.fx,
        "fy": intrinsics.fy,
        "cx": intrinsics.cx,
        "cy": intrinsics.cy,
    }
    if intrinsics.has_distortion:
        record["distortion_model"] = intrinsics.distortion_model
        record["distortion"] = list(intrinsics.distortion)
    return record


def parse_people(payload: object) -> list[PersonAnnotation]:
    """People as the page sends them: [{"track_id": int, "joints": [[u, v, visibility] x 21]}];
    AnnotationError naming what is wrong otherwise."""
    if not isinstance(payload, list):
        raise AnnotationError("people must be a list")
    people = []
    for number, person in enumerate(payload):
        if not isinstance(person, dict) or not isinstance(person.get("joints"), list):
            raise AnnotationError(f"person {number}: expected an object with a joints list")
        joints = person["joints"]
        if len(joints) != NUM_JOINTS or not all(
            isinstance(j, list) and len(j) == 3 and all(isinstance(v, int | float) for v in j)
            for j in joints
        ):
            raise AnnotationError(
                f"person {number}: joints must be {NUM_JOINTS} [u, v, visibility]"
            )
        values = np.asarray(joints, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise AnnotationError(f"person {number}: joints must be finite numbers")
        visibility = values[:, 2]
        if not np.all(np.isin(visibility, (coco.UNLABELLED, coco.OCCLUDED, coco.VISIBLE))):
            raise AnnotationError(f"person {number}: visibility must be 0, 1 or 2")
        track_id = person.get("track_id", number + 1)
        if not isinstance(track_id, int) or not 0 <= track_id < 2**31:
            raise AnnotationError(f"person {number}: track_id must be a non-negative integer")
        people.append(
            PersonAnnotation(
                values[:, :2].astype(np.float32), visibility.astype(np.uint8), None, track_id
            )
        )
    return people


def people_payload(people: list[PersonAnnotation]) -> list[dict[str, Any]]:
    """People as the page reads them (unlabelled joints keep their last position)."""
    return [
        {
            "track_id": int(person.track_id),
            "joints": [
                [round(float(u), 2), round(float(v), 2), int(visible)]
                for (u, v), visible in zip(np.nan_to_num(person.uv), person.visibility, strict=True)
            ],
        }
        for person in people
    ]


class LabelStore:
    """The labels file of one annotation session over a source's frames."""

    def __init__(self, path: str | Path, source_name: str, keys: list[str]) -> None:
        self.path = Path(path)
        self.source_name = source_name
        self.frames = {key: FrameLabels(key) for key in keys}
        self.image_ids = {key: number + 1 for number, key in enumerate(keys)}
        self.position = 0
        self._lock = threading.Lock()
        if self.path.exists():
            self._resume()

    def _resume(self) -> None:
        try:
            document = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise AnnotationError(f"cannot read {self.path} to resume: {error}") from None
        state = document.get("annotate") if isinstance(document, dict) else None
        if document.get("info", {}).get("format") != FORMAT or not isinstance(state, dict):
            raise AnnotationError(
                f"{self.path} exists and is not a labels file of depth-pose annotate"
            )
        if state.get("source") != self.source_name:
            raise AnnotationError(
                f"{self.path} labels {state.get('source')!r}, not {self.source_name!r}; "
                "choose another --out"
            )
        self.position = int(state.get("position", 0))
        people: dict[int, list[PersonAnnotation]] = {}
        for annotation in document["annotations"]:
            people.setdefault(annotation["image_id"], []).append(person_from_annotation(annotation))
        for image in document["images"]:
            labels = self.frames.get(image["frame"])
            if labels is None:
                continue
            labels.state = image["state"]
            labels.width, labels.height = image["width"], image["height"]
            labels.camera = image["camera"]
            labels.people = people.get(image["id"], [])

    def labelled(self, key: str) -> bool:
        return self.frames[key].state != "untouched"

    def save_frame(self, frame: Frame, people: list[PersonAnnotation], state: str) -> None:
        """Record a frame's labels (and its depth, the first time) and write the file."""
        if state not in STATES[1:]:
            raise AnnotationError(f"state must be one of {', '.join(STATES[1:])}, got {state!r}")
        with self._lock:
            image = self._depth_path(frame.key)
            if not image.exists():
                millimetres = np.nan_to_num(frame.depth * 1000.0).clip(0, 65535).round()
                ok, png = cv2.imencode(".png", millimetres.astype(np.uint16))
                if not ok:
                    raise OSError(f"cannot encode the depth of frame {frame.key}")
                write_atomic(image, png.tobytes())
            labels = self.frames[frame.key]
            labels.state, labels.people = state, people
            labels.height, labels.width = frame.depth.shape
            labels.camera = camera_record(frame.intrinsics)
            self._write()

    def move_to(self, position: int) -> None:
        with self._lock:
            self.position = position
            self._write()

    def _depth_path(self, key: str) -> Path:
        return depth_directory(self.path) / f"{self.image_ids[key]:06d}.png"

    def document(self) -> dict[str, Any]:
        """The COCO keypoints document of the labelled frames, with the session's state."""
        labelled = [labels for labels in self.frames.values() if labels.state != "untouched"]
        document = coco_document(
            [self.image_ids[labels.key] for labels in labelled],
            [(labels.width, labels.height) for labels in labelled],
            [labels.people for labels in labelled],
            {"format": FORMAT, "source": self.source_name},
        )
        for image, labels in zip(document["images"], labelled, strict=True):
            image["file_name"] = (
                self._depth_path(labels.key).relative_to(self.path.parent).as_posix()
            )
            image |= {"camera": labels.camera, "frame": labels.key, "state": labels.state}
        document["annotate"] = {"source": self.source_name, "position": self.position}
        return document

    def _write(self) -> None:
        write_atomic(self.path, json.dumps(self.document()))

    def watch_r_patch(self, origins: dict[str, str]) -> dict[str, dict[str, list[float]]]:
        """The paper's Watch-R-Patch format: {frame: {joint index: [u, v]}}, (-1, -1) for a joint
        not labelled; one person per frame (the first), as the paper annotates."""
        exported = {}
        for key, labels in self.frames.items():
            if labels.state == "untouched" or not labels.people:
                continue
            person = labels.people[0]
            exported[origins[key]] = {
                str(joint): ([round(float(u), 2), round(float(v), 2)] if visible else [-1.0, -1.0])
                for joint, ((u, v), visible) in enumerate(
                    zip(person.uv, person.visibility, strict=True)
                )
            }
        return exported


def interpolate(
    store: LabelStore, order: list[str], index: int, track_id: int
) -> PersonAnnotation | None:
    """Person `track_id` at frame `order[index]`, linearly between the nearest labelled frames
    before and after it that hold that person (joints labelled in both); None without both."""

    def nearest(step: int) -> tuple[int, PersonAnnotation] | None:
        position = index + step
        while 0 <= position < len(order):
            labels = store.frames[order[position]]
            if labels.state != "untouched":
                for person in labels.people:
                    if person.track_id == track_id:
                        return position, person
            position += step
        return None

    before, after = nearest(-1), nearest(1)
    if before is None or after is None:
        return None
    (i0, p0), (i1, p1) = before, after
    weight = (index - i0) / (i1 - i0)
    uv = (1 - weight) * p0.uv + weight * p1.uv
    both = (p0.visibility > 0) & (p1.visibility > 0)
    visibility = np.where(both, np.minimum(p0.visibility, p1.visibility), coco.UNLABELLED)
    return PersonAnnotation(uv.astype(np.float32), visibility.astype(np.uint8), None, track_id)
