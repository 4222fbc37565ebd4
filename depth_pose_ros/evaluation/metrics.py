"""The paper's keypoint metric (section 5.1): COCO OKS average precision, plus PCK and 3D error.

OKS between a detection and a ground-truth person is
    sum_i [v_i > 0] exp(-d_i^2 / (2 s^2 k_i^2)) / sum_i [v_i > 0],  k_i = 2 sigma_i,
with s^2 the ground truth's `area` (the area of the box around its labelled keypoints in our
data sets). AP is averaged over OKS thresholds 0.50:0.05:0.95 and 101 recall points exactly as
pycocotools' COCOeval does (a test compares them); per-joint AP (the paper's Table 3) is the same
computation with OKS restricted to one joint. Inputs are COCO keypoint JSON structures.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from depth_pose_ros.core import schema

OKS_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETECTIONS = 20  # per image, as COCO keypoint evaluation
PCK_FRACTION = 0.1  # a joint is correct within this fraction of the person's longer box side
_EPS = np.spacing(1)


@dataclass
class GroundTruth:
    """One annotated person (a COCO keypoint annotation)."""

    id: int
    image_id: int
    keypoints: np.ndarray  # (K, 3): x, y, v (v > 0: labelled)
    area: float
    bbox: np.ndarray  # (4,): x, y, w, h
    num_keypoints: int
    iscrowd: bool = False
    keypoints_3d: np.ndarray | None = None  # (K, 3) metres, NaN unknown


@dataclass
class Detection:
    """One estimated person (a COCO keypoint result)."""

    image_id: int
    keypoints: np.ndarray  # (K, 3): x, y, per-joint score (unused by OKS)
    score: float
    keypoints_3d: np.ndarray | None = None


@dataclass
class KeypointDataset:
    """Ground truth of a COCO keypoint file: its image ids and annotated people."""

    image_ids: list[int]
    people: list[GroundTruth]
    joint_names: tuple[str, ...] = schema.JOINT_NAMES


@dataclass
class Report:
    """Evaluation figures; `to_dict()` is what `--json` writes."""

    ap_per_threshold: np.ndarray
    per_joint: dict[str, float]
    pck: float
    mpjpe_mm: float | None
    frames: int
    people: int
    detections: int
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def mAP(self) -> float:  # noqa: N802  (the paper's name)
        return float(np.mean(self.ap_per_threshold))

    @property
    def AP50(self) -> float:  # noqa: N802
        return float(self.ap_per_threshold[0])

    @property
    def AP75(self) -> float:  # noqa: N802
        return float(self.ap_per_threshold[5])

    def to_dict(self) -> dict[str, object]:
        return {
            "mAP": self.mAP,
            "AP50": self.AP50,
            "AP75": self.AP75,
            "ap_per_threshold": {
                f"{t:.2f}": float(ap)
                for t, ap in zip(OKS_THRESHOLDS, self.ap_per_threshold, strict=True)
            },
            "per_joint": self.per_joint,
            f"PCK@{PCK_FRACTION}": self.pck,
            "mpjpe_mm": self.mpjpe_mm,
            "frames": self.frames,
            "people": self.people,
            "detections": self.detections,
            **self.extra,
        }

    def table(self) -> str:
        """The figures as a plain-text table (the paper's Tables 2 and 3)."""
        lines = [
            f"frames {self.frames}   people {self.people}   detections {self.detections}",
            f"{'mAP':<14} {self.mAP:6.3f}",
            f"{'AP (OKS=0.50)':<14} {self.AP50:6.3f}",
            f"{'AP (OKS=0.75)':<14} {self.AP75:6.3f}",
            f"{'PCK@' + str(PCK_FRACTION):<14} {self.pck:6.3f}",
        ]
        if self.mpjpe_mm is not None:
            lines.append(f"{'MPJPE (mm)':<14} {self.mpjpe_mm:6.1f}")
        lines.append("")
        lines.append(f"{'joint':<14} {'mAP':>6}")
        lines += [f"{name:<14} {ap:6.3f}" for name, ap in self.per_joint.items()]
        return "\n".join(lines)


def _array(values: Sequence[float] | None, joints: int) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float64).reshape(joints, 3)
    return array


