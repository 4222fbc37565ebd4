"""The launch files, checked statically (the launch package cannot be installed here): they
parse, every argument they use is declared, every parameter they set is one the node declares,
and every executable, parameter file and config they name exists and gets installed."""

import ast
import re
from pathlib import Path

import pytest

from depth_pose_ros.cli import build_parser
from depth_pose_ros.ros.node import PARAMETERS

ROOT = Path(__file__).resolve().parent.parent
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))
CMAKE = (ROOT / "CMakeLists.txt").read_text()
PACKAGE_XML = (ROOT / "package.xml").read_text()


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) == name or getattr(node.func, "attr", None) == name)
    ]


def keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def test_both_launch_files_exist():
    assert [p.name for p in LAUNCH_FILES] == ["bag_eval.launch.py", "depth_pose.launch.py"]


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_is_consistent(path):
    tree = ast.parse(path.read_text())
    assert any(
        isinstance(f, ast.FunctionDef) and f.name == "generate_launch_description"
        for f in tree.body
    )
    declared = {c.args[0].value for c in calls(tree, "DeclareLaunchArgument")}
    used = {c.args[0].value for c in calls(tree, "LaunchConfiguration")}
    assert used <= declared, f"undeclared arguments: {used - declared}"

    for node in calls(tree, "Node"):
        package = keyword(node, "package").value
        executable = keyword(node, "executable").value
        if package == "depth_pose_ros":
            assert (ROOT / "scripts" / executable).is_file()
            given = keyword(node, "parameters").elts  # the params file, then overrides
            for overrides in (e for e in given if isinstance(e, ast.Dict)):
                names = {k.value for k in overrides.keys}
                assert names <= {*PARAMETERS, "use_sim_time"}, names - set(PARAMETERS)
            assert re.search(rf"install\(PROGRAMS scripts/{executable} ", CMAKE)
        else:
            assert f"<exec_depend>{package}</exec_depend>" in PACKAGE_XML

    for join in calls(tree, "PathJoinSubstitution"):  # config files, included launch files
        parts = [e.value for e in join.args[0].elts if isinstance(e, ast.Constant)]
        assert (ROOT.joinpath(*parts)).is_file(), parts
    assert "install(DIRECTORY launch config DESTINATION share/${PROJECT_NAME})" in CMAKE

    for include in calls(tree, "IncludeLaunchDescription"):
        join = calls(include, "PathJoinSubstitution")[0]
        target = ROOT.joinpath(*[e.value for e in join.args[0].elts if isinstance(e, ast.Constant)])
        accepted = {
            c.args[0].value for c in calls(ast.parse(target.read_text()), "DeclareLaunchArgument")
        }
        passed = keyword(include, "launch_arguments").func.value  # {...}.items()
        assert {k.value for k in passed.keys} <= accepted, f"{target.name} does not declare them"

    for process in calls(tree, "ExecuteProcess"):
        command = [e.value for e in keyword(process, "cmd").elts if isinstance(e, ast.Constant)]
        if command[:2] == ["ros2", "bag"]:
            assert "<exec_depend>ros2bag</exec_depend>" in PACKAGE_XML


def test_every_launch_job_has_a_depth_pose_command():
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"node", "play"} <= set(commands)
