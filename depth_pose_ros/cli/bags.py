"""Bag commands: eval-bag (evaluate a recording), regress (compare with golden outputs)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from depth_pose_ros.inference.pipeline import Pipeline
    from depth_pose_ros.ros.bag import BagTopics


def _pipeline(args: argparse.Namespace) -> Pipeline:
    """The node's processing with its default settings, for offline use."""
    from depth_pose_ros.inference.estimator import PoseEstimator
    from depth_pose_ros.inference.pipeline import Pipeline
    from depth_pose_ros.inference.tracking import Tracker

    camera = [args.fx, args.fy, args.cx, args.cy]
    if any(v is not None for v in camera) and not all(v is not None for v in camera):
        raise ValueError("give all of --fx --fy --cx --cy, or none")
    fallback = (args.fx, args.fy, args.cx, args.cy) if args.fx is not None else None
    estimator = PoseEstimator(
        args.weights,
        args.backend,
        people=args.people,
        flip_test=args.flip_test,
        second_look=args.second_look,
    )
    return Pipeline(estimator, Tracker(), fallback, args.camera_info_topic)


def _topics(args: argparse.Namespace) -> BagTopics:
    from depth_pose_ros.ros.bag import BagTopics

    return BagTopics(args.depth_topic, args.camera_info_topic, args.ground_truth_topic)


def _eval_bag(args: argparse.Namespace) -> int:
    """Run the node's processing over a bag, write outputs and a report."""
    from depth_pose_ros.evaluation import report, sequence
    from depth_pose_ros.ros import bag_eval

    out = Path(args.out)
    outputs = out / "outputs.mcap"
    if outputs.exists():
        raise FileExistsError(f"{out} already holds an evaluation; choose a new --out")
    pipeline = _pipeline(args)
    run = bag_eval.run(args.bag, pipeline, _topics(args))
    out.mkdir(parents=True, exist_ok=True)
    bag_eval.write_outputs(run, outputs)
    details = {
        "bag": str(args.bag),
        "weights": args.weights,
        "backend": pipeline.estimator.backend.name,
        "flip_test": args.flip_test,
        "second_look": args.second_look,
    }
    values = report.write(out, run, sequence.evaluate(run), details)
    print(report.summary_markdown(values))
    print(
        f"outputs: {outputs}\nreport: {out / 'summary.md'}, {out / 'metrics.json'}, plots and "
        f"overlays in {out}"
    )
    return 0


def _regress(args: argparse.Namespace) -> int:
    """Compare a bag's outputs with golden ones; exit 1 naming every drift."""
    from depth_pose_ros.evaluation import regression
    from depth_pose_ros.ros import bag_eval

    run = bag_eval.run(args.bag, _pipeline(args), _topics(args), progress=False)
    golden = Path(args.golden)
    if args.update:
        if golden.is_dir():
            raise ValueError(f"{golden} is a directory; golden outputs are one .mcap file")
        golden.unlink(missing_ok=True)
        bag_eval.write_outputs(run, golden)
        print(f"wrote golden outputs {golden}: {len(run.outputs)} frames")
        return 0
    drifts = regression.compare(run.outputs, bag_eval.read_outputs(golden), args.tol_px, args.tol_m)
    if not drifts:
        print(
            f"{args.bag}: {len(run.outputs)} frames match {golden} within "
            f"{args.tol_px} px and {args.tol_m} m"
        )
        return 0
    print(
        f"{args.bag}: {len(drifts)} differences from {golden} beyond {args.tol_px} px / "
        f"{args.tol_m} m:"
    )
    for drift in drifts[:50]:
        print(f"  {drift}")
    if len(drifts) > 50:
        print(f"  ... and {len(drifts) - 50} more")
    return 1


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bag", help="rosbag2 directory, .mcap or .db3 file")
    parser.add_argument("--weights", default="lite", help="pose weights: shipped name or .pt")
    parser.add_argument(
        "--people", default="people", help="person-stage weights: shipped name or .pt"
    )
    parser.add_argument(
        "--backend", default="auto", help="auto, tensorrt, torch-cuda, onnxruntime or torch"
    )
    parser.add_argument(
        "--flip-test", action="store_true", help="as the node's flip_test: crops mirrored too"
    )
    parser.add_argument(
        "--second-look",
        action="store_true",
        help="as the node's second_look: cut-off skeletons looked at again",
    )
    parser.add_argument("--depth-topic", default="/depth/image_raw", help="16UC1 or 32FC1 images")
    parser.add_argument("--camera-info-topic", default="/depth/camera_info")
    parser.add_argument(
        "--ground-truth-topic",
        default="/ground_truth/skeletons",
        help="SkeletonArray ground truth, used when present",
    )
    for name in ("fx", "fy", "cx", "cy"):
        parser.add_argument(f"--{name}", type=float, help="intrinsics for bags without camera_info")


def register(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser(
        "eval-bag",
        help="evaluate the node's processing on a recorded bag (metrics, plots, overlays)",
        description="Run the node's processing on every depth frame of a bag (read in code, "
        "deterministic), write OUT/outputs.mcap, compare with ground-truth skeletons when the "
        "bag has them, and write OUT/metrics.json, OUT/summary.md, plots and overlays.",
    )
    _common(evaluate)
    evaluate.add_argument("--out", required=True, help="report directory")
    evaluate.set_defaults(handler=_eval_bag)

    regress = commands.add_parser(
        "regress",
        help="compare a bag's outputs with golden outputs (exit 1 on drift)",
    )
    _common(regress)
    regress.add_argument("--golden", required=True, help="golden outputs (.mcap)")
    regress.add_argument("--tol-px", type=float, default=2.0, help="pixel tolerance")
    regress.add_argument("--tol-m", type=float, default=0.02, help="3D tolerance (metres)")
    regress.add_argument("--update", action="store_true", help="write the golden outputs")
    regress.set_defaults(handler=_regress)
