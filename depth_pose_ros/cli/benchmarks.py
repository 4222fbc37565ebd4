"""Speed measurements. They print figures and return them for `--json`; tests never time."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def machine() -> dict[str, Any]:
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


def synth_speed(frames: int) -> dict[str, Any]:
    """Frames per second of the synthetic generator (512x424), generating only and writing a
    data set (generation + PNG) with one worker and with every core."""
    from depth_pose_ros.data.synthetic.dataset import write_dataset
    from depth_pose_ros.data.synthetic.scenarios import generate_frame

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
    figures: dict[str, Any] = {
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


def _throughput(run: Any, batch: np.ndarray, minimum_seconds: float = 2.0) -> float:
    """Calls per second of `run(batch)` after warm-up, over at least `minimum_seconds`."""
    for _ in range(3):
        run(batch)
    calls, start = 0, time.perf_counter()
    while calls < 5 or time.perf_counter() - start < minimum_seconds:
        run(batch)
        calls += 1
    return calls / (time.perf_counter() - start)


def _latencies_ms(run: Any, frames: list) -> np.ndarray:
    """Per-frame latency of `run(depth, intrinsics)` over a sequence, after a warm-up."""
    latencies = []
    for i, (depth, intrinsics) in enumerate(frames):
        start = time.perf_counter()
        run(depth, intrinsics)
        if i >= min(5, len(frames) // 4):
            latencies.append((time.perf_counter() - start) * 1000.0)
    return np.array(latencies)


def _percentiles(latencies: np.ndarray) -> dict[str, float]:
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    return {"p50": round(p50, 2), "p95": round(p95, 2), "p99": round(p99, 2)}


def model_speed(configs: list[str], backends: list[str] | None, frames: int) -> dict[str, Any]:
    """For every backend and model config: model-only throughput at the config's crop size and
    at a full 512x424 frame (the paper's measure), and the end-to-end estimator's latency on a
    512x424 30 Hz sequence of one person moving in a room: everyone found estimated (the
    default), and the single-person fast path (`max_people=1`), and the person stage on its own.
    The paper-size config is the baseline of the ratios."""
    import torch

    from depth_pose_ros.data.synthetic.sequence import FPS, generate_sequence
    from depth_pose_ros.inference.backends import available_backends, create_backend
    from depth_pose_ros.inference.estimator import PoseEstimator, Thresholds
    from depth_pose_ros.model.network import CONFIGS, DepthPoseNet
    from depth_pose_ros.model.weights import available, load

    backends = backends or available_backends()
    test_frames = []
    for frame in generate_sequence(99, frames / FPS, people=1, split="test"):
        depth = frame.depth_m
        test_frames.append((depth, frame.intrinsics))
    rows = []
    info = machine() | {"torch": torch.__version__, "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    print(f"model speed, {info['cpu']}" + (f", {info['gpu']}" if "gpu" in info else ""))
    header = f"{'config':<8}{'backend':<18}{'crop fps':>10}{'512x424 fps':>13}"
    header += f"{'e2e p50 ms':>12}{'p95':>8}{'p99':>8}{'e2e fps':>9}{'1-person p50':>14}"
    print(header + f"{'stage p50':>11}")
    for name in configs:
        trained = name in available()
        model = load(name)[0] if trained else DepthPoseNet(CONFIGS[name]).eval()
        height, width = model.config.input_size
        for backend_name in backends:
            backend = create_backend(model, backend_name)
            crop_fps = _throughput(backend, np.zeros((1, 1, height, width), np.float32))
            frame_fps = _throughput(backend, np.zeros((1, 1, 424, 512), np.float32))
            # Untrained weights would find nobody: then every proposal goes all the way through.
            thresholds = Thresholds() if trained else Thresholds(person=0.0)
            estimator = PoseEstimator(model, backend, thresholds)
            latencies = _latencies_ms(estimator, test_frames)
            single = _latencies_ms(
                PoseEstimator(model, backend, thresholds, max_people=1), test_frames
            )
            stage = _latencies_ms(
                lambda depth, _, find=estimator.proposals: find(depth), test_frames
            )
            e2e, one_person = _percentiles(latencies), _percentiles(single)
            row: dict[str, Any] = {
                "config": name,
                "trained_weights": trained,
                "backend": backend.name,
                "input_size": [height, width],
                "parameters": sum(p.numel() for p in model.parameters()),
                "model_fps_crop": round(crop_fps, 1),
                "model_fps_512x424": round(frame_fps, 2),
                "e2e_latency_ms": e2e,
                "e2e_fps": round(1000.0 / e2e["p50"], 1),
                "e2e_single_person_latency_ms": one_person,
                "e2e_single_person_fps": round(1000.0 / one_person["p50"], 1),
                "person_stage_latency_ms": _percentiles(stage),
                "frames": len(latencies),
            }
            rows.append(row)
            print(
                f"{name:<8}{backend.name:<18}{crop_fps:>10.1f}{frame_fps:>13.2f}"
                f"{e2e['p50']:>12.2f}{e2e['p95']:>8.2f}{e2e['p99']:>8.2f}{row['e2e_fps']:>9.1f}"
                f"{one_person['p50']:>14.2f}{row['person_stage_latency_ms']['p50']:>11.2f}"
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


def _process_sample(pid: int) -> tuple[float, float]:
    """(CPU seconds used so far, resident memory in MB) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    rss_kb = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return cpu, rss_kb / 1024.0


def node_load(seconds: float, rate_hz: float = 30.0, weights: str = "lite") -> dict[str, Any]:
    """Feed the running node a synthetic depth stream at `rate_hz` for `seconds`, stamped as a
    live camera would, and measure what it does: answered and dropped frames, stamp-to-receive
    latency over time, its CPU use and resident memory (sampled every second), exceptions."""
    from depth_pose_ros.ros import dds

    dds.isolate()
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    from depth_pose_ros.core.protocols import stamp_ns
    from depth_pose_ros.msg import SkeletonArray
    from depth_pose_ros.ros.bag import DEFAULT_TOPICS, BagReader
    from depth_pose_ros.ros.node_process import OUTPUT_TOPIC, NodeProcess
    from depth_pose_ros.ros.player import restamped
    from depth_pose_ros.ros.recordings import write_sequence_bag

    with tempfile.TemporaryDirectory() as directory:
        bag = write_sequence_bag(Path(directory, "stream.mcap"), 11, 10.0, 2, progress=False)
        with BagReader(bag) as reader:
            recorded = list(reader.raw_messages([DEFAULT_TOPICS.depth, DEFAULT_TOPICS.camera_info]))
    by_time: dict[int, dict[str, bytes]] = {}
    for topic, _, log_time, raw in recorded:
        by_time.setdefault(log_time, {})[topic] = bytes(raw)
    frames = [
        (messages[DEFAULT_TOPICS.camera_info], messages[DEFAULT_TOPICS.depth])
        for _, messages in sorted(by_time.items())
        if len(messages) == 2
    ]
    answered: list[tuple[float, float]] = []  # (seconds since start, latency ms)
    diagnostics: list[DiagnosticArray] = []
    samples: list[tuple[float, float, float]] = []  # (seconds, cpu seconds, rss MB)
    sent = 0
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    arguments = ["-p", f"weights:={weights}", "-p", f"expected_rate_hz:={rate_hz}"]
    with NodeProcess(arguments, "depth_pose_load") as node:
        images = node.publisher(Image, DEFAULT_TOPICS.depth, qos_profile_sensor_data)
        infos = node.publisher(CameraInfo, DEFAULT_TOPICS.camera_info, reliable)
        clock = node.listener.get_clock()
        start = time.monotonic()

        def on_skeletons(message: SkeletonArray) -> None:
            latency = (clock.now().nanoseconds - stamp_ns(message.header)) / 1e6
            answered.append((time.monotonic() - start, latency))

        node.subscribe(SkeletonArray, OUTPUT_TOPIC, on_skeletons, reliable)
        node.subscribe(DiagnosticArray, "/diagnostics", diagnostics.append, reliable)
        node.start()
        while images.get_subscription_count() == 0:
            time.sleep(0.05)
        start = time.monotonic()
        period = 1.0 / rate_hz
        next_sample = start
        while (elapsed := time.monotonic() - start) < seconds:
            info, depth = frames[sent % len(frames)]
            now = clock.now().nanoseconds
            infos.publish(restamped(info, now)[0])
            images.publish(restamped(depth, now)[0])
            sent += 1
            if time.monotonic() >= next_sample:
                samples.append((elapsed, *_process_sample(node.pid)))
                next_sample += 1.0
            time.sleep(max(0.0, start + sent * period - time.monotonic()))
        time.sleep(1.0)
        exit_code = node.stop()
        node_log = node.log
    return _load_figures(
        seconds, rate_hz, sent, answered, samples, diagnostics, exit_code, node_log
    )


def _load_figures(
    seconds: float,
    rate_hz: float,
    sent: int,
    answered: list[tuple[float, float]],
    samples: list[tuple[float, float, float]],
    diagnostics: list[Any],
    exit_code: int,
    node_log: str,
) -> dict[str, Any]:
    latencies = np.array([latency for _, latency in answered])
    times = np.array([t for t, _ in answered])
    warm = max(5.0, 0.1 * seconds)  # warm-up excluded from memory growth
    rss = [(t, mb) for t, _, mb in samples]
    after = [mb for t, mb in rss if t >= warm]
    first_minute = latencies[times < min(60.0, seconds / 2)]
    last_minute = latencies[times >= max(seconds - 60.0, seconds / 2)]
    cpu = (samples[-1][1] - samples[0][1]) / max(samples[-1][0] - samples[0][0], 1e-9)
    node_values = {v.key: v.value for v in diagnostics[-1].status[0].values} if diagnostics else {}
    figures: dict[str, Any] = {
        "benchmark": "node",
        "seconds": seconds,
        "rate_hz": rate_hz,
        "frames_sent": sent,
        "frames_answered": len(answered),
        "dropped_frames": sent - len(answered),
        "dropped_percent": round(100.0 * (sent - len(answered)) / max(sent, 1), 2),
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 1),
            "p99": round(float(np.percentile(latencies, 99)), 1),
        },
        "latency_p99_first_minute_ms": round(float(np.percentile(first_minute, 99)), 1),
        "latency_p99_last_minute_ms": round(float(np.percentile(last_minute, 99)), 1),
        "node_cpu_percent": round(100.0 * cpu, 1),
        "node_rss_mb": {
            "after_warm_up": round(after[0], 1),
            "end": round(after[-1], 1),
            "max": round(max(after), 1),
        },
        "rss_growth_after_warm_up_percent": round(100.0 * (after[-1] - after[0]) / after[0], 2),
        "node_reported": {
            k: node_values.get(k)
            for k in ("latency p50 (ms)", "latency p99 (ms)", "dropped frames (total)", "backend")
        },
        "node_exit_code": exit_code,
        "node_exceptions": node_log.count("Traceback") + node_log.count("processing failed"),
        "machine": machine(),
    }
    print(f"node at {rate_hz:g} Hz for {seconds:g} s on {figures['machine']['cpu']}:")
    print(f"  frames sent {sent}, answered {len(answered)}, dropped {figures['dropped_percent']} %")
    print(
        f"  stamp-to-receive latency p50 {figures['latency_ms']['p50']} ms, "
        f"p99 {figures['latency_ms']['p99']} ms (first minute p99 "
        f"{figures['latency_p99_first_minute_ms']}, last {figures['latency_p99_last_minute_ms']})"
    )
    print(
        f"  node CPU {figures['node_cpu_percent']} % of a core, resident memory "
        f"{figures['node_rss_mb']['after_warm_up']} -> {figures['node_rss_mb']['end']} MB "
        f"({figures['rss_growth_after_warm_up_percent']:+} % after warm-up)"
    )
    print(f"  node exit code {exit_code}, exceptions {figures['node_exceptions']}")
    return figures
