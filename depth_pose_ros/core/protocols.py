"""The fields of the ROS messages this package reads, as Protocols, and stamp conversions.

rclpy messages and rosbags messages both have these fields, so the layers below the ROS node
take either without importing ROS.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

NANOSECONDS_PER_SECOND = 1_000_000_000


class TimeLike(Protocol):
    """builtin_interfaces/Time."""

    sec: int
    nanosec: int


class HeaderLike(Protocol):
    """std_msgs/Header."""

    @property
    def stamp(self) -> TimeLike: ...

    @property
    def frame_id(self) -> str: ...


class ImageLike(Protocol):
    """The fields of sensor_msgs/Image that describe the pixels."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: Any  # bytes, array.array('B') or a uint8 numpy array (anything with a buffer)


class StampedImageLike(ImageLike, Protocol):
    """sensor_msgs/Image with its header."""

    @property
    def header(self) -> HeaderLike: ...


class RegionOfInterestLike(Protocol):
    """sensor_msgs/RegionOfInterest."""

    x_offset: int
    y_offset: int
    height: int
    width: int
    do_rectify: bool


class CameraInfoLike(Protocol):
    """The fields of sensor_msgs/CameraInfo that describe the camera (image_geometry reads the
    same ones)."""

    height: int
    width: int
    distortion_model: str
    d: Sequence[float]
    k: Sequence[float]  # 3x3 row-major
    r: Sequence[float]  # 3x3 row-major
    p: Sequence[float]  # 3x4 row-major
    binning_x: int
    binning_y: int

    @property
    def roi(self) -> RegionOfInterestLike: ...


def stamp_ns(header: HeaderLike) -> int:
    """A header's stamp in nanoseconds."""
    return int(header.stamp.sec) * NANOSECONDS_PER_SECOND + int(header.stamp.nanosec)


def seconds_and_nanoseconds(stamp: int) -> tuple[int, int]:
    """A stamp in nanoseconds as the (sec, nanosec) of builtin_interfaces/Time."""
    sec, nanosec = divmod(int(stamp), NANOSECONDS_PER_SECOND)
    return sec, nanosec