def load_ground_truth(coco: dict | str | Path) -> KeypointDataset:
    """Read a COCO keypoint ground-truth file (or its parsed JSON)."""
    if not isinstance(coco, dict):
        coco = json.loads(Path(coco).read_text())
    categories = coco.get("categories") or [{}]
    names = tuple(categories[0].get("keypoints", schema.JOINT_NAMES))
    joints = len(names)
    people = []
    for ann in coco["annotations"]:
        keypoints = _array(ann["keypoints"], joints)
        people.append(
            GroundTruth(
                id=int(ann["id"]),
                image_id=int(ann["image_id"]),
                keypoints=keypoints,
                area=float(ann["area"]),
                bbox=np.asarray(ann["bbox"], dtype=np.float64),
                num_keypoints=int(ann.get("num_keypoints", np.count_nonzero(keypoints[:, 2]))),
                iscrowd=bool(ann.get("iscrowd", 0)),
                keypoints_3d=_array(ann.get("keypoints_3d"), joints),
            )
        )
    return KeypointDataset(
        image_ids=sorted({int(image["id"]) for image in coco["images"]}),
        people=people,
        joint_names=names,
    )


def load_detections(results: list | str | Path, joints: int = schema.NUM_JOINTS) -> list[Detection]:
    """Read COCO keypoint results (a list of {image_id, keypoints, score})."""
    if not isinstance(results, list):
        results = json.loads(Path(results).read_text())
    return [
        Detection(
            image_id=int(r["image_id"]),
            keypoints=_array(r["keypoints"], joints),
            score=float(r["score"]),
            keypoints_3d=_array(r.get("keypoints_3d"), joints),
        )
        for r in results
    ]


def oks_matrix(
    detections: Sequence[Detection], people: Sequence[GroundTruth], sigmas: np.ndarray
) -> np.ndarray:
    """OKS of every detection (rows) with every ground-truth person (columns), as COCOeval."""
    if not detections or not people:
        return np.zeros((len(detections), len(people)))
    variances = (2.0 * sigmas) ** 2
    dt = np.stack([d.keypoints[:, :2] for d in detections])[:, None]  # (D, 1, K, 2)
    gt = np.stack([p.keypoints for p in people])[None]  # (1, G, K, 3)
    labelled = gt[..., 2] > 0  # (1, G, K)
    has_labels = labelled.any(axis=-1)  # (1, G)
    # People without labelled keypoints: distance to a box twice the size of theirs.
    boxes = np.stack([p.bbox for p in people])[None]  # (1, G, 4)
    x0 = (boxes[..., 0] - boxes[..., 2])[..., None]
    x1 = (boxes[..., 0] + 2 * boxes[..., 2])[..., None]
    y0 = (boxes[..., 1] - boxes[..., 3])[..., None]
    y1 = (boxes[..., 1] + 2 * boxes[..., 3])[..., None]
    outside_x = np.maximum(0, x0 - dt[..., 0]) + np.maximum(0, dt[..., 0] - x1)
    outside_y = np.maximum(0, y0 - dt[..., 1]) + np.maximum(0, dt[..., 1] - y1)
    dx = np.where(has_labels[..., None], dt[..., 0] - gt[..., 0], outside_x)
    dy = np.where(has_labels[..., None], dt[..., 1] - gt[..., 1], outside_y)
    areas = np.array([p.area for p in people])[None, :, None]
    e = (dx**2 + dy**2) / variances / (areas + _EPS) / 2
    weights = np.where(has_labels[..., None], labelled, True)
    return (np.exp(-e) * weights).sum(-1) / weights.sum(-1)


