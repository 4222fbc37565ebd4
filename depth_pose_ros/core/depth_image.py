"""Depth images between sensor_msgs/Image fields and numpy arrays in metres (what cv_bridge does).

Works on any object with the fields of sensor_msgs/Image (rclpy messages, rosbags messages), so
nothing here imports ROS. Decoding is zero-copy up to the single conversion to float32 metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from depth_pose_ros.core.protocols import ImageLike

# encoding -> (pixel type, metres per unit)
DEPTH_ENCODINGS: dict[str, tuple[np.dtype, float]] = {
    "16UC1": (np.dtype(np.uint16), 0.001),
    "mono16": (np.dtype(np.uint16), 0.001),
    "32FC1": (np.dtype(np.float32), 1.0),
}
_ENCODING_HELP = "16UC1 or mono16 (millimetres) or 32FC1 (metres)"
# What depth cameras measure (Kinect v2: 0.5-4.5 m, up to 8 m); anything else is not depth.
VALID_RANGE_M = (0.2, 10.0)
MILLIMETRES_LIKELY_M = 100.0  # a float frame whose median depth is beyond this is in mm


@dataclass(frozen=True)
class ImageFields:
    """sensor_msgs/Image fields (without header) for an encoded depth image."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: bytes


def pixel_view(image: ImageLike) -> np.ndarray:
    """The image's pixels as an (height, width) array viewing the message's buffer (no copy).

    Raises ValueError naming the field when the encoding is not a depth encoding or the sizes,
    step and data length do not describe a valid image.
    """
    encoding = image.encoding
    if encoding not in DEPTH_ENCODINGS:
        raise ValueError(
            f"encoding {encoding!r} is not a supported depth encoding (expected {_ENCODING_HELP})"
        )
    height, width, step = int(image.height), int(image.width), int(image.step)
    if height <= 0 or width <= 0:
        raise ValueError(f"image has zero size: height={height}, width={width}")
    pixel_type, _ = DEPTH_ENCODINGS[encoding]
    dtype = pixel_type.newbyteorder(">" if image.is_bigendian else "<")
    row_bytes = width * dtype.itemsize
    if step < row_bytes:
        raise ValueError(
            f"step={step} is smaller than one row of {width} {encoding} pixels ({row_bytes} bytes)"
        )
    buffer = np.frombuffer(image.data, dtype=np.uint8)
    if buffer.size != height * step:
        raise ValueError(
            f"data length {buffer.size} does not match height*step = {height}*{step} = "
            f"{height * step}"
        )
    return np.ndarray((height, width), dtype=dtype, buffer=buffer, strides=(step, dtype.itemsize))


def depth_to_metres(image: ImageLike) -> np.ndarray:
    """Decode a depth image to float32 metres, NaN where the pixel is invalid.

    Invalid means 0 for millimetre encodings and anything not finite and positive for 32FC1.
    """
    pixels = pixel_view(image)
    _, scale = DEPTH_ENCODINGS[image.encoding]
    metres = pixels.astype(np.float32)  # the one copy: native byte order, contiguous
    if scale != 1.0:
        metres *= np.float32(scale)
    metres[~((metres > 0) & (metres < np.inf))] = np.nan
    return metres


def millimetres_to_metres(millimetres: np.ndarray) -> np.ndarray:
    """Integer millimetres (0 invalid), as Kinect drivers and 16-bit PNGs hold depth, to float32
    metres with NaN where invalid."""
    metres = np.asarray(millimetres).astype(np.float32)
    metres *= np.float32(0.001)
    metres[~(metres > 0)] = np.nan
    return metres


