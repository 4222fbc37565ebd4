"""PoseEstimator: a depth frame in, the skeletons of everyone in it out. No ROS involved.

    estimator = PoseEstimator(weights="lite", backend="auto")
    skeletons = estimator(depth_m, intrinsics)

Steps: person proposals from depth (floor, ground-plane blobs); a square crop around each,
normalised as in training, all crops in one batch through the network; peaks decoded and mapped
back to image pixels; 3D from the person's depth around each joint; per-joint states from the
confidence (TRACKED, INFERRED, NOT_TRACKED without depth or below the lower threshold).

A fixed camera sees the same furniture in every frame. Proposals the network has just scored as
nobody are remembered (`RejectedProposals`) and not run again while they stay where they were,
for at most half a second, so a static scene costs about one network pass per person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import within_range
from depth_pose_ros.core.skeleton import KeypointState, Skeleton, TrackingState
from depth_pose_ros.inference.backends import Backend, create_backend
from depth_pose_ros.inference.lifting import lift
from depth_pose_ros.inference.proposals import PersonFinder, Proposal
from depth_pose_ros.model.heatmaps import decode, to_image
from depth_pose_ros.model.network import DepthPoseNet
from depth_pose_ros.model.preprocess import CropBox, PersonRegion, prepare_crop
from depth_pose_ros.model.weights import load


@dataclass(frozen=True)
class Thresholds:
    tracked: float = 0.5  # joint confidence for TRACKED
    inferred: float = 0.15  # joint confidence for INFERRED (below: NOT_TRACKED)
    person: float = 0.2  # mean joint confidence to report a person at all


def _area(box: tuple[int, ...]) -> int:
    return (box[2] - box[0] + 1) * (box[3] - box[1] + 1)


def _box_overlap(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Intersection over union of two inclusive pixel boxes (x0, y0, x1, y1)."""
    width = min(a[2], b[2]) - max(a[0], b[0]) + 1
    height = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if width <= 0 or height <= 0:
        return 0.0
    intersection = width * height
    return intersection / (_area(a) + _area(b) - intersection)


@dataclass
class RejectedProposals:
    """Proposals not reported and scored below `score` (nobody there), kept for `frames` frames.
    A new proposal is one of them when its box overlaps theirs by `overlap` (IoU) and its
    reference depth is within `depth_m`: anything that moves or changes shape is run again."""

    score: float = 0.05
    frames: int = 15
    overlap: float = 0.9
    depth_m: float = 0.05
    remembered: list[tuple[tuple[int, int, int, int], float, int]] = field(default_factory=list)
    frame: int = 0

    def known(self, proposal: Proposal) -> bool:
        return any(
            abs(depth - proposal.reference_depth) <= self.depth_m
            and _box_overlap(proposal.box, seen) >= self.overlap
            for seen, depth, _ in self.remembered
        )

    def update(
        self, proposals: list[Proposal], results: list[tuple[float, Skeleton | None]]
    ) -> None:
        """Remember this frame's rejections and forget those older than `frames` frames."""
        self.frame += 1
        self.remembered = [r for r in self.remembered if self.frame - r[2] < self.frames]
        for proposal, (score, skeleton) in zip(proposals, results, strict=True):
            if skeleton is None and score < self.score:
                self.remembered.append((proposal.box, proposal.reference_depth, self.frame))

    def clear(self) -> None:
        self.remembered.clear()


