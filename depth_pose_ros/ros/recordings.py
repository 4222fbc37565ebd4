"""Generated sequences as rosbag2 recordings: what a Kinect v2 driver would have recorded, plus
the exact ground truth as a SkeletonArray topic."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from depth_pose_ros.data.synthetic.generator import FPS
from depth_pose_ros.data.synthetic.sequence import generate_sequence
from depth_pose_ros.ros.bag import DEFAULT_TOPICS, BagTopics, BagWriter


def write_sequence_bag(
    path: str | Path,
    seed: int,
    seconds: float,
    people: int,
    split: str = "train",
    topics: BagTopics = DEFAULT_TOPICS,
    frame_id: str = "kinect2_ir_optical_frame",
    start_ns: int = 1_700_000_000 * 1_000_000_000,
    progress: bool = True,
) -> Path:
    """A rosbag2 bag of a generated sequence: depth (16UC1 mm), camera_info and ground-truth
    skeletons on each frame, stamped like a 30 Hz camera."""
    frames = generate_sequence(seed, seconds, people, split)
    period_ns = round(1e9 / FPS)
    with BagWriter(path) as bag:
        for index, frame in enumerate(
            tqdm(
                frames,
                total=round(seconds * FPS),
                desc="synth sequence",
                unit="frame",
                disable=not progress,
            )
        ):
            stamp = start_ns + index * period_ns
            bag.write_camera_info(topics.camera_info, stamp, frame_id, frame.intrinsics)
            bag.write_depth(topics.depth, stamp, frame_id, frame.depth_m, "16UC1")
            skeletons = [person.as_skeleton() for person in frame.people]
            bag.write_skeletons(topics.ground_truth, stamp, frame_id, skeletons)
    return Path(path)
