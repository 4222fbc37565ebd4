"""Reading and writing rosbag2 bags (sqlite3 or MCAP) with rosbags, our message types included.

A path ending in `.mcap` is one self-contained MCAP file (what Foxglove and `ros2 bag play`
open directly); any other path is a rosbag2 directory with metadata.yaml. Reading accepts both,
and `.db3` files. No ROS installation is needed.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.rosbag2 import ReaderError, StoragePlugin, Writer, WriterError
from rosbags.typesys import Stores, TypesysError, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import depth_to_metres, metres_to_image
from depth_pose_ros.core.protocols import stamp_ns
from depth_pose_ros.core.skeleton import Skeleton
from depth_pose_ros.ros import messages
from depth_pose_ros.ros.resources import message_definitions

IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
SKELETON_ARRAY = "depth_pose_ros/msg/SkeletonArray"
SKELETON_DESCRIPTION = "depth_pose_ros/msg/SkeletonDescription"
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


@dataclass(frozen=True)
class BagTopics:
    """The topics a depth recording uses (defaults: the node's input names)."""

    depth: str = "/depth/image_raw"
    camera_info: str = "/depth/camera_info"
    ground_truth: str = "/ground_truth/skeletons"


DEFAULT_TOPICS = BagTopics()


class BagError(Exception):
    """A bag cannot be read or written as asked; the message says why."""


@functools.cache
def typestore() -> Typestore:
    """ROS 2 Kilted's standard types plus ours, registered from our .msg files."""
    store = get_typestore(Stores.ROS2_KILTED)
    types: dict[str, Any] = {}
    for name, text in message_definitions().items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    return store


def rosbags_message_types(store: Typestore | None = None) -> messages.MessageTypes:
    """The message classes of a rosbags typestore, for `depth_pose_ros.ros.messages`."""
    t = (store or typestore()).types
    return messages.MessageTypes(
        Time=t["builtin_interfaces/msg/Time"],
        Header=t["std_msgs/msg/Header"],
        Point=t["geometry_msgs/msg/Point"],
        Image=t[IMAGE],
        CameraInfo=t[CAMERA_INFO],
        RegionOfInterest=t["sensor_msgs/msg/RegionOfInterest"],
        Keypoint=t["depth_pose_ros/msg/Keypoint"],
        Skeleton=t["depth_pose_ros/msg/Skeleton"],
        SkeletonArray=t[SKELETON_ARRAY],
        SkeletonDescription=t[SKELETON_DESCRIPTION],
        sequence=np.ascontiguousarray,
    )


@dataclass(frozen=True)
class DepthFrame:
    """One depth image from a bag, decoded to metres."""

    stamp_ns: int  # header stamp
    frame_id: str
    depth: np.ndarray  # float32 metres, NaN invalid


@dataclass(frozen=True)
class SkeletonFrame:
    """One SkeletonArray from a bag."""

    stamp_ns: int  # header stamp
    frame_id: str
    skeletons: list[Skeleton]


@dataclass(frozen=True)
class TopicSummary:
    msgtype: str
    count: int


class BagWriter:
    """Writes depth, camera_info and skeleton topics (or any typed message) to a new bag."""

    def __init__(self, path: str | Path, storage: str = "mcap") -> None:
        self.path = Path(path)
        if self.path.exists():
            raise BagError(f"{self.path} exists already; bags are never overwritten")
        single_file = self.path.suffix == ".mcap"
        if single_file:
            storage = "mcap"
        if storage not in STORAGES:
            raise BagError(f"storage {storage!r} is not one of {', '.join(STORAGES)}")
        # A single-file MCAP is written as a bag directory beside it, then moved out of it.
        self._directory = (
            self.path.with_name(f".{self.path.stem}.partial") if single_file else self.path
        )
        self.store = typestore()
        self.types = rosbags_message_types(self.store)
        self._writer = Writer(self._directory, version=9, storage_plugin=STORAGES[storage])
        self._connections: dict[str, Any] = {}
        try:
            self._writer.open()
        except WriterError as error:
            raise BagError(str(error)) from None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Finish the bag (and move a single-file MCAP into place)."""
        self._writer.close()
        if self._directory != self.path:
            (self._directory / f"{self._directory.name}.mcap").rename(self.path)
            shutil.rmtree(self._directory)

    def write(self, topic: str, msg: Any, log_time_ns: int) -> None:
        """Write a message built from `self.types` (its type comes from the message)."""
        msgtype = msg.__msgtype__
        raw = bytes(self.store.serialize_cdr(msg, msgtype))
        self.write_raw(topic, msgtype, raw, log_time_ns)

    def write_raw(self, topic: str, msgtype: str, raw: bytes, log_time_ns: int) -> None:
        """Write an already serialized (CDR) message, e.g. one received from rclpy."""
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, msgtype, typestore=self.store)
            self._connections[topic] = connection
        elif connection.msgtype != msgtype:
            raise BagError(f"topic {topic} carries {connection.msgtype}, not {msgtype}")
        self._writer.write(connection, int(log_time_ns), raw)

    def write_depth(
        self,
        topic: str,
        stamp_ns: int,
        frame_id: str,
        depth_m: np.ndarray,
        encoding: str = "16UC1",
    ) -> None:
        """Write a depth image given in metres, stamped and logged at `stamp_ns`."""
        header = messages.header(self.types, stamp_ns, frame_id)
        image = messages.image_msg(self.types, metres_to_image(depth_m, encoding), header)
        self.write(topic, image, stamp_ns)

    def write_camera_info(
        self, topic: str, stamp_ns: int, frame_id: str, intrinsics: CameraIntrinsics
    ) -> None:
        header = messages.header(self.types, stamp_ns, frame_id)
        self.write(topic, messages.camera_info_msg(self.types, intrinsics, header), stamp_ns)

    def write_skeletons(
        self, topic: str, stamp_ns: int, frame_id: str, skeletons: Sequence[Skeleton]
    ) -> None:
        header = messages.header(self.types, stamp_ns, frame_id)
        self.write(topic, messages.skeleton_array_msg(self.types, skeletons, header), stamp_ns)


class BagReader:
    """Reads a rosbag2 bag (directory, .mcap or .db3) and decodes our topics by name."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f"bag {self.path} does not exist")
        try:
            self._reader = AnyReader([self.path], default_typestore=typestore())
            self._reader.open()
        except (AnyReaderError, ReaderError, TypesysError, OSError, ValueError) as error:
            raise BagError(f"cannot open bag {self.path}: {error}") from None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._reader.close()

    @property
    def topics(self) -> dict[str, TopicSummary]:
        """Every topic with its message type and message count."""
        return {
            name: TopicSummary(info.msgtype or "", info.msgcount)
            for name, info in self._reader.topics.items()
        }

    def skeleton_topic(self, topic: str | None = None) -> str:
        """`topic`, or else the bag's only SkeletonArray topic (BagError: none or several)."""
        if topic is not None:
            return topic
        arrays = sorted(n for n, t in self.topics.items() if t.msgtype == SKELETON_ARRAY)
        if len(arrays) != 1:
            found = ", ".join(arrays) or "none"
            raise BagError(f"{self.path}: name its SkeletonArray topic ({found})")
        return arrays[0]

    def _require(self, topic: str, msgtype: str) -> None:
        summary = self.topics.get(topic)
        if summary is None:
            available = ", ".join(f"{n} ({t.msgtype})" for n, t in self.topics.items())
            raise BagError(f"bag {self.path} has no topic {topic}; it has: {available or 'none'}")
        if summary.msgtype != msgtype:
            raise BagError(f"topic {topic} carries {summary.msgtype}, expected {msgtype}")

    def raw_messages(
        self, topics: Sequence[str], start_ns: int | None = None, stop_ns: int | None = None
    ) -> Iterator[tuple[str, str, int, bytes]]:
        """(topic, msgtype, log time ns, serialized CDR) in log-time order, those logged in
        [start_ns, stop_ns) when given (a seek, not a scan, in indexed storage)."""
        connections = [c for c in self._reader.connections if c.topic in set(topics)]
        try:
            for connection, log_time_ns, raw in self._reader.messages(
                connections=connections, start=start_ns, stop=stop_ns
            ):
                yield connection.topic, connection.msgtype, log_time_ns, raw
        except (AnyReaderError, ReaderError) as error:
            raise BagError(f"bag {self.path} is damaged: {error}") from None

    def decoded(self, topic: str, msgtype: str) -> Iterator[Any]:
        """Messages of one topic, deserialized, in log-time order."""
        self._require(topic, msgtype)
        for _, _, message in self.messages([topic]):
            yield message

    def messages(
        self, topics: Sequence[str], start_ns: int | None = None, stop_ns: int | None = None
    ) -> Iterator[tuple[str, int, Any]]:
        """(topic, log time ns, deserialized message) of several topics, in log-time order
        (those logged in [start_ns, stop_ns) when given)."""
        for topic, msgtype, log_time_ns, raw in self.raw_messages(topics, start_ns, stop_ns):
            try:
                yield topic, log_time_ns, self._reader.deserialize(raw, msgtype)
            except AnyReaderError as error:
                raise BagError(f"cannot decode a {msgtype} on {topic}: {error}") from None

    def depth_frames(self, topic: str) -> Iterator[DepthFrame]:
        """Depth images of a topic in metres; raises BagError on an undecodable image."""
        for msg in self.decoded(topic, IMAGE):
            try:
                depth = depth_to_metres(msg)
            except ValueError as error:
                raise BagError(f"bad depth image on {topic}: {error}") from None
            yield DepthFrame(stamp_ns(msg.header), msg.header.frame_id, depth)

    def camera_infos(self, topic: str) -> Iterator[tuple[int, str, CameraIntrinsics]]:
        for msg in self.decoded(topic, CAMERA_INFO):
            try:
                intrinsics = CameraIntrinsics.from_camera_info(msg)
            except ValueError as error:
                raise BagError(f"bad camera_info on {topic}: {error}") from None
            yield stamp_ns(msg.header), msg.header.frame_id, intrinsics

    def skeleton_frames(self, topic: str) -> Iterator[SkeletonFrame]:
        for msg in self.decoded(topic, SKELETON_ARRAY):
            yield SkeletonFrame(
                stamp_ns(msg.header),
                msg.header.frame_id,
                messages.skeletons_from_msg(msg),
            )
