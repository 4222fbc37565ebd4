import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message

from depth_pose_ros.core import schema
from depth_pose_ros.core.protocols import stamp_ns
from depth_pose_ros.core.skeleton import KeypointState, TrackingState
from depth_pose_ros.core.skeleton import Skeleton as PlainSkeleton
from depth_pose_ros.msg import Keypoint, Skeleton, SkeletonArray, SkeletonDescription
from depth_pose_ros.ros import messages
from depth_pose_ros.ros.bag import rosbags_message_types, typestore
from helpers import assert_same_skeletons, sample_skeletons


@pytest.fixture(params=["rclpy", "rosbags"])
def types(request) -> messages.MessageTypes:
    if request.param == "rclpy":
        return messages.rclpy_message_types()
    return rosbags_message_types()


def test_message_constants_match_the_schema():
    assert Skeleton.NUM_JOINTS == schema.NUM_JOINTS
    for index, name in enumerate(schema.JOINT_NAMES):
        constant = "".join(f"_{c}" if c.isupper() else c for c in name).lstrip("_").upper()
        assert getattr(Skeleton, constant) == index
    assert tuple(KeypointState) == (Keypoint.NOT_TRACKED, Keypoint.INFERRED, Keypoint.TRACKED)
    assert tuple(TrackingState) == (Skeleton.TENTATIVE, Skeleton.TRACKED, Skeleton.LOST)


def test_skeleton_array_round_trips_through_messages(types):
    expected = sample_skeletons()
    header = messages.header(types, 1_700_000_000_123_456_789, "kinect2_ir_optical_frame")
    array_msg = messages.skeleton_array_msg(types, expected, header)
    assert stamp_ns(array_msg.header) == 1_700_000_000_123_456_789
    assert array_msg.header.frame_id == "kinect2_ir_optical_frame"
    assert_same_skeletons(messages.skeletons_from_msg(array_msg), expected)


def test_rclpy_skeleton_array_survives_serialization():
    types = messages.rclpy_message_types()
    expected = sample_skeletons(seed=3)
    msg = messages.skeleton_array_msg(types, expected, messages.header(types, 5, "camera"))
    decoded = deserialize_message(serialize_message(msg), SkeletonArray)
    assert_same_skeletons(messages.skeletons_from_msg(decoded), expected)


def test_rosbags_and_rclpy_serializations_decode_to_the_same_skeletons():
    store = typestore()
    bag_types = rosbags_message_types(store)
    expected = sample_skeletons(seed=4)
    bag_msg = messages.skeleton_array_msg(bag_types, expected, messages.header(bag_types, 9, "c"))
    raw = store.serialize_cdr(bag_msg, "depth_pose_ros/msg/SkeletonArray")
    decoded = deserialize_message(bytes(raw), SkeletonArray)
    assert_same_skeletons(messages.skeletons_from_msg(decoded), expected)


@pytest.mark.parametrize("joints", [20, 22])
def test_wrong_joint_counts_are_rejected_before_serialization(types, joints):
    with pytest.raises(ValueError, match=f"uv has shape \\({joints}, 2\\)"):
        PlainSkeleton(uv=np.zeros((joints, 2)))
    skeleton = PlainSkeleton()
    skeleton.confidence = np.zeros(joints, np.float32)  # broken after construction
    with pytest.raises(ValueError, match="confidence has shape"):
        messages.skeleton_msg(types, skeleton)


def test_out_of_range_ids_and_states_are_rejected():
    with pytest.raises(ValueError, match="does not fit in uint32"):
        PlainSkeleton(id=2**32)
    with pytest.raises(ValueError):
        PlainSkeleton(tracking_state=7)


def test_description_message_lists_joints_bones_and_sigmas(types):
    description = messages.description_msg(types)
    assert list(description.joint_names) == list(schema.JOINT_NAMES)
    bones = list(zip(description.bone_parents, description.bone_children, strict=True))
    assert bones == [tuple(b) for b in schema.BONES]
    np.testing.assert_allclose(description.oks_sigmas, schema.OKS_SIGMAS, rtol=1e-6)


def test_rclpy_description_serializes():
    description = messages.description_msg(messages.rclpy_message_types())
    decoded = deserialize_message(serialize_message(description), SkeletonDescription)
    assert list(decoded.joint_names) == list(schema.JOINT_NAMES)
