"""The inference engine without ROS: backends, engine cache, 3D lifting, the estimator."""

import logging
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from depth_pose_ros.core.camera import KINECT_V2, CameraIntrinsics
from depth_pose_ros.core.skeleton import KeypointState, Skeleton
from depth_pose_ros.data.synthetic.generator import generate_v1_frame
from depth_pose_ros.inference import precision
from depth_pose_ros.inference import tensorrt as trt_cache
from depth_pose_ros.inference.backends import (
    OnnxRuntimeBackend,
    TorchBackend,
    create_backend,
    export_onnx,
    tensorrt_available,
)
from depth_pose_ros.inference.duplicates import (
    DEPTH_APART_M,
    keypoint_similarity,
    skeleton_depth,
    without_duplicates,
)
from depth_pose_ros.inference.estimator import (
    CENTRE_ONLY_MARGIN,
    MIN_CROP_EXTENT_M,
    TURNED_MARGIN,
    PoseEstimator,
    Thresholds,
)
from depth_pose_ros.inference.lifting import SURFACE_OFFSET, joint_depths, lift
from depth_pose_ros.inference.people import Proposal
from depth_pose_ros.model import weights
from depth_pose_ros.model.heatmaps import decode
from depth_pose_ros.model.network import CONFIGS, DepthPoseNet
from helpers import oracle_stage, tiny_model, tiny_people


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


def test_onnxruntime_agrees_with_pytorch_with_an_upsampling_head():
    torch.manual_seed(0)
    model = DepthPoseNet(CONFIGS["lite"].with_changes(upsample=1))
    for module in model.upsampling.modules():  # a trained head, not its identity start
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=0.05)
    model.eval()
    batch = np.random.default_rng(0).uniform(-1, 1, size=(2, 1, 128, 128)).astype(np.float32)
    expected = TorchBackend(model)(batch)
    actual = OnnxRuntimeBackend(export_onnx(model))(batch)
    assert actual.shape == expected.shape == (2, 21, 32, 32)
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


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_torch_cuda_agrees_with_the_cpu_in_fp32_and_fp16():
    model = tiny_model().eval()
    batch = np.random.default_rng(2).uniform(-1, 1, size=(3, 1, 64, 64)).astype(np.float32)
    expected = TorchBackend(model)(batch)
    np.testing.assert_allclose(TorchBackend(model, "cuda")(batch), expected, atol=1e-3)
    half = TorchBackend(model, "cuda", half=True)
    np.testing.assert_allclose(half(batch), expected, atol=2e-2 * max(1.0, np.abs(expected).max()))


# --- TensorRT engine cache (a fake builder stands in for TensorRT) ---------------------------


class FakeBuilder:
    def __init__(self, version="10.9.0", gpu=("NVIDIA H100", "9.0")):
        self.version = version
        self.gpu = gpu
        self.builds = []

    def device(self):
        return self.gpu

    def build(self, onnx, spec, timing_cache):
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


class Strict:
    """An object that has only the attributes it was given: touching anything else (an API
    TensorRT 11 removed) raises AttributeError, as the real module would."""

    def __init__(self, **attributes):
        self.__dict__.update(attributes)
        self.calls = []

    def __getattr__(self, name):
        raise AttributeError(f"the TensorRT 11 stand-in has no {name!r}")


def fake_tensorrt(strongly_typed_flag: bool = True):
    """A stand-in shaped like TensorRT 11.x's Python API (no weak typing, no calibrators)."""
    calls = []

    def recorder(name, result=None):
        def call(*args, **kwargs):
            calls.append((name, args, kwargs))
            return result

        return call

    profile = Strict(set_shape=recorder("set_shape"))
    timing = Strict(serialize=recorder("timing_serialize", b"timing"))
    config = Strict(
        set_memory_pool_limit=recorder("set_memory_pool_limit"),
        create_timing_cache=recorder("create_timing_cache", timing),
        set_timing_cache=recorder("set_timing_cache"),
        add_optimization_profile=recorder("add_optimization_profile"),
        get_timing_cache=recorder("get_timing_cache", timing),
    )
    network = Strict()
    builder = Strict(
        create_network=recorder("create_network", network),
        create_builder_config=recorder("create_builder_config", config),
        create_optimization_profile=recorder("create_optimization_profile", profile),
        build_serialized_network=recorder("build", b"serialized engine"),
    )
    parser = Strict(parse=recorder("parse", True), num_errors=0)
    flags = Strict(STRONGLY_TYPED=0) if strongly_typed_flag else Strict()
    module = Strict(
        __version__="11.4.0",
        Logger=type("Logger", (), {"WARNING": 2, "__init__": lambda self, level: None}),
        Builder=lambda logger: builder,
        OnnxParser=lambda net, logger: parser,
        NetworkDefinitionCreationFlag=flags,
        MemoryPoolType=Strict(WORKSPACE=0),
        BuilderFlag=Strict(TF32=7),  # FP16 and INT8 are gone
    )
    return module, calls


