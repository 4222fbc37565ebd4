"""Running the node's processing over a recorded bag, deterministically, and scoring it.

Messages are read in log-time order (camera_info before the images it applies to) and every
depth frame goes through the same Pipeline the node runs, so results do not depend on how fast
a player or the machine is. Outputs are written to a new MCAP bag; where the bag holds ground
truth skeletons (the synthetic bags do), they are compared with the paper's metric.
"""

from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from depth_pose_ros.core.protocols import stamp_ns
from depth_pose_ros.core.skeleton import Skeleton
from depth_pose_ros.evaluation.sequence import SequenceRun
from depth_pose_ros.inference.pipeline import BadCameraInfoError, BadFrameError, Pipeline
from depth_pose_ros.ros.bag import (
    CAMERA_INFO,
    DEFAULT_TOPICS,
    IMAGE,
    BagError,
    BagReader,
    BagTopics,
    BagWriter,
)

OUTPUT_TOPIC = "/depth_pose/skeletons"
KEPT_FRAMES = 90  # depth frames kept (every n-th) for the overlay pictures


def run(
    path: str | Path,
    pipeline: Pipeline,
    topics: BagTopics = DEFAULT_TOPICS,
    progress: bool = True,
) -> SequenceRun:
    """Process every depth frame of the bag; read the ground truth if the bag has it."""
    result = SequenceRun()
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
                except BadCameraInfoError as problem:
                    result.rejected_camera_info.append(str(problem))
                continue
            stamp = stamp_ns(message.header)
            result.frame_id = message.header.frame_id
            result.stamps.append(stamp)
            start = time.perf_counter()
            try:
                processed = pipeline.process(message)
            except BadFrameError as problem:
                result.rejected_frames.append((stamp, str(problem)))
                continue
            result.latencies_ms.append((time.perf_counter() - start) * 1000.0)
            result.outputs[stamp] = processed.skeletons
            if len(result.stamps) % keep_every == 1 or keep_every == 1:
                result.kept_depth[stamp] = processed.depth[::2, ::2].copy()
        if topics.ground_truth in available:
            for frame in bag.skeleton_frames(topics.ground_truth):
                result.truth[frame.stamp_ns] = frame.skeletons
    return result


def write_outputs(run_result: SequenceRun, path: str | Path) -> Path:
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
