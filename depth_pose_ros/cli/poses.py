"""Pose commands: the motion-capture pose library the generator draws from, and pose coverage
(which poses a data set or a recording has, and which it lacks)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from depth_pose_ros.evaluation.coverage import PoseSet
    from depth_pose_ros.evaluation.pose_report import Crop

SOURCE_HELP = (
    "mocap (the shipped pose library) | a bag (.mcap, .db3 or a bag directory: its SkeletonArray "
    "topic) | a COCO keypoint JSON | a data set: synthetic:test, synthetic:hard, DIR, "
    "watch-n-patch:ROOT"
)


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


def _is_bag(spec: str) -> bool:
    path = Path(spec)
    return path.suffix in (".mcap", ".db3") or (path / "metadata.yaml").is_file()


def _source(spec: str, topic: str | None) -> tuple[PoseSet, Crop | None]:
    """Poses of a source, and a depth-crop function where the source has depth frames."""
    from depth_pose_ros.evaluation import pose_sources

    if not _is_bag(spec):
        return pose_sources.load(spec)
    from depth_pose_ros.ros.bag import BagReader

    with BagReader(spec) as bag:
        topic = bag.skeleton_topic(topic)
        frames = [(str(f.stamp_ns), f.skeletons) for f in bag.skeleton_frames(topic)]
    return pose_sources.from_skeletons(f"{spec} {topic}", frames), None


def _report_counts(poses: PoseSet) -> str:
    space = "3D" if poses.dims == 3 else "2D"
    return f"{len(poses)} poses ({space}), {poses.skipped} skipped with too few joints"


def _clusters(args: argparse.Namespace) -> int:
    """Cluster the poses of a source; write clusters.json and a contact sheet."""
    from depth_pose_ros.evaluation.coverage import cluster
    from depth_pose_ros.evaluation.pose_report import clusters_sheet, write_image, write_json

    poses, crop = _source(args.source, args.topic)
    print(f"{args.source}: {_report_counts(poses)}")
    clustering = cluster(poses, *([args.clusters] if args.clusters else []))
    out = Path(args.out)
    write_json(out / "clusters.json", clustering.to_dict())
    write_image(out / "clusters.png", clusters_sheet(clustering, crop))
    for c in clustering.clusters:
        share = f"{100 * c.share:5.1f} %"
        print(f"  cluster {c.id:3d}: {c.count:6d} poses ({share}), spread {c.spread:.2f}")
    print(f"wrote {out / 'clusters.json'} and {out / 'clusters.png'}")
    return 0


def _coverage(args: argparse.Namespace) -> int:
    """Which reference pose clusters a target lacks, and which target poses are novel."""
    from depth_pose_ros.core.files import write_atomic
    from depth_pose_ros.evaluation.coverage import (
        DEFAULT_CLUSTERS,
        MISSING_RATIO,
        NOVEL_DISTANCE,
        cluster,
        coverage,
    )
    from depth_pose_ros.evaluation.pose_report import (
        coverage_sheet,
        write_image,
        write_json,
    )

    reference, _ = _source(args.reference, args.reference_topic)
    target, target_crop = _source(args.target, args.topic)
    print(f"reference {args.reference}: {_report_counts(reference)}")
    print(f"target {args.target}: {_report_counts(target)}")
    missing_ratio = args.missing_ratio if args.missing_ratio is not None else MISSING_RATIO
    novel_distance = args.novel_distance if args.novel_distance is not None else NOVEL_DISTANCE
    clustering = cluster(reference, args.clusters or DEFAULT_CLUSTERS)
    result = coverage(clustering, target, missing_ratio, novel_distance)
    out = Path(args.out)
    write_json(out / "coverage.json", result.to_dict())
    write_image(out / "coverage.png", coverage_sheet(result, target_crop))
    print(
        f"{len(result.missing)} of {len(result.clusters)} reference clusters missing "
        f"(target share < {missing_ratio} x reference share); {len(result.novel)} novel "
        f"target poses (> {novel_distance} torso lengths from every reference pose)"
    )
    for item in result.missing:
        c = item.cluster
        print(
            f"  missing cluster {c.id:3d}: reference {c.count} ({100 * c.share:.1f} %), "
            f"target {item.target_count} ({100 * item.target_share:.1f} %)"
        )
    if args.frames_out:
        frames = result.frames_to_annotate()
        lines = [f"# frames of {args.target} to annotate first: novel poses, then rare ones"]
        write_atomic(Path(args.frames_out), "\n".join([*lines, *frames]) + "\n")
        print(f"wrote {args.frames_out}: {len(frames)} frames")
    print(f"wrote {out / 'coverage.json'} and {out / 'coverage.png'}")
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

    clusters = jobs.add_parser(
        "clusters",
        help="cluster the poses of a data set, a recording or the pose library",
        description="Normalise every skeleton (root on SpineBase, scaled by torso length, in 3D "
        "turned to face the camera), cluster them with k-means and write OUT/clusters.json "
        "and OUT/clusters.png (each cluster's mean pose and examples).",
    )
    clusters.add_argument("source", help=SOURCE_HELP)
    clusters.add_argument("--out", required=True, help="report directory")
    clusters.add_argument("--clusters", type=int, help="K, the number of clusters (default 24)")
    clusters.add_argument("--topic", help="bag: the SkeletonArray topic (default: the only one)")
    clusters.set_defaults(handler=_clusters)

    cover = jobs.add_parser(
        "coverage",
        help="which poses of a reference a target lacks, and which target poses are novel",
        description="Cluster the reference's poses, assign the target's to the clusters, and "
        "write OUT/coverage.json (per cluster: reference and target counts, missing; novel "
        "target poses) and OUT/coverage.png (missing clusters first).",
    )
    cover.add_argument("--reference", required=True, help=SOURCE_HELP)
    cover.add_argument("--target", required=True, help=SOURCE_HELP)
    cover.add_argument("--out", required=True, help="report directory")
    cover.add_argument("--clusters", type=int, help="K, the number of clusters (default 24)")
    cover.add_argument(
        "--missing-ratio",
        type=float,
        help="a cluster is missing when its target share is under this x its reference share "
        "(default 0.25)",
    )
    cover.add_argument(
        "--novel-distance",
        type=float,
        help="a target pose farther than this (torso lengths, RMS over joints) from every "
        "reference pose is novel (default 0.35)",
    )
    cover.add_argument("--frames-out", help="write the target frames to annotate first here")
    cover.add_argument("--topic", help="target bag: its SkeletonArray topic")
    cover.add_argument("--reference-topic", help="reference bag: its SkeletonArray topic")
    cover.set_defaults(handler=_coverage)
