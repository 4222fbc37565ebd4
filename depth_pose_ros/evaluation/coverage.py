"""Pose coverage: cluster the poses of a reference set, and find which a target set lacks.

After the pose-clustering related work (002: cluster a reference set's detected poses with
k-means, report the clusters a new set has none of, ranked by how common they are in the
reference) and Shotton et al. (cluster the training poses, capture more where real recordings
fall outside them). Every skeleton is first normalised: root on SpineBase, scaled by its torso
length (SpineBase to SpineShoulder), and, in 3D, turned about the vertical axis so that it
faces the camera; 2D skeletons (no metric joints in the source) keep their heading, and the
figures say which was used. Clustering is k-means (scipy's `kmeans2`, k-means++ start, a fixed
seed): it gives K pose classes whose means draw as stick figures and whose sizes rank them, as
in 002; a pose's distance to another is the root-mean-square joint distance in torso lengths.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.spatial import cKDTree

from depth_pose_ros.core import schema

MIN_JOINTS = 12  # a skeleton with fewer usable joints is counted and skipped, not clustered
NEEDED = [schema.JOINT_INDEX[n] for n in ("SpineBase", "SpineShoulder")]  # the normalisation's
PAIRS = [
    (schema.JOINT_INDEX["HipLeft"], schema.JOINT_INDEX["HipRight"]),
    (schema.JOINT_INDEX["ShoulderLeft"], schema.JOINT_INDEX["ShoulderRight"]),
]
DEFAULT_CLUSTERS = 24
MISSING_RATIO = 0.25  # a cluster is missing when the target's share is under this x reference's
NOVEL_DISTANCE = 0.35  # torso lengths (RMS over joints) from every reference pose: novel
EXAMPLES = 4
OUTSIDE = -1  # the label of a target pose outside every reference cluster's radius
MIN_RADIUS = 0.1  # torso lengths: a cluster of near-identical poses still covers its neighbours


class CoverageError(ValueError):
    """Poses that cannot be clustered or compared as asked."""


@dataclass
class PoseSet:
    """Skeletons from one source: joints (N, 21, D) with D = 3 (metres, camera optical frame:
    x right, y down, z forward) or D = 2 (pixels), NaN where missing; a frame id per pose."""

    name: str
    joints: np.ndarray
    frames: list[str]
    skipped: int = 0  # skeletons with fewer than MIN_JOINTS usable joints
    extra: dict[str, Any] = field(default_factory=dict)  # per-source details for reports

    @property
    def dims(self) -> int:
        return int(self.joints.shape[2]) if self.joints.ndim == 3 else 3

    def __len__(self) -> int:
        return len(self.frames)


def pose_set(
    name: str,
    skeletons: list[tuple[str, np.ndarray]],
    groups: list[str | None] | None = None,
) -> PoseSet:
    """A PoseSet from (frame id, (21, D) joints) pairs, skipping and counting skeletons that lack
    the torso or have fewer than MIN_JOINTS joints. `groups` (one per skeleton, e.g. the
    scenario family) are kept for the poses kept, as `extra["groups"]`."""
    kept, frames, kept_groups, skipped = [], [], [], 0
    for number, (frame, joints) in enumerate(skeletons):
        joints = np.asarray(joints, dtype=np.float64)
        valid = np.isfinite(joints).all(axis=1)
        if valid.sum() < MIN_JOINTS or not valid[NEEDED].all():
            skipped += 1
            continue
        if np.linalg.norm(joints[NEEDED[1]] - joints[NEEDED[0]]) < 1e-6:
            skipped += 1
            continue
        kept.append(joints)
        frames.append(frame)
        kept_groups.append(groups[number] if groups is not None else None)
    dims = np.shape(skeletons[0][1])[1] if skeletons else 3
    array = np.stack(kept) if kept else np.zeros((0, schema.NUM_JOINTS, dims))
    extra: dict[str, Any] = {"groups": kept_groups} if groups is not None else {}
    return PoseSet(name, array, frames, skipped, extra)


def normalise(joints: np.ndarray) -> np.ndarray:
    """(N, 21, D) -> the same poses with the root at the origin, the torso one unit long and
    (D = 3) the left-right axis of hips and shoulders turned onto +x about the camera's vertical
    (y) axis: the body faces the camera. NaN joints stay NaN."""
    joints = np.asarray(joints, dtype=np.float64)
    centred = joints - joints[:, NEEDED[0] : NEEDED[0] + 1]
    torso = np.linalg.norm(centred[:, NEEDED[1]], axis=1)
    scaled = centred / torso[:, None, None]
    if joints.shape[2] == 2:
        return scaled
    across = np.zeros((len(joints), 3))
    for left, right in PAIRS:
        across += np.nan_to_num(scaled[:, left] - scaled[:, right])
    angle = np.arctan2(across[:, 2], across[:, 0])  # heading in the x-z (ground) plane
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    turned = scaled.copy()
    turned[..., 0] = scaled[..., 0] * cos + scaled[..., 2] * sin
    turned[..., 2] = -scaled[..., 0] * sin + scaled[..., 2] * cos
    return turned


def features(normalised: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Flat vectors scaled so that Euclidean distance is the RMS joint distance; a missing joint
    takes its `fill` position (the reference's mean), so it neither attracts nor repels."""
    complete = np.where(np.isfinite(normalised), normalised, fill[None])
    return complete.reshape(len(normalised), -1) / np.sqrt(schema.NUM_JOINTS)