@pytest.mark.parametrize("strongly_typed_flag", [True, False])
def test_the_builder_uses_only_what_tensorrt_10_and_11_both_have(strongly_typed_flag):
    module, calls = fake_tensorrt(strongly_typed_flag)
    builder = trt_cache.TensorRTBuilder(module)
    spec = trt_cache.EngineSpec("hash", "11.4.0", "GPU", "9.0", "int8", ((1, 1, 8, 8),) * 3)
    engine, timing = builder.build(b"qdq model", spec, None)
    assert (engine, timing) == (b"serialized engine", b"timing")
    names = [name for name, _, _ in calls]
    assert names[0] == "create_network" and "build" in names
    flags = calls[0][1][0]
    assert flags == (1 if strongly_typed_flag else 0)  # strongly typed where the flag exists
    assert ("parse", (b"qdq model",), {}) in calls
    assert ("set_shape", ("depth", *spec.input_shapes), {}) in calls


def test_precision_models_are_made_once_and_keyed_by_what_made_them(tmp_path):
    model = tiny_model()
    onnx = export_onnx(model)
    models = precision.ModelCache(tmp_path)
    assert models.get(onnx, "fp32") is onnx
    half = models.get(onnx, "fp16")
    assert half != onnx and models.get(onnx, "fp16") == half
    with pytest.raises(precision.PrecisionError, match="needs a calibration set"):
        models.get(onnx, "int8")
    made = []

    def crops():
        made.append(1)
        rng = np.random.default_rng(0)
        for _ in range(3):
            yield rng.uniform(-1, 1, (8, 1, 64, 64)).astype(np.float32)

    calibration = precision.CalibrationSet("random crops", crops)
    quantized = models.get(onnx, "int8", calibration)
    assert models.get(onnx, "int8", calibration) == quantized and made == [1]  # cached
    other = precision.CalibrationSet("other crops", crops)
    assert models.key(onnx, "int8", other) != models.key(onnx, "int8", calibration)
    assert len(list(tmp_path.glob("*.onnx"))) == 2
    empty = precision.CalibrationSet("nothing", lambda: iter(()))
    with pytest.raises(precision.PrecisionError, match="got no crops"):
        models.get(onnx, "int8", empty)


def test_fp16_and_int8_models_agree_with_fp32(tmp_path):
    """fp16 (fp32 in and out) and int8 (QDQ) on ONNX Runtime, on crops of real frames: the
    heatmaps within 0.05 (fp16) and 0.15 (int8) of their range, and the decoded joints on the
    same heatmap cell for nearly all of them."""
    model, _ = weights.load("lite")
    frame = generate_v1_frame("test", 5, 3, people=2)
    estimator = estimator_for(frame, TorchBackend(model))
    estimator.config = model.config
    crops = estimator.crops(frame_depth(frame), frame.intrinsics)
    assert len(crops) == 2
    onnx = export_onnx(model)
    calibration = precision.CalibrationSet("frame crops", lambda: iter([crops, crops[::-1]]))
    models = precision.ModelCache(tmp_path)
    expected = OnnxRuntimeBackend(onnx)(crops)
    span = float(expected.max() - expected.min())
    for level, tolerance, same_cell in (("fp16", 0.05, 0.95), ("int8", 0.15, 0.85)):
        backend = OnnxRuntimeBackend(models.get(onnx, level, calibration), precision=level)
        assert backend.name == f"onnxruntime-{level}"
        actual = backend(crops)
        assert actual.dtype == np.float32 and actual.shape == expected.shape
        assert np.abs(actual - expected).max() <= tolerance * span
        cells = [
            decode(a)[0].round() == decode(e)[0].round()
            for a, e in zip(actual, expected, strict=True)
        ]
        assert np.mean(np.all(cells, axis=2)) >= same_cell
    # the heatmaps come out of a float convolution: its weights are not dequantized int8
    import onnx as onnx_format

    graph = onnx_format.load_from_string(models.get(onnx, "int8", calibration)).graph
    writers = [node for node in graph.node if "heatmaps" in node.output]
    initializers = {initializer.name for initializer in graph.initializer}
    assert [node.op_type for node in writers] == ["Conv"] and writers[0].input[1] in initializers
    assert any(node.op_type == "DequantizeLinear" for node in graph.node)


