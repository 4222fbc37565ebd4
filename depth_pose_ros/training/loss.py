"""The paper's loss (eq. 3), summed over stages."""

from __future__ import annotations

import torch
from torch.nn import functional


def stage_loss(
    predictions: list[torch.Tensor], target: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """sum_t sum_k alpha_k sum_p (P_k^t(p) - H_k(p))^2, averaged over the batch; alpha_k = 0
    for joints without a label. Targets are at the output's resolution; a stage whose heatmaps
    are coarser (under an upsampling head) is resized up to them first (bilinear, cell centres
    onto cell centres), so every prediction answers to the same targets."""
    alpha = weight[:, :, None, None]
    size = target.shape[-2:]
    total = torch.stack(
        [(((_resized(p, size) - target) ** 2) * alpha).sum() for p in predictions]
    ).sum()
    return total / target.shape[0]


def _resized(prediction: torch.Tensor, size: torch.Size) -> torch.Tensor:
    if prediction.shape[-2:] == size:
        return prediction
    return functional.interpolate(prediction, size=size, mode="bilinear", align_corners=False)
