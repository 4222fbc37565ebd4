"""Training samples: person-centred crops of any data set, with the paper's augmentations.

One sample is one annotated person: the square crop around their mask or, without masks, around
their labelled joints; or, half of the time where one matches, around the proposal the estimator
makes for them (so the network also learns from the imperfect crops it gets at inference: parts
of people, people with their chair). Augmentations
(training only): horizontal flip with left and right joints swapped, a random scale and shift of
the crop (the paper's random 488x400 crop resized back), rotation in [-4, 4] degrees, and
depth-specific ones: a shifted reference depth, sensor noise and holes.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset
from tqdm import tqdm

from depth_pose_ros.core import schema
from depth_pose_ros.data.sample import Dataset, PersonAnnotation, Sample, person_region
from depth_pose_ros.inference.proposals import PersonFinder
from depth_pose_ros.model.heatmaps import targets
from depth_pose_ros.model.network import ModelConfig
from depth_pose_ros.model.preprocess import CropBox, apply, prepare_crop


@dataclass(frozen=True)
class Augmentation:
    """How strongly training samples are perturbed (all off: `Augmentation.none()`)."""

    flip: bool = True
    rotation_degrees: float = 4.0
    scale: tuple[float, float] = (0.85, 1.2)  # crop side multiplier
    shift: float = 0.08  # of the crop side
    reference_jitter_m: float = 0.05
    noise_m: float = 0.01  # max standard deviation of added depth noise
    holes: float = 0.05  # max fraction of pixels knocked out in blobs

    @classmethod
    def none(cls) -> Augmentation:
        return cls(False, 0.0, (1.0, 1.0), 0.0, 0.0, 0.0, 0.0)


MIN_COVERAGE = 0.3  # of the person's mask inside the proposal, and of the proposal on them
MAX_OVERLAP_NOBODY = 0.1  # a proposal with less than this on any person covers nobody


@dataclass
class Proposals:
    """The estimator's proposals on a data set: the one covering each annotated person (by
    sample and person index), and those that cover nobody (furniture, walls, fragments)."""

    people: dict[tuple[int, int], tuple[CropBox, float]]
    nobody: list[tuple[int, CropBox, float]]  # (sample index, box, reference depth)


_worker_dataset: Dataset | None = None


def _set_worker_dataset(dataset: Dataset) -> None:
    global _worker_dataset  # one copy per worker process, not one per task
    _worker_dataset = dataset


def _match_frame(task: tuple[int, float]) -> tuple[list, list]:
    index, margin = task
    sample = _worker_dataset[index]
    if sample.mask is None:
        return [], []
    proposals = PersonFinder(remember_floor=False)(sample.depth, sample.intrinsics)
    masks = [sample.mask == k + 1 for k in range(len(sample.people))]
    people = []
    for k, person in enumerate(sample.people):
        if person.ignore or not masks[k].any():
            continue
        best, best_coverage = None, MIN_COVERAGE
        for proposal in proposals:
            overlap = np.count_nonzero(proposal.mask & masks[k])
            coverage = overlap / np.count_nonzero(masks[k])
            purity = overlap / np.count_nonzero(proposal.mask)
            if coverage >= best_coverage and purity >= MIN_COVERAGE:
                best, best_coverage = proposal, coverage
        if best is not None:
            box = CropBox.around_mask(best.mask, margin)
            people.append(((index, k), (box.cx, box.cy, box.size, best.reference_depth)))
    nobody = []
    for proposal in proposals:
        size = np.count_nonzero(proposal.mask)
        if all(np.count_nonzero(proposal.mask & m) < MAX_OVERLAP_NOBODY * size for m in masks):
            box = CropBox.around_mask(proposal.mask, margin)
            nobody.append((index, box.cx, box.cy, box.size, proposal.reference_depth))
    return people, nobody


def match_proposals(
    dataset: Dataset, margin: float, workers: int = 1, progress: bool = True
) -> Proposals:
    """Run the estimator's proposals on every sample and sort them out (see Proposals); crops
    get `margin` (the model's box margin)."""
    with ProcessPoolExecutor(workers, initializer=_set_worker_dataset, initargs=(dataset,)) as pool:
        frames = list(
            tqdm(
                pool.map(_match_frame, [(i, margin) for i in range(len(dataset))], chunksize=16),
                total=len(dataset),
                desc="person proposals",
                unit="frame",
                disable=not progress,
            )
        )
    return Proposals(
        people={
            key: (CropBox(cx, cy, size), reference)
            for people, _ in frames
            for key, (cx, cy, size, reference) in people
        },
        nobody=[
            (index, CropBox(cx, cy, size), reference)
            for _, nobody in frames
            for index, cx, cy, size, reference in nobody
        ],
    )


class PersonCrops(TorchDataset):
    """(input (1, H, W), heatmaps (K, H/8, W/8), weights (K,)) per annotated person, and for
    proposals that cover nobody (a `negatives` share of all samples): empty heatmaps with full
    weight, so that the network stays quiet on furniture and walls."""

    def __init__(
        self,
        dataset: Dataset,
        config: ModelConfig,
        augmentation: Augmentation,
        seed: int = 0,
        proposals: Proposals | None = None,
        label_noise: float = 0.0,
        negatives: float = 0.2,
    ) -> None:
        self.dataset = dataset
        self.proposals = proposals or Proposals({}, [])
        self.label_noise = label_noise
        self.config = config
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = 0
        self.items: list[tuple[int, int]] = []
        ground_truth = dataset.coco()
        image_index = {image["id"]: i for i, image in enumerate(ground_truth["images"])}
        counters: dict[int, int] = {}
        for ann in ground_truth["annotations"]:
            sample_index = image_index[ann["image_id"]]
            person_index = counters.get(sample_index, 0)
            counters[sample_index] = person_index + 1
            if not ann.get("iscrowd", 0):
                self.items.append((sample_index, person_index))
        # Proposals covering nobody, a fixed random choice of them: item (sample, -1 - which).
        wanted = min(
            round(negatives / (1 - negatives) * len(self.items)), len(self.proposals.nobody)
        )
        chosen = np.random.default_rng((seed, 1)).permutation(len(self.proposals.nobody))[:wanted]
        self.items += [(self.proposals.nobody[i][0], -1 - int(i)) for i in np.sort(chosen)]

    def set_epoch(self, epoch: int) -> None:
        """Reseed augmentation per epoch so epochs differ but runs repeat exactly."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng((self.seed, self.epoch, index))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sample_index, person_index = self.items[index]
        sample = self.dataset[sample_index]
        rng = self._rng(index)
        if person_index < 0:
            _, box, reference = self.proposals.nobody[-1 - person_index]
            crop = self._crop(sample, box, reference, rng)[0]
            maps, weights = self._empty_targets()
            return (
                torch.from_numpy(crop[None]),
                torch.from_numpy(maps),
                torch.ones_like(torch.from_numpy(weights)),
            )
        proposal = self.proposals.people.get((sample_index, person_index))
        if self.label_noise > 0:
            sample.people[person_index] = self._kinect_like(sample.people[person_index], index)
        crop, heatmaps, weights = self.make(
            sample, person_index, rng, proposal if rng.random() < 0.5 else None
        )
        return torch.from_numpy(crop[None]), torch.from_numpy(heatmaps), torch.from_numpy(weights)

    def make(
        self,
        sample: Sample,
        person_index: int,
        rng: np.random.Generator,
        proposal: tuple[CropBox, float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The augmented input, targets and weights for one person of one sample, cropped
        around `proposal` (box, depth) if given, else around the person."""
        person: PersonAnnotation = sample.people[person_index]
        if proposal is not None:
            box, reference = proposal
        else:
            region = person_region(sample, person_index, self.config.box_margin)
            if region is None:
                return np.zeros(self.config.input_size, np.float32), *self._empty_targets()
            box, reference = region.box, region.reference_depth
        crop, affine, flip = self._crop(sample, box, reference, rng)
        joints = apply(affine, person.uv.astype(np.float64))
        labelled = person.visibility > 0
        if flip:
            joints, labelled = joints[schema.FLIP_PERMUTATION], labelled[schema.FLIP_PERMUTATION]
        config = self.config
        heatmaps, weights = targets(
            joints, labelled, config.heatmap_size, config.stride, config.heatmap_sigma
        )
        return crop, heatmaps, weights

    def _crop(
        self, sample: Sample, box: CropBox, reference: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """The augmented, perturbed input around `box`, its affine, and whether it is mirrored."""
        aug = self.augmentation
        side = box.size * rng.uniform(*aug.scale)
        shift = rng.uniform(-aug.shift, aug.shift, size=2) * box.size
        box = CropBox(box.cx + shift[0], box.cy + shift[1], side)
        flip = aug.flip and rng.random() < 0.5
        rotation = rng.uniform(-aug.rotation_degrees, aug.rotation_degrees)
        reference += rng.uniform(-aug.reference_jitter_m, aug.reference_jitter_m)
        crop, affine = prepare_crop(sample.depth, box, reference, self.config, rotation, flip)
        return self._perturb(crop, rng), affine, flip

    def _kinect_like(self, person: PersonAnnotation, index: int) -> PersonAnnotation:
        """The annotation with fixed errors like the Kinect SDK's automatic labels (the
        paper's pre-training data): every joint off by `label_noise` of the person's size on
        average, and left and right confused for one person in five."""
        rng = np.random.default_rng((self.seed, 7919, index))  # the same errors every epoch
        labelled = person.uv[person.visibility > 0]
        size = float(np.ptp(labelled, axis=0).max()) if len(labelled) > 1 else 0.0
        uv = person.uv + rng.normal(0.0, self.label_noise * size, person.uv.shape)
        if rng.random() < 0.2:
            uv = uv[schema.FLIP_PERMUTATION]
        return PersonAnnotation(
            uv.astype(np.float32), person.visibility, person.xyz, person.track_id
        )

    def _empty_targets(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.zeros((schema.NUM_JOINTS, *self.config.heatmap_size), np.float32),
            np.zeros(schema.NUM_JOINTS, np.float32),
        )

    def _perturb(self, crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Sensor noise and holes on a normalised input (holes read as invalid depth)."""
        aug, invalid = self.augmentation, self.config.invalid_value
        if aug.noise_m > 0:
            sigma = rng.uniform(0, aug.noise_m) / self.config.depth_range
            noisy = crop + rng.normal(0, sigma, crop.shape).astype(np.float32)
            crop = np.where(crop == invalid, crop, np.clip(noisy, -1.0, 1.0))
        if aug.holes > 0:
            fraction = rng.uniform(0, aug.holes)
            coarse = rng.random((crop.shape[0] // 8 + 1, crop.shape[1] // 8 + 1))
            blobs = cv2.resize(coarse.astype(np.float32), crop.shape[::-1])
            crop = np.where(blobs < fraction, invalid, crop)
        return crop.astype(np.float32, copy=False)
