"""DepthPoseNet: the paper's multi-stage pose network on depth (D'Eusanio et al. 2019, sec. 4.1).

A VGG-19 feature extractor (its first 10 convolutions, trained from scratch on one depth
channel) and two convolutions reducing to the feature maps F; an initial stage P1 = phi(F);
T-1 refinement stages Pt = psi_t(F + P(t-1)) with dropout between stages. Optionally every stage
is attention-gated (Sun et al., "Focus on what's important"): it also predicts a mask M that
gates the next stage's input, and its prediction keeps the previous one where the mask
discarded it: Pt = Ht + P(t-1) * (1 - M(t-1)). Optionally (`upsample` levels) an upsampling
head on top of the stages gives the heatmaps at a finer stride: the last stage's heatmaps
resized up, corrected by convolutions of F and PT resized up too.

Every size is a config value (`ModelConfig`); `CONFIGS` holds the named ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from depth_pose_ros.core.schema import NUM_JOINTS

# VGG-19's first 10 convolutions (channels; "M" is a 2x2 max pool): output stride 8.
VGG19_FIRST_10: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512
)  # fmt: skip


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of a DepthPoseNet. Channel counts are multiplied by `width`."""

    name: str
    width: float = 1.0
    stages: int = 6  # T
    joints: int = NUM_JOINTS  # K
    reduce_channels: tuple[int, int] = (256, 128)  # the two reducing layers; F has the last
    stage_channels: int = 128
    initial: tuple[int, int, int] = (3, 3, 512)  # kernel, layers, 1x1 hidden channels
    refine: tuple[int, int, int] = (7, 5, 128)
    input_size: tuple[int, int] = (368, 368)  # (height, width) of a person crop
    dropout: float = 0.0  # between stages
    attention: bool = False
    batch_norm: bool = False  # after every k x k convolution (folds into it at export)
    backbone: tuple[int | str, ...] = VGG19_FIRST_10  # channels, "M" a 2x2 max pool
    # The input contract, saved with the weights (files without it get these, the values every
    # earlier model was trained with): how a depth crop becomes the network's input.
    depth_range: float = 1.0  # metres in front of and behind the person mapped to -1 and 1
    invalid_value: float = 1.0  # what holes read as: far background, as on a real sensor
    box_margin: float = 1.25  # crop side / longer side of the person's box
    heatmap_sigma: float = 7.0  # target Gaussian sigma in input pixels (the paper's eq. 4)
    upsample: int = 0  # 2x upsampling levels after the stages: output stride halves per level

    kind = "pose"  # what weights files call this kind of network (not a field)

    @property
    def stage_stride(self) -> int:
        """Input pixels per cell of the stages' heatmaps: 2 per max pool of the backbone."""
        return 2 ** sum(1 for item in self.backbone if item == "M")

    @property
    def stride(self) -> int:
        """Input pixels per cell of the output heatmaps: the stages', halved per upsample level."""
        return self.stage_stride // 2**self.upsample

    @property
    def heatmap_size(self) -> tuple[int, int]:
        """(height, width) of the heatmaps for one crop."""
        height, width = self.input_size
        return height // self.stride, width // self.stride

    def scaled(self, channels: int) -> int:
        return max(8, round(channels * self.width))

    def with_changes(self, **changes: Any) -> ModelConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """A config as `to_dict` wrote it; keys older files lack take their defaults."""
        fields = dict(values)
        for key in ("reduce_channels", "initial", "refine", "input_size", "backbone"):
            if key in fields:
                fields[key] = tuple(fields[key])
        return cls(**fields)


CONFIGS: dict[str, ModelConfig] = {
    # The paper's network: 6 stages of OpenPose-sized blocks (~29 M parameters).
    "paper": ModelConfig("paper"),
    # Real time on two CPU cores: a quarter of the channels, 3 stages, 5x5 refinement, 128x128
    # crops; BatchNorm so that it trains in hours on a CPU (it folds away at export).
    "lite": ModelConfig(
        "lite",
        width=0.25,
        stages=3,
        refine=(5, 4, 128),
        input_size=(128, 128),
        dropout=0.1,
        batch_norm=True,
    ),
    # Between the two, for comparisons: half the channels, 4 stages, 160x160 crops.
    "base": ModelConfig(
        "base",
        width=0.5,
        stages=4,
        refine=(7, 5, 128),
        input_size=(160, 160),
        dropout=0.1,
        batch_norm=True,
    ),
}


def _conv(
    in_channels: int, out_channels: int, kernel: int, batch_norm: bool = False
) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return layers


