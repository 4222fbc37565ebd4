"""Start the depth_pose node on a live depth camera, optionally with rviz.

    ros2 launch depth_pose_ros depth_pose.launch.py rviz:=true \
        depth_topic:=/kinect2/sd/image_depth_rect camera_info_topic:=/kinect2/sd/camera_info
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("depth_pose_ros")
    arguments = [
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", "depth_pose.yaml"]),
            description="node parameters",
        ),
        DeclareLaunchArgument("depth_topic", default_value="/depth/image_raw"),
        DeclareLaunchArgument("camera_info_topic", default_value="/depth/camera_info"),
        DeclareLaunchArgument("weights", default_value="lite", description="weights name or .pt"),
        DeclareLaunchArgument(
            "people", default_value="people", description="person-stage weights name or .pt"
        ),
        DeclareLaunchArgument("backend", default_value="auto", description="inference backend"),
        DeclareLaunchArgument(
            "flip_test", default_value="false", description="crops mirrored too (2x network)"
        ),
        DeclareLaunchArgument(
            "second_look",
            default_value="false",
            description="cut-off skeletons looked at again in a crop around their joints",
        ),
        DeclareLaunchArgument("use_sim_time", default_value="false"),
        DeclareLaunchArgument("rviz", default_value="false", description="also start rviz"),
        DeclareLaunchArgument(
            "frame_id",
            default_value="kinect2_ir_optical_frame",
            description="rviz fixed frame: the depth camera's optical frame",
        ),
    ]
    node = Node(
        package="depth_pose_ros",
        executable="depth_pose_node",
        name="depth_pose",
        output="screen",
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "weights": LaunchConfiguration("weights"),
                "people": LaunchConfiguration("people"),
                "backend": LaunchConfiguration("backend"),
                "flip_test": LaunchConfiguration("flip_test"),
                "second_look": LaunchConfiguration("second_look"),
                "use_sim_time": LaunchConfiguration("use_sim_time"),
            },
        ],
        remappings=[
            ("depth/image_raw", LaunchConfiguration("depth_topic")),
            ("depth/camera_info", LaunchConfiguration("camera_info_topic")),
        ],
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=[
            "-d",
            PathJoinSubstitution([share, "config", "depth_pose.rviz"]),
            "-f",
            LaunchConfiguration("frame_id"),
        ],
        parameters=[{"use_sim_time": LaunchConfiguration("use_sim_time")}],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription([*arguments, node, rviz])
