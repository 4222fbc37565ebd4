"""Play a recorded bag into the depth_pose node and record its outputs (sim time).

    ros2 launch depth_pose_ros bag_eval.launch.py bag:=sample.mcap out:=outputs

The same job without a ROS 2 install: `depth-pose play BAG` beside `depth-pose node`, or,
deterministically and with metrics, `depth-pose eval-bag BAG --out report/`.
"""

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    ExecuteProcess,
    RegisterEventHandler,
    TimerAction,
)
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("depth_pose_ros")
    arguments = [
        DeclareLaunchArgument("bag", description="rosbag2 bag to play (directory or .mcap)"),
        DeclareLaunchArgument("out", default_value="depth_pose_outputs", description="new bag"),
        DeclareLaunchArgument("rate", default_value="1.0", description="playback rate"),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", "depth_pose.yaml"]),
        ),
        DeclareLaunchArgument("depth_topic", default_value="/depth/image_raw"),
        DeclareLaunchArgument("camera_info_topic", default_value="/depth/camera_info"),
        DeclareLaunchArgument("ground_truth_topic", default_value="/ground_truth/skeletons"),
        DeclareLaunchArgument("weights", default_value="lite"),
        DeclareLaunchArgument("rviz", default_value="false"),
    ]
    player = ExecuteProcess(
        cmd=[
            "ros2",
            "bag",
            "play",
            LaunchConfiguration("bag"),
            "--clock",
            "--rate",
            LaunchConfiguration("rate"),
        ],
        output="screen",
    )
    recorder = ExecuteProcess(
        cmd=[
            "ros2",
            "bag",
            "record",
            "--use-sim-time",
            "-s",
            "mcap",
            "-o",
            LaunchConfiguration("out"),
            "/depth_pose/skeletons",
            "/depth_pose/markers",
            "/diagnostics",
            LaunchConfiguration("ground_truth_topic"),
        ],
        output="screen",
    )
    node = Node(
        package="depth_pose_ros",
        executable="depth_pose_node",
        name="depth_pose",
        output="screen",
        parameters=[
            LaunchConfiguration("params_file"),
            {"weights": LaunchConfiguration("weights"), "use_sim_time": True},
        ],
        remappings=[
            ("depth/image_raw", LaunchConfiguration("depth_topic")),
            ("depth/camera_info", LaunchConfiguration("camera_info_topic")),
        ],
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", PathJoinSubstitution([share, "config", "depth_pose.rviz"])],
        parameters=[{"use_sim_time": True}],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    # When the bag has played, give the node and the recorder a moment, then stop everything.
    stop_after_playback = RegisterEventHandler(
        OnProcessExit(
            target_action=player,
            on_exit=[TimerAction(period=3.0, actions=[EmitEvent(event=Shutdown(reason="done"))])],
        )
    )
    return LaunchDescription([*arguments, node, recorder, rviz, player, stop_after_playback])