@dataclass
class _ImageMatch:
    scores: np.ndarray  # (D,) sorted descending
    matched: np.ndarray  # (T, D) index of the matched person or -1
    ignored: np.ndarray  # (T, D) bool
    people_ignored: np.ndarray  # (G,) bool
    people: list[GroundTruth]
    detections: list[Detection]


def _match_image(
    people: list[GroundTruth],
    detections: list[Detection],
    sigmas: np.ndarray,
    ignore: np.ndarray,
) -> _ImageMatch:
    """Greedy COCO matching of one image's detections at every OKS threshold."""
    order = np.argsort([-d.score for d in detections], kind="mergesort")[:MAX_DETECTIONS]
    detections = [detections[i] for i in order]
    person_order = np.argsort(ignore, kind="mergesort")
    people = [people[i] for i in person_order]
    ignore = ignore[person_order]
    oks = oks_matrix(detections, people, sigmas)
    crowd = [p.iscrowd for p in people]
    matched = np.full((len(OKS_THRESHOLDS), len(detections)), -1)
    for t, threshold in enumerate(OKS_THRESHOLDS):
        taken = np.zeros(len(people), dtype=bool)
        for d in range(len(detections)):
            best_oks, best = min(threshold, 1 - 1e-10), -1
            for g in range(len(people)):
                if taken[g] and not crowd[g]:
                    continue
                if best > -1 and not ignore[best] and ignore[g]:
                    break
                if oks[d, g] < best_oks:
                    continue
                best_oks, best = oks[d, g], g
            if best > -1:
                matched[t, d] = best
                taken[best] = True
    ignored = np.zeros(matched.shape, dtype=bool)
    ignored[matched > -1] = ignore[matched[matched > -1]]
    return _ImageMatch(
        scores=np.array([d.score for d in detections]),
        matched=matched,
        ignored=ignored,
        people_ignored=ignore,
        people=people,
        detections=detections,
    )


def _average_precision(matches: Iterable[_ImageMatch]) -> np.ndarray:
    """AP at every OKS threshold from per-image matches (COCOeval.accumulate)."""
    matches = list(matches)
    positives = sum(int(np.count_nonzero(~m.people_ignored)) for m in matches)
    if positives == 0:
        return np.full(len(OKS_THRESHOLDS), -1.0)
    scores = np.concatenate([m.scores for m in matches]) if matches else np.zeros(0)
    order = np.argsort(-scores, kind="mergesort")
    matched = np.concatenate([m.matched for m in matches], axis=1)[:, order] > -1
    ignored = np.concatenate([m.ignored for m in matches], axis=1)[:, order]
    true_positives = np.cumsum(matched & ~ignored, axis=1).astype(float)
    false_positives = np.cumsum(~matched & ~ignored, axis=1).astype(float)
    ap = np.zeros(len(OKS_THRESHOLDS))
    for t in range(len(OKS_THRESHOLDS)):
        recall = true_positives[t] / positives
        precision = true_positives[t] / (false_positives[t] + true_positives[t] + _EPS)
        precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone envelope
        indices = np.searchsorted(recall, RECALL_POINTS, side="left")
        valid = indices < len(precision)
        sampled = np.zeros(len(RECALL_POINTS))
        sampled[valid] = precision[indices[valid]]
        ap[t] = sampled.mean()
    return ap


def _group(dataset: KeypointDataset, detections: Sequence[Detection]) -> list[tuple]:
    people_by_image: dict[int, list[GroundTruth]] = defaultdict(list)
    for person in dataset.people:
        people_by_image[person.image_id].append(person)
    detections_by_image: dict[int, list[Detection]] = defaultdict(list)
    known = set(dataset.image_ids)
    for detection in detections:
        if detection.image_id not in known:
            raise ValueError(f"detection for image {detection.image_id}, which has no ground truth")
        detections_by_image[detection.image_id].append(detection)
    return [
        (people_by_image[i], detections_by_image[i])
        for i in dataset.image_ids
        if people_by_image[i] or detections_by_image[i]
    ]


