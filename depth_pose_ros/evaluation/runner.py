"""Running the estimator over a data set and scoring it with the paper's metric."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from depth_pose_ros.data import coco
from depth_pose_ros.data.sample import Dataset, annotated_regions
from depth_pose_ros.evaluation import metrics
from depth_pose_ros.inference.estimator import PoseEstimator

PERSON_BOXES = ("proposals", "truth")


@dataclass
class Evaluation:
    report: metrics.Report
    multi_person: metrics.Report | None  # frames with 2+ people to find
    results: list[dict]


def run(
    estimator: PoseEstimator,
    dataset: Dataset,
    person_boxes: str = "proposals",
    limit: int | None = None,
    progress: bool = True,
) -> Evaluation:
    """Estimate every frame (each as a fresh scene) and evaluate against the ground truth.

    person_boxes="proposals" runs the whole estimator; "truth" crops around the annotated people
    instead (the network alone, as the validation during training).
    """
    if person_boxes not in PERSON_BOXES:
        raise ValueError(f"person_boxes must be one of {', '.join(PERSON_BOXES)}")
    count = len(dataset) if limit is None else min(limit, len(dataset))
    results: list[dict] = []
    image_ids = []
    for index in tqdm(range(count), desc="evaluate", unit="frame", disable=not progress):
        sample = dataset[index]
        image_ids.append(sample.image_id)
        estimator.reset()
        if person_boxes == "proposals":
            skeletons = estimator(sample.depth, sample.intrinsics)
        else:
            regions = [r for _, r in annotated_regions(sample, estimator.config.box_margin)]
            skeletons = estimator.estimate(sample.depth, sample.intrinsics, regions)
        for skeleton in skeletons:
            results.append(
                coco.result(
                    sample.image_id, skeleton.uv, skeleton.confidence, skeleton.score, skeleton.xyz
                )
            )
    ground_truth = _restricted(dataset.coco(), set(image_ids))
    report = metrics.evaluate(
        metrics.load_ground_truth(ground_truth), metrics.load_detections(results)
    )
    crowded = {
        image_id
        for image_id in image_ids
        if sum(
            1
            for ann in ground_truth["annotations"]
            if ann["image_id"] == image_id and not ann["iscrowd"]
        )
        >= 2
    }
    multi = None
    if crowded:
        multi = metrics.evaluate(
            metrics.load_ground_truth(_restricted(ground_truth, crowded)),
            metrics.load_detections([r for r in results if r["image_id"] in crowded]),
        )
    return Evaluation(report, multi, results)


def _restricted(document: dict, image_ids: set[int]) -> dict:
    return coco.document(
        [image for image in document["images"] if image["id"] in image_ids],
        [ann for ann in document["annotations"] if ann["image_id"] in image_ids],
        document.get("info"),
    )


def summary(evaluation: Evaluation) -> dict[str, object]:
    """The figures `--json` writes."""
    figures = evaluation.report.to_dict()
    if evaluation.multi_person is not None:
        multi = evaluation.multi_person.to_dict()
        figures["multi_person"] = {
            k: multi[k] for k in ("mAP", "AP50", "AP75", "frames", "people", "per_joint")
        }
    figures["mean_detections_per_frame"] = float(
        np.float64(len(evaluation.results)) / max(figures["frames"], 1)
    )
    return figures
