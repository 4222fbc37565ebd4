"""Running the node's processing over a recorded bag, deterministically, and scoring it.

Messages are read in log-time order (camera_info before the images it applies to) and every
depth frame goes through the same Pipeline the node runs, so results do not depend on how fast
a player or the machine is. Outputs are written to a new MCAP bag; where the bag holds ground
truth skeletons (the synthetic bags do), they are compared with the paper's metric.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from depth_pose_ros import coco, metrics
from depth_pose_ros.bag import (
    CAMERA_INFO,
    DEFAULT_TOPICS,
    IMAGE,
    BagError,
    BagReader,
    BagTopics,
    BagWriter,
)
from depth_pose_ros.pipeline import BadFrameError, Pipeline
from depth_pose_ros.skeleton import KeypointState, Skeleton, TrackingState

OUTPUT_TOPIC = "/depth_pose/skeletons"
KEPT_FRAMES = 90  # depth frames kept (every n-th) for the overlay pictures


@dataclass
class BagRun:
    """What the pipeline made of a bag."""

    frame_id: str = ""
    stamps: list[int] = field(default_factory=list)  # every depth frame, in order
    outputs: dict[int, list[Skeleton]] = field(default_factory=dict)  # by stamp
    truth: dict[int, list[Skeleton]] = field(default_factory=dict)  # by stamp, if recorded
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (stamp, problem)
    latencies_ms: list[float] = field(default_factory=list)
    kept_depth: dict[int, np.ndarray] = field(default_factory=dict)  # by stamp, for pictures


def run(
    path: str | Path,
    pipeline: Pipeline,
    topics: BagTopics = DEFAULT_TOPICS,
    progress: bool = True,
) -> BagRun:
    """Process every depth frame of the bag; read the ground truth if the bag has it."""
    result = BagRun()
    with BagReader(path) as bag:
        available = bag.topics
        if topics.depth not in available:
            listed = ", ".join(f"{n} ({t.msgtype})" for n, t in sorted(available.items()))
            raise BagError(
                f"bag {path} has no depth topic {topics.depth} (set it with --depth-topic); "
                f"it has: {listed or 'nothing'}"
            )
        if available[topics.depth].msgtype != IMAGE:
            raise BagError(f"{topics.depth} carries {available[topics.depth].msgtype}, not {IMAGE}")
        wanted = [topics.depth]
        if topics.camera_info in available and available[topics.camera_info].msgtype == CAMERA_INFO:
            wanted.append(topics.camera_info)
        elif pipeline.fallback is None:
            raise BagError(
                f"bag {path} has no camera_info on {topics.camera_info}: give the intrinsics "
                "with --fx --fy --cx --cy (or name the topic with --camera-info-topic)"
            )
        frames = available[topics.depth].count
        keep_every = max(1, frames // KEPT_FRAMES)
        for topic, _, message in tqdm(
            bag.messages(wanted),
            total=sum(available[t].count for t in wanted),
            desc="evaluate bag",
            unit="msg",
            disable=not progress,
        ):
            if topic == topics.camera_info:
                try:
                    pipeline.camera_info(message)
                except BadFrameError as problem:
                    result.rejected.append((0, str(problem)))
                continue
            stamp = message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec
            result.frame_id = message.header.frame_id
            result.stamps.append(stamp)
            start = time.perf_counter()
            try:
                processed = pipeline.process(message)
            except BadFrameError as problem:
                result.rejected.append((stamp, str(problem)))
                continue
            result.latencies_ms.append((time.perf_counter() - start) * 1000.0)
            result.outputs[stamp] = processed.skeletons
            if len(result.stamps) % keep_every == 1 or keep_every == 1:
                result.kept_depth[stamp] = processed.depth[::2, ::2].copy()
        if topics.ground_truth in available:
            for frame in bag.skeleton_frames(topics.ground_truth):
                result.truth[frame.stamp_ns] = frame.skeletons
    return result


def write_outputs(run_result: BagRun, path: str | Path) -> Path:
    """The estimated skeletons as a bag: one SkeletonArray per processed frame."""
    with BagWriter(path) as writer:
        for stamp in run_result.stamps:
            if stamp in run_result.outputs:
                writer.write_skeletons(
                    OUTPUT_TOPIC, stamp, run_result.frame_id, run_result.outputs[stamp]
                )
    return Path(path)


def read_outputs(path: str | Path, topic: str = OUTPUT_TOPIC) -> dict[int, list[Skeleton]]:
    """Skeleton arrays of a bag by stamp (outputs written before, or a golden bag)."""
    with BagReader(path) as bag:
        return {frame.stamp_ns: frame.skeletons for frame in bag.skeleton_frames(topic)}


def _visibility(skeleton: Skeleton) -> np.ndarray:
    """Ground-truth keypoint states as COCO visibility: TRACKED visible, INFERRED occluded."""
    return np.select(
        [skeleton.state == KeypointState.TRACKED, skeleton.state == KeypointState.INFERRED],
        [coco.VISIBLE, coco.OCCLUDED],
        coco.UNLABELLED,
    )


def evaluate(run_result: BagRun) -> tuple[metrics.Report, dict[int, float]] | None:
    """The paper's metrics against the recorded ground truth, and the 3D error (mm) per frame;
    None without ground truth. Frames the pipeline rejected count as missed."""
    if not run_result.truth:
        return None
    stamps = [s for s in run_result.stamps if s in run_result.truth]
    image_id = {stamp: i + 1 for i, stamp in enumerate(stamps)}
    annotations, results = [], []
    for stamp in stamps:
        for person in run_result.truth[stamp]:
            annotations.append(
                coco.annotation(
                    len(annotations) + 1,
                    image_id[stamp],
                    person.uv,
                    _visibility(person),
                    person.xyz,
                    person.id,
                )
            )
        for skeleton in run_result.outputs.get(stamp, []):
            if skeleton.tracking_state != TrackingState.LOST:
                results.append(
                    coco.result(
                        image_id[stamp],
                        skeleton.uv,
                        skeleton.confidence,
                        skeleton.score,
                        skeleton.xyz,
                    )
                )
    images = [{"id": image_id[s], "width": 512, "height": 424} for s in stamps]
    ground_truth = metrics.load_ground_truth(coco.document(images, annotations))
    detections = metrics.load_detections(results)
    report = metrics.evaluate(ground_truth, detections)
    by_image = metrics.error_by_image(ground_truth, detections)
    return report, {
        stamp: by_image[image_id[stamp]] for stamp in stamps if image_id[stamp] in by_image
    }