def _evaluate_groups(groups: list[tuple], sigmas: np.ndarray, joint: int | None) -> list:
    matches = []
    for people, detections in groups:
        if joint is None:
            ignore = np.array([p.iscrowd or p.num_keypoints == 0 for p in people], dtype=bool)
            view_people, view_detections, view_sigmas = people, detections, sigmas
        else:
            ignore = np.array([p.iscrowd or p.keypoints[joint, 2] <= 0 for p in people], bool)
            view_people = [
                GroundTruth(
                    p.id, p.image_id, p.keypoints[joint : joint + 1], p.area, p.bbox, 1, p.iscrowd
                )
                for p in people
            ]
            view_detections = [
                Detection(d.image_id, d.keypoints[joint : joint + 1], d.score) for d in detections
            ]
            view_sigmas = sigmas[joint : joint + 1]
        matches.append(_match_image(view_people, view_detections, view_sigmas, ignore))
    return matches


def _pck_and_mpjpe(matches: list[_ImageMatch]) -> tuple[float, float | None]:
    """PCK and 3D error over people matched at OKS 0.50 (missed people count as wrong)."""
    correct = labelled = 0
    errors: list[np.ndarray] = []
    for match in matches:
        partner = {int(g): d for d, g in enumerate(match.matched[0]) if g > -1}
        for g, person in enumerate(match.people):
            if match.people_ignored[g]:
                continue
            visible = person.keypoints[:, 2] > 0
            labelled += int(visible.sum())
            if g not in partner:
                continue
            detection = match.detections[partner[g]]
            box = person.keypoints[visible, :2]
            size = float(np.max(box.max(0) - box.min(0))) if len(box) else 0.0
            distance = np.linalg.norm(detection.keypoints[:, :2] - person.keypoints[:, :2], axis=1)
            correct += int(np.count_nonzero(distance[visible] <= PCK_FRACTION * size))
            if person.keypoints_3d is not None and detection.keypoints_3d is not None:
                error = np.linalg.norm(detection.keypoints_3d - person.keypoints_3d, axis=1)
                errors.append(error[visible & np.isfinite(error)])
    pck = correct / labelled if labelled else 0.0
    all_errors = np.concatenate(errors) if errors else np.zeros(0)
    mpjpe = float(all_errors.mean() * 1000.0) if all_errors.size else None
    return pck, mpjpe


def evaluate(
    dataset: KeypointDataset,
    detections: Sequence[Detection],
    sigmas: np.ndarray = schema.OKS_SIGMAS,
) -> Report:
    """All figures of the paper's evaluation for detections against ground truth."""
    sigmas = np.asarray(sigmas, dtype=np.float64)
    groups = _group(dataset, detections)
    matches = _evaluate_groups(groups, sigmas, joint=None)
    per_joint = {
        name: float(np.mean(_average_precision(_evaluate_groups(groups, sigmas, joint=j))))
        for j, name in enumerate(dataset.joint_names)
    }
    pck, mpjpe = _pck_and_mpjpe(matches)
    return Report(
        ap_per_threshold=_average_precision(matches),
        per_joint=per_joint,
        pck=pck,
        mpjpe_mm=mpjpe,
        frames=len(dataset.image_ids),
        people=sum(int(np.count_nonzero(~m.people_ignored)) for m in matches),
        detections=len(detections),
    )


def error_by_image(
    dataset: KeypointDataset,
    detections: Sequence[Detection],
    sigmas: np.ndarray = schema.OKS_SIGMAS,
) -> dict[int, float]:
    """Mean 3D joint error (mm) of each image's people matched at OKS 0.50, where it has 3D."""
    groups = _group(dataset, detections)
    matches = _evaluate_groups(groups, np.asarray(sigmas, dtype=np.float64), joint=None)
    errors = {}
    for (people, _), match in zip(groups, matches, strict=True):
        _, mpjpe = _pck_and_mpjpe([match])
        if mpjpe is not None and people:
            errors[people[0].image_id] = mpjpe
    return errors