def test_auto_moves_past_a_backend_that_fails_with_one_warning(monkeypatch, caplog):
    from depth_pose_ros.inference import backends

    monkeypatch.setattr(backends, "available_backends", lambda: ["tensorrt", "onnxruntime"])
    real = backends._build

    def failing(model, name, *args):
        if name == "tensorrt":
            raise RuntimeError("engine build failed: out of memory")
        return real(model, name, *args)

    monkeypatch.setattr(backends, "_build", failing)
    with caplog.at_level(logging.WARNING):
        backend = create_backend(tiny_model(), "auto", "fp32")
    assert backend.name == "onnxruntime"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "tensorrt cannot run fp32 here" in warnings[0].getMessage()
    assert "out of memory" in warnings[0].getMessage()
    with pytest.raises(RuntimeError, match="out of memory"):
        create_backend(tiny_model(), "tensorrt", "fp32")  # asked for by name: no fallback


def test_every_precision_runs_on_a_cpu(tmp_path):
    rng = np.random.default_rng(1)
    calibration = precision.CalibrationSet(
        "random", lambda: iter([rng.uniform(-1, 1, (8, 1, 64, 64)).astype(np.float32)])
    )
    models = precision.ModelCache(tmp_path)
    names = {
        level: create_backend(tiny_model(), "auto", level, calibration, models=models).name
        for level in precision.PRECISIONS
    }
    if not torch.cuda.is_available():
        assert names == {"fp32": "onnxruntime", "fp16": "onnxruntime", "int8": "onnxruntime-int8"}
    with pytest.raises(ValueError, match="torch has no int8"):
        create_backend(tiny_model(), "torch", "int8", calibration, models=models)


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
    normalised = DISTORTED.normalised(pixels.reshape(-1, 2))
    np.testing.assert_allclose(normalised, points[:, :2] / points[:, 2:], atol=1e-5)
    plain = KINECT_V2.normalised(np.array([[256.0 + 365.0, 212.0]]))
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


# --- the estimator -----------------------------------------------------------------------------


def estimator_for(frame, pose_backend, **options) -> PoseEstimator:
    """An estimator with the tiny pose network on `pose_backend` and the frame's oracle stage."""
    return PoseEstimator(
        tiny_model(),
        pose_backend,
        people=tiny_people(),
        people_backend=oracle_stage(frame),
        **options,
    )


def test_estimator_returns_one_skeleton_per_person_found(tmp_path):
    path = weights.save(tmp_path / "tiny.pt", tiny_model())
    frame = generate_v1_frame("test", 5, 3, people=2)
    depth = frame_depth(frame)
    estimator = PoseEstimator(
        str(path),
        "onnxruntime",
        Thresholds(person=0.0),
        people=tiny_people(),
        people_backend=oracle_stage(frame),
    )
    skeletons = estimator(depth, frame.intrinsics)
    assert len(skeletons) == len(estimator.proposals(depth, frame.intrinsics)) == 2
    for skeleton in skeletons:
        assert skeleton.uv.shape == (21, 2) and np.isfinite(skeleton.uv).all()
        untracked = skeleton.state == KeypointState.NOT_TRACKED
        assert np.isnan(skeleton.xyz[untracked]).all()
        assert np.isfinite(skeleton.xyz[~untracked]).all()
    single = estimator_for(frame, OnnxRuntimeBackend(export_onnx(tiny_model())), max_people=1)
    single.thresholds = Thresholds(person=0.0)
    assert len(single(depth, frame.intrinsics)) == 1
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


