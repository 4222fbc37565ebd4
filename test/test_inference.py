"""The inference engine without ROS: backends, engine cache, proposals, 3D lifting, estimator."""

import logging

import cv2
import numpy as np
import pytest
import torch

from depth_pose_ros.core.camera import KINECT_V2, CameraIntrinsics
from depth_pose_ros.core.skeleton import KeypointState
from depth_pose_ros.data.synthetic.generator import generate_frame
from depth_pose_ros.inference import tensorrt as trt_cache
from depth_pose_ros.inference.backends import (
    OnnxRuntimeBackend,
    TorchBackend,
    create_backend,
    export_onnx,
    tensorrt_available,
)
from depth_pose_ros.inference.estimator import PoseEstimator, Thresholds
from depth_pose_ros.inference.lifting import SURFACE_OFFSET, joint_depths, lift, undistort
from depth_pose_ros.inference.proposals import (
    PersonFinder,
    fit_floor,
    pixel_slopes,
    points_from_depth,
)
from depth_pose_ros.model import weights
from depth_pose_ros.model.network import CONFIGS, DepthPoseNet
from helpers import tiny_model


def frame_depth(frame) -> np.ndarray:
    return frame.depth_m


# --- backends ------------------------------------------------------------------------------


def test_onnxruntime_agrees_with_pytorch():
    torch.manual_seed(0)
    model = DepthPoseNet(CONFIGS["lite"].with_changes(input_size=(128, 128))).eval()
    batch = np.random.default_rng(0).uniform(-1, 1, size=(3, 1, 128, 128)).astype(np.float32)
    expected = TorchBackend(model)(batch)
    actual = OnnxRuntimeBackend(export_onnx(model))(batch)
    assert actual.shape == expected.shape == (3, 21, 16, 16)
    # Same float32 arithmetic in a different order: agreement to 1e-4 of the output's range.
    tolerance = 1e-4 * max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, atol=tolerance, rtol=0)


def test_exported_onnx_takes_any_batch_and_image_size():
    model = tiny_model().eval()
    backend = OnnxRuntimeBackend(export_onnx(model))
    assert backend(np.zeros((5, 1, 64, 64), np.float32)).shape == (5, 21, 8, 8)
    assert backend(np.zeros((1, 1, 424, 512), np.float32)).shape == (1, 21, 53, 64)


def test_auto_picks_the_fastest_available_backend():
    backend = create_backend(tiny_model(), "auto")
    if tensorrt_available():
        assert backend.name.startswith("tensorrt")
    elif torch.cuda.is_available():
        assert backend.name.startswith("torch-cuda")
    else:
        assert backend.name == "onnxruntime"
    assert create_backend(tiny_model(), "torch").name == "torch"
    with pytest.raises(ValueError, match="not one of"):
        create_backend(tiny_model(), "openvino")


@pytest.mark.skipif(tensorrt_available(), reason="TensorRT is installed here")
def test_asking_for_tensorrt_without_it_says_why():
    with pytest.raises(ValueError, match="needs the tensorrt Python package"):
        create_backend(tiny_model(), "tensorrt")


@pytest.mark.skipif(not tensorrt_available(), reason="tensorrt is not installed (no CUDA GPU)")
def test_tensorrt_agrees_with_pytorch_in_fp32(tmp_path):
    model = tiny_model().eval()
    batch = np.random.default_rng(1).uniform(-1, 1, size=(2, 1, 64, 64)).astype(np.float32)
    cache = trt_cache.EngineCache(trt_cache.TensorRTBuilder(), tmp_path)
    backend = trt_cache.TensorRTBackend(export_onnx(model), (64, 64), "fp32", cache=cache)
    np.testing.assert_allclose(backend(batch), TorchBackend(model)(batch), atol=1e-3)


# --- TensorRT engine cache (a fake builder stands in for TensorRT) ---------------------------


class FakeBuilder:
    def __init__(self, version="10.9.0", gpu=("NVIDIA H100", "9.0")):
        self.version = version
        self.gpu = gpu
        self.builds = []

    def device(self):
        return self.gpu

    def build(self, onnx, spec, timing_cache, calibration):
        self.builds.append((spec, timing_cache))
        return f"engine:{spec.key()}".encode(), (timing_cache or b"") + b"+t"

    def load(self, engine):
        if not engine.startswith(b"engine:"):  # what TensorRT does with a stale or bad file
            raise RuntimeError("cannot deserialize")
        return engine


def cache_with(builder, directory):
    return trt_cache.EngineCache(builder, directory)