def read_depth_file(path: str | Path) -> np.ndarray:
    """A depth frame in float32 metres (NaN invalid) from a 16-bit PNG in millimetres or a 2-D
    .npy array (integers: millimetres, floats: metres). Raises ValueError naming the problem."""
    path = Path(path)
    if path.suffix == ".npy":
        try:
            values = np.load(path)
        except (OSError, ValueError) as error:
            raise ValueError(f"{path} is not a readable .npy file ({error})") from None
        if values.ndim != 2:
            raise ValueError(f"{path}: expected a 2-D depth array, got shape {values.shape}")
        if np.issubdtype(values.dtype, np.integer):
            return millimetres_to_metres(values)
        metres = values.astype(np.float32)
        metres[~((metres > 0) & (metres < np.inf))] = np.nan
        known = metres[np.isfinite(metres)]
        median = float(np.median(known)) if known.size else 0.0
        if median > MILLIMETRES_LIKELY_M:
            raise ValueError(
                f"{path}: float depth is read as metres, but its median is {median:.0f} m: "
                "millimetres? Save integers for millimetres"
            )
        return metres
    values = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if values is None:
        raise ValueError(f"{path} is not an image OpenCV can read")
    if values.dtype != np.uint16 or values.ndim != 2:
        raise ValueError(f"{path}: expected a 16-bit single-channel PNG in millimetres")
    return millimetres_to_metres(values)


def metres_to_image(depth_m: np.ndarray, encoding: str = "16UC1") -> ImageFields:
    """Encode float metres (NaN or <= 0 for invalid) as little-endian image fields.

    Millimetre encodings round to the nearest millimetre, write 0 for invalid pixels and reject
    depths beyond 65.535 m; 32FC1 keeps metres and writes NaN for invalid pixels.
    """
    depth_m = np.asarray(depth_m)
    if depth_m.ndim != 2 or depth_m.size == 0:
        raise ValueError(f"depth must be a non-empty 2-D array, got shape {depth_m.shape}")
    if encoding not in DEPTH_ENCODINGS:
        raise ValueError(f"cannot encode depth as {encoding!r} (expected {_ENCODING_HELP})")
    pixel_type, scale = DEPTH_ENCODINGS[encoding]
    values = depth_m.astype(np.float64) / scale
    invalid = ~((values > 0) & np.isfinite(values))
    if pixel_type == np.uint16:
        values = np.rint(values)
        if np.any(values[~invalid] > np.iinfo(np.uint16).max):
            raise ValueError(
                f"depth beyond {np.iinfo(np.uint16).max * scale} m cannot be {encoding}"
            )
        values[invalid] = 0
    else:
        values[invalid] = np.nan
    pixels = values.astype(pixel_type.newbyteorder("<"))
    height, width = pixels.shape
    return ImageFields(
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * pixels.itemsize,
        data=pixels.tobytes(),
    )


def check_plausible(depth_m: np.ndarray, encoding: str) -> None:
    """Raise ValueError when decoded depth cannot be a room-scale scene: nothing valid, or
    units that look wrong (millimetres in a float image, metres in a millimetre image)."""
    valid = depth_m[np.isfinite(depth_m)]
    if valid.size == 0:
        raise ValueError("the image has no valid depth (every pixel is 0, NaN or inf)")
    median = float(np.median(valid))
    if encoding == "32FC1" and median > 20.0:
        raise ValueError(
            f"32FC1 depth should be in metres but its median is {median:.0f}: "
            "millimetres in a float image?"
        )
    if encoding in ("16UC1", "mono16") and median < 0.1:
        raise ValueError(
            f"{encoding} depth should be in millimetres but its median is "
            f"{median * 1000:.0f} mm: metres in an integer image?"
        )
    near, far = VALID_RANGE_M
    if not ((valid >= near) & (valid <= far)).any():
        raise ValueError(f"no pixel has a depth within {near:g}-{far:g} m")


def within_range(depth_m: np.ndarray) -> np.ndarray:
    """Float32 depth with every value outside VALID_RANGE_M (and NaN) as NaN."""
    near, far = VALID_RANGE_M
    with np.errstate(invalid="ignore"):
        usable = (depth_m >= near) & (depth_m <= far)
    return np.where(usable, depth_m, np.nan).astype(np.float32, copy=False)


def fill_dropouts(depth_m: np.ndarray) -> np.ndarray:
    """Float32 depth with each missing pixel (NaN) that has depth in most of its 5x5
    neighbourhood set to that neighbourhood's median: the scattered dropouts one sensor leaves
    and another does not, filled; larger holes stay."""
    known = np.where(np.isfinite(depth_m), depth_m, 0.0).astype(np.float32)
    median = cv2.medianBlur(known, 5)  # > 0 where at least 13 of the 25 pixels have depth
    filled = np.where(np.isfinite(depth_m) | (median <= 0), depth_m, median)
    return filled.astype(np.float32, copy=False)