def test_people_are_estimated_every_frame_and_low_scores_are_not_reported():
    frame = generate_v1_frame("test", 5, 3, people=2)
    depth = frame_depth(frame)
    somebody = ConstantBackend(1.0)
    estimator = estimator_for(frame, somebody)
    for calls in (1, 2, 3):
        people = estimator(depth, frame.intrinsics)
        assert len(people) == 2 and somebody.crops == 2 * calls
    nobody = estimator_for(frame, ConstantBackend(0.1))
    assert nobody(depth, frame.intrinsics) == []
    nobody.thresholds = Thresholds(person=0.05)  # takes effect from the next frame
    assert len(nobody(depth, frame.intrinsics)) == 2


class MirrorAwareBackend:
    """A stand-in network that sees mirrors as a real one should: it finds the middle of the
    crop's nearby pixels and puts each joint a fixed step from it, left joints to its right
    (image columns) and right joints to its left. Keeps every batch it is given."""

    name = "mirror-aware"

    def __init__(self, stride: int) -> None:
        from depth_pose_ros.core.schema import FLIP_PERMUTATION, JOINT_NAMES

        self.stride, self.batches = stride, []
        sides = [1.0 if "Left" in n else -1.0 if "Right" in n else 0.0 for n in JOINT_NAMES]
        pair = np.minimum(np.arange(21), FLIP_PERMUTATION)  # a joint and its mirror: one row
        self.steps = np.column_stack([np.array(sides) * 2.0, pair % 5 - 2.0])

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        from depth_pose_ros.model.heatmaps import heatmap_to_input, input_to_heatmap, targets

        self.batches.append(batch.copy())
        height, width = batch.shape[2] // self.stride, batch.shape[3] // self.stride
        out = []
        for crop in batch[:, 0]:
            rows, columns = np.nonzero(np.abs(crop) < 0.5)
            middle = input_to_heatmap(np.array([columns.mean(), rows.mean()]), self.stride)
            joints = heatmap_to_input(middle + self.steps, self.stride)
            maps, _ = targets(joints, np.ones(21, bool), (height, width), self.stride, 8.0)
            out.append(maps)
        return np.stack(out)


def test_flip_testing_runs_every_crop_mirrored_too_and_agrees_with_a_mirror_aware_network():
    frame = generate_v1_frame("test", 5, 3, people=2)
    depth = frame_depth(frame)
    plain_backend = MirrorAwareBackend(tiny_model().config.stride)
    plain = estimator_for(frame, plain_backend, thresholds=Thresholds(person=0.0))(
        depth, frame.intrinsics
    )
    backend = MirrorAwareBackend(tiny_model().config.stride)
    estimator = estimator_for(frame, backend, thresholds=Thresholds(person=0.0), flip_test=True)
    flipped = estimator(depth, frame.intrinsics)
    (batch,) = backend.batches
    assert len(batch) == 4  # two people, each plain and mirrored, in one call
    np.testing.assert_array_equal(batch[2:], batch[:2, ..., ::-1])
    assert len(flipped) == len(plain) == 2
    by_place = lambda skeletons: sorted(skeletons, key=lambda s: float(s.uv[0, 0]))  # noqa: E731
    for a, b in zip(by_place(flipped), by_place(plain), strict=True):
        np.testing.assert_allclose(a.uv, b.uv, atol=0.05)
    estimator.flip_test = False  # takes effect from the next frame
    estimator(depth, frame.intrinsics)
    assert len(backend.batches[-1]) == 2


def test_crops_are_the_batch_the_network_gets():
    frame = generate_v1_frame("test", 5, 3, people=2)
    estimator = estimator_for(frame, ConstantBackend(1.0))
    batch = estimator.crops(frame_depth(frame), frame.intrinsics)
    assert batch.shape == (2, 1, *estimator.config.input_size) and batch.dtype == np.float32