class PoseEstimator:
    """Multi-person 2D + 3D pose from depth, with any backend."""

    def __init__(
        self,
        weights: str | DepthPoseNet = "lite",
        backend: str | Backend = "auto",
        thresholds: Thresholds | None = None,
        remember_floor: bool = True,
        max_people: int | None = None,
        precision: str = "fp16",
    ) -> None:
        if isinstance(weights, DepthPoseNet):
            model, self.metadata = weights.eval(), {}
        else:
            model, self.metadata = load(weights)
        self.config = model.config
        self.backend = (
            create_backend(model, backend, precision) if isinstance(backend, str) else backend
        )
        self.thresholds = thresholds or Thresholds()
        self.finder = PersonFinder(remember_floor)
        self.rejected = RejectedProposals()
        self.max_people = max_people  # 1: the single-person fast path (largest proposal only)

    def reset(self) -> None:
        """Forget the floor and the rejected proposals (a new camera or scene)."""
        self.finder.reset()
        self.rejected.clear()

    def __call__(self, depth: np.ndarray, intrinsics: CameraIntrinsics) -> list[Skeleton]:
        """Everyone in a float32 metre depth image (NaN invalid), most confident first."""
        if depth.shape != (intrinsics.height, intrinsics.width):
            raise ValueError(
                f"depth is {depth.shape[1]}x{depth.shape[0]} but the camera is "
                f"{intrinsics.width}x{intrinsics.height}"
            )
        depth = within_range(depth)
        proposals = self.finder(depth, intrinsics)[: self.max_people]
        fresh = [p for p in proposals if not self.rejected.known(p)]
        results = self._estimate_each(depth, intrinsics, [self._region(p) for p in fresh])
        self.rejected.update(fresh, results)
        return _most_confident_first([s for _, s in results if s is not None])

    def _region(self, proposal: Proposal) -> PersonRegion:
        box = CropBox.around_mask(proposal.mask, self.config.box_margin)
        return PersonRegion(box, proposal.mask, proposal.reference_depth)

    def estimate(
        self, depth: np.ndarray, intrinsics: CameraIntrinsics, regions: list[PersonRegion]
    ) -> list[Skeleton]:
        """Skeletons for given person regions (proposals, or ground truth for evaluation)."""
        results = self._estimate_each(within_range(depth), intrinsics, regions)
        return _most_confident_first([s for _, s in results if s is not None])

    def crops(self, depth: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
        """The (N, 1, H, W) batch the network gets for this frame's proposals (what INT8
        calibration and speed measurements need to see)."""
        depth = within_range(depth)
        regions = [self._region(p) for p in self.finder(depth, intrinsics)[: self.max_people]]
        if not regions:
            return np.zeros((0, 1, *self.config.input_size), np.float32)
        return self._batch(depth, regions)[0]

    def _batch(
        self, depth: np.ndarray, regions: list[PersonRegion]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The network input for every region, and the affine of each crop."""
        crops, affines = [], []
        for region in regions:
            crop, affine = prepare_crop(depth, region.box, region.reference_depth, self.config)
            crops.append(crop)
            affines.append(affine)
        return np.stack(crops)[:, None], affines

    def _estimate_each(
        self, depth: np.ndarray, intrinsics: CameraIntrinsics, regions: list[PersonRegion]
    ) -> list[tuple[float, Skeleton | None]]:
        """For every region: the person score, and the skeleton when the score passes."""
        if not regions:
            return []
        batch, affines = self._batch(depth, regions)
        heatmaps = self.backend(batch)
        results: list[tuple[float, Skeleton | None]] = []
        for output, affine, region in zip(heatmaps, affines, regions, strict=True):
            points, confidence = decode(output)
            score = float(confidence.mean())
            if score < self.thresholds.person:
                results.append((score, None))
                continue
            uv = to_image(points, affine, self.config.stride)
            xyz = lift(uv, depth, intrinsics, region.mask, region.reference_depth)
            state = np.where(
                confidence >= self.thresholds.tracked,
                KeypointState.TRACKED,
                np.where(
                    confidence >= self.thresholds.inferred,
                    KeypointState.INFERRED,
                    KeypointState.NOT_TRACKED,
                ),
            )
            no_depth = ~np.isfinite(xyz).all(axis=1)
            state[no_depth] = KeypointState.NOT_TRACKED
            xyz[state == KeypointState.NOT_TRACKED] = np.nan
            skeleton = Skeleton(
                uv=uv,
                xyz=xyz,
                confidence=confidence,
                state=state,
                score=score,
                tracking_state=TrackingState.TENTATIVE,
            )
            results.append((score, skeleton))
        return results


def _most_confident_first(skeletons: list[Skeleton]) -> list[Skeleton]:
    return sorted(skeletons, key=lambda s: -s.score)
