import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo

from depth_pose_ros.core.camera import KINECT_V2, CameraIntrinsics

KINECT_K = [365.5, 0.0, 257.3, 0.0, 365.6, 205.1, 0.0, 0.0, 1.0]
KINECT_D = [0.09, -0.27, 0.0, 0.0, 0.09]


def camera_info(**fields) -> CameraInfo:
    info = CameraInfo(width=512, height=424, distortion_model="plumb_bob", k=KINECT_K, d=KINECT_D)
    for name, value in fields.items():
        setattr(info, name, value)
    return info


def test_camera_info_gives_intrinsics_with_distortion():
    intrinsics = CameraIntrinsics.from_camera_info(camera_info())
    assert (intrinsics.width, intrinsics.height) == (512, 424)
    assert (intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy) == (
        365.5,
        365.6,
        257.3,
        205.1,
    )
    assert intrinsics.distortion_model == "plumb_bob"
    assert intrinsics.distortion == tuple(KINECT_D)
    assert intrinsics.has_distortion
    np.testing.assert_array_equal(intrinsics.matrix.ravel(), KINECT_K)


def test_camera_info_fields_round_trip():
    original = CameraIntrinsics.from_camera_info(camera_info())
    fields = original.camera_info_fields()
    info = camera_info(d=fields["d"].tolist(), k=fields["k"], width=fields["width"])
    assert CameraIntrinsics.from_camera_info(info) == original
    p = original.camera_info_fields()["p"].reshape(3, 4)
    np.testing.assert_array_equal(p[:, :3], original.matrix)


def test_zero_distortion_needs_no_known_model():
    intrinsics = CameraIntrinsics.from_camera_info(camera_info(distortion_model="", d=[]))
    assert not intrinsics.has_distortion
    assert CameraIntrinsics.from_camera_info(camera_info(distortion_model="x", d=[0.0] * 3))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"k": [0.0] * 9}, "K is all zeros"),
        ({"k": [365.0, 0.0, 256.0, 0.0, 365.0, 212.0, 0.0, 0.0, float("nan")]}, "non-finite"),
        (
            {"k": [365.0, 0.0, 256.0, 0.0, 365.0, 212.0, 0.0, 0.0, 0.0]},
            "not a pinhole camera matrix",
        ),
        (
            {"k": [-365.0, 0.0, 256.0, 0.0, 365.0, 212.0, 0.0, 0.0, 1.0]},
            "focal lengths must be positive",
        ),
        ({"width": 0}, "image size must be positive"),
        ({"height": 0}, "image size must be positive"),
        ({"distortion_model": "kannala"}, "distortion_model 'kannala' is not supported"),
        ({"d": [0.1, 0.2]}, "needs 5 coefficients in D, got 2"),
        ({"d": [0.1, float("inf"), 0.0, 0.0, 0.0]}, "must be finite"),
    ],
)
def test_invalid_camera_info_raises_value_error_naming_the_problem(fields, message):
    with pytest.raises(ValueError, match=message):
        CameraIntrinsics.from_camera_info(camera_info(**fields))


def test_k_with_the_wrong_length_is_an_error():
    class Info:
        width, height, distortion_model, d = 512, 424, "", []
        k = [365.0] * 8

    with pytest.raises(ValueError, match="K must have 9 values, got 8"):
        CameraIntrinsics.from_camera_info(Info())


def test_kinect_v2_default_is_valid():
    assert KINECT_V2.width == 512 and KINECT_V2.height == 424
    assert not KINECT_V2.has_distortion
