"""`depth-pose demo`: the whole system on a generated recording, over DDS, on this machine.

1. Generates a 10 s bag of several people moving (fixed seed), with ground truth.
2. Starts the depth_pose node as its own process.
3. Plays the bag's depth and camera_info into it in real time, stamped as a live camera would,
   and records the node's skeletons and diagnostics.
4. Evaluates the skeletons of the frames the node answered against the bag's ground truth (how
   many it answered, and its latency, are reported beside) and writes a report with plots and
   an overlay GIF.
DDS stays on this machine (dds.isolate) for every process involved.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from depth_pose_ros.ros import dds

NODE_START_TIMEOUT_S = 120.0
SETTLE_S = 2.0  # after the last frame, time for the last outputs to arrive


def run(out: str | Path, seed: int = 7, seconds: float = 10.0, people: int = 3) -> int:
    """Run the demo into `out`; returns a process exit code."""
    dds.isolate()
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from depth_pose_ros.core.protocols import stamp_ns
    from depth_pose_ros.evaluation import report
    from depth_pose_ros.evaluation.sequence import SequenceRun, evaluate
    from depth_pose_ros.msg import SkeletonArray
    from depth_pose_ros.ros import bag_eval, messages
    from depth_pose_ros.ros.bag import DEFAULT_TOPICS, BagReader
    from depth_pose_ros.ros.node_process import OUTPUT_TOPIC, NodeProcess
    from depth_pose_ros.ros.player import play
    from depth_pose_ros.ros.recordings import write_sequence_bag

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bag = out / f"sample-seed{seed}-{people}people-{seconds:g}s.mcap"
    if not bag.exists():
        print(f"1/4 generating {bag} ({seconds:g} s, {people} people, seed {seed})")
        write_sequence_bag(bag, seed, seconds, people)
    else:
        print(f"1/4 using {bag}")

    print("2/4 starting the depth_pose node")
    received: list[SkeletonArray] = []
    health: list[DiagnosticArray] = []
    reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    with NodeProcess() as node:
        node.subscribe(SkeletonArray, OUTPUT_TOPIC, received.append, reliable)
        node.subscribe(DiagnosticArray, "/diagnostics", health.append, reliable)
        try:
            node.start(NODE_START_TIMEOUT_S)
        except RuntimeError as error:
            print(f"depth-pose demo: error: {error}", file=sys.stderr)
            return 1
        print(f"3/4 playing the bag into the node ({seconds:g} s, real time)")
        played = play(
            bag,
            topics=[DEFAULT_TOPICS.depth, DEFAULT_TOPICS.camera_info],
            restamp=True,
            context=node.context,
        )
        time.sleep(SETTLE_S)
        node_exit = node.stop()

    print("4/4 evaluating the recorded skeletons against the ground truth")
    original = {new: recorded for recorded, new in played.stamps.items()}
    run_result = SequenceRun()
    with BagReader(bag) as reader:
        for frame in reader.skeleton_frames(DEFAULT_TOPICS.ground_truth):
            run_result.stamps.append(frame.stamp_ns)
            run_result.truth[frame.stamp_ns] = frame.skeletons
        every = max(1, len(run_result.stamps) // bag_eval.KEPT_FRAMES)
        for i, depth_frame in enumerate(reader.depth_frames(DEFAULT_TOPICS.depth)):
            run_result.frame_id = depth_frame.frame_id
            if i % every == 0:
                run_result.kept_depth[depth_frame.stamp_ns] = depth_frame.depth[::2, ::2]
    for array in received:
        stamp = original.get(stamp_ns(array.header))
        if stamp is not None:
            run_result.outputs[stamp] = messages.skeletons_from_msg(array)
    # Accuracy on the frames the node answered; how many it answered is reported beside it.
    played_frames = len(run_result.stamps)
    run_result.stamps = [s for s in run_result.stamps if s in run_result.outputs]
    recorded = out / "recorded.mcap"
    recorded.unlink(missing_ok=True)
    bag_eval.write_outputs(run_result, recorded)
    node_figures = {}
    if health:
        node_figures = {v.key: v.value for v in health[-1].status[0].values}
    details = {
        "bag": str(bag),
        "weights": node_figures.get("weights", "lite"),
        "backend": node_figures.get("backend", ""),
        "node_latency_p50_ms": node_figures.get("latency p50 (ms)"),
        "node_latency_p99_ms": node_figures.get("latency p99 (ms)"),
        "node_dropped_frames": node_figures.get("dropped frames (total)"),
        "played_frames": played_frames,
        "answered_frames": len(run_result.outputs),
        "node_exit_code": node_exit,
    }
    values = report.write(out / "report", run_result, evaluate(run_result), details)
    print()
    print(report.summary_markdown(values))
    print(
        f"node: {len(run_result.outputs)}/{played_frames} frames answered, latency "
        f"p50 {details['node_latency_p50_ms']} ms, p99 {details['node_latency_p99_ms']} ms "
        f"(stamp to publish), {details['node_dropped_frames']} frames dropped"
    )
    print(
        f"pictures: {out / 'report' / 'overlay.gif'}, {out / 'report' / 'overlays.png'}, "
        f"{out / 'report' / 'per_joint_ap.png'}, {out / 'report' / 'error_over_time.png'}"
    )
    return 0 if node_exit == 0 else 1
