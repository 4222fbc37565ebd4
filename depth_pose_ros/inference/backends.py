"""Inference backends behind one interface: a batch of crops in, heatmaps out.

`auto` tries the fastest first: TensorRT > PyTorch CUDA > ONNX Runtime > PyTorch CPU. A backend
that cannot run here (not installed, no GPU, a precision it does not have, a failed build or
load) is skipped with one warning naming the reason, and the next one is tried, so `auto`
always ends on a backend that runs. Precisions (`precision.py`): fp32 everywhere; fp16 on
TensorRT, PyTorch CUDA and ONNX Runtime's CUDA provider (a CPU runs fp16 as fp32); int8 on
TensorRT and ONNX Runtime, CPU included (the QDQ model).
"""

from __future__ import annotations

import io
import logging
import warnings
from typing import Protocol

import numpy as np
import torch

from depth_pose_ros.inference.precision import PRECISIONS, CalibrationSet, ModelCache
from depth_pose_ros.model.network import DepthPoseNet
from depth_pose_ros.model.people import PeopleNet

log = logging.getLogger(__name__)

BACKENDS = ("auto", "tensorrt", "torch-cuda", "onnxruntime", "torch")
ONNX_OPSET = 17


class Backend(Protocol):
    """Runs a network on a float32 batch: pose crops (N, 1, H, W) -> heatmaps, or person-stage
    frames (N, 2, H, W) -> its maps."""

    name: str

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


class TorchBackend:
    """PyTorch on the CPU, or on CUDA with fp16, channels_last and CUDA graphs per batch size."""

    def __init__(
        self, model: DepthPoseNet | PeopleNet, device: str = "cpu", half: bool = False
    ) -> None:
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        self.half = half and self.cuda
        self.name = "torch-cuda" + ("-fp16" if self.half else "") if self.cuda else "torch"
        model = model.eval().to(self.device)
        if self.cuda:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.model = model.half() if self.half else model
        self.graphs: dict[tuple[int, ...], tuple] = {}

    @torch.inference_mode()
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        inputs = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        if self.half:
            inputs = inputs.half()
        if not self.cuda:
            return self.model(inputs).numpy()
        inputs = inputs.contiguous(memory_format=torch.channels_last)
        return self._graph(inputs).float().cpu().numpy()

    def _graph(self, inputs: torch.Tensor) -> torch.Tensor:
        """Replays a CUDA graph captured for this input shape (captured on first use)."""
        shape = tuple(inputs.shape)
        if shape not in self.graphs:
            static = inputs.clone()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):  # warm up kernels outside the graph
                    self.model(static)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                output = self.model(static)
            self.graphs[shape] = (graph, static, output)
        graph, static, output = self.graphs[shape]
        static.copy_(inputs)
        graph.replay()
        return output


def export_onnx(model: DepthPoseNet | PeopleNet) -> bytes:
    """The network as ONNX with dynamic batch and image size axes: the pose network takes
    "depth" (N, 1, H, W) and gives "heatmaps"; the person stage takes "depth" (N, 2, H, W),
    depth and validity, and gives "people"."""
    if isinstance(model, PeopleNet):
        example, output = torch.zeros(1, 2, 64, 64), "people"
    else:
        example, output = torch.zeros(1, 1, *model.config.input_size), "heatmaps"
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(
            model.eval().cpu(),
            (example,),
            buffer,  # type: ignore[arg-type]  # a file-like object is accepted
            input_names=["depth"],
            output_names=[output],
            dynamic_axes={
                "depth": {0: "batch", 2: "height", 3: "width"},
                output: {0: "batch", 2: "out_height", 3: "out_width"},
            },
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


class OnnxRuntimeBackend:
    """ONNX Runtime with the CUDA provider when present, else the CPU; its threads do not spin
    while they wait (spinning costs a core for nothing between frames)."""

    def __init__(self, onnx: bytes, threads: int = 0, precision: str = "fp32") -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads  # 0: ONNX Runtime's choice (one per core)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        providers = [
            p
            for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
            if p in onnxruntime.get_available_providers()
        ]
        self.session = onnxruntime.InferenceSession(onnx, options, providers=providers)
        cuda = self.session.get_providers()[0] == "CUDAExecutionProvider"
        suffix = "" if precision == "fp32" else f"-{precision}"
        self.name = ("onnxruntime-cuda" if cuda else "onnxruntime") + suffix

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        inputs = {"depth": np.ascontiguousarray(batch, dtype=np.float32)}
        return np.asarray(self.session.run(None, inputs)[0])


