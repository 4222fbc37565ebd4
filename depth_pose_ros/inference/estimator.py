"""PoseEstimator: a depth frame in, the skeletons of everyone in it out. No ROS involved.

    estimator = PoseEstimator(weights="lite", backend="auto")
    skeletons = estimator(depth_m, intrinsics)

Steps: the person stage (PeopleNet) finds the people and their pixels; a square crop around
each (at least a metre across at their depth, so a person the stage found only part of still
shows the network the rest), normalised as in training, all crops in one batch through the
pose network (a person at least as wide as tall, lying or bent to the floor, also turned a
quarter each way; with `flip_test`, each crop also mirrored in the same batch and the two
heatmaps averaged); peaks decoded and mapped back to image pixels (with `second_look`, a
skeleton whose joints reach its crop's edge, someone the stage found only part of, goes through
the network again in a crop around its joints, the more confident view kept); 3D from the
person's depth around each joint; per-joint states from the confidence (TRACKED, INFERRED,
NOT_TRACKED without depth or below the lower threshold); a skeleton of someone a more confident
one already shows is dropped (a person the stage split in two), unless the two are far apart in
depth (someone behind). Nothing is remembered between frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import within_range
from depth_pose_ros.core.skeleton import KeypointState, Skeleton, TrackingState
from depth_pose_ros.inference.backends import Backend, create_backend, frame_backend_name
from depth_pose_ros.inference.duplicates import image_similarity, without_duplicates
from depth_pose_ros.inference.lifting import lift
from depth_pose_ros.inference.people import PeopleFinder, Proposal
from depth_pose_ros.inference.precision import CalibrationSet
from depth_pose_ros.model.heatmaps import decode, flip_averaged, heatmap_to_input, to_image
from depth_pose_ros.model.network import DepthPoseNet
from depth_pose_ros.model.people import PeopleNet
from depth_pose_ros.model.preprocess import CropBox, PersonRegion, mask_bounds, prepare_crop
from depth_pose_ros.model.weights import load, load_people

# A crop covers at least this many metres (times the crop margin) at the person's depth: the
# stage often finds only part of a far person (thin limbs) or of one it splits in two, and a
# crop around that part alone cuts off the rest (chosen on data/val and synthetic:val).
MIN_CROP_EXTENT_M = 1.0
# A person the stage saw only as a centre (no foreground of their own: a far, thin or mostly
# hidden person, or a fragment of furniture) is reported when their skeleton's mean joint
# confidence passes the person threshold by this much (chosen on data/val, synthetic:val and
# synthetic:hard-val: 0.05 / 0.1 / 0.15 / 0.2 give 2.214 / 2.214 / 2.211 / 2.207 mAP summed,
# false skeletons 0.127 / 0.116 / 0.114 / 0.112 per frame summed; without such proposals
# 2.190 and 0.123).
CENTRE_ONLY_MARGIN = 0.1
# A person at least as wide as tall (lying down, bent to the floor) is also shown to the network
# turned a quarter each way, as it was trained on people within a few degrees of upright; a
# turned view replaces the upright one when it scores higher and passes the person's threshold
# by TURNED_MARGIN (chosen on data/val, synthetic:val and synthetic:hard-val: 2.217 -> 2.226 mAP
# summed, false skeletons 0.118 -> 0.117 summed; margins 0.05 / 0.15: 2.230 / 2.226 with 0.151 /
# 0.121; without falling back to the upright view 2.224; `lite` card, "Turned views").
TURNED_DEGREES = (90.0, -90.0)
TURNED_MARGIN = 0.1
# With `second_look`, an upright skeleton whose located joints come within SECOND_LOOK_EDGE of
# its crop's side from an edge (with image past it) is cropped again around its joints, grown
# by SECOND_LOOK_GROWTH of the crop past each such edge; the new view replaces the first when it
# scores higher and its skeleton has OKS >= SECOND_LOOK_OKS with the first (chosen on data/val,
# synthetic:val and synthetic:hard-val: 2.243 -> 2.271 mAP summed, false skeletons 0.122 ->
# 0.111 summed; growth 0 / 0.08 / 0.25 / 0.4: 2.267 / 2.270 / 2.256 / 2.242; edge 0.05: 2.271,
# 0.12 (growth 0.25): 2.246; at growth 0.25 without the OKS check 2.253, with it 2.256; `lite`
# card, "Second look").
SECOND_LOOK_EDGE = 0.08
SECOND_LOOK_GROWTH = 0.15
SECOND_LOOK_OKS = 0.5


@dataclass(frozen=True)
class Thresholds:
    tracked: float = 0.5  # joint confidence for TRACKED
    inferred: float = 0.15  # joint confidence for INFERRED (below: NOT_TRACKED)
    person: float = 0.3  # mean joint confidence to report a person (chosen on validation data)
    stage: float = 0.15  # person-stage score (its centre heatmap's peak) to look at someone
    duplicate: float = 0.4  # OKS with a more confident skeleton that makes one a duplicate


class PoseEstimator:
    """Multi-person 2D + 3D pose from depth, with any backend."""

    def __init__(
        self,
        weights: str | DepthPoseNet = "lite",
        backend: str | Backend = "auto",
        thresholds: Thresholds | None = None,
        max_people: int | None = None,
        precision: str = "fp16",
        people: str | PeopleNet = "people",
        people_backend: Backend | None = None,
        calibration: CalibrationSet | None = None,
        threads: int = 0,
        flip_test: bool = False,
        second_look: bool = False,
    ) -> None:
        """`precision` and `calibration` (int8: crops to calibrate on) apply to the pose network;
        `threads`: ONNX Runtime threads per network (0: its default); `flip_test`: every crop
        also goes through the network mirrored and the two heatmaps are averaged (better
        skeletons for twice the pose network's work); `second_look`: a skeleton cut off at its
        crop's edge is looked at again in a crop around its joints (a second network call in
        the frames that have one)."""
        self.metadata: dict[str, Any]
        if isinstance(weights, DepthPoseNet):
            model, self.metadata = weights.eval(), {}
        else:
            model, self.metadata = load(weights)
        self.config = model.config
        self.backend = (
            create_backend(model, backend, precision, calibration, threads)
            if isinstance(backend, str)
            else backend
        )
        stage = people if isinstance(people, PeopleNet) else load_people(people)[0]
        if people_backend is None:
            frame_backend = frame_backend_name(self.backend.name)
            people_backend = create_backend(stage.eval(), frame_backend, threads=threads)
        self.thresholds = thresholds or Thresholds()
        self.finder = PeopleFinder(people_backend, stage.config, self.thresholds.stage)
        self.max_people = max_people  # 1: the single-person fast path (best-scored person only)
        self.flip_test = flip_test
        self.second_look = second_look

    @property
    def thresholds(self) -> Thresholds:
        return self._thresholds

    @thresholds.setter
    def thresholds(self, thresholds: Thresholds) -> None:
        """New thresholds take effect from the next frame (the node's parameter callback)."""
        self._thresholds = thresholds
        if hasattr(self, "finder"):
            self.finder.threshold = thresholds.stage

    def __call__(self, depth: np.ndarray, intrinsics: CameraIntrinsics) -> list[Skeleton]:
        """Everyone in a float32 metre depth image (NaN invalid), most confident first."""
        depth = self._checked(depth, intrinsics)
        proposals = self._proposals(depth, intrinsics)
        regions = [self._region(p, intrinsics) for p in proposals]
        person = self.thresholds.person
        least = [person if p.claimed else person + CENTRE_ONLY_MARGIN for p in proposals]
        skeletons = self._estimate_each(depth, intrinsics, regions, least)
        return without_duplicates(skeletons, self.thresholds.duplicate)

    def proposals(self, depth: np.ndarray, intrinsics: CameraIntrinsics) -> list[Proposal]:
        """The people the person stage finds (at most max_people, best scored first)."""
        return self._proposals(self._checked(depth, intrinsics), intrinsics)

    def _proposals(self, depth: np.ndarray, intrinsics: CameraIntrinsics) -> list[Proposal]:
        """`proposals` of a frame `_checked` already (cut to the valid range once per frame)."""
        focal_length = (intrinsics.fx + intrinsics.fy) / 2
        return self.finder.find(depth, focal_length)[: self.max_people]

    def _checked(self, depth: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
        if depth.shape != (intrinsics.height, intrinsics.width):
            raise ValueError(
                f"depth is {depth.shape[1]}x{depth.shape[0]} but the camera is "
                f"{intrinsics.width}x{intrinsics.height}"
            )
        return within_range(depth)

    def _region(self, proposal: Proposal, intrinsics: CameraIntrinsics) -> PersonRegion:
        """The crop around a proposal's pixels, widened about their centre to the least extent."""
        box = self._crop_around(proposal.box, proposal.reference_depth, intrinsics)
        return PersonRegion(box, proposal.mask, proposal.reference_depth)

    def _crop_around(
        self,
        bounds: tuple[float, float, float, float],
        depth_m: float,
        intrinsics: CameraIntrinsics,
    ) -> CropBox:
        """The crop around image `bounds` (x0, y0, x1, y1), at least MIN_CROP_EXTENT_M across
        (times the crop margin) at `depth_m`, widened about its centre when smaller."""
        margin = self.config.box_margin
        box = CropBox.around(*bounds, margin)
        focal_length = (intrinsics.fx + intrinsics.fy) / 2
        least = margin * focal_length * MIN_CROP_EXTENT_M / depth_m
        return box if box.size >= least else CropBox(box.cx, box.cy, least)

    def estimate(
        self, depth: np.ndarray, intrinsics: CameraIntrinsics, regions: list[PersonRegion]
    ) -> list[Skeleton]:
        """Skeletons for given person regions (proposals, or ground truth for evaluation)."""
        return _most_confident_first(self._estimate_each(within_range(depth), intrinsics, regions))

    def crops(self, depth: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
        """The (N, 1, H, W) batch the network gets for this frame's people (what INT8
        calibration and speed measurements need to see)."""
        depth = self._checked(depth, intrinsics)
        regions = [self._region(p, intrinsics) for p in self._proposals(depth, intrinsics)]
        if not regions:
            return np.zeros((0, 1, *self.config.input_size), np.float32)
        return self._batch(depth, regions, [_view_angles(r) for r in regions])[0]

    def _batch(
        self, depth: np.ndarray, regions: list[PersonRegion], angles: list[tuple[float, ...]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The network input for every region at each of its view `angles` (region by region),
        and the affine of each crop."""
        crops, affines = [], []
        for region, region_angles in zip(regions, angles, strict=True):
            for angle in region_angles:
                crop, affine = prepare_crop(
                    depth, region.box, region.reference_depth, self.config, rotation_degrees=angle
                )
                crops.append(crop)
                affines.append(affine)
        return np.stack(crops)[:, None], affines

    def _heatmaps(self, batch: np.ndarray) -> np.ndarray:
        """The network's heatmaps for a batch of crops, flip-tested when asked (one call with
        the mirrored crops behind the plain ones)."""
        if not self.flip_test:
            return self.backend(batch)
        both = self.backend(np.concatenate([batch, batch[..., ::-1]]))
        return flip_averaged(both[: len(batch)], both[len(batch) :])

    def _estimate_each(
        self,
        depth: np.ndarray,
        intrinsics: CameraIntrinsics,
        regions: list[PersonRegion],
        least: list[float] | None = None,
    ) -> list[Skeleton]:
        """The skeleton in every region whose mean joint confidence passes `person` (or the
        region's own `least` score); with `second_look`, an upright one whose joints reach its
        crop's edge is looked at again in a crop around them (`_second_look`)."""
        if not regions:
            return []
        least = least or [self.thresholds.person] * len(regions)
        angles = [_view_angles(region) for region in regions]
        views = self._views(depth, regions, angles)
        chosen: list[tuple[PersonRegion, _View]] = []
        end = 0
        for region, region_angles, needed in zip(regions, angles, least, strict=True):
            start, end = end, end + len(region_angles)  # this region's views in the batch
            view = _chosen_view([v.score for v in views[start:end]], needed)
            if view is not None:
                chosen.append((region, views[start + view]))
        chosen = self._second_look(depth, intrinsics, chosen)
        return [self._skeleton(depth, intrinsics, region, view) for region, view in chosen]

    def _views(
        self, depth: np.ndarray, regions: list[PersonRegion], angles: list[tuple[float, ...]]
    ) -> list[_View]:
        """Every region at each of its view `angles`, through the network in one batch."""
        batch, affines = self._batch(depth, regions, angles)
        views = []
        for heatmaps, affine, angle in zip(
            self._heatmaps(batch), affines, [a for each in angles for a in each], strict=True
        ):
            points, confidence = decode(heatmaps)
            uv = to_image(points, affine, self.config.stride)
            views.append(_View(points, uv, confidence, float(confidence.mean()), angle))
        return views

    def _second_look(
        self,
        depth: np.ndarray,
        intrinsics: CameraIntrinsics,
        chosen: list[tuple[PersonRegion, _View]],
    ) -> list[tuple[PersonRegion, _View]]:
        """Each upright skeleton whose located joints reach its crop's edge (the stage found only
        part of the person: split in two, or partly given to a neighbour) looked at again in a
        crop around its joints grown past the edges they reach; the more confident view stays."""
        if not self.second_look:
            return chosen
        again = []
        for index, (region, view) in enumerate(chosen):
            box = self._grown_box(region, view, intrinsics) if view.angle == 0.0 else None
            if box is not None:
                again.append((index, PersonRegion(box, region.mask, region.reference_depth)))
        if not again:
            return chosen
        regions = [region for _, region in again]
        views = self._views(depth, regions, [(0.0,)] * len(regions))
        looked = list(chosen)
        for (index, region), view in zip(again, views, strict=True):
            first = chosen[index][1]
            if view.score > first.score and image_similarity(first.uv, view.uv) >= SECOND_LOOK_OKS:
                looked[index] = (region, view)
        return looked

    def _grown_box(
        self, region: PersonRegion, view: _View, intrinsics: CameraIntrinsics
    ) -> CropBox | None:
        """The crop around a view's located joints, grown past each crop edge they reach by
        SECOND_LOOK_GROWTH of the crop; None when they reach none."""
        located = view.confidence >= self.thresholds.inferred
        if np.count_nonzero(located) < 2:
            return None
        height, width = self.config.input_size
        crop = heatmap_to_input(view.points[located], self.config.stride)
        edge = SECOND_LOOK_EDGE * np.array([width, height])
        image_low = np.array([region.box.cx, region.box.cy]) - region.box.size / 2
        image_high = image_low + region.box.size
        # An edge counts only where the image goes on past it: there is more of them to see.
        low = (crop.min(axis=0) < edge) & (image_low > 0)
        high = (crop.max(axis=0) > np.array([width, height]) - 1 - edge) & (
            image_high < np.array([intrinsics.width, intrinsics.height])
        )
        if not (low.any() or high.any()):
            return None
        uv = view.uv[located]
        grow = SECOND_LOOK_GROWTH * region.box.size
        x0, y0 = uv.min(axis=0) - grow * low
        x1, y1 = uv.max(axis=0) + grow * high
        return self._crop_around((x0, y0, x1, y1), region.reference_depth, intrinsics)

    def _skeleton(
        self, depth: np.ndarray, intrinsics: CameraIntrinsics, region: PersonRegion, view: _View
    ) -> Skeleton:
        """A view's joints in the image and in 3D, with their states."""
        thresholds = self.thresholds
        uv = view.uv
        xyz = lift(uv, depth, intrinsics, region.mask, region.reference_depth)
        confidence = view.confidence
        state = np.where(
            confidence >= thresholds.tracked,
            KeypointState.TRACKED,
            np.where(
                confidence >= thresholds.inferred,
                KeypointState.INFERRED,
                KeypointState.NOT_TRACKED,
            ),
        )
        no_depth = ~np.isfinite(xyz).all(axis=1)
        state[no_depth] = KeypointState.NOT_TRACKED
        xyz[state == KeypointState.NOT_TRACKED] = np.nan
        return Skeleton(
            uv=uv,
            xyz=xyz,
            confidence=confidence,
            state=state,
            score=view.score,
            tracking_state=TrackingState.TENTATIVE,
        )


@dataclass(frozen=True)
class _View:
    """One crop's decoded joints (heatmap cells, and image pixels), their mean confidence and
    the crop's rotation."""

    points: np.ndarray
    uv: np.ndarray
    confidence: np.ndarray
    score: float
    angle: float


def _view_angles(region: PersonRegion) -> tuple[float, ...]:
    """The rotations (degrees) a region's crop is shown at: upright, and also turned a quarter
    each way when its pixels are at least as wide as tall."""
    x0, y0, x1, y1 = mask_bounds(region.mask)
    return (0.0, *TURNED_DEGREES) if x1 - x0 >= y1 - y0 else (0.0,)


def _chosen_view(scores: list[float], least: float) -> int | None:
    """Which of one region's views (their scores, upright first) gives its skeleton: the best
    turned one if it beats the upright one and passes `least` by TURNED_MARGIN, else the
    upright one if it passes `least`, else none."""
    best = int(np.argmax(scores))  # the first of equals: a turned view must beat the upright
    if best > 0 and scores[best] >= least + TURNED_MARGIN:
        return best
    return 0 if scores[0] >= least else None


def _most_confident_first(skeletons: list[Skeleton]) -> list[Skeleton]:
    return sorted(skeletons, key=lambda s: -s.score)
