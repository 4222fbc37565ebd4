import numpy as np
import pytest

from depth_pose_ros.core import schema


def test_joint_order_matches_kinect_v2_without_hand_tips_and_thumbs():
    assert schema.NUM_JOINTS == 21
    assert schema.JOINT_NAMES[0] == "SpineBase"
    assert schema.JOINT_NAMES[20] == "SpineShoulder"
    assert schema.KINECT25_JOINT_NAMES[:21] == schema.JOINT_NAMES
    assert [n for n in schema.KINECT25_JOINT_NAMES if n not in schema.JOINT_NAMES] == [
        "HandTipLeft",
        "ThumbLeft",
        "HandTipRight",
        "ThumbRight",
    ]


def test_bones_form_one_tree_over_all_joints():
    assert len(schema.BONES) == schema.NUM_JOINTS - 1
    children = [child for _, child in schema.BONES]
    assert len(set(children)) == len(children), "a joint has two parents"
    assert schema.ROOT_JOINT not in children
    reached = {schema.ROOT_JOINT}
    frontier = [schema.ROOT_JOINT]
    while frontier:
        joint = frontier.pop()
        for parent, child in schema.BONES:
            if parent == joint:
                reached.add(child)
                frontier.append(child)
    assert reached == set(range(schema.NUM_JOINTS))


def test_left_right_pairs_are_symmetric():
    permutation = schema.FLIP_PERMUTATION
    np.testing.assert_array_equal(permutation[permutation], np.arange(schema.NUM_JOINTS))
    assert len(schema.LEFT_RIGHT_PAIRS) == 8
    for left, right in schema.LEFT_RIGHT_PAIRS:
        assert schema.JOINT_NAMES[left].replace("Left", "Right") == schema.JOINT_NAMES[right]
        assert schema.OKS_SIGMAS[left] == schema.OKS_SIGMAS[right]
    centre = [j for j in range(schema.NUM_JOINTS) if permutation[j] == j]
    assert [schema.JOINT_NAMES[j] for j in centre] == [
        "SpineBase",
        "SpineMid",
        "Neck",
        "Head",
        "SpineShoulder",
    ]
    bones = set(schema.BONES)
    assert {(int(permutation[a]), int(permutation[b])) for a, b in bones} == bones


def test_oks_sigmas_are_the_papers():
    sigma = dict(zip(schema.JOINT_NAMES, schema.OKS_SIGMAS, strict=True))
    for name in ("SpineBase", "SpineMid", "SpineShoulder", "Neck", "Head", "HipLeft"):
        assert sigma[name] == 0.107
    assert sigma["AnkleRight"] == sigma["FootLeft"] == 0.089
    assert sigma["KneeLeft"] == 0.087
    assert sigma["ShoulderRight"] == 0.079
    assert sigma["ElbowLeft"] == 0.072
    assert sigma["WristRight"] == sigma["HandLeft"] == 0.062


def test_from_kinect25_selects_our_joints_in_order():
    kinect = np.arange(25 * 3).reshape(25, 3)
    ours = schema.from_kinect25(kinect)
    np.testing.assert_array_equal(ours, kinect[:21])
    with pytest.raises(ValueError, match="25 Kinect v2 joints"):
        schema.from_kinect25(np.zeros((21, 3)))


def test_constants_are_read_only():
    with pytest.raises(ValueError):
        schema.OKS_SIGMAS[0] = 1.0
