"""ROS commands: node, play, demo."""

from __future__ import annotations

import argparse


def _node(args: argparse.Namespace) -> int:
    """Run the depth_pose node; everything after `node` goes to ROS (--ros-args ...)."""
    from depth_pose_ros.ros.node import main

    return main(["depth-pose", *args.ros_arguments])


def _play(args: argparse.Namespace) -> int:
    """Publish a bag into ROS topics with its original timing."""
    from depth_pose_ros.ros.player import main

    return main(args.bag, args.rate, args.max_speed, args.topics, args.clock, args.restamp)


def _demo(args: argparse.Namespace) -> int:
    """Generate a recording, play it through the running node, evaluate what comes back."""
    from depth_pose_ros.cli.demo import run

    return run(args.out, args.seed, args.seconds, args.people)


def register(commands: argparse._SubParsersAction) -> None:
    node = commands.add_parser(
        "node",
        help="run the ROS 2 node (depth images in, skeletons out)",
        description="Run the depth_pose node. Pass ROS arguments after --ros-args, e.g. "
        "depth-pose node --ros-args -p weights:=lite "
        "-r depth/image_raw:=/kinect2/sd/image_depth_rect",
    )
    node.set_defaults(handler=_node, ros_arguments=[])

    play = commands.add_parser(
        "play",
        help="publish a bag (sqlite3 or MCAP) into ROS topics with its original timing",
    )
    play.add_argument("bag", help="rosbag2 directory, .mcap or .db3 file")
    speed = play.add_mutually_exclusive_group()
    speed.add_argument("--rate", type=float, default=1.0, help="playback speed factor")
    speed.add_argument("--max-speed", action="store_true", help="no pauses between messages")
    play.add_argument("--topics", nargs="+", help="only these topics (default: all)")
    play.add_argument("--clock", action="store_true", help="publish /clock from the bag")
    play.add_argument(
        "--restamp", action="store_true", help="stamp headers with the time of publishing"
    )
    play.set_defaults(handler=_play)

    demo = commands.add_parser(
        "demo",
        help="the whole system on a generated bag: node over DDS, metrics, pictures",
    )
    demo.add_argument("--out", default="demo", help="where the bag, outputs and report go")
    demo.add_argument("--seed", type=int, default=7, help="the generated recording")
    demo.add_argument("--seconds", type=float, default=10.0, help="recording length")
    demo.add_argument("--people", type=int, default=3, help="people in the scene")
    demo.set_defaults(handler=_demo)