def test_a_crop_spans_at_least_a_metre_at_the_persons_depth():
    """A proposal holding only part of a far person (a few cells of thin limbs) still gets a crop
    as wide as a metre there, about its centre; a proposal larger than that keeps its own."""
    frame = generate_v1_frame("test", 5, 3, people=1)
    estimator = estimator_for(frame, ConstantBackend(1.0))
    margin = estimator.config.box_margin
    part = np.zeros((424, 512), bool)
    part[100:120, 300:310] = True  # 10 x 20 pixels at 4 m: 0.11 x 0.22 m
    region = estimator._region(Proposal(part, (300, 100, 309, 119), 4.0, 0.9), KINECT_V2)
    assert region.box.size == pytest.approx(margin * KINECT_V2.fx * MIN_CROP_EXTENT_M / 4.0)
    assert (region.box.cx, region.box.cy) == (304.5, 109.5)
    whole = np.zeros((424, 512), bool)
    whole[50:350, 200:300] = True  # 300 pixels tall at 2 m: 1.6 m
    region = estimator._region(Proposal(whole, (200, 50, 299, 349), 2.0, 0.9), KINECT_V2)
    assert region.box.size == pytest.approx(margin * 299)


# --- duplicate skeletons -------------------------------------------------------------------


def skeleton_at(offset: tuple[float, float], score: float) -> Skeleton:
    """A standing figure's 21 joints (about 60 x 170 px) moved by `offset` pixels."""
    rng = np.random.default_rng(0)
    uv = np.column_stack([rng.uniform(100, 160, 21), rng.uniform(50, 220, 21)]) + offset
    return Skeleton(uv=uv, confidence=np.full(21, score), score=score)


def test_keypoint_similarity_is_one_for_the_same_skeleton_and_falls_with_distance():
    here = skeleton_at((0, 0), 0.9)
    assert keypoint_similarity(here, skeleton_at((0, 0), 0.5)) == pytest.approx(1.0)
    near, far = skeleton_at((3, 2), 0.5), skeleton_at((80, 0), 0.5)
    assert 0.9 < keypoint_similarity(here, near) < 1.0
    assert keypoint_similarity(here, far) < 0.01
    hidden = skeleton_at((3, 2), 0.5)
    hidden.uv[:10] = np.nan  # joints one of them lacks do not count
    assert keypoint_similarity(here, hidden) > 0.9


def test_of_two_alike_skeletons_the_more_confident_stays():
    first, copy, other = (
        skeleton_at((0, 0), 0.6),
        skeleton_at((2, 1), 0.8),
        skeleton_at((90, 0), 0.4),
    )
    kept = without_duplicates([first, other, copy], threshold=0.4)
    assert kept == [copy, other]
    assert len(without_duplicates([first, other, copy], threshold=1.0)) == 3


def test_alike_skeletons_far_apart_in_depth_are_a_person_and_someone_behind():
    def at_depth(offset: tuple[float, float], score: float, metres: float) -> Skeleton:
        skeleton = skeleton_at(offset, score)
        skeleton.xyz = np.tile([0.0, 0.0, metres], (21, 1)).astype(np.float32)
        skeleton.xyz[:5] = np.nan  # joints without depth do not count
        return skeleton

    front = at_depth((0, 0), 0.8, 2.0)
    behind = at_depth((3, 1), 0.5, 2.0 + DEPTH_APART_M + 0.2)
    same_body = at_depth((3, 1), 0.5, 2.0 + DEPTH_APART_M - 0.2)
    assert without_duplicates([behind, front], threshold=0.4) == [front, behind]
    assert without_duplicates([same_body, front], threshold=0.4) == [front]
    unknown = skeleton_at((3, 1), 0.5)  # no depth at all: judged by the image alone
    assert np.isnan(skeleton_depth(unknown))
    assert without_duplicates([unknown, front], threshold=0.4) == [front]


