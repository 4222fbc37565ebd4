"""The paper's loss (eq. 3), summed over stages."""

from __future__ import annotations

import torch


def stage_loss(
    predictions: list[torch.Tensor], target: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """sum_t sum_k alpha_k sum_p (P_k^t(p) - H_k(p))^2, averaged over the batch; alpha_k = 0
    for joints without a label."""
    alpha = weight[:, :, None, None]
    total = torch.stack([(((p - target) ** 2) * alpha).sum() for p in predictions]).sum()
    return total / target.shape[0]
