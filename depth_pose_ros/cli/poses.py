"""Pose commands: the motion-capture pose library the generator draws from."""

from __future__ import annotations

import argparse
from pathlib import Path


def _library(args: argparse.Namespace) -> int:
    """Retarget, mirror and coverage-sample a mocap file into a pose library."""
    from depth_pose_ros.data.synthetic.mocap import LIBRARY, build_library, save_library

    source = Path(args.mocap)
    if not source.is_file():
        raise FileNotFoundError(f"mocap file {source} does not exist")
    library = build_library(source)
    out = save_library(library, args.out or LIBRARY)
    error = library.info["bone_direction_error_deg"]
    print(
        f"wrote {out}: {len(library)} poses of {library.info['candidates_with_mirrors']} "
        f"(mirrors included) at least {library.info['coverage_m']} m apart; bone direction "
        f"error median {error['median']} deg, 90th percentile {error['p90']} deg"
    )
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    poses = commands.add_parser("poses", help="human pose libraries")
    jobs = poses.add_subparsers(dest="job", required=True, metavar="JOB")
    library = jobs.add_parser(
        "library",
        help="build the generator's pose library from motion capture (CMU's, retargeted)",
        description="Retarget every pose of a mocap file (24 joints, as ../shared/mocap/"
        "cmu_poses.npz) onto the synthetic body, add the mirror images, keep the poses that "
        "differ from all kept ones by more than 5 cm at some joint, and write the library.",
    )
    library.add_argument("mocap", help="mocap .npz (positions, joint_names, clip_id, ...)")
    library.add_argument("--out", help="library .npz (default: the one the package ships)")
    library.set_defaults(handler=_library)
