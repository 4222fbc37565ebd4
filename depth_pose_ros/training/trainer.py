"""The training loop: the paper's loss and optimiser, checkpoints, resume, logs and curves.

Loss (eq. 3): sum over stages t and joints k of alpha_k * sum_p (P_k^t(p) - H_k(p))^2, averaged
over the batch. Optimiser: Adam (0.9, 0.999), weight decay 1e-4, learning rate 1e-4 unless set.
Fine-tuning modes (the paper's Ours / Ours_blk / Ours_last): "all" updates everything, "blk"
freezes the feature extractor, "last" freezes everything but the last stage; dropout 0.5.
Runs under torchrun (DistributedDataParallel) when WORLD_SIZE > 1.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from depth_pose_ros.data.sample import Dataset
from depth_pose_ros.model import weights
from depth_pose_ros.model.network import CONFIGS, DepthPoseNet, ModelConfig
from depth_pose_ros.model.people import PeopleConfig, PeopleNet
from depth_pose_ros.training.data import Augmentation, PersonCrops
from depth_pose_ros.training.loss import stage_loss
from depth_pose_ros.training.validation import validate

FINETUNE_MODES = ("all", "blk", "last")
CHECKPOINT = "last.pt"
BEST = "best.pt"


@dataclass
class TrainSettings:
    """Everything that decides a training run (saved beside it as settings.json)."""

    config: ModelConfig = field(default_factory=lambda: CONFIGS["lite"])
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: str = "constant"  # or "cosine" (decay to 1 % over the run)
    seed: int = 0
    workers: int = 1
    finetune: str | None = None
    init: str | None = None  # weights to start from (required for fine-tuning)
    augmentation: Augmentation = field(default_factory=Augmentation)
    val_people: int = 400  # people of the validation set evaluated after every epoch
    negatives: float = 0.2  # share of samples that cover nobody (objects, bits of the scene)
    people: str | None = None  # person-stage weights: also validate the whole estimator
    label_noise: float = 0.0  # Kinect-like annotation errors (fraction of a person's size)
    upsample: int | None = None  # the config's upsampling levels, also over --init weights' own
    input_size: tuple[int, int] | None = None  # the crop side, also over --init weights' own

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["config"] = self.config.to_dict()
        return values


def resume(
    out: Path,
    model: DepthPoseNet | PeopleNet,
    optimiser: torch.optim.Optimizer,
    config: ModelConfig | PeopleConfig,
) -> tuple[int, float]:
    """(first epoch to run, best score so far): from OUT/last.pt when a run left one (it must be
    of the same model config), else (1, -inf)."""
    checkpoint = out / CHECKPOINT
    if not checkpoint.is_file():
        return 1, -math.inf
    state = weights.read(checkpoint)
    if type(config).from_dict(state["config"]) != config:
        raise ValueError(f"{checkpoint} is for a different model config; use a new --out")
    model.load_state_dict(state["state_dict"])
    optimiser.load_state_dict(state["optimizer"])
    return int(state["epoch"]) + 1, float(state["best"])


def save_epoch(
    out: Path,
    model: DepthPoseNet | PeopleNet,
    optimiser: torch.optim.Optimizer,
    info: dict[str, Any],
    score: float,
    best: float,
) -> float:
    """Write OUT/best.pt when `score` beats `best` and OUT/last.pt to resume from; the new best."""
    if score > best:
        best = score
        weights.save(out / BEST, model, info)
    state = weights.pack(
        model, info, optimizer=optimiser.state_dict(), epoch=info["epoch"], best=best
    )
    torch.save(state, out / CHECKPOINT)
    return best


def _start_from(model: DepthPoseNet, initial: DepthPoseNet) -> None:
    """`initial`'s weights in `model`; an upsampling head `initial` lacks keeps its own start
    (the stages' heatmaps resized up), one of other levels than `model`'s is an error."""
    model_head, initial_head = model.upsampling, initial.upsampling
    if initial_head is not None and model.config.upsample != initial.config.upsample:
        raise ValueError(
            f"--init has {initial.config.upsample} upsampling levels, not "
            f"{model.config.upsample}: start from weights without them or with as many"
        )
    missing, unexpected = model.load_state_dict(initial.state_dict(), strict=False)
    added = model_head is not None and initial_head is None
    if unexpected or (
        missing and not (added and all(k.startswith("upsampling.") for k in missing))
    ):
        raise ValueError(
            f"--init does not fit the model: missing {missing}, unexpected {unexpected}"
        )


def _freeze(model: DepthPoseNet, mode: str) -> None:
    """Freeze parameters for a fine-tuning mode."""
    if mode not in FINETUNE_MODES:
        raise ValueError(f"fine-tuning mode {mode!r} is not one of {', '.join(FINETUNE_MODES)}")
    if mode == "blk":
        model.features.requires_grad_(False)
    elif mode == "last":
        model.requires_grad_(False)
        last = model.refinements[-1] if len(model.refinements) else model.initial
        last.requires_grad_(True)
        if model.upsampling is not None:  # the output's own layers, after the last stage
            model.upsampling.requires_grad_(True)


class TrainLog:
    """Per-epoch figures as CSV and JSON, and a PNG of the loss and `score_key` curves."""

    def __init__(self, directory: Path, score_key: str = "val_mAP") -> None:
        self.directory = directory
        self.score_key = score_key
        self.rows: list[dict[str, float]] = []
        path = directory / "log.json"
        if path.is_file():
            self.rows = json.loads(path.read_text())

    def add(self, row: dict[str, float]) -> None:
        self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]
        (self.directory / "log.json").write_text(json.dumps(self.rows, indent=1) + "\n")
        with (self.directory / "log.csv").open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(self.rows[-1]))
            writer.writeheader()
            writer.writerows(self.rows)
        self.plot()

    def plot(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        epochs = [r["epoch"] for r in self.rows]
        figure, (loss_axes, score_axes) = plt.subplots(1, 2, figsize=(10, 4))
        loss_axes.plot(epochs, [r["train_loss"] for r in self.rows], label="train")
        if any("val_loss" in r for r in self.rows):
            loss_axes.plot(epochs, [r.get("val_loss", np.nan) for r in self.rows], label="val")
        loss_axes.set(xlabel="epoch", ylabel="loss", yscale="log")
        loss_axes.legend()
        score_axes.plot(epochs, [r.get(self.score_key, np.nan) for r in self.rows], "o-")
        score_axes.set(xlabel="epoch", ylabel=self.score_key, ylim=(0, 1))
        score_axes.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(self.directory / "curves.png", dpi=100)
        plt.close(figure)


def cosine_lr(lr: float, step: int, total: int) -> float:
    """`lr` decayed along a cosine to 1 % of it over `total` steps."""
    progress = min(step / max(total, 1), 1.0)
    return lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


def _learning_rate(settings: TrainSettings, step: int, total: int) -> float:
    if settings.schedule == "constant":
        return settings.lr
    return cosine_lr(settings.lr, step, total)


def train(
    data: Dataset,
    out: str | Path,
    settings: TrainSettings,
    val: Dataset | None = None,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train (or resume training) into `out`; returns the per-epoch log."""
    out = Path(out)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    torch.manual_seed(settings.seed)  # weights, dropout; data draws from its own generators

    config, initial = settings.config, None
    metadata: dict[str, Any] = {}
    if settings.init is not None:  # the architecture comes with the weights
        initial, metadata = weights.load(settings.init)
        config = initial.config
    if settings.upsample is not None:
        config = replace(config, upsample=settings.upsample)
    if settings.input_size is not None:  # the network is fully convolutional: any crop fits
        config = replace(config, input_size=settings.input_size)
    if settings.finetune is not None:
        if initial is None:
            raise ValueError("fine-tuning needs --init: the weights to start from")
        config = replace(config, dropout=0.5)
    model = DepthPoseNet(config)
    if initial is not None:
        _start_from(model, initial)
    if settings.finetune is not None:
        _freeze(model, settings.finetune)
    model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(
        trainable, lr=settings.lr, betas=settings.betas, weight_decay=settings.weight_decay
    )

    out.mkdir(parents=True, exist_ok=True)
    crops = PersonCrops(
        data, config, settings.augmentation, settings.seed, settings.label_noise, settings.negatives
    )
    if len(crops) == 0:
        raise ValueError("the training data has no annotated people")
    sampler: DistributedSampler[Any] | None = (
        DistributedSampler(crops, world, rank, seed=settings.seed) if world > 1 else None
    )
    generator = torch.Generator().manual_seed(settings.seed)
    loader = DataLoader(
        crops,
        batch_size=settings.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=settings.workers,
        generator=generator,
        drop_last=True,
        persistent_workers=False,
    )
    steps_per_epoch = len(loader)
    total_steps = steps_per_epoch * settings.epochs

    start_epoch, best = resume(out, model, optimiser, config)
    if rank == 0:
        (out / "settings.json").write_text(json.dumps(settings.to_dict(), indent=2) + "\n")
    network = DistributedDataParallel(model) if world > 1 else model
    log = TrainLog(out)

    for epoch in range(start_epoch, settings.epochs + 1):
        started = time.perf_counter()
        crops.set_epoch(epoch)
        generator.manual_seed(settings.seed * 100_003 + epoch)  # resumed runs repeat exactly
        if sampler is not None:
            sampler.set_epoch(epoch)
        network.train()
        losses = []
        batches = tqdm(
            loader, desc=f"epoch {epoch}/{settings.epochs}", disable=not progress or rank != 0
        )
        for step, (inputs, targets, alphas) in enumerate(batches):
            global_step = (epoch - 1) * steps_per_epoch + step
            for group in optimiser.param_groups:
                group["lr"] = _learning_rate(settings, global_step, total_steps)
            predictions = network(inputs.to(device), all_stages=True)
            loss = stage_loss(predictions, targets.to(device), alphas.to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            batches.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        row: dict[str, float] = {
            "epoch": epoch,
            "steps": epoch * steps_per_epoch,
            "lr": optimiser.param_groups[0]["lr"],
            "train_loss": float(np.mean(losses)),
        }
        if rank == 0:
            if val is not None:
                boxes, estimator, val_loss = validate(
                    model, val, settings.val_people, device, settings.people
                )
                row |= {
                    "val_loss": val_loss,
                    "val_mAP": boxes.mAP,  # the network on annotated people: what is kept
                    "val_AP50": boxes.AP50,
                    "val_AP75": boxes.AP75,
                }
                if estimator is not None:  # the whole estimator, person stage included
                    row |= {"val_mAP_estimator": estimator.mAP, "val_recall": estimator.recall}
            row["seconds"] = round(time.perf_counter() - started, 1)
            log.add(row)
            score = row.get("val_mAP", -row["train_loss"])
            info = {"epoch": epoch, "train_settings": settings.to_dict(), **metadata, "val": row}
            best = save_epoch(out, model, optimiser, info, score, best)
        if world > 1:
            dist.barrier()
    if world > 1:
        dist.destroy_process_group()
    return log.rows
