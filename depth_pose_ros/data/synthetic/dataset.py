"""Our synthetic data set on disk: 16-bit depth PNGs, person masks and COCO keypoint annotations.

    <root>/dataset.json       format, generator version, split, seed, frames
    <root>/annotations.json   COCO keypoints (+ keypoints_3d, track_id, camera per image)
    <root>/depth/000000.png   depth in millimetres, 0 invalid
    <root>/masks/000000.png   0 nobody, k + 1 person k (annotation track_id k + 1)

Splits: `train` and `val` frames come from any seed; `synthetic:test` is the fixed set of the
first TEST_FRAMES frames of the test split with seed 0, which no training run generates (the
split is part of every frame's random stream).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from depth_pose_ros.core.cache import cache_directory
from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import read_depth_file
from depth_pose_ros.data import coco
from depth_pose_ros.data.sample import PersonAnnotation, Sample
from depth_pose_ros.data.synthetic.generator import (
    GENERATOR_VERSION,
    SPLITS,
    generate_frame,
)

FORMAT = "depth_pose_ros.synthetic"
TEST_FRAMES = 500
VAL_FRAMES = 300
NAMED_SPLITS = {"test": TEST_FRAMES, "val": VAL_FRAMES}  # synthetic:<name>, seed 0


def _write_frame(task: tuple[str, str, int, int, int | None]) -> tuple[dict, list[dict]]:
    root, split, seed, index, people = task
    frame = generate_frame(split, seed, index, people)
    name = f"{index:06d}.png"
    cv2.imwrite(str(Path(root, "depth", name)), frame.depth_mm)
    cv2.imwrite(str(Path(root, "masks", name)), frame.person_mask)
    i = frame.intrinsics
    image = {
        "id": index + 1,
        "file_name": f"depth/{name}",
        "mask_file": f"masks/{name}",
        "width": i.width,
        "height": i.height,
        "camera": {"fx": i.fx, "fy": i.fy, "cx": i.cx, "cy": i.cy},
    }
    annotations = [
        coco.annotation(0, index + 1, p.joints_2d, p.visibility, p.joints_3d, p.track_id)
        | {"mask_pixels": p.mask_pixels}
        for p in frame.people
    ]
    return image, annotations


def write_dataset(
    root: str | Path,
    split: str,
    seed: int,
    frames: int,
    people: int | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Generate `frames` frames of `split` for `seed` into a new directory `root`."""
    root = Path(root)
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} exists and is not empty; choose a new directory")
    (root / "depth").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    tasks = [(str(root), split, seed, index, people) for index in range(frames)]
    workers = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(
            tqdm(
                pool.map(_write_frame, tasks, chunksize=4),
                total=frames,
                desc=f"synth {split}",
                unit="frame",
                disable=not progress,
            )
        )
    images, annotations = [], []
    for image, persons in results:
        images.append(image)
        for person in persons:
            person["id"] = len(annotations) + 1
            annotations.append(person)
    info = {
        "format": FORMAT,
        "generator_version": GENERATOR_VERSION,
        "split": split,
        "seed": seed,
        "frames": frames,
        "people": people,
    }
    (root / "annotations.json").write_text(json.dumps(coco.document(images, annotations, info)))
    (root / "dataset.json").write_text(json.dumps(info, indent=2) + "\n")
    return root


class SyntheticDataset:
    """A synthetic data set written by `write_dataset` (or `depth-pose synth --out`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        info_path = self.root / "dataset.json"
        if not info_path.is_file():
            raise FileNotFoundError(f"{self.root} is not a synthetic data set (no dataset.json)")
        self.info = json.loads(info_path.read_text())
        if self.info.get("format") != FORMAT:
            raise ValueError(f"{info_path} is not a {FORMAT} data set")
        self._coco = json.loads((self.root / "annotations.json").read_text())
        self.images = sorted(self._coco["images"], key=lambda image: image["id"])
        self._people: dict[int, list[dict]] = {image["id"]: [] for image in self.images}
        for ann in self._coco["annotations"]:
            self._people[ann["image_id"]].append(ann)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Sample:
        image = self.images[index]
        path = self.root / image["file_name"]
        depth = read_depth_file(path)
        mask = cv2.imread(str(self.root / image["mask_file"]), cv2.IMREAD_UNCHANGED)
        camera = image["camera"]
        intrinsics = CameraIntrinsics(
            image["width"], image["height"], camera["fx"], camera["fy"], camera["cx"], camera["cy"]
        )
        people = []
        for ann in self._people[image["id"]]:
            keypoints = np.asarray(ann["keypoints"], dtype=np.float32).reshape(-1, 3)
            people.append(
                PersonAnnotation(
                    uv=keypoints[:, :2],
                    visibility=keypoints[:, 2].astype(np.uint8),
                    xyz=np.asarray(ann["keypoints_3d"], dtype=np.float32).reshape(-1, 3),
                    track_id=ann.get("track_id", 0),
                )
            )
        return Sample(image["id"], depth, intrinsics, people, mask)

    def coco(self) -> dict[str, object]:
        return self._coco


def named_split(name: str, progress: bool = True) -> SyntheticDataset:
    """`synthetic:test` or `synthetic:val`: fixed frames, generated once into the cache."""
    if name not in NAMED_SPLITS:
        raise ValueError(
            f"synthetic:{name} is not one of synthetic:{', synthetic:'.join(NAMED_SPLITS)}"
        )
    frames = NAMED_SPLITS[name]
    target = cache_directory() / f"synthetic-v{GENERATOR_VERSION}-{name}-seed0-{frames}"
    if not (target / "dataset.json").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            write_dataset(partial, name, 0, frames, progress=progress)
            partial.rename(target)
        except OSError:
            if not (target / "dataset.json").is_file():
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return SyntheticDataset(target)
