"""Training samples: person-centred crops of any data set, with the paper's augmentations.

One sample is one annotated person: the square crop around their mask or, without masks, around
their labelled joints; a share of them cropped loosely (scaled 0.7-1.5 and shifted by up to a
fifth), as a person stage's boxes can be (parts of people, people with their chair). Augmentations
(training only): horizontal flip with left and right joints swapped, a random scale and shift of the
crop (the paper's random 488x400 crop resized back), rotation in [-4, 4] degrees (and, for a
`turned` share of the crops, by any angle), and depth-specific ones: a shifted reference depth, the
sensor's scattered dropouts filled in a share of the frames (real cameras leave fewer than the
synthetic one), sensor noise and holes.

Negatives (a `negatives` share of all samples) cover nobody: person-sized objects where the
data marks them (mask value 255: coats on a rack, a punching bag, an office chair) or else a
random person-sized piece of the scene; their targets are empty heatmaps with full weight, so
the network stays quiet on furniture and walls.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from depth_pose_ros.core import schema
from depth_pose_ros.core.depth_image import fill_dropouts
from depth_pose_ros.data.sample import Dataset, PersonAnnotation, Sample, person_region
from depth_pose_ros.model.heatmaps import targets
from depth_pose_ros.model.network import ModelConfig
from depth_pose_ros.model.preprocess import CropBox, apply, prepare_crop

OBJECT_MASK = 255  # mask value of person-like objects that are not people
MAX_PERSON_SHARE = 0.1  # of a negative crop's pixels on a person


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
    loose: float = 0.3  # share of crops scaled 0.7-1.5 and shifted by up to 0.2
    filled: float = 0.5  # share of frames whose scattered dropouts are filled first
    turned: float = 0.0  # share of crops rotated by any angle (people lying or bent over)

    @classmethod
    def none(cls) -> Augmentation:
        return cls(False, 0.0, (1.0, 1.0), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


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
        label_noise: float = 0.0,
        negatives: float = 0.2,
    ) -> None:
        self.dataset = dataset
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
        # Negatives: item (sample, -1), from a fixed random choice of frames with masks.
        wanted = round(negatives / (1 - negatives) * len(self.items)) if negatives else 0
        frames = np.random.default_rng((seed, 1)).integers(0, len(dataset), size=wanted)
        self.items += [(int(i), -1) for i in np.sort(frames)]

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
            box = self._nobody(sample, rng)
            maps, weights = self._empty_targets()
            if box is None:  # nothing but people: an all-invalid crop teaches silence too
                crop = np.full(self.config.input_size, self.config.invalid_value, np.float32)
            else:
                reference = float(np.nanmedian(_window(sample.depth, box)))
                crop = self._crop(sample, box, reference, rng)[0]
            return (
                torch.from_numpy(crop[None]),
                torch.from_numpy(maps),
                torch.ones_like(torch.from_numpy(weights)),
            )
        if self.label_noise > 0:
            sample.people[person_index] = self._kinect_like(sample.people[person_index], index)
        crop, heatmaps, weights = self.make(sample, person_index, rng)
        return torch.from_numpy(crop[None]), torch.from_numpy(heatmaps), torch.from_numpy(weights)

    def _nobody(self, sample: Sample, rng: np.random.Generator) -> CropBox | None:
        """A crop covering nobody: around a person-like object if the frame has one, else a
        random person-sized window with valid depth and hardly any person in it."""
        margin = self.config.box_margin
        people = (
            (sample.mask > 0) & (sample.mask != OBJECT_MASK) if sample.mask is not None else None
        )
        if sample.mask is not None and rng.random() < 0.7:
            count, parts = cv2.connectedComponents((sample.mask == OBJECT_MASK).astype(np.uint8))
            if count > 1:
                part = parts == int(rng.integers(1, count))
                if np.count_nonzero(part) >= 50:
                    return CropBox.around_mask(part, margin)
        height, width = sample.depth.shape
        for _ in range(10):
            side = rng.uniform(0.15, 0.8) * height
            box = CropBox(rng.uniform(0, width), rng.uniform(0, height), side)
            window = _window(sample.depth, box)
            if window.size == 0 or np.isfinite(window).mean() < 0.5:
                continue
            if people is not None and _window(people, box).mean() > MAX_PERSON_SHARE:
                continue
            return box
        return None

    def make(
        self, sample: Sample, person_index: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The augmented input, targets and weights for one person of one sample."""
        person: PersonAnnotation = sample.people[person_index]
        region = person_region(sample, person_index, self.config.box_margin)
        if region is None:
            return np.zeros(self.config.input_size, np.float32), *self._empty_targets()
        box, reference = region.box, region.reference_depth
        if rng.random() < self.augmentation.loose:
            shift = rng.uniform(-0.2, 0.2, size=2) * box.size
            box = CropBox(box.cx + shift[0], box.cy + shift[1], box.size * rng.uniform(0.7, 1.5))
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
        if aug.turned > 0 and rng.random() < aug.turned:  # drawn only when asked for: runs
            rotation = rng.uniform(-180.0, 180.0)  # without it repeat as they did before
        else:
            rotation = rng.uniform(-aug.rotation_degrees, aug.rotation_degrees)
        reference += rng.uniform(-aug.reference_jitter_m, aug.reference_jitter_m)
        depth = fill_dropouts(sample.depth) if rng.random() < aug.filled else sample.depth
        crop, affine = prepare_crop(depth, box, reference, self.config, rotation, flip)
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


def _window(image: np.ndarray, box: CropBox) -> np.ndarray:
    """The pixels of `image` inside a crop box (clipped to the image)."""
    half = box.size / 2
    height, width = image.shape[:2]
    rows = slice(max(int(box.cy - half), 0), min(int(box.cy + half) + 1, height))
    columns = slice(max(int(box.cx - half), 0), min(int(box.cx + half) + 1, width))
    return image[rows, columns]