@dataclass
class Cluster:
    """One pose class: its mean (normalised joints), how many poses and which frames show it."""

    id: int
    mean: np.ndarray  # (21, D) normalised
    count: int
    share: float
    spread: float  # mean distance of its poses to the mean, torso lengths
    radius: float  # 90 % of its poses are this close to the mean: what it covers
    examples: list[int]  # indices into the set, closest to the mean first


@dataclass
class Clustering:
    """A set's poses in K classes, most common first."""

    poses: PoseSet
    clusters: list[Cluster]
    labels: np.ndarray  # (N,) cluster id of each pose
    centroids: np.ndarray  # (K, F) in feature space, indexed by cluster id
    fill: np.ndarray  # (21, D) the mean normalised pose: what missing joints become
    vectors: np.ndarray  # (N, F)

    @property
    def dims(self) -> int:
        return self.poses.dims

    def to_dict(self) -> dict[str, Any]:
        frames = self.poses.frames
        return {
            "source": self.poses.name,
            "space": "3d" if self.dims == 3 else "2d",
            "normalisation": _NORMALISATION[self.dims],
            "method": "k-means (scipy kmeans2, k-means++ start, seed 0)",
            "poses": len(self.poses),
            "skipped": self.poses.skipped,
            "clusters": [
                {
                    "id": c.id,
                    "count": c.count,
                    "share": round(c.share, 5),
                    "spread": round(c.spread, 4),
                    "radius": round(c.radius, 4),
                    "mean": np.round(c.mean, 4).tolist(),
                    "examples": [frames[i] for i in c.examples],
                }
                for c in self.clusters
            ],
        }


_NORMALISATION = {
    3: "3d: root on SpineBase, scaled by torso length, turned to face the camera",
    2: "2d: root on SpineBase, scaled by torso length (no metric joints: heading kept)",
}


