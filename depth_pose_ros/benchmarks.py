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
