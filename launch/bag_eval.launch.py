"""Play a recorded bag into the depth_pose node and record its outputs (sim time).

    ros2 launch depth_pose_ros bag_eval.launch.py bag:=sample.mcap out:=outputs

Starts depth_pose.launch.py (the node, optionally rviz) with use_sim_time, `ros2 bag play
--clock` and `ros2 bag record`, and stops everything a few seconds after the bag has played.
The same job without a ROS 2 install: `depth-pose play BAG` beside `depth-pose node`, or,
deterministically and with metrics, `depth-pose eval-bag BAG --out report/`.
"""

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    ExecuteProcess,
    IncludeLaunchDescription,
    RegisterEventHandler,
    TimerAction,
)
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("depth_pose_ros")
    arguments = [
        DeclareLaunchArgument("bag", description="rosbag2 bag to play (directory or .mcap)"),
        DeclareLaunchArgument("out", default_value="depth_pose_outputs", description="new bag"),
        DeclareLaunchArgument("rate", default_value="1.0", description="playback rate"),
        DeclareLaunchArgument("depth_topic", default_value="/depth/image_raw"),
        DeclareLaunchArgument("camera_info_topic", default_value="/depth/camera_info"),
        DeclareLaunchArgument("ground_truth_topic", default_value="/ground_truth/skeletons"),
        DeclareLaunchArgument("weights", default_value="lite"),
        DeclareLaunchArgument("rviz", default_value="false"),
    ]
    node = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([share, "launch", "depth_pose.launch.py"])
        ),
        launch_arguments={
            "depth_topic": LaunchConfiguration("depth_topic"),
            "camera_info_topic": LaunchConfiguration("camera_info_topic"),
            "weights": LaunchConfiguration("weights"),
            "rviz": LaunchConfiguration("rviz"),
            "use_sim_time": "true",
        }.items(),
    )
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
    # When the bag has played, give the node and the recorder a moment, then stop everything.
    stop_after_playback = RegisterEventHandler(
        OnProcessExit(
            target_action=player,
            on_exit=[TimerAction(period=3.0, actions=[EmitEvent(event=Shutdown(reason="done"))])],
        )
    )
    return LaunchDescription([*arguments, node, recorder, player, stop_after_playback])
