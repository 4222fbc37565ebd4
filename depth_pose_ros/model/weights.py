"""Trained weights: the ones shipped in the package (by name) and files (by path).

A weights file is a torch file holding {"format", "version", "kind", "config", "state_dict",
"metadata"}: the config travels with the weights (as timm's pretrained config does), so a file
rebuilds its own network. `kind` is "pose" (DepthPoseNet; files without it are pose weights)
or "people" (PeopleNet, the person stage). Training checkpoints hold the same keys plus the
optimizer state, so either loads.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from depth_pose_ros.model.network import DepthPoseNet, ModelConfig
from depth_pose_ros.model.people import PeopleConfig, PeopleNet

FORMAT = "depth_pose_ros.weights"
VERSION = 1
SHIPPED = Path(__file__).resolve().parent / "shipped"
KINDS: dict[str, tuple[Any, Any]] = {
    "pose": (ModelConfig, DepthPoseNet),
    "people": (PeopleConfig, PeopleNet),
}


class WeightsError(ValueError):
    """Weights that cannot be found or used; the message says what is available."""


def available(kind: str | None = None) -> list[str]:
    """Names of the weights shipped in the package (of one kind, if given)."""
    names = sorted(path.stem for path in SHIPPED.glob("*.pt"))
    return [n for n in names if kind is None or read(n).get("kind", "pose") == kind]


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


def read(name_or_path: str | Path) -> dict[str, Any]:
    """The raw contents of a weights file or checkpoint, checked."""
    path = resolve(name_or_path)
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
        raise WeightsError(
            f"{path} is not a readable weights file ({error}); shipped weights: "
            f"{', '.join(p.stem for p in SHIPPED.glob('*.pt')) or 'none'}"
        ) from None
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise WeightsError(f"{path} is not a depth_pose_ros weights file")
    if contents.get("version") != VERSION:
        raise WeightsError(f"{path} has weights format version {contents.get('version')}")
    return contents


def load_any(name_or_path: str | Path, kind: str) -> tuple[nn.Module, dict[str, Any]]:
    """The network of `kind` (in eval mode) and the metadata of a weights file or name."""
    contents = read(name_or_path)
    found = contents.get("kind", "pose")
    if found != kind:
        raise WeightsError(f"{resolve(name_or_path)} holds {found} weights, not {kind} weights")
    config_type, model_type = KINDS[kind]
    try:
        model = model_type(config_type.from_dict(contents["config"]))
        model.load_state_dict(contents["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise WeightsError(
            f"{resolve(name_or_path)} does not fit its own config: {error}"
        ) from None
    return model.eval(), dict(contents.get("metadata", {}))


def load(name_or_path: str | Path) -> tuple[DepthPoseNet, dict[str, Any]]:
    """The pose network (in eval mode) and the metadata of a weights file or shipped name."""
    model, metadata = load_any(name_or_path, "pose")
    assert isinstance(model, DepthPoseNet)
    return model, metadata


def load_people(name_or_path: str | Path) -> tuple[PeopleNet, dict[str, Any]]:
    """The person stage network (in eval mode) and its metadata."""
    model, metadata = load_any(name_or_path, "people")
    assert isinstance(model, PeopleNet)
    return model, metadata


def pack(
    model: DepthPoseNet | PeopleNet, metadata: dict[str, Any] | None = None, **extra: object
) -> dict[str, Any]:
    """The contents of a weights file (extra keys for checkpoints: optimizer, epoch, ...)."""
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": model.config.kind,
        "config": model.config.to_dict(),
        "state_dict": state,
        "metadata": metadata or {},
        **extra,
    }


def save(
    path: str | Path, model: DepthPoseNet | PeopleNet, metadata: dict[str, Any] | None = None
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    torch.save(pack(model, metadata), partial)
    partial.replace(path)
    return path
