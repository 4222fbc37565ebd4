"""Conversions between plain data (skeletons, depth arrays, intrinsics) and ROS messages.

The same code builds and reads rclpy messages (the node) and rosbags messages (bag files): both
have the ROS field names, so the message classes are passed in as a `MessageTypes`. Only
`rclpy_message_types()` imports ROS, and only when called.
"""

from __future__ import annotations

import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from depth_pose_ros.core import schema
from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.core.depth_image import ImageFields
from depth_pose_ros.core.protocols import seconds_and_nanoseconds
from depth_pose_ros.core.skeleton import Skeleton, TrackingState
from depth_pose_ros.core.visualize import colourise_depth, draw_skeletons


@dataclass(frozen=True)
class MessageTypes:
    """The message classes one ROS implementation provides, and how it takes byte arrays."""

    Time: type
    Header: type
    Point: type
    Image: type
    CameraInfo: type
    RegionOfInterest: type
    Keypoint: type
    Skeleton: type
    SkeletonArray: type
    SkeletonDescription: type
    sequence: Callable[[np.ndarray], Any]  # how unbounded numeric fields (uint8[]...) take values
    Marker: Any = None  # rviz markers: rclpy only (rosbags wants every field given)
    MarkerArray: Any = None
    ColorRGBA: Any = None


def rclpy_message_types() -> MessageTypes:
    """The rclpy message classes (imports ROS)."""
    from builtin_interfaces.msg import Time
    from geometry_msgs.msg import Point
    from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest
    from std_msgs.msg import ColorRGBA, Header
    from visualization_msgs.msg import Marker, MarkerArray

    from depth_pose_ros import msg

    return MessageTypes(
        Time=Time,
        Header=Header,
        Point=Point,
        Image=Image,
        CameraInfo=CameraInfo,
        RegionOfInterest=RegionOfInterest,
        Keypoint=msg.Keypoint,
        Skeleton=msg.Skeleton,
        SkeletonArray=msg.SkeletonArray,
        SkeletonDescription=msg.SkeletonDescription,
        sequence=lambda values: array.array(values.dtype.char, values.tobytes()),
        Marker=Marker,
        MarkerArray=MarkerArray,
        ColorRGBA=ColorRGBA,
    )


def header(types: MessageTypes, stamp_ns: int, frame_id: str) -> Any:
    """A std_msgs/Header for a stamp in nanoseconds."""
    sec, nanosec = seconds_and_nanoseconds(stamp_ns)
    return types.Header(stamp=types.Time(sec=sec, nanosec=nanosec), frame_id=frame_id)


def image_msg(types: MessageTypes, fields: ImageFields, header_msg: Any) -> Any:
    """A sensor_msgs/Image from encoded image fields."""
    return types.Image(
        header=header_msg,
        height=fields.height,
        width=fields.width,
        encoding=fields.encoding,
        is_bigendian=fields.is_bigendian,
        step=fields.step,
        data=types.sequence(np.frombuffer(fields.data, dtype=np.uint8)),
    )


def debug_image_msg(
    types: MessageTypes, depth: np.ndarray, skeletons: Sequence[Skeleton], header_msg: Any
) -> Any:
    """A bgr8 sensor_msgs/Image: the colourised depth with every skeleton drawn in its track's
    colour (filled joints TRACKED, hollow ones INFERRED)."""
    picture = colourise_depth(depth)
    ids = [skeleton.id for skeleton in skeletons]
    draw_skeletons(picture, skeletons, [str(i) for i in ids], ids)
    height, width = picture.shape[:2]
    fields = ImageFields(height, width, "bgr8", 0, width * 3, picture.tobytes())
    return image_msg(types, fields, header_msg)


def camera_info_msg(types: MessageTypes, intrinsics: CameraIntrinsics, header_msg: Any) -> Any:
    """A sensor_msgs/CameraInfo describing the intrinsics."""
    roi = types.RegionOfInterest(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    fields = intrinsics.camera_info_fields()
    fields["d"] = types.sequence(fields["d"])
    return types.CameraInfo(header=header_msg, roi=roi, **fields)


def _keypoint_msg(types: MessageTypes, skeleton: Skeleton, joint: int) -> Any:
    x, y, z = (float(c) for c in skeleton.xyz[joint])
    return types.Keypoint(
        u=float(skeleton.uv[joint, 0]),
        v=float(skeleton.uv[joint, 1]),
        position=types.Point(x=x, y=y, z=z),
        confidence=float(skeleton.confidence[joint]),
        state=int(skeleton.state[joint]),
    )


def skeleton_msg(types: MessageTypes, skeleton: Skeleton) -> Any:
    """A depth_pose_ros/Skeleton; validates the joint count first (a fixed-size field)."""
    skeleton.validate()
    return types.Skeleton(
        id=int(skeleton.id),
        tracking_state=int(skeleton.tracking_state),
        score=float(skeleton.score),
        keypoints=[_keypoint_msg(types, skeleton, j) for j in range(schema.NUM_JOINTS)],
    )


def skeleton_array_msg(types: MessageTypes, skeletons: Sequence[Skeleton], header_msg: Any) -> Any:
    """A depth_pose_ros/SkeletonArray with the given header (the depth image's)."""
    return types.SkeletonArray(
        header=header_msg, skeletons=[skeleton_msg(types, s) for s in skeletons]
    )


def skeletons_from_msg(array_msg: Any) -> list[Skeleton]:
    """The plain skeletons of a SkeletonArray message (rclpy or rosbags)."""
    skeletons = []
    for person in array_msg.skeletons:
        keypoints = person.keypoints
        if len(keypoints) != schema.NUM_JOINTS:
            raise ValueError(
                f"skeleton {person.id} has {len(keypoints)} keypoints, expected {schema.NUM_JOINTS}"
            )
        skeletons.append(
            Skeleton(
                id=int(person.id),
                uv=np.array([(k.u, k.v) for k in keypoints]),
                xyz=np.array([(k.position.x, k.position.y, k.position.z) for k in keypoints]),
                confidence=np.array([k.confidence for k in keypoints]),
                state=np.array([k.state for k in keypoints]),
                score=float(person.score),
                tracking_state=TrackingState(int(person.tracking_state)),
            )
        )
    return skeletons


def description_msg(types: MessageTypes) -> Any:
    """The SkeletonDescription of our joint schema (names, bones, OKS sigmas)."""
    parents, children = zip(*schema.BONES, strict=True)
    return types.SkeletonDescription(
        joint_names=list(schema.JOINT_NAMES),
        bone_parents=types.sequence(np.array(parents, dtype=np.uint8)),
        bone_children=types.sequence(np.array(children, dtype=np.uint8)),
        oks_sigmas=types.sequence(np.asarray(schema.OKS_SIGMAS, dtype=np.float32)),
    )