def test_the_estimator_reports_a_person_the_stage_found_twice_once(monkeypatch):
    frame = generate_v1_frame("test", 5, 3, people=1)
    depth = frame_depth(frame)
    estimator = estimator_for(frame, ConstantBackend(1.0))
    found = estimator.finder.find
    monkeypatch.setattr(estimator.finder, "find", lambda depth, fx=None: 2 * found(depth, fx))
    assert len(estimator.proposals(depth, frame.intrinsics)) == 2
    assert len(estimator(depth, frame.intrinsics)) == 1
    estimator.thresholds = Thresholds(duplicate=1.0)  # off
    assert len(estimator(depth, frame.intrinsics)) == 2


@pytest.mark.parametrize("confidence", [0.35, 0.45])
def test_a_person_the_stage_saw_only_as_a_centre_needs_a_surer_skeleton(monkeypatch, confidence):
    frame = generate_v1_frame("test", 5, 3, people=1)
    depth = frame_depth(frame)
    estimator = estimator_for(frame, ConstantBackend(confidence))
    assert len(estimator(depth, frame.intrinsics)) == 1  # found with cells of their own: 0.3
    found = estimator.finder.find
    centre_only = lambda depth, fx=None: [replace(p, claimed=False) for p in found(depth, fx)]  # noqa: E731
    monkeypatch.setattr(estimator.finder, "find", centre_only)
    reported = estimator(depth, frame.intrinsics)
    assert len(reported) == (confidence >= 0.3 + CENTRE_ONLY_MARGIN)
    assert all(s.score == pytest.approx(confidence) for s in reported)


# --- people lying down: turned views ------------------------------------------------------


