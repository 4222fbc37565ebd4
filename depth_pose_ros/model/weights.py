"""Trained weights: the ones shipped in the package (by name) and files (by path).

A weights file is a torch file holding {"format", "version", "config", "state_dict",
"metadata"}; training checkpoints hold the same keys plus the optimizer state, so either loads.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from depth_pose_ros.model.network import DepthPoseNet, ModelConfig

FORMAT = "depth_pose_ros.weights"
VERSION = 1
SHIPPED = Path(__file__).resolve().parent / "shipped"


class WeightsError(ValueError):
    """Weights that cannot be found or used; the message says what is available."""


def available() -> list[str]:
    """Names of the weights shipped in the package."""
    return sorted(path.stem for path in SHIPPED.glob("*.pt"))


def resolve(name_or_path: str | Path) -> Path:
    """The file for a shipped name (e.g. "lite") or an existing path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".pt" or candidate.exists():
        if not candidate.is_file():
            raise WeightsError(
                f"weights file {candidate} does not exist; shipped weights: "
                f"{', '.join(available()) or 'none'}"
            )
        return candidate
    shipped = SHIPPED / f"{name_or_path}.pt"
    if not shipped.is_file():
        raise WeightsError(
            f"no weights named {name_or_path!r}; shipped weights: "
            f"{', '.join(available()) or 'none'} (or give a .pt file)"
        )
    return shipped


def read(name_or_path: str | Path) -> dict:
    """The raw contents of a weights file or checkpoint, checked."""
    path = resolve(name_or_path)
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
        raise WeightsError(
            f"{path} is not a readable weights file ({error}); shipped weights: "
            f"{', '.join(available()) or 'none'}"
        ) from None
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise WeightsError(f"{path} is not a depth_pose_ros weights file")
    if contents.get("version") != VERSION:
        raise WeightsError(f"{path} has weights format version {contents.get('version')}")
    return contents


def load(name_or_path: str | Path) -> tuple[DepthPoseNet, dict]:
    """The network (in eval mode) and the metadata of a weights file or shipped name."""
    contents = read(name_or_path)
    try:
        model = DepthPoseNet(ModelConfig.from_dict(contents["config"]))
        model.load_state_dict(contents["state_dict"])
    except (KeyError, TypeError, RuntimeError) as error:
        raise WeightsError(
            f"{resolve(name_or_path)} does not fit its own config: {error}"
        ) from None
    return model.eval(), dict(contents.get("metadata", {}))


def pack(model: DepthPoseNet, metadata: dict | None = None, **extra: object) -> dict:
    """The contents of a weights file (extra keys for checkpoints: optimizer, epoch, ...)."""
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config.to_dict(),
        "state_dict": state,
        "metadata": metadata or {},
        **extra,
    }


def save(path: str | Path, model: DepthPoseNet, metadata: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(pack(model, metadata), path)
    return path
