"""Fuzzing the node's conversion and callback path with random and malformed messages.

Every Image and CameraInfo goes through the node's own callbacks (`_on_camera_info`, and
`_process`, what the worker thread runs for each frame). Anything but a counted rejection or a
published result, an exception of any kind, fails. A good frame afterwards must be answered.
The default suite runs FUZZ_EXAMPLES (300) examples; `make fuzz` runs 10,000.
"""

import os

import numpy as np
import pytest
import rclpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rclpy.context import Context
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image

from depth_pose_ros.core.depth_image import metres_to_image
from depth_pose_ros.data.synthetic.generator import generate_v1_frame
from depth_pose_ros.ros import messages
from depth_pose_ros.ros.node import DepthPoseNode

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
ENCODINGS = ["16UC1", "mono16", "32FC1", "rgb8", "8UC1", "bgr8", "32FC3", "16SC1", "", "32fc1"]
UINT32 = 2**32 - 1
FRAME = generate_v1_frame("test", 31, 0, people=1)
TYPES = messages.rclpy_message_types()
STAMP = [10**9]  # the stream's current stamp, advanced by every fuzzed frame


@pytest.fixture(scope="module")
def node(tiny_weights):
    path = tiny_weights
    context = Context()
    rclpy.init(context=context)
    instance = DepthPoseNode(
        context=context,
        parameter_overrides=[
            Parameter("weights", value=str(path)),
            Parameter("person_threshold", value=0.0),
        ],
    )
    yield instance
    instance.close()
    instance.destroy_node()
    rclpy.try_shutdown(context=context)


def good_camera_info() -> CameraInfo:
    return messages.camera_info_msg(TYPES, FRAME.intrinsics, messages.header(TYPES, 0, "camera"))


def good_image(stamp_ns: int) -> Image:
    depth = FRAME.depth_m
    header = messages.header(TYPES, stamp_ns, "camera")
    return messages.image_msg(TYPES, metres_to_image(depth, "16UC1"), header)


FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
VALUES = st.sampled_from([0.0, np.nan, np.inf, -np.inf, -1.0, 1e-6, 1.5, 3000.0, 1e30])


@st.composite
def images(draw) -> Image:
    """Mostly self-consistent sizes (so decoding gets deep), sometimes not at all."""
    encoding = draw(st.sampled_from(ENCODINGS) | st.text(max_size=8))
    full_size = draw(st.integers(0, 5)) == 0
    height = 424 if full_size else draw(st.integers(0, 40) | st.integers(0, UINT32))
    width = 512 if full_size else draw(st.integers(0, 40) | st.integers(0, UINT32))
    pixel = 4 if encoding.upper().startswith("32") else 2
    consistent = draw(st.booleans()) or full_size
    if consistent and width <= 4096 and height <= 4096:
        step = width * pixel + draw(st.sampled_from([0, 0, 1, 2, 8]))
        length = height * step
    else:
        step = draw(st.integers(0, 64) | st.integers(0, UINT32))
        length = draw(st.integers(0, 4096))
    big_endian = draw(st.sampled_from([0, 1, 255]))
    if pixel == 4 and length % 4 == 0 and length:
        values = np.full(length // 4, draw(VALUES), dtype="<f4")
        values[:: max(1, draw(st.integers(1, 50)))] = draw(VALUES)
        data = values.tobytes()
    else:
        seed = draw(st.integers(0, 2**31))
        data = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    msg = Image(height=height, width=width, step=step, encoding=encoding, is_bigendian=big_endian)
    msg.data = data
    return msg


@st.composite
def camera_infos(draw) -> CameraInfo:
    info = good_camera_info()
    if draw(st.booleans()):
        info.k = np.array(draw(st.lists(FLOATS, min_size=9, max_size=9)), dtype=np.float64)
    if draw(st.booleans()):
        info.d = draw(st.lists(FLOATS, max_size=16))
    if draw(st.booleans()):
        info.distortion_model = draw(
            st.sampled_from(["plumb_bob", "rational_polynomial", "equidistant", "", "fisheye"])
        )
    if draw(st.booleans()):
        info.width = draw(st.integers(0, UINT32))
        info.height = draw(st.integers(0, UINT32))
    return info


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(image=images(), info=camera_infos(), step=st.sampled_from([33_333_333] * 8 + [0, -1]))
def test_fuzzed_messages_never_break_the_node(node, image, info, step):
    node._on_camera_info(info)
    STAMP[0] += step  # mostly forward; sometimes repeated or going back
    image.header = messages.header(TYPES, max(STAMP[0], 0), "camera")
    before = node.monitor.rejected + node.monitor.answered
    node._process(image)  # must reject or publish; any exception fails the test
    assert node.monitor.rejected + node.monitor.answered == before + 1


def test_a_good_frame_is_answered_after_fuzzing(node):
    node._on_camera_info(good_camera_info())
    answered = node.monitor.answered
    node._process(good_image(10**18))
    assert node.monitor.answered == answered + 1
    print(  # shown by `make fuzz`
        f"\nfuzzed {node.monitor.rejected + answered} Image + CameraInfo pairs: "
        f"{node.monitor.rejected} rejected with a warning, {answered} answered, no exceptions; "
        "the good frame afterwards was answered"
    )
