"""Inference backends behind one interface: a batch of crops in, heatmaps out.

`auto` picks the fastest available: TensorRT > PyTorch CUDA > ONNX Runtime > PyTorch CPU.
"""

from __future__ import annotations

import io
import warnings
from typing import Protocol

import numpy as np
import torch

from depth_pose_ros.model.network import DepthPoseNet

BACKENDS = ("auto", "tensorrt", "torch-cuda", "onnxruntime", "torch")
ONNX_OPSET = 17


class Backend(Protocol):
    """Runs the network: (N, 1, H, W) float32 crops -> (N, K, H/8, W/8) float32 heatmaps."""

    name: str

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


class TorchBackend:
    """PyTorch on the CPU, or on CUDA with fp16, channels_last and CUDA graphs per batch size."""

    def __init__(self, model: DepthPoseNet, device: str = "cpu", half: bool = False) -> None:
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        self.half = half and self.cuda
        self.name = "torch-cuda" + ("-fp16" if self.half else "") if self.cuda else "torch"
        model = model.eval().to(self.device)
        if self.cuda:
            model = model.to(memory_format=torch.channels_last)
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


def export_onnx(model: DepthPoseNet, input_size: tuple[int, int] | None = None) -> bytes:
    """The network as ONNX with a dynamic batch (and image size) axis."""
    height, width = input_size or model.config.input_size
    example = torch.zeros(1, 1, height, width)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(
            model.eval().cpu(),
            (example,),
            buffer,
            input_names=["depth"],
            output_names=["heatmaps"],
            dynamic_axes={
                "depth": {0: "batch", 2: "height", 3: "width"},
                "heatmaps": {0: "batch", 2: "heatmap_height", 3: "heatmap_width"},
            },
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


class OnnxRuntimeBackend:
    """ONNX Runtime with the CUDA provider when present, else the CPU."""

    def __init__(self, onnx: bytes, threads: int | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        providers = [
            p
            for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
            if p in onnxruntime.get_available_providers()
        ]
        self.session = onnxruntime.InferenceSession(onnx, options, providers=providers)
        cuda = self.session.get_providers()[0] == "CUDAExecutionProvider"
        self.name = "onnxruntime-cuda" if cuda else "onnxruntime"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"depth": np.ascontiguousarray(batch, dtype=np.float32)})[0]


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


def create_backend(model: DepthPoseNet, name: str = "auto", precision: str = "fp16") -> Backend:
    """The backend called `name` (see BACKENDS) for this network."""
    if name not in BACKENDS:
        raise ValueError(f"backend {name!r} is not one of {', '.join(BACKENDS)}")
    if name == "auto":
        if tensorrt_available():
            name = "tensorrt"
        elif torch.cuda.is_available():
            name = "torch-cuda"
        else:
            name = "onnxruntime"
    if name == "tensorrt":
        if not tensorrt_available():
            raise ValueError(
                "backend tensorrt needs the tensorrt Python package and a CUDA GPU "
                "(pip install tensorrt on a machine with one); use onnxruntime or torch"
            )
        from depth_pose_ros.inference.tensorrt import TensorRTBackend

        return TensorRTBackend(export_onnx(model), model.config.input_size, precision)
    if name == "torch-cuda":
        if not torch.cuda.is_available():
            raise ValueError("backend torch-cuda needs a CUDA GPU, and PyTorch sees none")
        return TorchBackend(model, "cuda", half=precision == "fp16")
    if name == "onnxruntime":
        return OnnxRuntimeBackend(export_onnx(model))
    return TorchBackend(model, "cpu")
