"""Annotated depth data sets behind one interface: our synthetic data, Watch-n-Patch and the
Watch-R-Patch refined annotations."""

from __future__ import annotations

from pathlib import Path

from depth_pose_ros.data.sample import Dataset

SPEC_HELP = (
    "synthetic:test | synthetic:val | synthetic:hard | synthetic:hard-val | synthetic:wall | "
    "DIR (written by depth-pose synth --out) | watch-n-patch:ROOT | "
    "watch-r-patch:ANNOTATIONS.json@ROOT | LABELS.json (written by depth-pose annotate) | "
    "several of them joined by commas"
)


def open_dataset(spec: str, progress: bool = True) -> Dataset:
    """The data set a `--data` argument names (see SPEC_HELP); `A,B` is A followed by B."""
    if "," in spec:
        from depth_pose_ros.data.combined import Combined

        return Combined([open_dataset(part, progress) for part in spec.split(",") if part])
    kind, _, rest = spec.partition(":")
    if kind == "synthetic" and rest:
        from depth_pose_ros.data.synthetic.dataset import named_split

        return named_split(rest, progress=progress)
    if kind == "watch-n-patch" and rest:
        from depth_pose_ros.data.watch_n_patch import WatchNPatch

        return WatchNPatch(rest)
    if kind == "watch-r-patch" and "@" in rest:
        from depth_pose_ros.data.watch_n_patch import WatchRPatch

        annotations, root = rest.rsplit("@", 1)
        return WatchRPatch(annotations, root)
    if spec.endswith(".json") and Path(spec).is_file():
        from depth_pose_ros.data.labels import LabelsDataset

        return LabelsDataset(spec)
    if Path(spec).is_dir():
        from depth_pose_ros.data.synthetic.dataset import SyntheticDataset

        return SyntheticDataset(spec)
    raise ValueError(f"unknown data set {spec!r}; expected {SPEC_HELP}")
