"""Running the estimator over a data set and scoring it with the paper's metric, overall, on
frames with several people, and per scenario family where the frames carry one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from depth_pose_ros.core.depth_image import fill_dropouts
from depth_pose_ros.data import coco
from depth_pose_ros.data.sample import Dataset, annotated_regions
from depth_pose_ros.evaluation import metrics
from depth_pose_ros.inference.estimator import PoseEstimator

PERSON_BOXES = ("proposals", "truth")
FAMILY_FIGURES = ("mAP", "AP50", "recall", "false_per_frame", "frames", "people")


@dataclass
class Evaluation:
    report: metrics.Report
    multi_person: metrics.Report | None  # frames with 2+ people to find
    results: list[dict]
    families: dict[str, metrics.Report] = field(default_factory=dict)  # by scenario family


def run(
    estimator: PoseEstimator,
    dataset: Dataset,
    person_boxes: str = "proposals",
    limit: int | None = None,
    progress: bool = True,
    filled: bool = False,
) -> Evaluation:
    """Estimate every frame (each as a fresh scene) and evaluate against the ground truth.

    person_boxes="proposals" runs the whole estimator; "truth" crops around the annotated people
    instead (the network alone, as the validation during training). With `filled` every
    frame's scattered dropouts are filled first: the data as a sensor that leaves none (most
    structured-light cameras) would see it.
    """
    if person_boxes not in PERSON_BOXES:
        raise ValueError(f"person_boxes must be one of {', '.join(PERSON_BOXES)}")
    count = len(dataset) if limit is None else min(limit, len(dataset))
    results: list[dict] = []
    image_ids = []
    for index in tqdm(range(count), desc="evaluate", unit="frame", disable=not progress):
        sample = dataset[index]
        image_ids.append(sample.image_id)
        depth = fill_dropouts(sample.depth) if filled else sample.depth
        if person_boxes == "proposals":
            skeletons = estimator(depth, sample.intrinsics)
        else:
            regions = [r for _, r in annotated_regions(sample, estimator.config.box_margin)]
            skeletons = estimator.estimate(depth, sample.intrinsics, regions)
        for skeleton in skeletons:
            results.append(
                coco.result(
                    sample.image_id, skeleton.uv, skeleton.confidence, skeleton.score, skeleton.xyz
                )
            )
    return score(metrics.restricted(dataset.coco(), set(image_ids)), results)


def score(ground_truth: metrics.Document, results: list[dict]) -> Evaluation:
    """Results against ground truth: overall, on frames with 2+ people to find, and per
    scenario family where the images carry one."""
    report = metrics.evaluate(ground_truth, results)
    counted: dict[int, int] = {}
    for ann in ground_truth["annotations"]:
        if not ann.get("iscrowd", 0):
            counted[ann["image_id"]] = counted.get(ann["image_id"], 0) + 1
    crowded = {image_id for image_id, people in counted.items() if people >= 2}
    multi = _subset(ground_truth, results, crowded, per_joint=True) if crowded else None
    tags: dict[str, set[int]] = {}
    for image in ground_truth["images"]:
        if image.get("scenario"):
            tags.setdefault(str(image["scenario"]), set()).add(int(image["id"]))
    families = {
        name: _subset(ground_truth, results, ids, per_joint=False)
        for name, ids in sorted(tags.items())
    }
    return Evaluation(report, multi, results, families)


def _subset(
    ground_truth: metrics.Document, results: list[dict], image_ids: set[int], per_joint: bool
) -> metrics.Report:
    return metrics.evaluate(
        metrics.restricted(ground_truth, image_ids),
        [r for r in results if r["image_id"] in image_ids],
        per_joint=per_joint,
    )


def family_table(evaluation: Evaluation) -> str:
    """Per scenario family and overall: people recall, false skeletons per frame, mAP, AP50."""
    header = f"{'family':<14}{'frames':>7}{'people':>8}{'recall':>8}{'false/frame':>13}"
    lines = [header + f"{'mAP':>8}{'AP50':>8}"]
    rows = [*evaluation.families.items(), ("all", evaluation.report)]
    for name, report in rows:
        lines.append(
            f"{name:<14}{report.frames:>7}{report.people:>8}{report.recall:>8.3f}"
            f"{report.false_per_frame:>13.3f}{report.mAP:>8.3f}{report.AP50:>8.3f}"
        )
    return "\n".join(lines)


def summary(evaluation: Evaluation) -> dict[str, Any]:
    """The figures `--json` writes."""
    figures = evaluation.report.to_dict()
    if evaluation.multi_person is not None:
        multi = evaluation.multi_person.to_dict()
        figures["multi_person"] = {
            k: multi[k] for k in ("mAP", "AP50", "AP75", "frames", "people", "per_joint")
        }
    if evaluation.families:
        figures["families"] = {
            name: {k: report.to_dict()[k] for k in FAMILY_FIGURES}
            for name, report in evaluation.families.items()
        }
    figures["mean_detections_per_frame"] = float(
        np.float64(len(evaluation.results)) / max(evaluation.report.frames, 1)
    )
    return figures
