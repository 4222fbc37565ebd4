"""Training the person stage (PeopleNet) on frames with exact person masks.

Targets per output cell: a Gaussian at each counted person's centre (the cell of theirs nearest
to the centroid of their visible cells, so it always lies on them), foreground for every
person's cells (people too hidden to count included: they are people), and for the cells of
counted people the offset to their centre. Person-like objects (coats, bags, chairs) are
background like everything else. Losses: CenterNet's focal loss on the centres, binary cross
entropy on the foreground, L1 on the offsets. Augmentation: mirror, a random scale (other
cameras' resolutions and focal lengths) with a random crop, scattered dropouts filled in half
the frames (the synthetic sensor scatters them over far surfaces, real ones mostly do not: a
stage that learned them as "far background" missed a real person 0.45 m before a wall), depth
noise and holes.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.nn import functional
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset
from tqdm import tqdm

from depth_pose_ros.core.depth_image import fill_dropouts, within_range
from depth_pose_ros.data.sample import Dataset, Sample
from depth_pose_ros.inference.backends import TorchBackend
from depth_pose_ros.inference.people import FOCAL_TOLERANCE, PeopleFinder
from depth_pose_ros.model import weights
from depth_pose_ros.model.people import PeopleConfig, PeopleNet
from depth_pose_ros.training.trainer import TrainLog, cosine_lr, resume, save_epoch

TRAIN_SIZE = (448, 512)  # (height, width) of the frames the network trains on
MIN_COVERAGE = 0.5  # of a person's mask a proposal must cover to find them
MIN_PURITY = 0.3  # of a proposal's pixels that must be on the person it finds


@dataclass
class PeopleSettings:
    """Everything that decides a person-stage training run (saved as settings.json)."""

    config: PeopleConfig = field(default_factory=PeopleConfig)
    epochs: int = 20
    batch_size: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    workers: int = 0
    scale: tuple[float, float] = (0.7, 1.6)
    filled: float = 0.5  # share of frames whose scattered dropouts are filled first
    val_frames: int = 300
    init: str | None = None  # person-stage weights to start from (their config replaces config)
    downsample: int | None = None  # the input's pixel stride, also over --init weights' own

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["config"] = self.config.to_dict()
        return values


def targets(
    mask: np.ndarray, counted: set[int], config: PeopleConfig, shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    """The training targets of one frame's person mask (values k + 1 for person k), at output
    cells of `shape`: centre heatmap, foreground, offsets and where the offsets count."""
    cells = (
        cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
        if mask.shape != shape
        else mask
    )
    heatmap = np.zeros(shape, np.float32)
    offsets = np.zeros((2, *shape), np.float32)
    weight = np.zeros(shape, np.float32)
    people = (cells > 0) & (cells < 255)
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    for k in np.unique(cells[people]):
        rows, columns = np.nonzero(cells == k)
        if int(k) - 1 not in counted or len(rows) < 2:
            continue
        centroid = np.array([columns.mean(), rows.mean()])
        nearest = np.argmin((columns - centroid[0]) ** 2 + (rows - centroid[1]) ** 2)
        cx, cy = columns[nearest], rows[nearest]
        sigma = max(config.min_sigma_cells, config.centre_sigma * math.sqrt(len(rows)))
        gaussian = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))
        np.maximum(heatmap, gaussian.astype(np.float32), out=heatmap)
        offsets[0, rows, columns] = (cx - columns) / config.offset_scale
        offsets[1, rows, columns] = (cy - rows) / config.offset_scale
        weight[rows, columns] = 1.0
    return {
        "centre": heatmap,
        "foreground": people.astype(np.float32),
        "offsets": offsets,
        "offset_weight": weight,
    }


class PeopleFrames(TorchDataset):
    """(input (2, h, w), targets) per frame of a data set with person masks, augmented."""

    def __init__(
        self,
        dataset: Dataset,
        config: PeopleConfig,
        augment: bool = True,
        scale: tuple[float, float] = (0.7, 1.6),
        seed: int = 0,
        filled: float = 0.5,
    ) -> None:
        self.dataset = dataset
        self.config = config
        self.augment = augment
        self.scale = scale
        self.filled = filled
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        from depth_pose_ros.inference.people import network_input

        sample = self.dataset[index]
        if sample.mask is None:
            raise ValueError("the person stage trains on data sets with person masks")
        rng = np.random.default_rng((self.seed, self.epoch, index))
        depth, mask = self._frame(sample, rng)
        config = self.config
        network = network_input(depth, config)
        height, width = network.shape[1:]
        shape = (height // config.output_stride, width // config.output_stride)
        small = np.zeros((shape[0] * config.stride, shape[1] * config.stride), np.uint8)
        small[: mask.shape[0], : mask.shape[1]] = mask[: small.shape[0], : small.shape[1]]
        counted = {k for k, person in enumerate(sample.people) if not person.ignore}
        sampled = small[:: config.stride, :: config.stride]
        target = targets(sampled, counted, config, shape)
        return torch.from_numpy(network), {k: torch.from_numpy(v) for k, v in target.items()}

    def _frame(self, sample: Sample, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The (augmented) depth and mask, TRAIN_SIZE big (padding is invalid and nobody)."""
        depth, mask = within_range(sample.depth), sample.mask
        assert mask is not None
        # As at inference: resampled to the stage's focal length, then (training) scaled at
        # random, as people nearer or farther and cameras with other focal lengths are.
        factor = self.config.focal_length / sample.intrinsics.fx
        if self.augment:
            if rng.random() < self.filled:
                depth = fill_dropouts(depth)
            if rng.random() < 0.5:
                depth, mask = depth[:, ::-1], mask[:, ::-1]
            factor *= float(np.exp(rng.uniform(*np.log(self.scale))))
        if abs(factor - 1.0) > FOCAL_TOLERANCE:
            size = (round(depth.shape[1] * factor), round(depth.shape[0] * factor))
            depth = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
        if self.augment:
            noise = rng.uniform(0.0, 0.02)
            depth = depth + rng.normal(0.0, noise, depth.shape).astype(np.float32) * depth
            if rng.random() < 0.5:  # holes, as dark or shiny surfaces leave them
                coarse = rng.random((depth.shape[0] // 16 + 1, depth.shape[1] // 16 + 1))
                blobs = cv2.resize(coarse.astype(np.float32), depth.shape[::-1])
                depth = np.where(blobs < rng.uniform(0, 0.08), np.nan, depth)
        out_depth = np.full(TRAIN_SIZE, np.nan, np.float32)
        out_mask = np.zeros(TRAIN_SIZE, np.uint8)
        height, width = depth.shape
        top = int(rng.integers(0, max(height - TRAIN_SIZE[0], 0) + 1)) if self.augment else 0
        left = int(rng.integers(0, max(width - TRAIN_SIZE[1], 0) + 1)) if self.augment else 0
        window = depth[top : top + TRAIN_SIZE[0], left : left + TRAIN_SIZE[1]]
        out_depth[: window.shape[0], : window.shape[1]] = window
        out_mask[: window.shape[0], : window.shape[1]] = mask[
            top : top + TRAIN_SIZE[0], left : left + TRAIN_SIZE[1]
        ]
        return out_depth, out_mask


def loss(output: torch.Tensor, target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CenterNet focal loss on centres, BCE on foreground, L1 on offsets; and their sum."""
    centre = torch.sigmoid(output[:, 0]).clamp(1e-4, 1 - 1e-4)
    truth = target["centre"]
    peak = truth.eq(1.0).float()
    positive = -torch.log(centre) * (1 - centre) ** 2 * peak
    negative = -torch.log(1 - centre) * centre**2 * (1 - truth) ** 4 * (1 - peak)
    people = peak.sum().clamp(min=1.0)
    centre_loss = (positive.sum() + negative.sum()) / people
    foreground = functional.binary_cross_entropy_with_logits(output[:, 1], target["foreground"])
    weight = target["offset_weight"]
    offset = (torch.abs(output[:, 2:] - target["offsets"]) * weight[:, None]).sum()
    offset = offset / weight.sum().clamp(min=1.0)
    total = centre_loss + foreground + offset
    return {"loss": total, "centre": centre_loss, "foreground": foreground, "offset": offset}


def match(found: list[np.ndarray], truth: list[np.ndarray]) -> tuple[int, int]:
    """(people found, proposals matching nobody): a proposal finds the person whose mask it
    covers most, when it covers at least MIN_COVERAGE of it and at least MIN_PURITY of the
    proposal is that person (its cells are coarse: a thin or far person fills few of them)."""
    taken = set()
    false = 0
    for mask in found:
        size = np.count_nonzero(mask)
        best, best_coverage = -1, MIN_COVERAGE
        for k, person in enumerate(truth):
            overlap = np.count_nonzero(mask & person)
            coverage = overlap / max(int(np.count_nonzero(person)), 1)
            if k not in taken and coverage >= best_coverage and overlap >= MIN_PURITY * size:
                best, best_coverage = k, coverage
        if best >= 0:
            taken.add(best)
        else:
            false += 1
    return len(taken), false


def visible_masks(sample: Sample) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The masks of the people to count and of those too hidden to, each cut to the pixels with
    valid depth: what no depth sensor saw, no stage can claim (far people lose half of theirs)."""
    assert sample.mask is not None
    seen = np.isfinite(within_range(sample.depth))
    counted = [(sample.mask == k + 1) & seen for k, p in enumerate(sample.people) if not p.ignore]
    hidden = [(sample.mask == k + 1) & seen for k, p in enumerate(sample.people) if p.ignore]
    return counted, hidden


@torch.inference_mode()
def validate(model: PeopleNet, dataset: Dataset, frames: int) -> dict[str, float]:
    """Recall and false proposals per frame of the decoded stage on the first frames (people
    too hidden to count neither need finding nor count as false)."""
    model.eval()
    finder = PeopleFinder(TorchBackend(model), model.config)
    people = found = false = 0
    count = min(frames, len(dataset))
    for index in range(count):
        sample = dataset[index]
        assert sample.mask is not None
        proposals = finder(sample.depth, sample.intrinsics.fx)
        counted, hidden = visible_masks(sample)
        hits, misses = match([p.mask for p in proposals], counted)
        on_hidden, _ = match([p.mask for p in proposals], hidden)
        people += len(counted)
        found += hits
        false += max(misses - on_hidden, 0)
    return {
        "val_recall": found / max(people, 1),
        "val_false_per_frame": false / max(count, 1),
        "val_people": float(people),
    }


def train_people(
    data: Dataset,
    out: str | Path,
    settings: PeopleSettings,
    val: Dataset | None = None,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train (or resume training) the person stage into `out`; returns the per-epoch log."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(settings.seed)
    initial = weights.load_people(settings.init)[0] if settings.init is not None else None
    if initial is not None:  # the architecture comes with the weights
        settings = replace(settings, config=initial.config)
    if settings.downsample is not None:  # fully convolutional: any input resolution fits
        config = settings.config.with_changes(downsample=settings.downsample)
        settings = replace(settings, config=config)
    model = PeopleNet(settings.config)
    if initial is not None:
        model.load_state_dict(initial.state_dict())
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    frames = PeopleFrames(
        data, settings.config, True, settings.scale, settings.seed, settings.filled
    )
    generator = torch.Generator().manual_seed(settings.seed)
    loader = DataLoader(
        frames,
        batch_size=settings.batch_size,
        shuffle=True,
        num_workers=settings.workers,
        generator=generator,
        drop_last=True,
    )
    total_steps = len(loader) * settings.epochs
    start_epoch, best = resume(out, model, optimiser, settings.config)
    (out / "settings.json").write_text(json.dumps(settings.to_dict(), indent=2) + "\n")
    log = TrainLog(out, score_key="val_recall")
    for epoch in range(start_epoch, settings.epochs + 1):
        started = time.perf_counter()
        frames.set_epoch(epoch)
        generator.manual_seed(settings.seed * 100_003 + epoch)
        model.train()
        sums: dict[str, float] = {}
        batches = tqdm(loader, desc=f"epoch {epoch}/{settings.epochs}", disable=not progress)
        for step, (inputs, target) in enumerate(batches):
            lr = cosine_lr(settings.lr, (epoch - 1) * len(loader) + step, total_steps)
            for group in optimiser.param_groups:
                group["lr"] = lr
            parts = loss(model(inputs), target)
            optimiser.zero_grad(set_to_none=True)
            parts["loss"].backward()
            optimiser.step()
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
            batches.set_postfix(loss=f"{sums['loss'] / (step + 1):.3f}")
        row: dict[str, float] = {
            "epoch": epoch,
            "steps": epoch * len(loader),
            "lr": optimiser.param_groups[0]["lr"],
            "train_loss": sums["loss"] / len(loader),
            **{f"train_{k}": v / len(loader) for k, v in sums.items() if k != "loss"},
        }
        if val is not None:
            row |= validate(model, val, settings.val_frames)
        row["seconds"] = round(time.perf_counter() - started, 1)
        log.add(row)
        score = row["val_recall"] - row["val_false_per_frame"] if val else -row["train_loss"]
        info = {"epoch": epoch, "train_settings": settings.to_dict(), "val": row}
        best = save_epoch(out, model, optimiser, info, score, best)
    return log.rows