def frame_backend_name(pose_backend: str) -> str:
    """The backend for the person stage beside a pose backend of this name: the same kind,
    without TensorRT (its frames change size with the camera; the stage is small)."""
    if pose_backend.startswith("tensorrt") or pose_backend.startswith("torch-cuda"):
        return "torch-cuda" if torch.cuda.is_available() else "onnxruntime"
    return "torch" if pose_backend == "torch" else "onnxruntime"


def tensorrt_available() -> bool:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


def available_backends() -> list[str]:
    """The backends this machine can run, fastest first."""
    names = ["tensorrt"] if tensorrt_available() else []
    if torch.cuda.is_available():
        names.append("torch-cuda")
    return [*names, "onnxruntime", "torch"]


def _onnxruntime_has_cuda() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def _build(
    model: DepthPoseNet | PeopleNet,
    name: str,
    precision: str,
    calibration: CalibrationSet | None,
    threads: int,
    models: ModelCache,
) -> Backend:
    """The backend `name` in `precision`; ValueError saying why when it cannot be."""
    if name == "tensorrt":
        if not tensorrt_available():
            raise ValueError(
                "backend tensorrt needs the tensorrt Python package and a CUDA GPU "
                "(pip install 'depth-pose-ros[tensorrt]' on a machine with one)"
            )
        if not isinstance(model, DepthPoseNet):
            raise ValueError("the TensorRT backend runs the pose network only")
        from depth_pose_ros.inference.tensorrt import TensorRTBackend

        onnx = models.get(export_onnx(model), precision, calibration)
        return TensorRTBackend(onnx, model.config.input_size, precision)
    if name == "torch-cuda":
        if not torch.cuda.is_available():
            raise ValueError("backend torch-cuda needs a CUDA GPU, and PyTorch sees none")
        if precision == "int8":
            raise ValueError("backend torch-cuda has no int8 (TensorRT and ONNX Runtime do)")
        return TorchBackend(model, "cuda", half=precision == "fp16")
    if name == "onnxruntime":
        if precision == "fp16" and not _onnxruntime_has_cuda():
            precision = "fp32"  # fp16 is a GPU precision: on a CPU it would only be slower
        onnx = models.get(export_onnx(model), precision, calibration)
        return OnnxRuntimeBackend(onnx, threads, precision)
    if precision == "int8":
        raise ValueError("backend torch has no int8 (ONNX Runtime runs it on the CPU)")
    return TorchBackend(model, "cpu")


def create_backend(
    model: DepthPoseNet | PeopleNet,
    name: str = "auto",
    precision: str = "fp16",
    calibration: CalibrationSet | None = None,
    threads: int = 0,
    models: ModelCache | None = None,
) -> Backend:
    """The backend called `name` (see BACKENDS) for this network, in `precision`. A named
    backend that cannot run raises ValueError; `auto` warns once and tries the next one."""
    if name not in BACKENDS:
        raise ValueError(f"backend {name!r} is not one of {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    models = models or ModelCache()
    if name != "auto":
        return _build(model, name, precision, calibration, threads, models)
    candidates = available_backends()
    for candidate, following in zip(candidates, [*candidates[1:], None], strict=True):
        try:
            return _build(model, candidate, precision, calibration, threads, models)
        except Exception as error:  # whatever stops one backend, the next may run
            if following is None:
                raise
            log.warning(
                "backend %s cannot run %s here (%s); trying %s",
                candidate,
                precision,
                f"{type(error).__name__}: {error}",
                following,
            )
    raise AssertionError("unreachable: the last backend either returns or raises")