def cluster(poses: PoseSet, clusters: int = DEFAULT_CLUSTERS, seed: int = 0) -> Clustering:
    """K-means on the normalised poses of a set (K at most the number of poses)."""
    if len(poses) == 0:
        raise CoverageError(
            f"{poses.name}: no skeleton to cluster ({poses.skipped} skipped with fewer than "
            f"{MIN_JOINTS} joints or no torso)"
        )
    normalised = normalise(poses.joints)
    fill = np.nanmean(normalised, axis=0)
    fill = np.where(np.isfinite(fill), fill, 0.0)
    vectors = features(normalised, fill)
    k = max(1, min(clusters, len(np.unique(vectors.round(6), axis=0))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about clusters left empty: dropped below
        centroids, labels = kmeans2(vectors, k, minit="++", seed=np.random.default_rng(seed))
    used = np.unique(labels)
    order = sorted(used, key=lambda c: (-np.count_nonzero(labels == c), c))
    renumber = {old: new for new, old in enumerate(order)}
    labels = np.array([renumber[c] for c in labels], dtype=np.int64)
    centroids = centroids[order]
    made = []
    for index, centroid in enumerate(centroids):
        members = np.flatnonzero(labels == index)
        distances = np.linalg.norm(vectors[members] - centroid, axis=1)
        made.append(
            Cluster(
                id=index,
                mean=centroid.reshape(schema.NUM_JOINTS, -1) * np.sqrt(schema.NUM_JOINTS),
                count=len(members),
                share=len(members) / len(poses),
                spread=float(distances.mean()),
                radius=max(float(np.percentile(distances, 90)), MIN_RADIUS),
                examples=[int(i) for i in members[np.argsort(distances)][:EXAMPLES]],
            )
        )
    return Clustering(poses, made, labels, centroids, fill, vectors)


@dataclass
class ClusterCoverage:
    cluster: Cluster
    target_count: int
    target_share: float
    missing: bool
    target_examples: list[int]


@dataclass
class Novel:
    index: int  # into the target set
    distance: float  # to the nearest reference pose, torso lengths
    nearest_cluster: int


@dataclass
class Coverage:
    """Which reference clusters a target has, lacks, and which target poses none covers."""

    reference: Clustering
    target: PoseSet
    clusters: list[ClusterCoverage]
    novel: list[Novel]
    target_labels: np.ndarray  # (N,) the reference cluster of each target pose, or OUTSIDE
    missing_ratio: float
    novel_distance: float

    @property
    def missing(self) -> list[ClusterCoverage]:
        """Missing clusters, most common in the reference first."""
        return sorted((c for c in self.clusters if c.missing), key=lambda c: -c.cluster.share)

    def frames_to_annotate(self) -> list[str]:
        """Target frames to label first: novel poses (farthest first), then poses outside every
        reference cluster, then poses of clusters rare in the reference (under half a uniform
        share), rarest first; each frame once."""
        frames, labels = self.target.frames, self.target_labels
        ordered = [frames[n.index] for n in sorted(self.novel, key=lambda n: -n.distance)]
        ordered += [frames[i] for i in np.flatnonzero(labels == OUTSIDE)]
        shares = np.array([c.share for c in self.reference.clusters])
        rare = [
            i for i in np.flatnonzero(labels != OUTSIDE) if shares[labels[i]] < 0.5 / len(shares)
        ]
        ordered += [frames[i] for i in sorted(rare, key=lambda i: (shares[labels[i]], i))]
        return list(dict.fromkeys(ordered))

    def to_dict(self) -> dict[str, Any]:
        reference, frames = self.reference.poses.frames, self.target.frames
        return {
            "reference": self.reference.poses.name,
            "target": self.target.name,
            "space": "3d" if self.reference.dims == 3 else "2d",
            "normalisation": _NORMALISATION[self.reference.dims],
            "method": "k-means (scipy kmeans2, k-means++ start, seed 0) on the reference",
            "reference_poses": len(self.reference.poses),
            "reference_skipped": self.reference.poses.skipped,
            "target_poses": len(self.target),
            "target_outside_clusters": int(np.count_nonzero(self.target_labels == OUTSIDE)),
            "target_skipped": self.target.skipped,
            "missing_rule": (
                f"target share < {self.missing_ratio} x reference share of the cluster"
            ),
            "novel_rule": (
                f"farther than {self.novel_distance} torso lengths (RMS over joints) from "
                "every reference pose"
            ),
            "clusters": [
                {
                    "id": c.cluster.id,
                    "reference_count": c.cluster.count,
                    "reference_share": round(c.cluster.share, 5),
                    "target_count": c.target_count,
                    "target_share": round(c.target_share, 5),
                    "missing": c.missing,
                    "spread": round(c.cluster.spread, 4),
                    "reference_examples": [reference[i] for i in c.cluster.examples],
                    "target_examples": [frames[i] for i in c.target_examples],
                }
                for c in self.clusters
            ],
            "missing": [c.cluster.id for c in self.missing],
            "novel": [
                {
                    "frame": frames[n.index],
                    "distance": round(n.distance, 4),
                    "nearest_cluster": n.nearest_cluster,
                }
                for n in sorted(self.novel, key=lambda n: -n.distance)
            ],
        }


def coverage(
    reference: Clustering,
    target: PoseSet,
    missing_ratio: float = MISSING_RATIO,
    novel_distance: float = NOVEL_DISTANCE,
) -> Coverage:
    """Assign the target's poses to the reference clusters; flag the clusters the target has
    too few of and the target poses no reference pose is near."""
    if len(target) and target.dims != reference.dims:
        raise CoverageError(
            f"{target.name} has {target.dims}D joints but {reference.poses.name} has "
            f"{reference.dims}D: compare sets of the same kind"
        )
    if len(target):
        vectors = features(normalise(target.joints), reference.fill)
        distances = np.linalg.norm(vectors[:, None] - reference.centroids[None], axis=2)
        labels = distances.argmin(axis=1)
        radii = np.array([c.radius for c in reference.clusters])
        labels[distances[np.arange(len(labels)), labels] > radii[labels]] = OUTSIDE
        nearest = cKDTree(reference.vectors).query(vectors)[0]
    else:
        distances = np.zeros((0, len(reference.clusters)))
        labels = np.zeros(0, np.int64)
        nearest = np.zeros(0)
    rows = []
    for c in reference.clusters:
        members = np.flatnonzero(labels == c.id)
        share = len(members) / max(len(target), 1)
        closest = members[np.argsort(distances[members, c.id])][:EXAMPLES]
        rows.append(
            ClusterCoverage(
                cluster=c,
                target_count=len(members),
                target_share=share,
                missing=share < missing_ratio * c.share,
                target_examples=[int(i) for i in closest],
            )
        )
    novel = [
        Novel(int(i), float(nearest[i]), int(distances[i].argmin()))
        for i in np.flatnonzero(nearest > novel_distance)
    ]
    return Coverage(reference, target, rows, novel, labels, missing_ratio, novel_distance)
