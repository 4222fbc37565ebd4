"""Precision lives in the model file: fp16 and int8 ONNX models made from the fp32 export.

- fp16: weights and arithmetic in half precision, inputs and outputs still float32 (ONNX
  Runtime's float16 converter with `keep_io_types`).
- int8: explicit quantization: QuantizeLinear/DequantizeLinear (QDQ) nodes written by ONNX
  Runtime's static quantizer, calibrated on real-looking crops (the estimator's own crops of a
  data set); the convolutions that write the outputs stay in float. ONNX Runtime's CPU
  provider runs it, and it is what TensorRT builds an int8 engine from (TensorRT 11 has no
  implicit int8 calibration any more).

Made models are cached on disk (`cache_directory()/models`) under a key of the fp32 model's
hash, the precision, the calibration set's name, the quantizer's version and the recipe, written
atomically.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depth_pose_ros.core.cache import cache_directory

log = logging.getLogger(__name__)
PRECISIONS = ("fp32", "fp16", "int8")
CALIBRATION_BATCH = 8
# How int8 models are made; part of the cache key.
RECIPE = "3: pre-processed, QDQ, symmetric, per channel, MinMax, output convolutions in float"


@dataclass(frozen=True)
class CalibrationSet:
    """Crops to calibrate int8 on: a name that identifies them (part of the cache key) and a
    way to make them, called only when no cached int8 model fits."""

    name: str
    batches: Callable[[], Iterator[np.ndarray]]  # (N, 1, H, W) float32 crops


class PrecisionError(ValueError):
    """A precision that cannot be made or run as asked."""


def fp16_model(onnx: bytes) -> bytes:
    """The model with float16 weights and arithmetic and float32 inputs and outputs."""
    import onnx as onnx_format
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx_format.load_from_string(onnx)
    converted = convert_float_to_float16(model, keep_io_types=True)
    return bytes(converted.SerializeToString())


def int8_model(onnx: bytes, batches: Iterator[np.ndarray]) -> bytes:
    """The model with explicit int8 quantization (QDQ), calibrated on `batches` of crops:
    symmetric int8 activations and per-channel int8 weights, as TensorRT wants them."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    remaining = iter(batches)
    first = next(remaining, None)
    if first is None:
        raise PrecisionError("int8 calibration got no crops: the calibration set is empty")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = itertools.chain([first], remaining)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            if batch is None:
                return None
            return {"depth": np.ascontiguousarray(batch, dtype=np.float32)}

    with tempfile.TemporaryDirectory() as directory:
        source, target = Path(directory, "fp32.onnx"), Path(directory, "int8.onnx")
        prepared = Path(directory, "prepared.onnx")
        source.write_bytes(onnx)
        # ONNX Runtime's recommended first step: shapes inferred and the graph optimised
        # (BatchNorm folded), so that every convolution is quantized with its own scales.
        quant_pre_process(source, prepared)
        quantize_static(
            prepared,
            target,
            Reader(),
            # The layers that write the outputs stay in float: heatmap peaks are refined to
            # sub-pixel positions from neighbouring values, which 8 bits round away (0.022 mAP
            # on synthetic:test quantized, 0.001 with these kept).
            nodes_to_exclude=output_convolutions(prepared),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True},
        )
        return target.read_bytes()


def output_convolutions(path: Path) -> list[str]:
    """Names of the convolutions whose results are the model's outputs."""
    import onnx

    graph = onnx.load(str(path)).graph
    outputs = {output.name for output in graph.output}
    return [
        node.name
        for node in graph.node
        if node.op_type == "Conv" and outputs.intersection(node.output)
    ]


class ModelCache:
    """fp16 and int8 models on disk, keyed by what they were made from."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or cache_directory() / "models"

    def key(self, onnx: bytes, precision: str, calibration: CalibrationSet | None) -> str:
        import onnxruntime

        parts = [hashlib.sha256(onnx).hexdigest(), precision, onnxruntime.__version__, RECIPE]
        if precision == "int8":
            parts.append(calibration.name if calibration else "")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]

    def get(self, onnx: bytes, precision: str, calibration: CalibrationSet | None = None) -> bytes:
        """The model in `precision` (fp32: `onnx` itself), made once and then read back."""
        if precision not in PRECISIONS:
            raise PrecisionError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        if precision == "fp32":
            return onnx
        if precision == "int8" and calibration is None:
            raise PrecisionError("an int8 model needs a calibration set of crops")
        path = self.directory / f"{self.key(onnx, precision, calibration)}-{precision}.onnx"
        if path.is_file():
            return path.read_bytes()
        if precision == "fp16":
            made = fp16_model(onnx)
        else:
            assert calibration is not None
            log.info("calibrating an int8 model on %s (once; then cached)", calibration.name)
            made = int8_model(onnx, calibration.batches())
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(made)
        partial.replace(path)
        return made
