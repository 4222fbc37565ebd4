"""The paper's keypoint metric (section 5.1), computed by pycocotools, plus what it lacks.

COCO OKS average precision is pycocotools' `COCOeval` with our OKS sigmas (it uses k_i =
2 sigma_i, as the paper does): AP over OKS 0.50:0.05:0.95 and 101 recall points, mAP, AP50,
AP75. Ground truth `area` (the OKS scale s^2) is the area of the box around a person's labelled
keypoints in our data sets. Added here, from pycocotools' own matches at OKS 0.5:
- per-joint AP (the paper's Table 3): COCOeval on that joint alone;
- PCK@0.1: a joint is right within 10 % of the longer side of the person's keypoint box,
  missed people count as wrong;
- MPJPE: mean 3D joint error (mm) of matched people, where both sides have `keypoints_3d`;
- people recall (people matched at OKS 0.5) and false skeletons (detections matching nobody).
Inputs are COCO keypoint JSON: a ground-truth document and a results list.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from depth_pose_ros.core import schema

OKS_THRESHOLDS = np.linspace(0.5, 0.95, 10)
PCK_FRACTION = 0.1  # a joint is correct within this fraction of the person's longer box side

Document = dict[str, Any]
Results = list[dict[str, Any]]


@dataclass
class ImageFigures:
    """One image at OKS 0.5: people to find, people found, detections matching nobody, and
    the mean 3D error (mm) of the people found (None without 3D)."""

    people: int
    found: int
    false: int
    error_3d_mm: float | None


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
    by_image: dict[int, ImageFigures] = field(default_factory=dict)

    @property
    def mAP(self) -> float:  # noqa: N802  (the paper's name)
        return float(np.mean(self.ap_per_threshold))

    @property
    def AP50(self) -> float:  # noqa: N802
        return float(self.ap_per_threshold[0])

    @property
    def AP75(self) -> float:  # noqa: N802
        return float(self.ap_per_threshold[5])

    @property
    def recall(self) -> float:
        """Share of the people to find that were matched at OKS 0.5 (0 when nobody is there)."""
        found = sum(f.found for f in self.by_image.values())
        return found / self.people if self.people else 0.0

    @property
    def false_per_frame(self) -> float:
        """Reported skeletons matching nobody at OKS 0.5, per frame."""
        return sum(f.false for f in self.by_image.values()) / max(self.frames, 1)

    def to_dict(self) -> dict[str, Any]:
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
            "recall": self.recall,
            "false_per_frame": self.false_per_frame,
            "frames": self.frames,
            "people": self.people,
            "detections": self.detections,
        }

    def table(self) -> str:
        """The figures as a plain-text table (the paper's Tables 2 and 3)."""
        lines = [
            f"frames {self.frames}   people {self.people}   detections {self.detections}",
            f"{'mAP':<14} {self.mAP:6.3f}",
            f"{'AP (OKS=0.50)':<14} {self.AP50:6.3f}",
            f"{'AP (OKS=0.75)':<14} {self.AP75:6.3f}",
            f"{'PCK@' + str(PCK_FRACTION):<14} {self.pck:6.3f}",
            f"{'recall':<14} {self.recall:6.3f}",
            f"{'false / frame':<14} {self.false_per_frame:6.3f}",
        ]
        if self.mpjpe_mm is not None:
            lines.append(f"{'MPJPE (mm)':<14} {self.mpjpe_mm:6.1f}")
        if self.per_joint:
            lines += ["", f"{'joint':<14} {'mAP':>6}"]
            lines += [f"{name:<14} {ap:6.3f}" for name, ap in self.per_joint.items()]
        return "\n".join(lines)


def load_ground_truth(source: Document | str | Path) -> Document:
    """A COCO keypoint ground-truth document (or the path of one), checked."""
    document = source if isinstance(source, dict) else json.loads(Path(source).read_text())
    for key in ("images", "annotations"):
        if not isinstance(document.get(key), list):
            raise ValueError(f"ground truth has no {key!r} list: not a COCO keypoint file")
    return document


def load_detections(source: Results | str | Path) -> Results:
    """COCO keypoint results (a list of {image_id, keypoints, score}, or the path of one)."""
    results = source if isinstance(source, list) else json.loads(Path(source).read_text())
    if not isinstance(results, list):
        raise ValueError("results must be a list of {image_id, keypoints, score}")
    return results


def restricted(document: Document, image_ids: set[int]) -> Document:
    """The ground truth of some images only."""
    return {
        **document,
        "images": [image for image in document["images"] if image["id"] in image_ids],
        "annotations": [ann for ann in document["annotations"] if ann["image_id"] in image_ids],
    }


def _cocoeval(ground_truth: Document, results: Results, sigmas: np.ndarray) -> COCOeval:
    """pycocotools' keypoint evaluation, run (its progress messages silenced)."""
    truth_document = copy.deepcopy(ground_truth)
    truth_document.setdefault("categories", [{"id": 1, "name": "person"}])
    known = {image["id"] for image in truth_document["images"]}
    unknown = sorted({r["image_id"] for r in results} - known)
    if unknown:
        raise ValueError(f"detection for image {unknown[0]}, which has no ground truth")
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = truth_document
        truth.createIndex()
        if results:
            found = truth.loadRes(copy.deepcopy(results))
        else:  # pycocotools cannot load an empty results list
            found = COCO()
            found.dataset = {**truth_document, "annotations": []}
            found.createIndex()
        evaluation = COCOeval(truth, found, "keypoints")
        evaluation.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        evaluation.params.imgIds = sorted(known)
        evaluation.evaluate()
        evaluation.accumulate()
    return evaluation


def _ap_per_threshold(evaluation: COCOeval) -> np.ndarray:
    """AP at each OKS threshold (all areas, 20 detections), as COCOeval.summarize averages."""
    precision = evaluation.eval["precision"][:, :, 0, 0, -1]  # (T, recall points)
    ap = np.full(len(OKS_THRESHOLDS), -1.0)
    for t in range(len(OKS_THRESHOLDS)):
        valid = precision[t][precision[t] > -1]
        if valid.size:
            ap[t] = float(valid.mean())
    return np.maximum(ap, 0.0)  # no one to find: 0


def _single_joint(ground_truth: Document, results: Results, joint: int) -> tuple[Document, Results]:
    """The ground truth and results with only `joint` left (the paper's per-joint AP)."""
    annotations = []
    for ann in ground_truth["annotations"]:
        keypoints = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        one = keypoints[joint]
        annotations.append({**ann, "keypoints": one.tolist(), "num_keypoints": int(one[2] > 0)})
    single = [
        {**r, "keypoints": np.asarray(r["keypoints"], np.float64).reshape(-1, 3)[joint].tolist()}
        for r in results
    ]
    return {**ground_truth, "annotations": annotations}, single


def _matched_figures(evaluation: COCOeval) -> tuple[float, float | None, dict[int, ImageFigures]]:
    """PCK, MPJPE and per-image figures from COCOeval's matches at OKS 0.5."""
    truth, found = evaluation.cocoGt, evaluation.cocoDt
    correct = labelled = 0
    all_errors: list[np.ndarray] = []
    by_image: dict[int, ImageFigures] = {}
    images = len(evaluation.params.imgIds)
    for record in evaluation.evalImgs[:images]:  # category 1, area "all": the first block
        if record is None:
            continue
        ignored = np.asarray(record["gtIgnore"], dtype=bool)
        partner = np.asarray(record["gtMatches"])[0] if len(ignored) else np.zeros(0)
        dt_matches = np.asarray(record["dtMatches"])[0] if record["dtIds"] else np.zeros(0)
        dt_ignored = np.asarray(record["dtIgnore"])[0] if record["dtIds"] else np.zeros(0, bool)
        image_errors = []
        found_people = 0
        for g, gt_id in enumerate(record["gtIds"]):
            if ignored[g]:
                continue
            person = truth.anns[gt_id]
            keypoints = np.asarray(person["keypoints"], dtype=np.float64).reshape(-1, 3)
            visible = keypoints[:, 2] > 0
            labelled += int(visible.sum())
            if partner[g] == 0:
                continue
            found_people += 1
            estimate = found.anns[int(partner[g])]
            points = np.asarray(estimate["keypoints"], dtype=np.float64).reshape(-1, 3)[:, :2]
            box = keypoints[visible, :2]
            size = float(np.max(box.max(0) - box.min(0))) if len(box) else 0.0
            distance = np.linalg.norm(points - keypoints[:, :2], axis=1)
            correct += int(np.count_nonzero(distance[visible] <= PCK_FRACTION * size))
            if person.get("keypoints_3d") is not None and estimate.get("keypoints_3d") is not None:
                error = np.linalg.norm(
                    _xyz(estimate["keypoints_3d"]) - _xyz(person["keypoints_3d"]), axis=1
                )
                image_errors.append(error[visible & np.isfinite(error)])
        joined = np.concatenate(image_errors) if image_errors else np.zeros(0)
        all_errors.append(joined)
        by_image[int(record["image_id"])] = ImageFigures(
            people=int(np.count_nonzero(~ignored)),
            found=found_people,
            false=int(np.count_nonzero((dt_matches == 0) & ~dt_ignored)),
            error_3d_mm=float(joined.mean() * 1000.0) if joined.size else None,
        )
    pck = correct / labelled if labelled else 0.0
    errors = np.concatenate(all_errors) if all_errors else np.zeros(0)
    return pck, float(errors.mean() * 1000.0) if errors.size else None, by_image


def _xyz(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64).reshape(-1, 3)


def evaluate(
    ground_truth: Document,
    results: Results,
    sigmas: np.ndarray = schema.OKS_SIGMAS,
    per_joint: bool = True,
) -> Report:
    """All figures of the paper's evaluation (per-joint AP unless `per_joint` is False)."""
    sigmas = np.asarray(sigmas, dtype=np.float64)
    evaluation = _cocoeval(ground_truth, results, sigmas)
    pck, mpjpe, by_image = _matched_figures(evaluation)
    joints: dict[str, float] = {}
    if per_joint:
        names = (ground_truth.get("categories") or [{}])[0].get("keypoints", schema.JOINT_NAMES)
        for j, name in enumerate(names):
            one_truth, one_results = _single_joint(ground_truth, results, j)
            single = _cocoeval(one_truth, one_results, sigmas[j : j + 1])
            joints[str(name)] = float(np.mean(_ap_per_threshold(single)))
    people = sum(f.people for f in by_image.values())
    return Report(
        ap_per_threshold=_ap_per_threshold(evaluation),
        per_joint=joints,
        pck=pck,
        mpjpe_mm=mpjpe,
        frames=len(ground_truth["images"]),
        people=people,
        detections=len(results),
        by_image=by_image,
    )
