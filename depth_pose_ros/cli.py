"""The `depth-pose` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `depth-pose`; errors a user can fix are printed without a traceback."""
    from depth_pose_ros.bag import BagError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (BagError, FileNotFoundError, ValueError) as error:
        print(f"depth-pose {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