class PerViewBackend:
    """Heatmaps with one Gaussian peak, off the crop's centre, valued per crop of a region's
    views in turn (upright, turned +90, turned -90); records each batch's size."""

    name = "per-view"

    def __init__(self, *values: float) -> None:
        self.values, self.batches = values, []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.batches.append(len(batch))
        height, width = batch.shape[2] // 8, batch.shape[3] // 8
        rows, columns = np.mgrid[:height, :width]
        peak = np.exp(-((columns - width // 2) ** 2 + rows**2) / 2.0)  # top row, middle
        values = [self.values[i % len(self.values)] for i in range(len(batch))]
        return np.stack([np.broadcast_to(v * peak, (21, height, width)) for v in values])


def lying_estimator(monkeypatch, backend, rows: slice, columns: slice):
    """An estimator whose person stage proposes one person covering `rows` x `columns`."""
    frame = generate_v1_frame("test", 5, 3, people=1)
    estimator = estimator_for(frame, backend)
    mask = np.zeros((424, 512), bool)
    mask[rows, columns] = True
    box = (columns.start, rows.start, columns.stop - 1, rows.stop - 1)
    proposal = Proposal(mask, box, 3.0, 0.9)
    monkeypatch.setattr(estimator.finder, "find", lambda depth, fx=None: [proposal])
    depth = np.full((424, 512), 3.0, np.float32)
    return estimator, depth, estimator._region(proposal, frame.intrinsics)


BAR = Thresholds().person + TURNED_MARGIN  # what a turned view must score


@pytest.mark.parametrize(
    ("views", "reported"),
    [
        ((0.35, BAR + 0.05, BAR), BAR + 0.05),  # the best turned view beats the upright one
        ((0.35, BAR - 0.02, 0.3), 0.35),  # beats it, but under the person threshold + margin
        ((0.2, BAR - 0.02, 0.3), None),  # nothing passes
    ],
)
def test_a_person_wider_than_tall_is_also_seen_turned_a_quarter(monkeypatch, views, reported):
    backend = PerViewBackend(*views)
    wide = (slice(200, 240), slice(150, 330))
    estimator, depth, region = lying_estimator(monkeypatch, backend, *wide)
    skeletons = estimator(depth, KINECT_V2)
    assert backend.batches == [3]  # upright, +90 and -90 in one batch
    assert [s.score for s in skeletons] == ([] if reported is None else [pytest.approx(reported)])
    if skeletons:
        # The peak lies about straight above the crop's centre; a turned view puts it beside it.
        offset = skeletons[0].uv[0] - (region.box.cx, region.box.cy)
        turned = reported != views[0]
        across, along = (0, 1) if turned else (1, 0)
        assert abs(offset[across]) > 3 * abs(offset[along])


def test_a_person_taller_than_wide_is_seen_upright_only(monkeypatch):
    backend = PerViewBackend(0.6)
    estimator, depth, _ = lying_estimator(monkeypatch, backend, slice(100, 330), slice(200, 260))
    assert len(estimator(depth, KINECT_V2)) == 1 and backend.batches == [1]
    assert len(estimator.crops(depth, KINECT_V2)) == 1


# --- people the stage found only part of: a second look ----------------------------------


class TopSeekingBackend:
    """A stand-in network that spreads the joints down the crop's nearby pixels from their top
    row to a little above their bottom one, at `cut` confidence when they reach the crop's top
    row (the person goes on above it) and `whole` otherwise. Keeps every batch it is given."""

    name = "top-seeking"

    def __init__(self, cut: float, whole: float) -> None:
        self.cut, self.whole, self.batches = cut, whole, []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        from depth_pose_ros.model.heatmaps import targets

        self.batches.append(batch.copy())
        height, width = batch.shape[2] // 8, batch.shape[3] // 8
        out = []
        for crop in batch[:, 0]:
            rows, columns = np.nonzero(np.abs(crop) < 0.5)
            spread = np.linspace(rows.min(), rows.max() - 0.05 * len(crop), 21)  # ankles: above
            joints = np.column_stack([np.full(21, columns.mean()), spread])
            maps, _ = targets(joints, np.ones(21, bool), (height, width), 8, 8.0)
            out.append(maps * (self.cut if rows.min() == 0 else self.whole))
        return np.stack(out)


def half_found_estimator(monkeypatch, backend, top: int = 175, **options):
    """A person standing in rows `top`-329 whose proposal holds only rows 200-329: the crop
    around it (rows 184-345) cuts their top off."""
    frame = generate_v1_frame("test", 5, 3, people=1)
    estimator = estimator_for(frame, backend, **options)
    depth = np.full((424, 512), 8.0, np.float32)
    depth[top:330, 230:262] = 3.0
    mask = np.zeros((424, 512), bool)
    mask[200:330, 230:262] = True
    proposal = Proposal(mask, (230, 200, 261, 329), 3.0, 0.9)
    monkeypatch.setattr(estimator.finder, "find", lambda depth, fx=None: [proposal])
    return estimator, depth


@pytest.mark.parametrize(
    ("top", "cut", "whole", "replaced"),
    [
        (175, 0.5, 0.8, True),  # the second view is surer and alike: it stays
        (175, 0.7, 0.5, False),  # less sure
        (150, 0.5, 0.8, False),  # surer, but too unlike the first (OKS 0.2) to be the same
    ],
)
def test_a_skeleton_cut_off_at_its_crops_edge_is_looked_at_again_past_that_edge(
    monkeypatch, top, cut, whole, replaced
):
    plain, depth = half_found_estimator(monkeypatch, TopSeekingBackend(cut, whole), top)
    (first_look,) = plain(depth, KINECT_V2)
    backend = TopSeekingBackend(cut, whole)
    estimator, depth = half_found_estimator(monkeypatch, backend, top, second_look=True)
    (skeleton,) = estimator(depth, KINECT_V2)
    first, second = backend.batches  # the crop that cut them off, then one reaching higher
    assert (np.abs(first[0, 0, 0]) < 0.5).any() and len(second) == 1
    highest, first_highest = skeleton.uv[:, 1].min(), first_look.uv[:, 1].min()
    if replaced:  # the second view saw their top
        assert skeleton.score > first_look.score and highest < first_highest - 10
    else:
        assert skeleton.score == first_look.score and highest == first_highest


def test_without_a_second_look_or_with_the_person_whole_the_network_runs_once(monkeypatch):
    backend = TopSeekingBackend(0.5, 0.8)
    estimator, depth = half_found_estimator(monkeypatch, backend)
    (cut_off,) = estimator(depth, KINECT_V2)
    assert len(backend.batches) == 1
    estimator.second_look = True  # takes effect from the next frame
    depth[:215] = 8.0  # now the crop holds all of them, their top well inside it
    (whole,) = estimator(depth, KINECT_V2)
    assert len(backend.batches) == 2 and whole.score > cut_off.score
