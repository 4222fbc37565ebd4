"""Validation during training: the paper's metric, for the network and for the estimator.

The network alone: crops around each annotated person's mask (and the loss on them). The whole
estimator: the same frames through person proposals and the network, which is what
`depth-pose eval --weights ... --data ...` measures and what decides the best checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch

from depth_pose_ros import coco, evaluation, metrics
from depth_pose_ros.datasets.sample import Dataset
from depth_pose_ros.heatmaps import decode, targets, to_image
from depth_pose_ros.inference.backends import TorchBackend
from depth_pose_ros.inference.estimator import PoseEstimator
from depth_pose_ros.network import STRIDE, DepthPoseNet
from depth_pose_ros.preprocess import apply, prepare_crop, reference_depth
from depth_pose_ros.training.data import person_box, person_region
from depth_pose_ros.training.loss import stage_loss


@torch.inference_mode()
def validate(
    model: DepthPoseNet, dataset: Dataset, max_people: int, device: torch.device
) -> tuple[metrics.Report, metrics.Report, float]:
    """(network report, estimator report, mean loss) over the first samples holding
    `max_people` annotated people."""
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
    estimator = PoseEstimator(model, TorchBackend(model, str(device)))
    whole = evaluation.run(estimator, dataset, "proposals", limit=len(image_ids), progress=False)
    return report, whole.report, float(np.mean(losses)) if losses else float("nan")
