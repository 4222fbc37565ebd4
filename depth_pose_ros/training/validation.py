"""Validation during training: the paper's metric, for the network and for the estimator.

The network alone: crops around each annotated person's mask (and the loss on them). The whole
estimator: the same frames through person proposals and the network, which is what
`depth-pose eval --weights ... --data ...` measures and what decides the best checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch

from depth_pose_ros.data import coco
from depth_pose_ros.data.sample import Dataset, annotated_regions
from depth_pose_ros.evaluation import metrics
from depth_pose_ros.evaluation import runner as evaluation
from depth_pose_ros.inference.backends import TorchBackend
from depth_pose_ros.inference.estimator import PoseEstimator
from depth_pose_ros.model.heatmaps import decode, targets, to_image
from depth_pose_ros.model.network import DepthPoseNet
from depth_pose_ros.model.preprocess import apply, prepare_crop
from depth_pose_ros.training.loss import stage_loss


@torch.inference_mode()
def validate(
    model: DepthPoseNet, dataset: Dataset, max_people: int, device: torch.device
) -> tuple[metrics.Report, metrics.Report, float]:
    """(network report, estimator report, mean loss) over the first samples holding
    `max_people` annotated people."""
    model.eval()
    config = model.config
    ground_truth = dataset.coco()
    results, losses, image_ids, people = [], [], [], 0
    for index in range(len(dataset)):
        if people >= max_people:
            break
        sample = dataset[index]
        image_ids.append(sample.image_id)
        crops, affines, heatmaps, alphas = [], [], [], []
        for k, region in annotated_regions(sample, config.box_margin):
            crop, affine = prepare_crop(sample.depth, region.box, region.reference_depth, config)
            person = sample.people[k]
            target, alpha = targets(
                apply(affine, person.uv),
                person.visibility > 0,
                config.heatmap_size,
                config.stride,
                config.heatmap_sigma,
            )
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
            uv = to_image(points, affine, config.stride)
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