def test_engines_are_built_once_and_reused(tmp_path):
    builder = FakeBuilder()
    engine, spec = cache_with(builder, tmp_path).get(b"model", "fp16", (128, 128))
    assert len(builder.builds) == 1
    assert (tmp_path / f"{spec.key()}.engine").is_file()
    assert (tmp_path / f"{spec.key()}.json").is_file()
    again = FakeBuilder()
    assert cache_with(again, tmp_path).get(b"model", "fp16", (128, 128))[0] == engine
    assert again.builds == []


@pytest.mark.parametrize(
    "change",
    [
        {"onnx": b"other model"},
        {"precision": "fp32"},
        {"size": (160, 160)},
        {"version": "10.10.0"},
        {"gpu": ("NVIDIA H200", "9.0")},
        {"gpu": ("NVIDIA H100", "8.9")},
    ],
)
def test_the_cache_key_holds_everything_an_engine_depends_on(tmp_path, change):
    base = {"onnx": b"model", "precision": "fp16", "size": (128, 128)}
    builder = FakeBuilder()
    _, spec = cache_with(builder, tmp_path).get(base["onnx"], base["precision"], base["size"])
    options = base | {k: v for k, v in change.items() if k in base}
    other = FakeBuilder(change.get("version", "10.9.0"), change.get("gpu", ("NVIDIA H100", "9.0")))
    _, other_spec = cache_with(other, tmp_path).get(
        options["onnx"], options["precision"], options["size"]
    )
    assert other_spec.key() != spec.key()
    assert len(other.builds) == 1


def test_stale_or_corrupt_engines_are_rebuilt_with_a_warning(tmp_path, caplog):
    builder = FakeBuilder()
    cache = cache_with(builder, tmp_path)
    _, spec = cache.get(b"model", "fp16", (128, 128))
    path = tmp_path / f"{spec.key()}.engine"
    path.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        engine, _ = cache.get(b"model", "fp16", (128, 128))
    assert engine == f"engine:{spec.key()}".encode()
    assert "cannot be used" in caplog.text and "rebuilding" in caplog.text
    assert len(builder.builds) == 2
    # The rebuild started from the timing cache the first build left.
    assert builder.builds[1][1] == b"+t"


def test_int8_needs_calibration_frames(tmp_path):
    with pytest.raises(ValueError, match="needs calibration"):
        cache_with(FakeBuilder(), tmp_path).get(b"model", "int8", (128, 128))
    calibration = trt_cache.Calibration([np.zeros((8, 1, 128, 128))], tmp_path / "calib.cache")
    engine, spec = cache_with(FakeBuilder(), tmp_path).get(
        b"model", "int8", (128, 128), calibration
    )
    assert spec.precision == "int8" and engine


# --- 3D lifting ------------------------------------------------------------------------------

DISTORTED = CameraIntrinsics(
    512, 424, 365.0, 365.0, 256.0, 212.0, 0.0, "plumb_bob", (0.09, -0.27, 0.001, -0.002, 0.09)
)


def test_undistortion_inverts_opencvs_projection():
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(-1, 1, (50, 2)), rng.uniform(1, 4, 50)])
    pixels, _ = cv2.projectPoints(
        points, np.zeros(3), np.zeros(3), DISTORTED.matrix, np.array(DISTORTED.distortion)
    )
    normalised = undistort(pixels.reshape(-1, 2), DISTORTED)
    np.testing.assert_allclose(normalised, points[:, :2] / points[:, 2:], atol=1e-5)
    plain = undistort(np.array([[256.0 + 365.0, 212.0]]), KINECT_V2)
    np.testing.assert_allclose(plain, [[1.0, 0.0]])


def test_joint_depth_uses_the_persons_own_pixels():
    depth = np.full((40, 40), 4.0, np.float32)  # background
    mask = np.zeros((40, 40), bool)
    mask[:, 18:21] = True  # a thin limb at 2 m
    depth[mask] = 2.0
    depth[20, 19] = np.nan  # a hole on it
    values = joint_depths(np.array([[19.0, 20.0], [5.0, 5.0]]), depth, mask, radius=4)
    assert values[0] == 2.0
    assert np.isnan(values[1])  # no person pixels there: no depth


def test_lifting_back_projects_with_the_surface_offset():
    depth = np.full((424, 512), 3.0, np.float32)
    uv = np.tile([[256.0 + 36.5, 212.0]], (21, 1))
    xyz = lift(uv, depth, KINECT_V2)
    z = 3.0 + SURFACE_OFFSET
    np.testing.assert_allclose(xyz[:, 2], z)
    np.testing.assert_allclose(xyz[:, 0], 0.1 * z)
    np.testing.assert_allclose(xyz[:, 1], 0.0)


