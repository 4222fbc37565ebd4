"""A bag as frames to annotate: its depth images with their camera_info, and the skeletons to
start from (a SkeletonArray topic of the same bag, or of another one such as the node's recorded
outputs), matched by header stamp. One pass indexes the frames; a frame's image is read from the
bag when the page asks for it, so a long recording does not have to fit in memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from depth_pose_ros.annotation.sources import AnnotationError, Frame, person_from_skeleton
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


@dataclass(frozen=True)
class IndexedFrame:
    log_time_ns: int  # where the image is in the bag
    intrinsics: CameraIntrinsics  # the latest camera_info before it


class BagSource:
    """The depth frames of a bag (each with the latest camera_info before it), keyed by header
    stamp; frames whose image cannot be decoded, or that come before any matching camera_info,
    are left out."""

    def __init__(
        self,
        path: str,
        depth_topic: str,
        camera_info_topic: str,
        skeleton_topic: str | None = None,
        skeletons_bag: str | None = None,
    ) -> None:
        self.name = path
        self.depth_topic = depth_topic
        self._lock = threading.Lock()  # one reader, used by one request at a time
        try:
            self._bag = BagReader(path)
            self._index = self._index_frames(camera_info_topic)
            self._skeletons = (
                _skeletons(skeletons_bag or path, skeleton_topic)
                if skeleton_topic is not None or skeletons_bag is not None
                else None
            )
        except BagError as error:
            raise AnnotationError(str(error)) from None
        if not self._index:
            raise AnnotationError(f"{path}: no depth frames with a camera_info to annotate")
        self._keys = sorted(self._index, key=int)

    def _index_frames(self, camera_info_topic: str) -> dict[str, IndexedFrame]:
        topics = self._bag.topics
        for topic, msgtype in ((self.depth_topic, IMAGE), (camera_info_topic, CAMERA_INFO)):
            if topics.get(topic) is None or topics[topic].msgtype != msgtype:
                found = ", ".join(f"{n} ({t.msgtype})" for n, t in topics.items())
                raise AnnotationError(
                    f"{self.name} has no {msgtype} topic {topic}; it has: {found}"
                )
        index: dict[str, IndexedFrame] = {}
        intrinsics: CameraIntrinsics | None = None
        for topic, log_time_ns, message in self._bag.messages(
            [self.depth_topic, camera_info_topic]
        ):
            if topic == camera_info_topic:
                try:
                    intrinsics = CameraIntrinsics.from_camera_info(message)
                except ValueError:
                    intrinsics = None  # a bad camera_info: frames wait for a good one
                continue
            size = (message.width, message.height)
            if intrinsics is None or size != (intrinsics.width, intrinsics.height):
                continue
            try:
                depth_to_metres(message)
            except ValueError:
                continue
            index[str(stamp_ns(message.header))] = IndexedFrame(log_time_ns, intrinsics)
        return index

    def keys(self) -> list[str]:
        return self._keys

    def origins(self) -> list[str]:
        return self._keys

    def frame(self, index: int) -> Frame:
        key = self._keys[index]
        indexed = self._index[key]
        start = indexed.log_time_ns
        try:
            with self._lock:
                for _, _, message in self._bag.messages([self.depth_topic], start, start + 1):
                    if str(stamp_ns(message.header)) == key:
                        depth = depth_to_metres(message)
                        break
                else:
                    raise AnnotationError(f"{self.name}: frame {key} is gone from the bag")
        except BagError as error:
            raise AnnotationError(str(error)) from None
        people = None
        if self._skeletons is not None:
            skeletons = self._skeletons.get(int(key), [])
            people = [person_from_skeleton(skeleton) for skeleton in skeletons]
        return Frame(key, depth, indexed.intrinsics, people)

    def close(self) -> None:
        self._bag.close()
