"""TensorRT: ONNX -> engine (FP16 by default, INT8 with a calibration cache), cached on disk.

The engine cache key holds the ONNX model's hash, the TensorRT version, the GPU's name and
compute capability, the precision and the input shapes, so an engine built elsewhere is never
loaded by mistake. An engine that fails to load anyway (stale or corrupt) is rebuilt with a
warning; a timing cache per TensorRT version and GPU makes rebuilds fast.

Written against the TensorRT 10 Python API; everything but `TensorRTBuilder` and
`TensorRTBackend` (the cache, keys, invalidation, fallbacks) works without TensorRT.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from depth_pose_ros.core.cache import cache_directory

log = logging.getLogger(__name__)
PRECISIONS = ("fp32", "fp16", "int8")
MAX_BATCH = 8  # people per frame the engine is built for


@dataclass(frozen=True)
class EngineSpec:
    """Everything an engine depends on."""

    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    input_shapes: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]  # min, opt, max

    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


class EngineBuilder(Protocol):
    """What the cache needs from TensorRT (a fake one stands in for tests)."""

    version: str

    def device(self) -> tuple[str, str]:
        """(GPU name, compute capability)."""
        ...

    def build(
        self,
        onnx: bytes,
        spec: EngineSpec,
        timing_cache: bytes | None,
        calibration: Calibration | None,
    ) -> tuple[bytes, bytes]:
        """(serialized engine, updated timing cache)."""
        ...

    def load(self, engine: bytes) -> object:
        """A usable engine; raises if it cannot be deserialized here."""
        ...


@dataclass
class Calibration:
    """INT8 calibration: batches of real crops, and where the calibration cache lives."""

    batches: Iterable[np.ndarray]
    cache_path: Path


def default_cache_directory() -> Path:
    return cache_directory() / "engines"


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(path)


class EngineCache:
    """Engines on disk, keyed by EngineSpec, rebuilt whenever they cannot be used."""

    def __init__(self, builder: EngineBuilder, directory: Path | None = None) -> None:
        self.builder = builder
        self.directory = directory or default_cache_directory()

    def spec(self, onnx: bytes, precision: str, input_size: tuple[int, int]) -> EngineSpec:
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        gpu, capability = self.builder.device()
        height, width = input_size
        return EngineSpec(
            onnx_sha256=hashlib.sha256(onnx).hexdigest(),
            tensorrt_version=self.builder.version,
            gpu_name=gpu,
            compute_capability=capability,
            precision=precision,
            input_shapes=(
                (1, 1, height, width),
                (2, 1, height, width),
                (MAX_BATCH, 1, height, width),
            ),
        )

    def _timing_cache_path(self, spec: EngineSpec) -> Path:
        name = f"{spec.tensorrt_version}-{spec.gpu_name}-{spec.compute_capability}"
        safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in name)
        return self.directory / f"timing-{safe}.cache"

    def engine_path(self, spec: EngineSpec) -> Path:
        return self.directory / f"{spec.key()}.engine"

    def get(
        self,
        onnx: bytes,
        precision: str,
        input_size: tuple[int, int],
        calibration: Calibration | None = None,
    ) -> tuple[object, EngineSpec]:
        """A loaded engine for this model and precision: from the cache or freshly built."""
        if precision == "int8" and calibration is None:
            raise ValueError("an INT8 engine needs calibration frames")
        spec = self.spec(onnx, precision, input_size)
        path = self.engine_path(spec)
        if path.is_file():
            try:
                return self.builder.load(path.read_bytes()), spec
            except Exception as error:  # any failure to load means: rebuild
                log.warning("engine %s cannot be used (%s); rebuilding it", path, error)
                path.unlink(missing_ok=True)
        self.directory.mkdir(parents=True, exist_ok=True)
        timing_path = self._timing_cache_path(spec)
        timing = timing_path.read_bytes() if timing_path.is_file() else None
        log.info("building a %s TensorRT engine (this takes a while the first time)", precision)
        engine, new_timing = self.builder.build(onnx, spec, timing, calibration)
        _write_atomically(path, engine)
        _write_atomically(path.with_suffix(".json"), json.dumps(asdict(spec), indent=2).encode())
        _write_atomically(timing_path, new_timing)
        return self.builder.load(engine), spec


class TensorRTBuilder:
    """The real builder (TensorRT 10 Python API; needs `tensorrt` and a CUDA GPU)."""

    def __init__(self) -> None:
        import tensorrt as trt

        self.trt = trt
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.version = trt.__version__

    def device(self) -> tuple[str, str]:
        import torch

        major, minor = torch.cuda.get_device_capability()
        return torch.cuda.get_device_name(), f"{major}.{minor}"

    def build(
        self,
        onnx: bytes,
        spec: EngineSpec,
        timing_cache: bytes | None,
        calibration: Calibration | None,
    ) -> tuple[bytes, bytes]:
        trt = self.trt
        builder = trt.Builder(self.logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(onnx):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT cannot parse the ONNX model: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
        cache = config.create_timing_cache(timing_cache or b"")
        config.set_timing_cache(cache, ignore_mismatch=False)
        profile = builder.create_optimization_profile()
        profile.set_shape("depth", *spec.input_shapes)
        config.add_optimization_profile(profile)
        if spec.precision in ("fp16", "int8"):
            config.set_flag(trt.BuilderFlag.FP16)
        if spec.precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)
            config.set_calibration_profile(profile)
            config.int8_calibrator = _entropy_calibrator(trt, calibration)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError("TensorRT failed to build the engine (see its log above)")
        return bytes(serialized), bytes(config.get_timing_cache().serialize())

    def load(self, engine: bytes) -> object:
        runtime = self.trt.Runtime(self.logger)
        loaded = runtime.deserialize_cuda_engine(engine)
        if loaded is None:
            raise RuntimeError("TensorRT could not deserialize the engine")
        return loaded


def _entropy_calibrator(trt: object, calibration: Calibration) -> object:
    """An IInt8EntropyCalibrator2 feeding crop batches and keeping the calibration cache."""
    import torch

    class Calibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.batches = iter(calibration.batches)
            self.current: torch.Tensor | None = None

        def get_batch_size(self) -> int:
            return MAX_BATCH

        def get_batch(self, names: list[str]) -> list[int] | None:
            batch = next(self.batches, None)
            if batch is None:
                return None
            self.current = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).cuda()
            return [int(self.current.data_ptr())]

        def read_calibration_cache(self) -> bytes | None:
            path = calibration.cache_path
            return path.read_bytes() if path.is_file() else None

        def write_calibration_cache(self, cache: bytes) -> None:
            calibration.cache_path.parent.mkdir(parents=True, exist_ok=True)
            calibration.cache_path.write_bytes(bytes(cache))

    return Calibrator()


class TensorRTBackend:
    """Runs a cached TensorRT engine on CUDA buffers owned by PyTorch."""

    def __init__(
        self,
        onnx: bytes,
        input_size: tuple[int, int],
        precision: str = "fp16",
        calibration: Calibration | None = None,
        cache: EngineCache | None = None,
    ) -> None:
        import torch

        self.torch = torch
        self.cache = cache or EngineCache(TensorRTBuilder())
        self.engine, self.spec = self.cache.get(onnx, precision, input_size, calibration)
        self.context = self.engine.create_execution_context()
        self.name = f"tensorrt-{precision}"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        torch = self.torch
        outputs = []
        for start in range(0, len(batch), MAX_BATCH):
            chunk = torch.from_numpy(np.ascontiguousarray(batch[start : start + MAX_BATCH]))
            inputs = chunk.to("cuda", torch.float32)
            self.context.set_input_shape("depth", tuple(inputs.shape))
            shape = tuple(self.context.get_tensor_shape("heatmaps"))
            output = torch.empty(shape, dtype=torch.float32, device="cuda")
            self.context.set_tensor_address("depth", inputs.data_ptr())
            self.context.set_tensor_address("heatmaps", output.data_ptr())
            stream = torch.cuda.current_stream()
            if not self.context.execute_async_v3(stream.cuda_stream):
                raise RuntimeError("TensorRT inference failed")
            stream.synchronize()
            outputs.append(output.cpu().numpy())
        return np.concatenate(outputs)
