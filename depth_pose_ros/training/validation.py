"""Validation during training: the paper's metric, for the network and for the estimator.

The network alone: crops around each annotated person's mask (and the loss on them), which
decides the best checkpoint. With a person stage, also the whole estimator: the same frames
through the person stage and the network, what `depth-pose eval --weights ... --data ...`
measures.
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
    model: DepthPoseNet,
    dataset: Dataset,
    max_people: int,
    device: torch.device,
    people: str | None = None,
) -> tuple[metrics.Report, metrics.Report | None, float]:
    """(network report, estimator report with the `people` person stage (None without one),
    mean loss) over the first samples holding `max_people` annotated people."""
    model.eval()
    config = model.config
    ground_truth = dataset.coco()
    results, losses, image_ids, counted = [], [], [], 0
    for index in range(len(dataset)):
        if counted >= max_people:
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
        counted += len(crops)
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
    report = metrics.evaluate(metrics.restricted(ground_truth, set(image_ids)), results)
    mean_loss = float(np.mean(losses)) if losses else float("nan")
    if people is None:
        return report, None, mean_loss
    estimator = PoseEstimator(model, TorchBackend(model, str(device)), people=people)
    whole = evaluation.run(estimator, dataset, "proposals", limit=len(image_ids), progress=False)
    return report, whole.report, mean_loss