# --- proposals and the estimator ---------------------------------------------------------------


def test_the_floor_is_found_below_the_camera():
    height, tilt = 1.2, np.radians(-15)  # camera 1.2 m up, looking 15 degrees down
    intrinsics = KINECT_V2
    x, y = pixel_slopes(intrinsics)
    # Floor in the optical frame: n . p + d = 0 with n the camera's up.
    normal = np.array([0.0, -np.cos(tilt), np.sin(tilt)])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = height / -(normal[0] * x + normal[1] * y + normal[2])
    depth = np.where(t > 0, t, np.nan).astype(np.float32)
    depth[depth > 8] = np.nan
    floor = fit_floor(points_from_depth(depth, (x, y)), np.random.default_rng(0))
    assert floor is not None
    assert np.degrees(np.arccos(floor.normal @ normal)) < 1.0
    assert floor.offset == pytest.approx(height, abs=0.01)


def test_proposals_find_the_people_of_synthetic_frames():
    finder, found, total = PersonFinder(remember_floor=False), 0, 0
    for index in range(8):
        frame = generate_frame("test", 5, index, people=2)
        proposals = finder(frame_depth(frame), frame.intrinsics)
        for k, person in enumerate(frame.people):
            if person.ignore:
                continue
            total += 1
            mask = frame.person_mask == k + 1
            if any((p.mask & mask).sum() >= 0.5 * mask.sum() for p in proposals):
                found += 1
    assert found >= 0.8 * total


def test_estimator_returns_one_skeleton_per_proposal(tmp_path):
    torch.manual_seed(0)
    path = weights.save(tmp_path / "tiny.pt", tiny_model())
    estimator = PoseEstimator(str(path), "onnxruntime", Thresholds(person=0.0))
    frame = generate_frame("test", 5, 0, people=2)
    depth = frame_depth(frame)
    skeletons = estimator(depth, frame.intrinsics)
    assert len(skeletons) == len(estimator.finder(depth, frame.intrinsics))
    for skeleton in skeletons:
        assert skeleton.uv.shape == (21, 2) and np.isfinite(skeleton.uv).all()
        untracked = skeleton.state == KeypointState.NOT_TRACKED
        assert np.isnan(skeleton.xyz[untracked]).all()
        assert np.isfinite(skeleton.xyz[~untracked]).all()
    single = PoseEstimator(str(path), "onnxruntime", Thresholds(person=0.0), max_people=1)
    assert len(single(depth, frame.intrinsics)) == min(1, len(skeletons))
    with pytest.raises(ValueError, match="depth is 10x10 but the camera is 512x424"):
        estimator(np.zeros((10, 10), np.float32), frame.intrinsics)


class ConstantBackend:
    """Heatmaps of one value everywhere (0: nobody, 1: a confident person); counts crops."""

    name = "constant"

    def __init__(self, value: float) -> None:
        self.value, self.crops = value, 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.crops += len(batch)
        height, width = batch.shape[2] // 8, batch.shape[3] // 8
        return np.full((len(batch), 21, height, width), self.value, np.float32)


def test_proposals_scored_as_nobody_are_rechecked_only_when_they_change_or_expire():
    frame = generate_frame("test", 5, 0, people=2)
    depth = frame_depth(frame)
    nobody = ConstantBackend(0.0)
    estimator = PoseEstimator(tiny_model(), nobody)
    assert estimator(depth, frame.intrinsics) == []
    proposals = nobody.crops
    assert proposals > 0
    for _ in range(15):  # a still scene: nothing is run again for the next 15 frames
        estimator(depth, frame.intrinsics)
    assert nobody.crops == proposals
    estimator(depth, frame.intrinsics)  # then everything is checked again
    assert nobody.crops == 2 * proposals
    moved = np.roll(depth, 40, axis=1)  # everything moved: checked at once
    estimator(moved, frame.intrinsics)
    assert nobody.crops == 3 * proposals
    estimator.reset()
    estimator(moved, frame.intrinsics)
    assert nobody.crops == 4 * proposals


def test_reported_people_are_estimated_every_frame():
    frame = generate_frame("test", 5, 0, people=2)
    depth = frame_depth(frame)
    somebody = ConstantBackend(1.0)
    estimator = PoseEstimator(tiny_model(), somebody)
    crops = []
    for _ in range(3):
        people = estimator(depth, frame.intrinsics)
        crops.append(somebody.crops)
    assert people and crops == [len(people), 2 * len(people), 3 * len(people)]
