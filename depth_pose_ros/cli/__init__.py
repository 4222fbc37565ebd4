"""The `depth-pose` command: one entry point, a subcommand per job.

Each module of this package registers the subcommands of one area; imports of heavy libraries
(torch, rclpy) happen inside the commands, so `depth-pose --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version

from depth_pose_ros.cli import annotate, bags, data, models, poses, ros

AREAS = (data, poses, models, ros, bags, annotate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="depth-pose",
        description="Human pose estimation from depth images, for ROS 2.",
    )
    parser.add_argument("--version", action="version", version=version("depth-pose-ros"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for area in AREAS:
        area.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `depth-pose`; errors a user can fix are printed without a traceback."""
    from depth_pose_ros.ros.bag import BagError

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "ros_arguments", None) is not None:
        args.ros_arguments = extra  # `node` hands everything else to ROS (--ros-args ...)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.handler(args)
    except (BagError, FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"depth-pose {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
