"""Validation during training: the paper's metric on crops around each annotated person.

The crops come from ground-truth person masks (what the depth-based person proposals give at
inference), so this measures the network, not the proposals. The full estimator is evaluated
by `depth-pose eval --weights ... --data ...`.
"""

from __future__ import annotations

import numpy as np
import torch

from depth_pose_ros import coco, metrics
from depth_pose_ros.datasets.sample import Dataset
from depth_pose_ros.heatmaps import decode, targets, to_image
from depth_pose_ros.network import STRIDE, DepthPoseNet
from depth_pose_ros.preprocess import apply, prepare_crop, reference_depth
from depth_pose_ros.training.data import person_box, person_region
from depth_pose_ros.training.loss import stage_loss


@torch.inference_mode()
def validate(
    model: DepthPoseNet, dataset: Dataset, max_people: int, device: torch.device
) -> tuple[metrics.Report, float]:
    """(report, mean loss) over the first samples holding `max_people` annotated people."""
    model.eval()
    size = model.config.input_size
    heatmap_size = (size[0] // STRIDE, size[1] // STRIDE)
    ground_truth = dataset.coco()
    results, losses, image_ids, people = [], [], [], 0
    for index in range(len(dataset)):
        if people >= max_people:
            break
        sample = dataset[index]
        image_ids.append(sample.image_id)
        crops, affines, heatmaps, alphas = [], [], [], []
        for k, person in enumerate(sample.people):
            box = person_box(sample, k)
            if person.ignore or box is None:
                continue
            reference = reference_depth(sample.depth, person_region(sample, k, box))
            if reference is None:
                continue
            crop, affine = prepare_crop(sample.depth, box, reference, size)
            target, alpha = targets(apply(affine, person.uv), person.visibility > 0, heatmap_size)
            crops.append(crop)
            affines.append(affine)
            heatmaps.append(target)
            alphas.append(alpha)
        if not crops:
            continue
        people += len(crops)
        predictions = model(torch.from_numpy(np.stack(crops)[:, None]).to(device), all_stages=True)
        losses.append(
            float(
                stage_loss(
                    predictions,
                    torch.from_numpy(np.stack(heatmaps)).to(device),
                    torch.from_numpy(np.stack(alphas)).to(device),
                )
            )
        )
        for output, affine in zip(predictions[-1].cpu().numpy(), affines, strict=True):
            points, confidence = decode(output)
            uv = to_image(points, affine)
            results.append(coco.result(sample.image_id, uv, confidence, confidence.mean()))
    kept = set(image_ids)
    subset = coco.document(
        [image for image in ground_truth["images"] if image["id"] in kept],
        [ann for ann in ground_truth["annotations"] if ann["image_id"] in kept],
    )
    report = metrics.evaluate(metrics.load_ground_truth(subset), metrics.load_detections(results))
    return report, float(np.mean(losses)) if losses else float("nan")
