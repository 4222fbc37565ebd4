import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, RegionOfInterest

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


# Rectified with P's own focal length and centre (a rectified camera differs from the raw one).
KINECT_P = [360.0, 0.0, 255.0, 0.0, 0.0, 361.0, 207.0, 0.0, 0.0, 0.0, 1.0, 0.0]


def project_distorted(xyz: np.ndarray) -> np.ndarray:
    """Where the raw (distorting) camera of camera_info() images 3D points."""
    pixels, _ = cv2.projectPoints(
        xyz, np.zeros(3), np.zeros(3), np.reshape(KINECT_K, (3, 3)), np.array(KINECT_D)
    )
    return pixels.reshape(-1, 2)


def test_raw_images_back_project_through_k_and_d_rectified_ones_through_p():
    xyz = np.array([[0.8, -0.5, 2.0], [-1.1, 0.6, 3.0], [0.0, 0.0, 1.0]])
    truth = xyz[:, :2] / xyz[:, 2:]
    raw = CameraIntrinsics.from_camera_info(camera_info(p=KINECT_P))
    assert raw.has_distortion  # D is not zero: the images are raw unless told otherwise
    np.testing.assert_allclose(raw.normalised(project_distorted(xyz)), truth, atol=1e-6)
    rectified = CameraIntrinsics.from_camera_info(camera_info(p=KINECT_P), rectified=True)
    assert not rectified.has_distortion
    assert (rectified.fx, rectified.fy, rectified.cx, rectified.cy) == (360.0, 361.0, 255.0, 207.0)
    in_rectified = np.column_stack(
        [360.0 * truth[:, 0] + 255.0, 361.0 * truth[:, 1] + 207.0]
    )  # where a rectified image shows the points
    np.testing.assert_allclose(rectified.normalised(in_rectified), truth, atol=1e-9)
    # Reading rectified pixels as raw would undistort them a second time: visibly wrong.
    assert np.abs(raw.normalised(in_rectified) - truth).max() > 0.01


def test_zero_distortion_means_rectified_and_p_is_used_where_given():
    undistorted = camera_info(d=[0.0] * 5, p=KINECT_P)
    assert CameraIntrinsics.from_camera_info(undistorted).fx == 360.0
    no_p = camera_info(d=[0.0] * 5)  # P all zero: an uncalibrated P, K is the camera
    assert CameraIntrinsics.from_camera_info(no_p).fx == 365.5


def test_binning_and_region_of_interest_describe_the_image_sent():
    roi = RegionOfInterest(x_offset=100, y_offset=50, width=300, height=200, do_rectify=False)
    binned = CameraIntrinsics.from_camera_info(camera_info(binning_x=2, binning_y=2, roi=roi))
    assert (binned.width, binned.height) == (150, 100)
    assert binned.fx == pytest.approx(365.5 / 2) and binned.fy == pytest.approx(365.6 / 2)
    assert binned.cx == pytest.approx((257.3 - 100) / 2)
    assert binned.cy == pytest.approx((205.1 - 50) / 2)
    # The same 3D point through the full camera and through the binned, cropped one.
    full = CameraIntrinsics.from_camera_info(camera_info())
    pixel = project_distorted(np.array([[0.3, 0.1, 2.0]]))
    small_pixel = (pixel - [100, 50]) / 2 + 0.0
    np.testing.assert_allclose(binned.normalised(small_pixel), full.normalised(pixel), atol=1e-6)
    outside = RegionOfInterest(x_offset=400, y_offset=0, width=300, height=200)
    with pytest.raises(ValueError, match="outside the 512x424 image"):
        CameraIntrinsics.from_camera_info(camera_info(roi=outside))
