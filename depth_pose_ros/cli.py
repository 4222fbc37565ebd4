"""The `depth-pose` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

from depth_pose_ros import schema


def _info(_: argparse.Namespace) -> int:
    """Print the installation and the joint schema."""
    from depth_pose_ros.resources import share_directory

    print(f"depth_pose_ros {version('depth-pose-ros')}")
    print(f"share directory: {share_directory()}")
    parent = {child: parent for parent, child in schema.BONES}
    print(f"\n{'index':>5}  {'joint':<14} {'parent':<14} {'OKS sigma':>9}")
    for index, name in enumerate(schema.JOINT_NAMES):
        parent_name = schema.JOINT_NAMES[parent[index]] if index in parent else "-"
        print(f"{index:>5}  {name:<14} {parent_name:<14} {schema.OKS_SIGMAS[index]:>9.3f}")
    return 0


def _bag_info(args: argparse.Namespace) -> int:
    """Print a bag's topics, types, message counts and time span."""
    from depth_pose_ros.bag import BagReader

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
        from depth_pose_ros.datasets.synthetic import write_sequence_bag

        people = 2 if args.people is None else args.people
        path = write_sequence_bag(args.bag, args.seed, args.seconds, people, args.split)
        print(f"wrote {path}: {round(args.seconds * 30)} frames, {people} people")
    elif args.out:
        from depth_pose_ros.datasets.synthetic import write_dataset

        frames = args.frames or 1000
        write_dataset(args.out, args.split, args.seed, frames, args.people, args.workers)
        print(f"wrote {frames} frames of split {args.split!r} (seed {args.seed}) to {args.out}")
    else:
        from depth_pose_ros.synthetic.preview import write_preview

        write_preview(args.preview, args.split, args.seed, args.frames or 12, args.people)
        print(f"wrote {args.preview}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    """Evaluate COCO keypoint results against ground truth and print the paper's table."""
    import json

    from depth_pose_ros import metrics

    report = metrics.evaluate(
        metrics.load_ground_truth(args.gt), metrics.load_detections(args.pred)
    )
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    """Measure speed and write the figures as JSON."""
    import json

    from depth_pose_ros.benchmarks import synth_speed

    figures = synth_speed(args.frames or 60)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="depth-pose",
        description="Human pose estimation from depth images, for ROS 2.",
    )
    parser.add_argument("--version", action="version", version=version("depth-pose-ros"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--split", choices=["train", "val", "test"], default="train")
    synth.add_argument("--people", type=int, help="people per frame (default: 1-4 at random)")
    synth.add_argument("--workers", type=int, help="processes (default: all cores)")
    synth.add_argument("--sequence", action="store_true", help="continuous 30 Hz motion")
    synth.add_argument("--seconds", type=float, default=10.0, help="sequence length")
    synth.set_defaults(handler=_synth)

    evaluate = commands.add_parser(
        "eval",
        help="the paper's metrics (OKS mAP, AP50, AP75, per joint, PCK, 3D error)",
        description="Evaluate COCO keypoint results (--pred) against COCO keypoint ground "
        "truth (--gt) with the paper's OKS sigmas.",
    )
    evaluate.add_argument("--gt", required=True, help="COCO keypoint ground truth JSON")
    evaluate.add_argument("--pred", required=True, help="COCO keypoint results JSON")
    evaluate.add_argument("--json", help="also write the figures here")
    evaluate.set_defaults(handler=_eval)

    bench = commands.add_parser("bench", help="measure speed (figures to stdout and --json)")
    bench.add_argument("target", choices=["synth"], help="what to measure")
    bench.add_argument("--frames", type=int, help="frames per measurement")
    bench.add_argument("--json", help="write the figures here")
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `depth-pose`; errors a user can fix are printed without a traceback."""
    from depth_pose_ros.bag import BagError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (BagError, FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"depth-pose {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
