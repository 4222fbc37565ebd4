"""PoseEstimator: a depth frame in, the skeletons of everyone in it out. No ROS involved.

    estimator = PoseEstimator(weights="lite", backend="auto")
    skeletons = estimator(depth_m, intrinsics)

Steps: person proposals from depth (floor, ground-plane blobs); a square crop around each,
normalised as in training, all crops in one batch through the network; peaks decoded and mapped
back to image pixels; 3D from the person's depth around each joint; per-joint states from the
confidence (TRACKED, INFERRED, NOT_TRACKED without depth or below the lower threshold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_pose_ros.camera import CameraIntrinsics
from depth_pose_ros.heatmaps import decode, to_image
from depth_pose_ros.inference.backends import Backend, create_backend
from depth_pose_ros.inference.lifting import lift
from depth_pose_ros.inference.proposals import PersonFinder
from depth_pose_ros.network import DepthPoseNet
from depth_pose_ros.preprocess import CropBox, prepare_crop
from depth_pose_ros.skeleton import KeypointState, Skeleton, TrackingState
from depth_pose_ros.weights import load


@dataclass(frozen=True)
class Thresholds:
    tracked: float = 0.5  # joint confidence for TRACKED
    inferred: float = 0.15  # joint confidence for INFERRED (below: NOT_TRACKED)
    person: float = 0.2  # mean joint confidence to report a person at all


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
        self.max_people = max_people  # 1: the single-person fast path (largest proposal only)

    def reset(self) -> None:
        """Forget the floor (a new camera or scene)."""
        self.finder.reset()

    def __call__(self, depth: np.ndarray, intrinsics: CameraIntrinsics) -> list[Skeleton]:
        """Everyone in a float32 metre depth image (NaN invalid), most confident first."""
        if depth.shape != (intrinsics.height, intrinsics.width):
            raise ValueError(
                f"depth is {depth.shape[1]}x{depth.shape[0]} but the camera is "
                f"{intrinsics.width}x{intrinsics.height}"
            )
        proposals = self.finder(depth, intrinsics)[: self.max_people]
        return self.estimate(
            depth, intrinsics, [p.mask for p in proposals], [p.reference_depth for p in proposals]
        )

    def estimate(
        self,
        depth: np.ndarray,
        intrinsics: CameraIntrinsics,
        masks: list[np.ndarray],
        references: list[float],
    ) -> list[Skeleton]:
        """Skeletons for given person masks (from proposals, or ground truth for evaluation)."""
        if not masks:
            return []
        crops, affines = [], []
        for mask, reference in zip(masks, references, strict=True):
            crop, affine = prepare_crop(
                depth, CropBox.around_mask(mask), reference, self.config.input_size
            )
            crops.append(crop)
            affines.append(affine)
        heatmaps = self.backend(np.stack(crops)[:, None])
        skeletons = []
        for output, affine, mask, reference in zip(
            heatmaps, affines, masks, references, strict=True
        ):
            points, confidence = decode(output)
            score = float(confidence.mean())
            if score < self.thresholds.person:
                continue
            uv = to_image(points, affine)
            xyz = lift(uv, depth, intrinsics, mask, reference)
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
            skeletons.append(
                Skeleton(
                    uv=uv,
                    xyz=xyz,
                    confidence=confidence,
                    state=state,
                    score=score,
                    tracking_state=TrackingState.TENTATIVE,
                )
            )
        skeletons.sort(key=lambda s: -s.score)
        return skeletons
