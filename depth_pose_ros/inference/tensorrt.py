"""TensorRT: ONNX -> engine, cached on disk; for TensorRT 10.x and 11.x.

Precision lives in the ONNX model (`precision.py`: an fp16 model, or an int8 model with explicit
QDQ quantization), and the network is built strongly typed, so the build uses no precision flag
and no calibrator. That is the only way TensorRT 11 builds (it removed BuilderFlag.FP16 and
.INT8, every IInt8Calibrator, int8_calibrator and set_calibration_profile) and works the same on
TensorRT 10 (10.12 and later; STRONGLY_TYPED exists there, and 11 accepts it and ignores it).

The engine cache key holds the ONNX model's hash (which differs per precision), the TensorRT
version, the GPU's name and compute capability, the precision and the input shapes, so an
engine built elsewhere is never loaded by mistake. An engine that fails to load anyway (stale
or corrupt) is rebuilt with a warning; a timing cache per TensorRT version and GPU makes
rebuilds fast. Everything but `TensorRTBuilder` and `TensorRTBackend` works without TensorRT.

API calls used (each in TensorRT 10.x and 11.x): Logger, Builder, Builder.create_network,
NetworkDefinitionCreationFlag.STRONGLY_TYPED (ignored by 11), OnnxParser.parse,
create_builder_config, set_memory_pool_limit(MemoryPoolType.WORKSPACE), create_timing_cache,
set_timing_cache, create_optimization_profile, set_shape, add_optimization_profile,
build_serialized_network, get_timing_cache().serialize(), Runtime.deserialize_cuda_engine,
create_execution_context, set_input_shape, get_tensor_shape, set_tensor_address,
execute_async_v3.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from depth_pose_ros.core.cache import cache_directory
from depth_pose_ros.inference.precision import PRECISIONS

log = logging.getLogger(__name__)
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
        self, onnx: bytes, spec: EngineSpec, timing_cache: bytes | None
    ) -> tuple[bytes, bytes]:
        """(serialized engine, updated timing cache) of an ONNX model already in its precision."""
        ...

    def load(self, engine: bytes) -> Any:
        """A usable engine; raises if it cannot be deserialized here."""
        ...


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
        self, onnx: bytes, precision: str, input_size: tuple[int, int]
    ) -> tuple[Any, EngineSpec]:
        """A loaded engine for this model (ONNX already in `precision`): cached or built."""
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
        engine, new_timing = self.builder.build(onnx, spec, timing)
        _write_atomically(path, engine)
        _write_atomically(path.with_suffix(".json"), json.dumps(asdict(spec), indent=2).encode())
        _write_atomically(timing_path, new_timing)
        return self.builder.load(engine), spec


class TensorRTBuilder:
    """The real builder (needs `tensorrt` 10.12+ or 11.x and a CUDA GPU)."""

    def __init__(self, module: Any = None) -> None:
        """`module`: the tensorrt module (a stand-in for tests), imported when not given."""
        self.trt = trt = module if module is not None else importlib.import_module("tensorrt")
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.version = str(trt.__version__)

    def device(self) -> tuple[str, str]:
        import torch

        major, minor = torch.cuda.get_device_capability()
        return torch.cuda.get_device_name(), f"{major}.{minor}"

    def build(
        self, onnx: bytes, spec: EngineSpec, timing_cache: bytes | None
    ) -> tuple[bytes, bytes]:
        trt = self.trt
        builder = trt.Builder(self.logger)
        # Strongly typed: the ONNX model's own types decide the precision. 10.x needs the flag,
        # 11.x is always strongly typed (it accepts the flag and ignores it).
        strongly_typed = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
        flags = 1 << int(strongly_typed) if strongly_typed is not None else 0
        network = builder.create_network(flags)
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
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError("TensorRT failed to build the engine (see its log above)")
        return bytes(serialized), bytes(config.get_timing_cache().serialize())

    def load(self, engine: bytes) -> Any:
        runtime = self.trt.Runtime(self.logger)
        loaded = runtime.deserialize_cuda_engine(engine)
        if loaded is None:
            raise RuntimeError("TensorRT could not deserialize the engine")
        return loaded


class TensorRTBackend:
    """Runs a cached TensorRT engine on its own CUDA stream, on buffers PyTorch owns."""

    def __init__(
        self,
        onnx: bytes,
        input_size: tuple[int, int],
        precision: str = "fp16",
        cache: EngineCache | None = None,
    ) -> None:
        import torch

        self.torch = torch
        self.cache = cache or EngineCache(TensorRTBuilder())
        self.engine, self.spec = self.cache.get(onnx, precision, input_size)
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()
        self.name = f"tensorrt-{precision}"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        torch = self.torch
        outputs = []
        with torch.cuda.stream(self.stream):
            for start in range(0, len(batch), MAX_BATCH):
                chunk = torch.from_numpy(np.ascontiguousarray(batch[start : start + MAX_BATCH]))
                inputs = chunk.to("cuda", torch.float32, non_blocking=True)
                self.context.set_input_shape("depth", tuple(inputs.shape))
                shape = tuple(self.context.get_tensor_shape("heatmaps"))
                output = torch.empty(shape, dtype=torch.float32, device="cuda")
                self.context.set_tensor_address("depth", inputs.data_ptr())
                self.context.set_tensor_address("heatmaps", output.data_ptr())
                if not self.context.execute_async_v3(self.stream.cuda_stream):
                    raise RuntimeError("TensorRT inference failed")
                outputs.append(output.cpu())  # waits for the stream
        return torch.cat(outputs).numpy()
