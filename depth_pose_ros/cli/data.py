"""Data commands: info, bag-info, synth, eval (of results files or a model)."""

from __future__ import annotations

import argparse
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

from depth_pose_ros.core import schema
from depth_pose_ros.data import SPEC_HELP
from depth_pose_ros.data.synthetic.scenarios import SCENARIOS


def _info(_: argparse.Namespace) -> int:
    """Print the installation and the joint schema."""
    from depth_pose_ros.model.weights import available
    from depth_pose_ros.ros.resources import share_directory

    print(f"depth_pose_ros {version('depth-pose-ros')}")
    print(f"share directory: {share_directory()}")
    print(f"shipped weights: {', '.join(available()) or 'none'}")
    parent = {child: parent for parent, child in schema.BONES}
    print(f"\n{'index':>5}  {'joint':<14} {'parent':<14} {'OKS sigma':>9}")
    for index, name in enumerate(schema.JOINT_NAMES):
        parent_name = schema.JOINT_NAMES[parent[index]] if index in parent else "-"
        print(f"{index:>5}  {name:<14} {parent_name:<14} {schema.OKS_SIGMAS[index]:>9.3f}")
    return 0


def _bag_info(args: argparse.Namespace) -> int:
    """Print a bag's topics, types and message counts."""
    from depth_pose_ros.ros.bag import BagReader

    with BagReader(args.bag) as reader:
        topics = reader.topics
        width = max((len(name) for name in topics), default=5)
        print(f"{args.bag}: {len(topics)} topics")
        for name, summary in sorted(topics.items()):
            print(f"  {name:<{width}}  {summary.count:>7}  {summary.msgtype}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    """Generate a data set, a sequence bag or a preview picture."""
    if args.bag:
        if not args.sequence:
            raise ValueError("--bag writes a sequence: add --sequence (and --seconds, --people)")
        from depth_pose_ros.ros.recordings import write_sequence_bag

        people = 2 if args.people is None else args.people
        path = write_sequence_bag(args.bag, args.seed, args.seconds, people, args.split)
        print(f"wrote {path}: {round(args.seconds * 30)} frames, {people} people")
    elif args.out:
        from depth_pose_ros.data.synthetic.dataset import write_dataset

        frames = args.frames or 1000
        write_dataset(
            args.out,
            args.split,
            args.seed,
            frames,
            args.people,
            args.workers,
            scenarios=args.scenario,
        )
        families = ", ".join(args.scenario) if args.scenario else "the mix of every family"
        print(
            f"wrote {frames} frames of split {args.split!r} (seed {args.seed}; {families}) "
            f"to {args.out}"
        )
    else:
        from depth_pose_ros.data.synthetic.preview import write_preview

        write_preview(
            args.preview, args.split, args.seed, args.frames or 12, args.people, args.scenario
        )
        print(f"wrote {args.preview}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    """Evaluate results files, or a model on a data set, and print the paper's table."""
    from depth_pose_ros.evaluation import metrics
    from depth_pose_ros.evaluation import runner as evaluation

    details: dict[str, Any] = {}
    if args.weights:
        if args.gt or args.pred or not args.data:
            raise ValueError("give either --weights and --data, or --gt and --pred")
        from depth_pose_ros.data import open_dataset
        from depth_pose_ros.evaluation.calibration import estimator_crops
        from depth_pose_ros.inference.estimator import PoseEstimator, Thresholds

        chosen = {
            "person": args.person_threshold,
            "stage": args.person_stage_threshold,
            "duplicate": args.duplicate_threshold,
        }
        thresholds = Thresholds(**{k: v for k, v in chosen.items() if v is not None})
        estimator = PoseEstimator(
            args.weights,
            args.backend,
            thresholds,
            precision=args.precision,
            people=args.people,
            calibration=estimator_crops(args.calibration, args.weights, args.people)
            if args.precision == "int8"
            else None,
            flip_test=args.flip_test,
            second_look=args.second_look,
        )
        result = evaluation.run(
            estimator,
            open_dataset(args.data),
            args.person_boxes,
            args.limit,
            filled=args.fill_dropouts,
        )
        print(
            f"{args.data}{' (dropouts filled)' if args.fill_dropouts else ''}: weights "
            f"{args.weights}{' flip-tested' if args.flip_test else ''}"
            f"{', second look' if args.second_look else ''}, person stage "
            f"{args.people}, backend {estimator.backend.name}, "
            f"person boxes from {args.person_boxes}, person threshold {estimator.thresholds.person}"
        )
        details = {
            "data": args.data,
            "weights": args.weights,
            "person_stage": args.people,
            "backend": estimator.backend.name,
            "person_boxes": args.person_boxes,
            "dropouts_filled": args.fill_dropouts,
            "flip_test": args.flip_test,
            "second_look": args.second_look,
            "person_threshold": estimator.thresholds.person,
            "person_stage_threshold": estimator.thresholds.stage,
            "duplicate_threshold": estimator.thresholds.duplicate,
        }
        if args.predictions:
            Path(args.predictions).write_text(json.dumps(result.results))
    else:
        if not (args.gt and args.pred) or args.data:
            raise ValueError("give either --gt and --pred, or --weights and --data")
        result = evaluation.score(
            metrics.load_ground_truth(args.gt), metrics.load_detections(args.pred)
        )
    print(result.report.table())
    if result.multi_person is not None:
        multi = result.multi_person
        print(
            f"\nframes with 2+ people ({multi.frames}): mAP {multi.mAP:.3f}  "
            f"AP50 {multi.AP50:.3f}  AP75 {multi.AP75:.3f}"
        )
    if result.families:
        print("\nper scenario family (recall and false skeletons at OKS 0.5):")
        print(evaluation.family_table(result))
    if args.json:
        figures = evaluation.summary(result) | details
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    info = commands.add_parser("info", help="show the installation and the joint schema")
    info.set_defaults(handler=_info)

    bag_info = commands.add_parser("bag-info", help="list a bag's topics and message counts")
    bag_info.add_argument("bag", help="rosbag2 directory, .mcap or .db3 file")
    bag_info.set_defaults(handler=_bag_info)

    synth = commands.add_parser(
        "synth",
        help="generate synthetic depth frames with exact ground truth",
        description="Generate a data set (--out), a sequence bag (--sequence --bag) or a "
        "preview grid (--preview). Deterministic from --seed and --split.",
    )
    output = synth.add_mutually_exclusive_group(required=True)
    output.add_argument("--out", help="directory for a new data set")
    output.add_argument("--bag", help="new rosbag2 bag (.mcap: one file) for --sequence")
    output.add_argument("--preview", help="PNG grid of samples with ground truth drawn")
    synth.add_argument("--frames", type=int, help="frames (data set: 1000, preview: 12)")
    synth.add_argument("--seed", type=int, default=0, help="random stream (with --split)")
    synth.add_argument(
        "--split", choices=["train", "val", "test"], default="train", help="disjoint streams"
    )
    synth.add_argument(
        "--people", type=int, help="people per frame (default: as the scenario family has it)"
    )
    synth.add_argument(
        "--scenario",
        nargs="+",
        choices=[*SCENARIOS, "room", "v1"],
        help="scenario families; frames cycle through them (default: a mix of all; v1: the "
        "first generator, hand-written poses)",
    )
    synth.add_argument("--workers", type=int, help="processes (default: all cores)")
    synth.add_argument("--sequence", action="store_true", help="continuous 30 Hz motion")
    synth.add_argument("--seconds", type=float, default=10.0, help="sequence length")
    synth.set_defaults(handler=_synth)

    evaluate = commands.add_parser(
        "eval",
        help="the paper's metrics (OKS mAP, AP50, AP75, per joint, PCK, 3D error)",
        description="Evaluate COCO keypoint results (--pred) against COCO keypoint ground "
        "truth (--gt), or run a model (--weights) on a data set (--data), with the paper's "
        "OKS sigmas.",
    )
    evaluate.add_argument("--gt", help="COCO keypoint ground truth JSON")
    evaluate.add_argument("--pred", help="COCO keypoint results JSON")
    evaluate.add_argument("--weights", help="pose weights: shipped name (lite) or .pt file")
    evaluate.add_argument(
        "--people", default="people", help="person-stage weights: shipped name or .pt file"
    )
    evaluate.add_argument("--data", help=SPEC_HELP)
    evaluate.add_argument("--backend", default="auto", help="auto, onnxruntime, torch, ...")
    evaluate.add_argument(
        "--person-boxes",
        choices=["proposals", "truth"],
        default="proposals",
        help="whole estimator (proposals) or the network on annotated people (truth)",
    )
    evaluate.add_argument(
        "--precision", choices=["fp32", "fp16", "int8"], default="fp16", help="as the node's"
    )
    evaluate.add_argument(
        "--calibration", default="synthetic:val", help="int8: data set whose crops calibrate"
    )
    evaluate.add_argument(
        "--person-threshold",
        type=float,
        help="mean joint confidence to report a person (default 0.3, as the node's)",
    )
    evaluate.add_argument(
        "--person-stage-threshold",
        type=float,
        help="person-stage score to look at someone (default 0.15, as the node's)",
    )
    evaluate.add_argument(
        "--duplicate-threshold",
        type=float,
        help="OKS with a more confident skeleton that drops one (default 0.4, as the node's)",
    )
    evaluate.add_argument(
        "--fill-dropouts",
        action="store_true",
        help="fill each frame's scattered dropouts first (as a sensor that leaves none sees it)",
    )
    evaluate.add_argument(
        "--flip-test",
        action="store_true",
        help="average every crop's heatmaps with its mirror's (as the node's flip_test)",
    )
    evaluate.add_argument(
        "--second-look",
        action="store_true",
        help="look again at skeletons cut off at their crop's edge (as the node's second_look)",
    )
    evaluate.add_argument("--limit", type=int, help="evaluate only the first N frames")
    evaluate.add_argument("--predictions", help="also write the COCO results here")
    evaluate.add_argument("--json", help="also write the figures here")
    evaluate.set_defaults(handler=_eval)
