"""rviz markers for skeletons: one MarkerArray per frame that replaces the previous one.

Every array starts with DELETEALL, so nothing lingers or flickers; then per person `joints` (a
SPHERE_LIST, alpha by confidence, INFERRED joints dimmer), `bones` (a LINE_LIST) and `labels`
(the id above the head, TEXT_VIEW_FACING), coloured from a fixed palette by track id so a person
keeps a colour. Markers are in the depth image's frame with its stamp; they never expire on
their own (the next array's DELETEALL removes them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from depth_pose_ros.core import schema
from depth_pose_ros.core.skeleton import KeypointState, Skeleton
from depth_pose_ros.core.visualize import colour_for
from depth_pose_ros.ros.messages import MessageTypes

JOINT_DIAMETER = 0.05
BONE_WIDTH = 0.02
LABEL_HEIGHT = 0.12
LABEL_ABOVE_HEAD = 0.25  # metres, along the optical frame's -y
INFERRED_ALPHA = 0.35  # of the confidence-based alpha


def marker_array(types: MessageTypes, skeletons: list[Skeleton], header: Any) -> Any:
    """A MarkerArray for this frame's skeletons (rclpy message types)."""
    Marker, MarkerArray, ColorRGBA, Point = (  # noqa: N806  (message classes)
        types.Marker,
        types.MarkerArray,
        types.ColorRGBA,
        types.Point,
    )
    if Marker is None or MarkerArray is None or ColorRGBA is None:
        raise ValueError("these message types have no rviz markers")

    def _colour(track_id: int, alpha: float) -> Any:
        blue, green, red = colour_for(track_id)
        return ColorRGBA(r=red / 255.0, g=green / 255.0, b=blue / 255.0, a=float(alpha))

    markers = [Marker(header=header, action=Marker.DELETEALL)]
    for skeleton in skeletons:
        finite = np.isfinite(skeleton.xyz).all(axis=1)
        if not finite.any():
            continue
        points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in skeleton.xyz]
        alpha = np.clip(skeleton.confidence, 0.2, 1.0)
        alpha = np.where(skeleton.state == KeypointState.INFERRED, alpha * INFERRED_ALPHA, alpha)
        joints = Marker(header=header, ns="joints", id=skeleton.id, type=Marker.SPHERE_LIST)
        joints.action = Marker.ADD
        joints.pose.orientation.w = 1.0
        joints.scale.x = joints.scale.y = joints.scale.z = JOINT_DIAMETER
        joints.points = [points[j] for j in np.flatnonzero(finite)]
        joints.colors = [_colour(skeleton.id, alpha[j]) for j in np.flatnonzero(finite)]
        joints.color = _colour(skeleton.id, 1.0)
        bones = Marker(header=header, ns="bones", id=skeleton.id, type=Marker.LINE_LIST)
        bones.action = Marker.ADD
        bones.pose.orientation.w = 1.0
        bones.scale.x = BONE_WIDTH
        bones.color = _colour(skeleton.id, 0.9)
        for a, b in schema.BONES:
            if finite[a] and finite[b]:
                bones.points += [points[a], points[b]]
        markers += [joints, bones]
        head = schema.JOINT_INDEX["Head"]
        anchor = skeleton.xyz[head] if finite[head] else skeleton.xyz[finite].mean(axis=0)
        label = Marker(header=header, ns="labels", id=skeleton.id, type=Marker.TEXT_VIEW_FACING)
        label.action = Marker.ADD
        label.pose.position = Point(
            x=float(anchor[0]), y=float(anchor[1] - LABEL_ABOVE_HEAD), z=float(anchor[2])
        )
        label.pose.orientation.w = 1.0
        label.scale.z = LABEL_HEIGHT
        label.color = _colour(skeleton.id, 1.0)
        label.text = str(skeleton.id)
        markers.append(label)
    return MarkerArray(markers=markers)
