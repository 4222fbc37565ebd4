"""A bag as frames to annotate: its depth images with their camera_info, and the skeletons to
start from (a SkeletonArray topic of the same bag, or of another one such as the node's recorded
outputs), matched by header stamp."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depth_pose_ros.annotation.sources import AnnotationError, MemorySource, RecordedFrame
from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import depth_to_metres
from depth_pose_ros.core.protocols import stamp_ns
from depth_pose_ros.core.skeleton import Skeleton
from depth_pose_ros.ros.bag import CAMERA_INFO, IMAGE, BagError, BagReader

BAG_SUFFIXES = (".mcap", ".db3")


def is_bag(path: str) -> bool:
    location = Path(path)
    return location.suffix in BAG_SUFFIXES or (location / "metadata.yaml").is_file()


def _skeletons(path: str | Path, topic: str | None) -> dict[int, list[Skeleton]]:
    """Skeletons by header stamp from a bag's SkeletonArray topic (the only one if not named)."""
    with BagReader(path) as bag:
        topic = bag.skeleton_topic(topic)
        return {frame.stamp_ns: frame.skeletons for frame in bag.skeleton_frames(topic)}


def open_bag(
    path: str,
    depth_topic: str,
    camera_info_topic: str,
    skeleton_topic: str | None = None,
    skeletons_bag: str | None = None,
) -> MemorySource:
    """The bag's depth frames (each with the latest camera_info before it) and, where given, the
    skeletons recorded for them; frames without a recorded skeleton array start empty."""
    try:
        with BagReader(path) as bag:
            topics = bag.topics
            for topic, msgtype in ((depth_topic, IMAGE), (camera_info_topic, CAMERA_INFO)):
                if topics.get(topic) is None or topics[topic].msgtype != msgtype:
                    found = ", ".join(f"{n} ({t.msgtype})" for n, t in topics.items())
                    raise AnnotationError(f"{path} has no {msgtype} topic {topic}; it has: {found}")
            frames: dict[str, RecordedFrame] = {}
            intrinsics: CameraIntrinsics | None = None
            for topic, _, message in bag.messages([depth_topic, camera_info_topic]):
                if topic == camera_info_topic:
                    try:
                        intrinsics = CameraIntrinsics.from_camera_info(message)
                    except ValueError:
                        intrinsics = None  # a bad camera_info: frames wait for a good one
                    continue
                if intrinsics is None or (message.width, message.height) != (
                    intrinsics.width,
                    intrinsics.height,
                ):
                    continue
                try:
                    metres = depth_to_metres(message)
                except ValueError:
                    continue
                millimetres = np.nan_to_num(metres * 1000.0).clip(0, 65535).round()
                frames[str(stamp_ns(message.header))] = RecordedFrame(
                    millimetres.astype(np.uint16), intrinsics, None
                )
        if skeleton_topic is not None or skeletons_bag is not None:
            recorded = _skeletons(skeletons_bag or path, skeleton_topic)
            for key, frame in frames.items():
                frame.skeletons = recorded.get(int(key), [])
    except BagError as error:
        raise AnnotationError(str(error)) from None
    return MemorySource(path, frames)
