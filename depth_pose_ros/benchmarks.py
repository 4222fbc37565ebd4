"""Speed measurements. They print figures and return them for `--json`; tests never time."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def synth_speed(frames: int) -> dict[str, object]:
    """Frames per second of the synthetic generator (512x424), generating only and writing a
    data set (generation + PNG) with one worker and with every core."""
    from depth_pose_ros.datasets.synthetic import write_dataset
    from depth_pose_ros.synthetic.generator import generate_frame

    generate_frame("train", 0, 0)  # imports and caches warmed up
    start = time.perf_counter()
    for index in range(frames):
        generate_frame("train", 0, index)
    generate_only = frames / (time.perf_counter() - start)

    def writing(workers: int) -> float:
        with tempfile.TemporaryDirectory() as directory:
            start = time.perf_counter()
            write_dataset(Path(directory, "d"), "train", 0, frames, workers=workers, progress=False)
            return frames / (time.perf_counter() - start)

    cores = os.cpu_count() or 1
    one_worker = writing(1)
    all_workers = writing(cores)
    figures = {
        "benchmark": "synth",
        "frames": frames,
        "resolution": [512, 424],
        "generate_fps_1_process": round(generate_only, 1),
        "write_fps_1_worker": round(one_worker, 1),
        f"write_fps_{cores}_workers": round(all_workers, 1),
        "speedup_all_cores_vs_1_worker": round(all_workers / one_worker, 2),
        "machine": machine(),
    }
    print(f"synthetic 512x424 frames, {frames} per measurement, {figures['machine']['cpu']}")
    print(f"  generate only, 1 process      {generate_only:7.1f} frames/s")
    print(f"  write data set, 1 worker      {one_worker:7.1f} frames/s  (baseline)")
    print(
        f"  write data set, {cores} workers     {all_workers:7.1f} frames/s  "
        f"({all_workers / one_worker:.2f}x)"
    )
    return figures


def _throughput(run, batch: np.ndarray, minimum_seconds: float = 2.0) -> float:
    """Calls per second of `run(batch)` after warm-up, over at least `minimum_seconds`."""
    for _ in range(3):
        run(batch)
    calls, start = 0, time.perf_counter()
    while calls < 5 or time.perf_counter() - start < minimum_seconds:
        run(batch)
        calls += 1
    return calls / (time.perf_counter() - start)


def model_speed(configs: list[str], backends: list[str] | None, frames: int) -> dict[str, object]:
    """For every backend and model config: model-only throughput at the config's crop size and
    at a full 512x424 frame (the paper's measure), and the end-to-end estimator's latency on
    512x424 frames with one person. The paper-size config is the baseline of the ratios."""
    import torch

    from depth_pose_ros.inference.backends import available_backends, create_backend
    from depth_pose_ros.inference.estimator import PoseEstimator, Thresholds
    from depth_pose_ros.network import CONFIGS, DepthPoseNet
    from depth_pose_ros.synthetic.generator import generate_frame
    from depth_pose_ros.weights import available, load

    backends = backends or available_backends()
    test_frames = []
    for index in range(frames):
        frame = generate_frame("test", 99, index, people=1)
        depth = np.where(frame.depth_mm > 0, frame.depth_mm / 1000.0, np.nan).astype(np.float32)
        test_frames.append((depth, frame.intrinsics))
    rows = []
    info = machine() | {"torch": torch.__version__, "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    print(f"model speed, {info['cpu']}" + (f", {info['gpu']}" if "gpu" in info else ""))
    header = f"{'config':<8}{'backend':<18}{'crop fps':>10}{'512x424 fps':>13}"
    print(header + f"{'e2e p50 ms':>12}{'p95':>8}{'p99':>8}{'e2e fps':>9}")
    for name in configs:
        trained = name in available()
        model = load(name)[0] if trained else DepthPoseNet(CONFIGS[name]).eval()
        height, width = model.config.input_size
        for backend_name in backends:
            backend = create_backend(model, backend_name)
            crop_fps = _throughput(backend, np.zeros((1, 1, height, width), np.float32))
            frame_fps = _throughput(backend, np.zeros((1, 1, 424, 512), np.float32))
            # Every proposal goes all the way through (random weights would find nobody).
            estimator = PoseEstimator(model, backend, Thresholds(person=0.0))
            latencies = []
            for i, (depth, intrinsics) in enumerate(test_frames):
                start = time.perf_counter()
                estimator(depth, intrinsics)
                if i >= min(5, frames // 4):  # warm-up frames are not counted
                    latencies.append((time.perf_counter() - start) * 1000.0)
            p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
            row = {
                "config": name,
                "trained_weights": trained,
                "backend": backend.name,
                "input_size": [height, width],
                "parameters": sum(p.numel() for p in model.parameters()),
                "model_fps_crop": round(crop_fps, 1),
                "model_fps_512x424": round(frame_fps, 2),
                "e2e_latency_ms": {
                    "p50": round(p50, 2),
                    "p95": round(p95, 2),
                    "p99": round(p99, 2),
                },
                "e2e_fps": round(1000.0 / p50, 1),
                "frames": len(latencies),
            }
            rows.append(row)
            print(
                f"{name:<8}{backend.name:<18}{crop_fps:>10.1f}{frame_fps:>13.2f}"
                f"{p50:>12.2f}{p95:>8.2f}{p99:>8.2f}{1000 / p50:>9.1f}"
            )
    baselines = {r["backend"]: r for r in rows if r["config"] == "paper"}
    for row in rows:
        baseline = baselines.get(row["backend"])
        if baseline is not None and row is not baseline:
            row["vs_paper"] = {
                "e2e_speedup": round(
                    baseline["e2e_latency_ms"]["p50"] / row["e2e_latency_ms"]["p50"], 1
                ),
                "model_fps_512x424_ratio": round(
                    row["model_fps_512x424"] / baseline["model_fps_512x424"], 1
                ),
            }
            print(
                f"{row['config']} on {row['backend']}: {row['vs_paper']['e2e_speedup']}x the "
                f"paper-size config's end-to-end speed"
            )
    return {"benchmark": "model", "rows": rows, "machine": info}
