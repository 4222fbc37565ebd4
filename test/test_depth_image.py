import array
from types import SimpleNamespace

import numpy as np
import pytest
from sensor_msgs.msg import Image

from depth_pose_ros.core.depth_image import (
    check_plausible,
    depth_to_metres,
    fill_dropouts,
    metres_to_image,
    pixel_view,
    within_range,
)


def make_image(pixels: np.ndarray, encoding: str, *, big_endian=False, padding=0, data_type=bytes):
    """An Image-like object whose rows are `padding` bytes longer than the pixels need."""
    dtype = pixels.dtype.newbyteorder(">" if big_endian else "<")
    rows = pixels.astype(dtype).view(np.uint8).reshape(pixels.shape[0], -1)
    padded = np.zeros((rows.shape[0], rows.shape[1] + padding), np.uint8)
    padded[:, : rows.shape[1]] = rows
    raw = padded.tobytes()
    data = {bytes: raw, array.array: array.array("B", raw), np.ndarray: padded.ravel()}[data_type]
    return SimpleNamespace(
        height=pixels.shape[0],
        width=pixels.shape[1],
        encoding=encoding,
        is_bigendian=int(big_endian),
        step=padded.shape[1],
        data=data,
    )


MM = np.array([[0, 1000, 2500], [4500, 65535, 1]], dtype=np.uint16)
EXPECTED_M = np.array([[np.nan, 1.0, 2.5], [4.5, 65.535, 0.001]], dtype=np.float32)


@pytest.mark.parametrize("encoding", ["16UC1", "mono16"])
@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("padding", [0, 6])
@pytest.mark.parametrize("data_type", [bytes, array.array, np.ndarray])
def test_millimetre_images_decode_to_metres(encoding, big_endian, padding, data_type):
    image = make_image(MM, encoding, big_endian=big_endian, padding=padding, data_type=data_type)
    metres = depth_to_metres(image)
    assert metres.dtype == np.float32
    assert metres.shape == (2, 3)
    np.testing.assert_allclose(metres, EXPECTED_M, rtol=1e-6)


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("padding", [0, 4])
def test_float_metre_images_decode_and_invalid_values_become_nan(big_endian, padding):
    pixels = np.array([[1.25, 0.0, -1.0], [np.nan, np.inf, 3.0]], dtype=np.float32)
    metres = depth_to_metres(make_image(pixels, "32FC1", big_endian=big_endian, padding=padding))
    np.testing.assert_array_equal(
        metres, np.array([[1.25, np.nan, np.nan], [np.nan, np.nan, 3.0]], np.float32)
    )


def test_pixel_view_does_not_copy_the_message_buffer():
    image = make_image(MM, "16UC1", padding=2, data_type=np.ndarray)
    view = pixel_view(image)
    assert np.shares_memory(view, image.data)
    np.testing.assert_array_equal(view, MM)


def test_rclpy_image_decodes():
    fields = metres_to_image(EXPECTED_M, "16UC1")
    msg = Image(
        height=fields.height,
        width=fields.width,
        encoding=fields.encoding,
        is_bigendian=fields.is_bigendian,
        step=fields.step,
        data=fields.data,
    )
    np.testing.assert_allclose(depth_to_metres(msg), EXPECTED_M, rtol=1e-6)


def test_metres_round_trip_to_the_millimetre_and_exactly_as_float():
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.3, 8.0, size=(424, 512)).astype(np.float32)
    depth[rng.random(depth.shape) < 0.1] = np.nan
    millimetres = depth_to_metres(metres_to_image(depth, "16UC1"))
    np.testing.assert_array_equal(np.isnan(millimetres), np.isnan(depth))
    assert np.nanmax(np.abs(millimetres - depth)) <= 0.0005 + 1e-6
    np.testing.assert_array_equal(depth_to_metres(metres_to_image(depth, "32FC1")), depth)


def test_encoding_writes_zero_for_invalid_millimetres():
    fields = metres_to_image(np.array([[np.nan, -1.0, 0.0, 1.0]]), "16UC1")
    assert fields.step == 8 and fields.is_bigendian == 0
    np.testing.assert_array_equal(np.frombuffer(fields.data, "<u2"), [0, 0, 0, 1000])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"encoding": "rgb8"}, "encoding 'rgb8'"),
        ({"encoding": "8UC1"}, "encoding '8UC1'"),
        ({"encoding": ""}, "encoding ''"),
        ({"height": 0}, "zero size: height=0"),
        ({"width": 0}, "zero size: height=2, width=0"),
        ({"step": 5}, "step=5 is smaller than one row"),
        ({"data": b"\x00" * 11}, "data length 11 does not match height\\*step = 2\\*6 = 12"),
        ({"data": b"\x00" * 13}, "data length 13"),
        ({"height": 3}, "data length 12 does not match height\\*step = 3\\*6 = 18"),
        ({"height": 2**40}, "data length 12 does not match"),
    ],
)
def test_malformed_images_raise_value_error_naming_the_field(change, message):
    image = make_image(MM, "16UC1")
    for name, value in change.items():
        setattr(image, name, value)
    with pytest.raises(ValueError, match=message):
        depth_to_metres(image)


def test_encoding_rejects_what_it_cannot_represent():
    with pytest.raises(ValueError, match=r"beyond 65\.535 m"):
        metres_to_image(np.array([[70.0]]), "16UC1")
    with pytest.raises(ValueError, match="cannot encode depth as 'rgb8'"):
        metres_to_image(np.ones((2, 2)), "rgb8")
    with pytest.raises(ValueError, match="non-empty 2-D"):
        metres_to_image(np.ones((2, 2, 1)))
    with pytest.raises(ValueError, match="non-empty 2-D"):
        metres_to_image(np.ones((0, 3)))


@pytest.mark.parametrize(
    ("depth_m", "encoding", "message"),
    [
        (np.full((4, 4), np.nan), "16UC1", "no valid depth"),
        (np.full((4, 4), 1500.0), "32FC1", "millimetres in a float image"),
        (np.full((4, 4), 0.002), "16UC1", "metres in an integer image"),
        (np.full((4, 4), 1.7e-41), "32FC1", "no pixel has a depth within 0.2-10 m"),
        (np.full((4, 4), 15.0), "32FC1", "no pixel has a depth within 0.2-10 m"),
    ],
)
def test_implausible_depth_is_named(depth_m, encoding, message):
    with pytest.raises(ValueError, match=message):
        check_plausible(depth_m.astype(np.float32), encoding)


def test_depth_outside_the_cameras_range_becomes_invalid():
    depth = np.array([[0.1, 0.5, 4.0], [np.nan, np.inf, 12.0]], np.float32)
    usable = within_range(depth)
    assert usable.dtype == np.float32
    np.testing.assert_array_equal(np.isfinite(usable), [[False, True, True], [False] * 3])
    check_plausible(depth, "32FC1")  # some depth in range: plausible


def test_scattered_dropouts_are_filled_and_holes_stay():
    depth = np.full((40, 40), 3.0, np.float32)
    depth[:, 20:] = 4.5
    depth[5, 5] = depth[30, 30] = np.nan  # single dropouts on either surface
    depth[10:22, 2:14] = np.nan  # a hole as a dark surface leaves
    filled = fill_dropouts(depth)
    assert filled.dtype == np.float32
    assert filled[5, 5] == 3.0 and filled[30, 30] == 4.5
    assert np.isnan(filled[12:20, 4:12]).all()  # the hole's inside has no depth around it
    untouched = np.isfinite(depth)
    np.testing.assert_array_equal(filled[untouched], depth[untouched])
