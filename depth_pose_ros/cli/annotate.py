"""`depth-pose annotate`: correct skeletons on depth frames in the browser (the paper's
annotation refinement tool), saving COCO keypoints that training reads directly."""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from depth_pose_ros.data import SPEC_HELP

if TYPE_CHECKING:
    from depth_pose_ros.annotation.sources import FrameSource
    from depth_pose_ros.inference import PoseEstimator

SOURCE_HELP = (
    "a bag (.mcap, .db3 or a bag directory), a folder of 16-bit depth PNGs (with --fx --fy --cx "
    f"--cy), or a data set: {SPEC_HELP}"
)


def _source(args: argparse.Namespace) -> FrameSource:
    from depth_pose_ros.annotation.bag_source import BagSource, is_bag
    from depth_pose_ros.annotation.sources import DatasetSource, PngFolderSource

    spec = args.source
    if is_bag(spec):
        return BagSource(
            spec, args.depth_topic, args.camera_info_topic, args.skeleton_topic, args.skeletons
        )
    folder = Path(spec)
    if folder.is_dir() and not (folder / "dataset.json").is_file():
        pinhole = (args.fx, args.fy, args.cx, args.cy)
        return PngFolderSource(folder, None if None in pinhole else pinhole)
    return DatasetSource(spec)


def _loopback(host: str) -> bool:
    """Whether `host` is this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


def prefill_estimator(weights: str) -> PoseEstimator:
    """The estimator that proposes skeletons for frames without any: flip-tested and with a
    second look, since a better start saves the annotator corrections and a frame at a time has
    time to spare."""
    from depth_pose_ros.inference import PoseEstimator

    return PoseEstimator(weights, "auto", precision="fp32", flip_test=True, second_look=True)


def _annotate(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from depth_pose_ros.annotation.server import Session, create_app
    from depth_pose_ros.annotation.sources import read_frame_list, select
    from depth_pose_ros.annotation.store import LabelStore

    source = _source(args)
    keys = source.keys()
    first = read_frame_list(args.frames) if args.frames else []
    order = select(keys, args.every, first)
    store = LabelStore(args.out, source.name, keys)
    if args.export_wrp:
        from depth_pose_ros.core.files import write_atomic

        origins = dict(zip(keys, source.origins(), strict=True))
        exported = store.watch_r_patch(origins)
        write_atomic(args.export_wrp, json.dumps(exported))
        print(f"wrote {args.export_wrp}: {len(exported)} labelled frames (Watch-R-Patch format)")
        return 0
    estimate = prefill_estimator(args.weights) if args.prefill else None
    app = create_app(Session(source, store, order, estimate))
    if not _loopback(args.host):
        print(
            f"warning: serving on {args.host}: anyone who can reach this machine can read the "
            "frames and change the labels",
            file=sys.stderr,
        )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # errors only, no line per request
    server = make_server(args.host, args.port, app, threaded=True)
    labelled = sum(store.labelled(keys[index]) for index in order)
    print(
        f"{source.name}: {len(order)} frames to annotate, {labelled} labelled; saving to {args.out}"
    )
    print(f"open http://{args.host}:{server.server_port}/ (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    annotate = commands.add_parser(
        "annotate",
        help="correct skeletons on depth frames in the browser; saves COCO keypoints",
        description="Start a local web page to correct, add and remove skeletons on depth frames "
        "(every change saved at once to --out; restart to resume), as the paper's annotation "
        "refinement tool. The labels train with depth-pose train --data OUT.",
    )
    annotate.add_argument("source", help=SOURCE_HELP)
    annotate.add_argument("--out", required=True, help="labels file (COCO keypoints JSON)")
    annotate.add_argument(
        "--frames", help="file of frame ids to do first (poses coverage --frames-out)"
    )
    annotate.add_argument("--every", type=int, default=1, help="every N-th frame (default 1)")
    annotate.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)"
    )
    annotate.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    annotate.add_argument("--depth-topic", default="/depth/image_raw", help="bag: depth topic")
    annotate.add_argument(
        "--camera-info-topic", default="/depth/camera_info", help="bag: camera_info topic"
    )
    annotate.add_argument("--skeleton-topic", help="bag: SkeletonArray topic to start from")
    annotate.add_argument(
        "--skeletons",
        help="another bag whose SkeletonArray topic to start from (the node's recording)",
    )
    annotate.add_argument(
        "--prefill", action="store_true", help="run the estimator on frames without skeletons"
    )
    annotate.add_argument("--weights", default="lite", help="--prefill: pose weights")
    for name in ("fx", "fy", "cx", "cy"):
        annotate.add_argument(f"--{name}", type=float, help=f"PNG folder: camera {name} (pixels)")
    annotate.add_argument(
        "--export-wrp", metavar="FILE", help="write the labels in the Watch-R-Patch format and exit"
    )
    annotate.set_defaults(handler=_annotate)