class FeatureExtractor(nn.Module):
    """VGG-19's first 10 convolutions on one depth channel, then the two reducing layers."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for item in config.backbone:
            if isinstance(item, int):
                layers += _conv(channels, config.scaled(item), 3, config.batch_norm)
                channels = config.scaled(item)
            elif item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                raise ValueError(f"backbone item {item!r} is neither channels nor 'M'")
        for reduced in config.reduce_channels:
            layers += _conv(channels, config.scaled(reduced), 3, config.batch_norm)
            channels = config.scaled(reduced)
        self.layers = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Stage(nn.Module):
    """One block: `layers` k x k convolutions, a 1x1 hidden layer, a 1x1 output of K heatmaps
    (plus one attention mask channel when gated)."""

    def __init__(self, in_channels: int, config: ModelConfig, shape: tuple[int, int, int]) -> None:
        super().__init__()
        kernel, count, hidden = shape
        channels = config.scaled(config.stage_channels)
        layers: list[nn.Module] = []
        for i in range(count):
            layers += _conv(
                in_channels if i == 0 else channels, channels, kernel, config.batch_norm
            )
        layers += _conv(channels, config.scaled(hidden), 1)
        self.body = nn.Sequential(*layers)
        self.attention = config.attention
        self.head = nn.Conv2d(config.scaled(hidden), config.joints + int(config.attention), 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.head(self.body(x))
        if self.attention:
            return out[:, :-1], torch.sigmoid(out[:, -1:])
        return out, None


class Upsampling(nn.Module):
    """Heatmaps `levels` times 2x finer than the stages': each level resizes F and the last
    stage's heatmaps up 2x (bilinear) and reads them with two 3x3 convolutions; a 1x1
    convolution then reads those features beside the stage's heatmaps resized up the same way
    (bilinear, 2x per level, cell centres onto cell centres). It starts as exactly that resize
    (identity on the heatmaps, zero on the features), so a head added to trained stages begins
    where they are. (Resizing rather than transposed convolutions: ONNX Runtime's int8 tooling
    then infers every shape.)"""

    def __init__(self, in_channels: int, config: ModelConfig) -> None:
        super().__init__()
        channels = config.scaled(config.stage_channels)
        layers: list[nn.Module] = []
        for level in range(config.upsample):
            layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
            layers += _conv(in_channels if level == 0 else channels, channels, 3, config.batch_norm)
            layers += _conv(channels, channels, 3, config.batch_norm)
        self.body = nn.Sequential(*layers)
        self.levels = config.upsample
        self.joints = config.joints
        self.head = nn.Conv2d(channels + config.joints, config.joints, 1)

    def reset_head(self) -> None:
        """The head's start: the resized heatmaps passed through, the features not yet read."""
        with torch.no_grad():
            nn.init.zeros_(self.head.weight)
            self.head.weight[:, -self.joints :, 0, 0] = torch.eye(self.joints)
            nn.init.zeros_(self.head.bias)  # type: ignore[arg-type]

    def forward(self, features: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
        finer = self.body(torch.cat([features, heatmaps], dim=1))
        resized = heatmaps
        for _ in range(self.levels):  # as the features are, so that ONNX shapes match
            resized = functional.interpolate(
                resized, scale_factor=2, mode="bilinear", align_corners=False
            )
        return self.head(torch.cat([finer, resized], dim=1))


class DepthPoseNet(nn.Module):
    """Heatmaps of K joints at `config.stride` from a (N, 1, H, W) normalised depth crop (the
    stages' at `config.stage_stride`)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.features = FeatureExtractor(config)
        features = self.features.out_channels
        self.initial = Stage(features, config, config.initial)
        self.refinements = nn.ModuleList(
            Stage(features + config.joints, config, config.refine) for _ in range(config.stages - 1)
        )
        self.dropout = nn.Dropout2d(config.dropout)
        self.upsampling = (
            Upsampling(features + config.joints, config) if config.upsample > 0 else None
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)  # type: ignore[arg-type]
        for stage in (self.initial, *self.refinements):  # start from near-empty heatmaps
            nn.init.normal_(stage.head.weight, std=1e-3)
        if self.upsampling is not None:
            self.upsampling.reset_head()

    def forward(
        self, x: torch.Tensor, all_stages: bool = False
    ) -> torch.Tensor | list[torch.Tensor]:
        """The output heatmaps, or every stage's and then the upsampling head's if there is one
        (the loss supervises all of them)."""
        features = self.features(x)
        prediction, mask = self.initial(features)
        predictions = [prediction]
        for stage in self.refinements:
            stage_input = self.dropout(torch.cat([features, prediction], dim=1))
            if mask is not None:
                stage_input = stage_input * mask
            heatmaps, next_mask = stage(stage_input)
            prediction = heatmaps if mask is None else heatmaps + prediction * (1 - mask)
            mask = next_mask
            predictions.append(prediction)
        if self.upsampling is not None:
            prediction = self.upsampling(features, prediction)
            predictions.append(prediction)
        return predictions if all_stages else prediction


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
