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


def _latencies_ms(run: Any, frames: list) -> tuple[np.ndarray, float]:
    """Per-frame latency (ms) of `run(depth, intrinsics)` over a sequence after a warm-up, and
    the process CPU time it took per frame (ms; both cores count)."""
    latencies = []
    warm_up = min(5, len(frames) // 4)
    cpu_start = 0.0
    for i, (depth, intrinsics) in enumerate(frames):
        if i == warm_up:
            cpu_start = time.process_time()
        start = time.perf_counter()
        run(depth, intrinsics)
        if i >= warm_up:
            latencies.append((time.perf_counter() - start) * 1000.0)
    cpu_ms = (time.process_time() - cpu_start) * 1000.0 / max(len(latencies), 1)
    return np.array(latencies), cpu_ms


def _percentiles(latencies: np.ndarray) -> dict[str, float]:
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    return {"p50": round(p50, 2), "p95": round(p95, 2), "p99": round(p99, 2)}


def _sequence(frames: int, people: int) -> list[tuple[np.ndarray, Any]]:
    from depth_pose_ros.data.synthetic.sequence import FPS, generate_sequence

    return [
        (frame.depth_m, frame.intrinsics)
        for frame in generate_sequence(99, frames / FPS, people=people, split="test")
    ]


def _precisions(backend: str) -> list[str]:
    """The precisions worth measuring on a backend of this machine."""
    import torch

    if backend == "tensorrt":
        return ["fp32", "fp16", "int8"]
    if backend == "torch-cuda":
        return ["fp32", "fp16"]
    if backend == "onnxruntime":
        return ["fp32", "fp16", "int8"] if torch.cuda.is_available() else ["fp32", "int8"]
    return ["fp32"]


# The estimator's options `bench model` times besides the plain estimator, and their labels.
OPTIONS = {"flip_test": "flip-tested", "second_look": "second look"}


def model_speed(
    configs: list[str],
    backends: list[str] | None,
    frames: int,
    precisions: list[str] | None = None,
) -> dict[str, Any]:
    """For every model config, backend and precision: model-only throughput at the config's
    crop size and at a full 512x424 frame (the paper's measure); the end-to-end estimator on
    512x424 30 Hz sequences with one and with three people moving in a room (latency
    percentiles, and process CPU time per frame), plain, flip-tested and with a second look
    (with the ratios to plain, measured in the same run); the single-person fast path; the
    person stage on its own. int8 is calibrated on synthetic:val crops (trained configs
    only). The paper-size config is the baseline of the ratios."""
    import torch

    from depth_pose_ros.evaluation.calibration import DEFAULT_SET, estimator_crops
    from depth_pose_ros.inference.backends import available_backends, create_backend
    from depth_pose_ros.inference.estimator import PoseEstimator, Thresholds
    from depth_pose_ros.model.network import CONFIGS, DepthPoseNet
    from depth_pose_ros.model.weights import available, load

    backends = backends or available_backends()
    one_person, three_people = _sequence(frames, 1), _sequence(frames, 3)
    rows = []
    info = machine() | {"torch": torch.__version__, "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    print(f"model speed, {info['cpu']}" + (f", {info['gpu']}" if "gpu" in info else ""))
    header = f"{'config':<8}{'backend':<22}{'crop fps':>9}{'512x424 fps':>12}"
    header += f"{'1p p50':>8}{'p99':>7}{'CPU ms':>8}{'3p p50':>8}{'p99':>7}{'CPU ms':>8}"
    print(header + f"{'fast p50':>9}{'stage p50':>10}")
    for name in configs:
        trained = name in available("pose")
        model = load(name)[0] if trained else DepthPoseNet(CONFIGS[name]).eval()
        height, width = model.config.input_size
        # Untrained weights would find nobody: then every person found goes all the way.
        thresholds = Thresholds() if trained else Thresholds(person=0.0)
        for backend_name in backends:
            for level in _precisions(backend_name):
                if (precisions and level not in precisions) or (level == "int8" and not trained):
                    continue
                calibration = estimator_crops(DEFAULT_SET, name, "people") if trained else None
                backend = create_backend(model, backend_name, level, calibration)
                crop_fps = _throughput(backend, np.zeros((1, 1, height, width), np.float32))
                frame_fps = _throughput(backend, np.zeros((1, 1, 424, 512), np.float32))
                estimator = PoseEstimator(model, backend, thresholds)
                single, single_cpu = _latencies_ms(estimator, one_person)
                triple, triple_cpu = _latencies_ms(estimator, three_people)
                options = {}  # each option on its own, right after the plain runs
                for option in OPTIONS:
                    setattr(estimator, option, True)
                    options[option] = (
                        _latencies_ms(estimator, one_person),
                        _latencies_ms(estimator, three_people),
                    )
                    setattr(estimator, option, False)
                estimator.max_people = 1
                fast, _ = _latencies_ms(estimator, one_person)
                stage, _ = _latencies_ms(estimator.proposals, three_people)
                row: dict[str, Any] = {
                    "config": name,
                    "trained_weights": trained,
                    "backend": backend.name,
                    "precision": level,
                    "input_size": [height, width],
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "model_fps_crop": round(crop_fps, 1),
                    "model_fps_512x424": round(frame_fps, 2),
                    "e2e_latency_ms": _percentiles(single),
                    "e2e_cpu_ms_per_frame": round(single_cpu, 2),
                    "e2e_fps": round(1000.0 / float(np.percentile(single, 50)), 1),
                    "e2e_three_people_latency_ms": _percentiles(triple),
                    "e2e_three_people_cpu_ms_per_frame": round(triple_cpu, 2),
                    "e2e_single_person_path_latency_ms": _percentiles(fast),
                    "person_stage_latency_ms": _percentiles(stage),
                    "frames": len(single),
                }
                for option, ((alone, alone_cpu), (among, among_cpu)) in options.items():
                    row |= {
                        f"e2e_{option}_latency_ms": _percentiles(alone),
                        f"e2e_{option}_cpu_ms_per_frame": round(alone_cpu, 2),
                        f"e2e_{option}_three_people_latency_ms": _percentiles(among),
                        f"e2e_{option}_three_people_cpu_ms_per_frame": round(among_cpu, 2),
                        f"{option}_vs_plain_p50": [
                            round(float(np.median(alone) / np.median(single)), 2),
                            round(float(np.median(among) / np.median(triple)), 2),
                        ],
                    }
                rows.append(row)
                one, three = row["e2e_latency_ms"], row["e2e_three_people_latency_ms"]
                print(
                    f"{name:<8}{backend.name:<22}{crop_fps:>9.1f}{frame_fps:>12.2f}"
                    f"{one['p50']:>8.2f}{one['p99']:>7.2f}{single_cpu:>8.2f}"
                    f"{three['p50']:>8.2f}{three['p99']:>7.2f}{triple_cpu:>8.2f}"
                    f"{row['e2e_single_person_path_latency_ms']['p50']:>9.2f}"
                    f"{row['person_stage_latency_ms']['p50']:>10.2f}"
                )
                for option, label in OPTIONS.items():
                    alone = row[f"e2e_{option}_latency_ms"]
                    among = row[f"e2e_{option}_three_people_latency_ms"]
                    ratios = row[f"{option}_vs_plain_p50"]
                    print(
                        f"{'':<8}{'  ' + label:<22}{'':>21}"
                        f"{alone['p50']:>8.2f}{alone['p99']:>7.2f}"
                        f"{row[f'e2e_{option}_cpu_ms_per_frame']:>8.2f}"
                        f"{among['p50']:>8.2f}{among['p99']:>7.2f}"
                        f"{row[f'e2e_{option}_three_people_cpu_ms_per_frame']:>8.2f}"
                        f"  ({ratios[0]}x, {ratios[1]}x plain p50)"
                    )
    _ratios(rows)
    return {"benchmark": "model", "rows": rows, "machine": info}


def _ratios(rows: list[dict[str, Any]]) -> None:
    """Each row against the paper-size config on the same backend and precision (the
    baseline), and int8 against fp32 of the same config and backend."""
    baselines = {(r["backend"], r["precision"]): r for r in rows if r["config"] == "paper"}
    fp32 = {(r["config"], r["backend"]): r for r in rows if r["precision"] == "fp32"}
    for row in rows:
        baseline = baselines.get((row["backend"], row["precision"]))
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
        reference = fp32.get((row["config"], row["backend"].removesuffix("-int8")))
        if row["precision"] == "int8" and reference is not None:
            row["int8_vs_fp32_crop_throughput"] = round(
                row["model_fps_crop"] / reference["model_fps_crop"], 2
            )
            print(
                f"{row['config']} on {row['backend']}: int8 crop throughput "
                f"{row['int8_vs_fp32_crop_throughput']}x fp32"
            )


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


def node_load(
    seconds: float,
    rate_hz: float = 30.0,
    weights: str = "lite",
    people: int = 1,
    parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Feed the running node a synthetic depth stream of `people` people at `rate_hz` for
    `seconds`, stamped as a live camera would, and measure what it does: answered and dropped
    frames, stamp-to-receive latency over time, its CPU use and resident memory (sampled every
    second), exceptions. `parameters`: more node parameters (precision, threads, ...)."""
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
        bag = write_sequence_bag(Path(directory, "stream.mcap"), 11, 10.0, people, progress=False)
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
    for name, value in (parameters or {}).items():
        arguments += ["-p", f"{name}:={value}"]
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
    figures = _load_figures(
        seconds, rate_hz, sent, answered, samples, diagnostics, exit_code, node_log
    )
    return figures | {"people": people, "parameters": parameters or {}}


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


def real_frames(
    directory: str | Path,
    weights: str = "lite",
    people: str = "people",
    sheet: str | None = None,
    blank_sheet: bool = False,
    flip_test: bool = False,
    second_look: bool = False,
) -> dict[str, Any]:
    """The estimator on real depth frames without joint labels (`.npz` files holding depth_mm,
    fx, fy, cx, cy, as ../shared/real-dev has them, and optionally `person_box`): skeletons per
    frame, their scores, and whether each is on the frame's one person (the box marked for it in
    the frame or in `real_dev_people.json`); an overlay sheet of the frames when `sheet` is
    given, the marked box drawn in grey; with `blank_sheet` the overlays are drawn on black
    instead of the depth, so the sheet can be shared where the frames' licence forbids sharing
    them. `flip_test` and `second_look` as the node's parameters."""
    import cv2

    from depth_pose_ros.core.camera import CameraIntrinsics
    from depth_pose_ros.core.depth_image import millimetres_to_metres
    from depth_pose_ros.core.visualize import colourise_depth, draw_skeletons, grid
    from depth_pose_ros.evaluation.real_frames import as_box, judge, marked_boxes
    from depth_pose_ros.inference.estimator import PoseEstimator

    paths = sorted(Path(directory).glob("*.npz"))
    if not paths:
        raise FileNotFoundError(f"no real depth frames (.npz) in {directory}")
    estimator = PoseEstimator(
        weights, "onnxruntime", people=people, flip_test=flip_test, second_look=second_look
    )
    boxes = marked_boxes()
    rows, tiles, verdicts = [], [], []
    for path in paths:
        with np.load(path) as data:
            depth = millimetres_to_metres(data["depth_mm"])
            fx, fy, cx, cy = (float(data[k]) for k in ("fx", "fy", "cx", "cy"))
            box = as_box(data["person_box"]) if "person_box" in data else None
        box = box or boxes.get(path.stem)
        height, width = depth.shape
        skeletons = estimator(depth, CameraIntrinsics(width, height, fx, fy, cx, cy))
        verdict = judge(skeletons, box)
        verdicts.append(verdict)
        rows.append(
            {
                "frame": path.stem,
                "size": [width, height],
                "skeletons": len(skeletons),
                "scores": [round(s.score, 3) for s in skeletons],
                "on_person": verdict.on_person,
                "person_found_alone": verdict.alone,
            }
        )
        marks = (
            ", ".join("person" if on else "OFF the person" for on in verdict.on_person)
            if verdict.on_person is not None
            else "no person box marked"
        )
        print(
            f"  {path.stem:<26} {len(skeletons)} skeleton(s)  scores "
            f"{', '.join(f'{s.score:.2f}' for s in skeletons) or '-'}  {marks or 'person missed'}"
        )
        if sheet:
            image = np.zeros((*depth.shape, 3), np.uint8) if blank_sheet else colourise_depth(depth)
            if box:
                cv2.rectangle(image, box[:2], box[2:], (160, 160, 160), 1)
            labels = [f"{s.score:.2f}" for s in skeletons]
            draw_skeletons(image, skeletons, labels, range(1, len(skeletons) + 1))
            scale = 240 / height
            tile = cv2.resize(image, (round(width * scale), 240))
            cv2.putText(tile, path.stem, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200,) * 3, 1)
            tiles.append(tile)
    one = sum(r["skeletons"] == 1 for r in rows)
    judged = [v for v in verdicts if v.on_person is not None]
    alone = sum(bool(v.alone) for v in judged)
    found = sum(bool(v.found) for v in judged)
    off = sum(v.off_person or 0 for v in judged)
    print(f"{one} of {len(rows)} frames with exactly one skeleton ({directory})")
    print(
        f"{alone} of {len(judged)} frames with a marked person: the person found and nothing "
        f"else; the person found in {found}, {off} skeleton(s) off the person"
    )
    if sheet and tiles:
        widest = max(t.shape[1] for t in tiles)
        padded = [
            cv2.copyMakeBorder(t, 0, 0, 0, widest - t.shape[1], cv2.BORDER_CONSTANT) for t in tiles
        ]
        cv2.imwrite(str(sheet), grid(padded, columns=5))
        print(f"wrote {sheet}")
    return {
        "benchmark": "real",
        "directory": str(directory),
        "weights": weights,
        "people": people,
        "flip_test": flip_test,
        "second_look": second_look,
        "frames": rows,
        "frames_with_one_skeleton": one,
        "frames_with_marked_person": len(judged),
        "frames_person_found_alone": alone,
        "frames_person_found": found,
        "skeletons_off_person": off,
    }


def annotate_page(steps: int, dwell_ms: float = 150.0, seconds: float = 10.0) -> dict[str, Any]:
    """The annotation page in Chromium on a generated recording (3 people): how long moving
    to the next frame takes (prefetched) and a jump to a frame far away (not prefetched), from
    the key press to the frame drawn, as the page measures it."""
    import logging
    import tempfile
    import threading

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from depth_pose_ros.annotation.bag_source import BagSource
    from depth_pose_ros.annotation.browser import CHROMIUM_ARGS, chromium_path
    from depth_pose_ros.annotation.server import Session, create_app
    from depth_pose_ros.annotation.store import LabelStore
    from depth_pose_ros.ros.bag import DEFAULT_TOPICS
    from depth_pose_ros.ros.recordings import write_sequence_bag

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    chromium = chromium_path()
    if chromium is None:
        raise FileNotFoundError("bench annotate needs Debian's chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as folder:
        recording = write_sequence_bag(
            Path(folder, "rec.mcap"), seed=7, seconds=seconds, people=3, progress=False
        )
        topics = (DEFAULT_TOPICS.depth, DEFAULT_TOPICS.camera_info, DEFAULT_TOPICS.ground_truth)
        source = BagSource(str(recording), *topics)
        keys = source.keys()
        store = LabelStore(Path(folder, "labels.json"), source.name, keys)
        server = make_server(
            "127.0.0.1",
            0,
            create_app(Session(source, store, list(range(len(keys))))),
            threaded=True,
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        steps = min(steps, len(keys) - 1)
        jumps = [len(keys) // 2, len(keys) // 4, len(keys) - 1, 3 * len(keys) // 4]
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, args=list(CHROMIUM_ARGS)
                )
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(f"http://127.0.0.1:{server.server_port}/")
                page.wait_for_selector("body[data-ready=true]")

                def shown(number: int) -> float:
                    page.wait_for_selector(f"body[data-frame='{number}']")
                    page.wait_for_timeout(dwell_ms)  # an annotator looks before moving on
                    return float(page.evaluate("window.frameShownMs"))

                following = []
                for number in range(1, steps + 1):
                    page.keyboard.press("ArrowRight")
                    following.append(shown(number))
                jumped = []
                for number in jumps:
                    page.fill("#jump", str(number + 1))
                    page.keyboard.press("Enter")
                    jumped.append(shown(number))
                version = browser.version
                browser.close()
        finally:
            server.shutdown()
    next_ms, jump_ms = np.array(following), np.array(jumped)
    print(f"annotation page, Chromium {version}, 512x424 frames, {len(keys)} in the recording")
    print(
        f"  next frame (prefetched): p50 {np.percentile(next_ms, 50):.1f} ms, "
        f"p90 {np.percentile(next_ms, 90):.1f} ms, max {next_ms.max():.1f} ms "
        f"({len(next_ms)} steps)"
    )
    print(
        f"  jump (not prefetched): p50 {np.percentile(jump_ms, 50):.1f} ms, "
        f"max {jump_ms.max():.1f} ms ({len(jump_ms)} jumps)"
    )
    return {
        "benchmark": "annotate",
        "machine": machine(),
        "browser": f"Chromium {version}",
        "frames": len(keys),
        "next_frame_ms": _percentiles(next_ms) | {"max": round(float(next_ms.max()), 2)},
        "jump_ms": _percentiles(jump_ms) | {"max": round(float(jump_ms.max()), 2)},
    }
