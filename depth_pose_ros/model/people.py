"""PeopleNet: who is in a depth frame, as a small fully-convolutional network.

On a downsampled frame (every `downsample`-th pixel; depth scaled, a validity channel beside
it) it predicts, per output cell: a person-centre heatmap (peaks are people, the peak value is
the person score), a foreground logit (is this cell part of a person) and the offset from the
cell to the centre of the person it belongs to. People who touch or overlap separate by their
centres; nothing in it depends on a floor, a camera height or a size limit. An encoder-decoder
(U-Net shaped) sees the whole frame (a 7 m person and a 0.6 m one alike) and keeps the output
fine enough for masks.

The config travels with the weights (`weights.save`), as DepthPoseNet's does.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.nn import functional

PEOPLE_OUTPUTS = 4  # centre logit, foreground logit, offset x, offset y (output cells)


@dataclass(frozen=True)
class PeopleConfig:
    """Sizes and the input contract of a PeopleNet."""

    name: str = "people"
    downsample: int = 4  # the input is every downsample-th pixel of the frame
    encoder: tuple[int, ...] = (16, 24, 32, 48, 64)  # channels at input strides 1, 2, 4, 8, 16
    decoder: tuple[int, ...] = (48, 32, 24, 16)  # channels back up to output_stride
    output_stride: int = 1  # input pixels per output cell: frame stride is downsample * this
    batch_norm: bool = True
    depth_scale: float = 4.0  # metres that map to an input of 1
    max_depth: float = 10.0  # depth beyond this (or invalid) reads as 0 with validity 0
    focal_length: float = 365.0  # pixels: frames are resampled to it (Kinect v2's, trained on)
    centre_sigma: float = 0.15  # centre target sigma, times the square root of a person's area
    min_sigma_cells: float = 1.0
    offset_scale: float = 16.0  # offsets (cells) are predicted divided by this

    kind = "people"

    @property
    def stride(self) -> int:
        """Frame pixels per output cell."""
        return self.downsample * self.output_stride

    def with_changes(self, **changes: Any) -> PeopleConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PeopleConfig:
        fields = dict(values)
        for key in ("encoder", "decoder"):
            if key in fields:
                fields[key] = tuple(fields[key])
        return cls(**fields)


PEOPLE_CONFIGS: dict[str, PeopleConfig] = {"people": PeopleConfig()}


def _block(in_channels: int, out_channels: int, stride: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class PeopleNet(nn.Module):
    """(N, 2, H, W) scaled depth and validity -> (N, 4, H / s, W / s) with s = output_stride:
    centre logit, foreground logit, offset to the centre (x, y, in cells / offset_scale).
    H and W must be multiples of 2 ** (len(encoder) - 1)."""

    def __init__(self, config: PeopleConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.encoder
        bn = config.batch_norm
        self.stem = _block(2, widths[0], 1, bn)
        self.down = nn.ModuleList(
            nn.Sequential(_block(a, b, 2, bn), _block(b, b, 1, bn))
            for a, b in itertools.pairwise(widths)
        )
        self.up = nn.ModuleList()
        channels = widths[-1]
        skips = list(reversed(widths[:-1]))
        for width, skip in zip(config.decoder, skips, strict=False):
            self.up.append(_block(channels + skip, width, 1, bn))
            channels = width
        levels = len(widths) - 1 - len(config.decoder)
        if 2**levels != config.output_stride:
            raise ValueError(
                f"{len(config.decoder)} decoder levels over {len(widths)} encoder levels give "
                f"output stride {2**levels}, not {config.output_stride}"
            )
        self.head = nn.Conv2d(channels, PEOPLE_OUTPUTS, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.normal_(self.head.weight, std=1e-3)
        with torch.no_grad():  # start from "nobody, background" rather than a coin flip
            self.head.bias.copy_(torch.tensor([-4.0, -2.0, 0.0, 0.0]))  # type: ignore[union-attr]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [self.stem(x)]
        for down in self.down:
            features.append(down(features[-1]))
        out = features[-1]
        for up, skip in zip(self.up, reversed(features[:-1]), strict=False):
            out = functional.interpolate(out, size=skip.shape[2:], mode="nearest")
            out = up(torch.cat([out, skip], dim=1))
        return self.head(out)
