"""Model commands: train, export, estimate, bench."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from depth_pose_ros.data import SPEC_HELP

SECOND_LOOK_HELP = "look again at skeletons cut off at their crop's edge, around their joints"


def _train(args: argparse.Namespace) -> int:
    """Train or fine-tune DepthPoseNet, or train the person stage; resumes from --out/last.pt
    when it exists."""
    from depth_pose_ros.data import open_dataset

    data = open_dataset(args.data)
    val = open_dataset(args.val) if args.val else None
    if args.stage == "people":
        from depth_pose_ros.model.people import PeopleConfig
        from depth_pose_ros.training.people import PeopleSettings, train_people

        people = PeopleSettings(
            config=PeopleConfig(),
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            workers=args.workers,
            init=args.init,
            downsample=args.downsample,
        )
        rows = train_people(data, args.out, people, val=val)
    else:
        rows = _train_pose(args, data, val)
    last = rows[-1] if rows else {}
    print(f"trained {args.out}: " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()))
    return 0


def _train_pose(args: argparse.Namespace, data: object, val: object) -> list[dict[str, float]]:
    from depth_pose_ros.model.network import CONFIGS
    from depth_pose_ros.training.data import Augmentation
    from depth_pose_ros.training.trainer import TrainSettings, train

    if args.config not in CONFIGS:
        raise ValueError(f"config {args.config!r} is not one of {', '.join(CONFIGS)}")
    changes: dict[str, Any] = {}
    if args.attention:
        changes["attention"] = True
    if args.batch_norm is not None:
        changes["batch_norm"] = args.batch_norm
    settings = TrainSettings(
        config=CONFIGS[args.config].with_changes(**changes),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        schedule=args.schedule,
        seed=args.seed,
        workers=args.workers,
        finetune=args.finetune,
        init=args.init,
        val_people=args.val_people,
        label_noise=args.label_noise,
        people=args.people,
        augmentation=Augmentation(turned=args.turned),
        upsample=args.upsample,
        input_size=(args.input_size, args.input_size) if args.input_size else None,
    )
    return train(data, args.out, settings, val=val)  # type: ignore[arg-type]


def _export(args: argparse.Namespace) -> int:
    """Export weights as ONNX, or build a TensorRT engine into the engine cache."""
    from depth_pose_ros.inference.backends import export_onnx, tensorrt_available
    from depth_pose_ros.model.weights import load, resolve

    model, _ = load(args.weights)
    onnx = export_onnx(model)
    if args.format == "onnx":
        out = Path(args.out or f"{resolve(args.weights).stem}.onnx")
        out.write_bytes(onnx)
        import onnxruntime

        session = onnxruntime.InferenceSession(onnx, providers=["CPUExecutionProvider"])
        height, width = model.config.input_size
        heatmaps = session.run(None, {"depth": np.zeros((1, 1, height, width), np.float32)})[0]
        print(
            f"wrote {out} ({len(onnx) / 1e6:.1f} MB): input depth (N, 1, {height}, {width}), "
            f"output heatmaps {tuple(heatmaps.shape)}"
        )
        return 0
    if not tensorrt_available():
        raise ValueError("TensorRT engines need the tensorrt Python package and a CUDA GPU")
    import shutil

    from depth_pose_ros.evaluation.calibration import estimator_crops
    from depth_pose_ros.inference.precision import ModelCache
    from depth_pose_ros.inference.tensorrt import EngineCache, TensorRTBuilder

    calibration = None
    if args.precision == "int8":
        calibration = estimator_crops(args.calibration, args.weights, args.people)
    model_onnx = ModelCache().get(onnx, args.precision, calibration)
    cache = EngineCache(TensorRTBuilder())
    _, spec = cache.get(model_onnx, args.precision, model.config.input_size)
    path = cache.engine_path(spec)
    if args.out:
        shutil.copyfile(path, args.out)
    print(
        f"TensorRT {spec.tensorrt_version} {args.precision} engine for {spec.gpu_name}: "
        f"{args.out or path}"
    )
    return 0


def _estimate(args: argparse.Namespace) -> int:
    """Estimate the skeletons of one depth frame; print them, write JSON and an overlay."""
    import cv2

    from depth_pose_ros.core import schema
    from depth_pose_ros.core.camera import KINECT_V2, CameraIntrinsics
    from depth_pose_ros.core.depth_image import read_depth_file
    from depth_pose_ros.core.skeleton import KeypointState
    from depth_pose_ros.core.visualize import colourise_depth, draw_skeletons
    from depth_pose_ros.inference.estimator import PoseEstimator, Thresholds

    path = Path(args.frame)
    if not path.is_file():
        raise FileNotFoundError(f"depth frame {path} does not exist")
    depth = read_depth_file(path)
    given = [args.fx, args.fy, args.cx, args.cy]
    if any(v is not None for v in given) and not all(v is not None for v in given):
        raise ValueError("give all of --fx --fy --cx --cy, or none (Kinect v2 defaults)")
    fx, fy, cx, cy = (
        given if given[0] is not None else (KINECT_V2.fx, KINECT_V2.fy, KINECT_V2.cx, KINECT_V2.cy)
    )
    height, width = depth.shape
    intrinsics = CameraIntrinsics(width, height, fx, fy, cx, cy)
    estimator = PoseEstimator(
        args.weights,
        args.backend,
        Thresholds() if args.person_threshold is None else Thresholds(person=args.person_threshold),
        max_people=args.max_people,
        people=args.people,
        flip_test=args.flip_test,
        second_look=args.second_look,
    )
    skeletons = estimator(depth, intrinsics)
    people = []
    print(f"{path}: {len(skeletons)} people (weights {args.weights}, {estimator.backend.name})")
    for number, skeleton in enumerate(skeletons, start=1):
        joints = [
            {
                "name": name,
                "u": round(float(skeleton.uv[j, 0]), 2),
                "v": round(float(skeleton.uv[j, 1]), 2),
                "x": None if np.isnan(skeleton.xyz[j, 0]) else round(float(skeleton.xyz[j, 0]), 4),
                "y": None if np.isnan(skeleton.xyz[j, 1]) else round(float(skeleton.xyz[j, 1]), 4),
                "z": None if np.isnan(skeleton.xyz[j, 2]) else round(float(skeleton.xyz[j, 2]), 4),
                "confidence": round(float(skeleton.confidence[j]), 4),
                "state": KeypointState(int(skeleton.state[j])).name,
            }
            for j, name in enumerate(schema.JOINT_NAMES)
        ]
        people.append({"score": round(skeleton.score, 4), "joints": joints})
        tracked = int(np.count_nonzero(skeleton.state == KeypointState.TRACKED))
        head = skeleton.xyz[schema.JOINT_INDEX["Head"]]
        where = (
            "unknown"
            if np.isnan(head).any()
            else f"({head[0]:.2f}, {head[1]:.2f}, {head[2]:.2f}) m"
        )
        print(
            f"  person {number}: score {skeleton.score:.2f}, {tracked}/21 joints tracked, "
            f"head at {where}"
        )
    if args.json:
        document = {
            "frame": str(path),
            "camera": {"fx": fx, "fy": fy, "cx": cx, "cy": cy, "width": width, "height": height},
            "people": people,
        }
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.overlay:
        image = colourise_depth(depth)
        numbers = range(1, len(skeletons) + 1)
        labels = [f"{n}: {s.score:.2f}" for n, s in zip(numbers, skeletons, strict=True)]
        draw_skeletons(image, skeletons, labels, numbers)
        if not cv2.imwrite(str(args.overlay), image):
            raise ValueError(f"cannot write an image to {args.overlay}")
        print(f"wrote {args.overlay}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    """Measure speed and write the figures as JSON."""
    from depth_pose_ros.cli import benchmarks

    if args.target == "synth":
        figures = benchmarks.synth_speed(args.frames or 60)
    elif args.target == "annotate":
        figures = benchmarks.annotate_page(args.frames or 40)
    elif args.target == "real":
        figures = benchmarks.real_frames(
            args.dir,
            args.weights,
            args.person_stage,
            args.sheet,
            args.sheet_blank,
            args.flip_test,
            args.second_look,
        )
    elif args.target in ("node", "soak"):
        seconds = args.seconds or (600.0 if args.target == "soak" else 60.0)
        parameters = {"precision": args.precision or "fp16", "threads": str(args.threads)}
        for option in ("flip_test", "second_look"):
            if getattr(args, option):
                parameters[option] = "true"
        figures = benchmarks.node_load(seconds, args.rate, args.weights, args.people, parameters)
    else:
        figures = benchmarks.model_speed(
            configs=args.configs,
            backends=args.backends,
            frames=args.frames or 60,
            precisions=[args.precision] if args.precision else None,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    training = commands.add_parser(
        "train",
        help="train or fine-tune the pose network (resumes from OUT/last.pt)",
        description="Train DepthPoseNet on person crops of a data set. Writes OUT/last.pt "
        "(checkpoint, resumed automatically), OUT/best.pt (best validation mAP), OUT/log.csv, "
        "OUT/log.json and OUT/curves.png. Under torchrun, trains on every process.",
    )
    training.add_argument(
        "--stage",
        choices=["pose", "people"],
        default="pose",
        help="the pose network (default) or the person stage (data with person masks)",
    )
    training.add_argument("--data", required=True, help=SPEC_HELP)
    training.add_argument("--val", help="validation data (same forms as --data)")
    training.add_argument("--out", required=True, help="run directory")
    training.add_argument("--config", default="lite", help="model config: lite, base, paper")
    training.add_argument("--attention", action="store_true", help="attention-gated stages")
    training.add_argument(
        "--batch-norm", action=argparse.BooleanOptionalAction, help="override the config's"
    )
    training.add_argument(
        "--input-size",
        type=int,
        help="pose stage: square crop side (the config's); with --init, those weights on crops "
        "of this side",
    )
    training.add_argument(
        "--downsample",
        type=int,
        help="person stage: the network reads every N-th pixel of the frame (the config's: 4); "
        "with --init, those weights on frames read this finely",
    )
    training.add_argument("--epochs", type=int, default=30, help="passes over --data")
    training.add_argument("--batch-size", type=int, default=16, help="crops per step (per GPU)")
    training.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (paper)")
    training.add_argument(
        "--schedule",
        choices=["constant", "cosine"],
        default="constant",
        help="learning rate over the run (paper: constant)",
    )
    training.add_argument("--seed", type=int, default=0, help="initialisation and sampling")
    training.add_argument("--workers", type=int, default=1, help="data loading processes")
    training.add_argument("--finetune", choices=["all", "blk", "last"], help="needs --init")
    training.add_argument(
        "--init", help="weights to start from (name or .pt; pose or person stage)"
    )
    training.add_argument("--val-people", type=int, default=400, help="people validated")
    training.add_argument(
        "--people", help="person-stage weights: also validate the whole estimator (pose stage)"
    )
    training.add_argument(
        "--label-noise",
        type=float,
        default=0.0,
        help="train on Kinect-like noisy labels: joint error as a fraction of person size",
    )
    training.add_argument(
        "--turned",
        type=float,
        default=0.0,
        help="pose stage: share of crops rotated by any angle, not only +-4 degrees (people "
        "lying or bent over)",
    )
    training.add_argument(
        "--upsample",
        type=int,
        help="pose stage: upsampling levels after the stages, each halving the heatmaps' "
        "stride (1: stride 4); with --init, a new head on those weights",
    )
    training.set_defaults(handler=_train)

    export = commands.add_parser("export", help="export weights to ONNX or build a TensorRT engine")
    export.add_argument("--weights", default="lite", help="shipped name or .pt file")
    export.add_argument("--format", choices=["onnx", "tensorrt"], default="onnx", help="output")
    export.add_argument(
        "--precision", choices=["fp32", "fp16", "int8"], default="fp16", help="TensorRT only"
    )
    export.add_argument("--calibration", default="synthetic:val", help="INT8 frames: " + SPEC_HELP)
    export.add_argument("--people", default="people", help="person stage choosing INT8 crops")
    export.add_argument("--out", help="output file (ONNX default: WEIGHTS.onnx)")
    export.set_defaults(handler=_export)

    estimate = commands.add_parser(
        "estimate",
        help="skeletons of one depth frame (16-bit PNG in mm, or .npy)",
        description="Estimate everyone in a depth frame. Intrinsics default to a Kinect v2.",
    )
    estimate.add_argument("frame", help="16-bit PNG (millimetres) or .npy (metres or mm)")
    estimate.add_argument("--fx", type=float, help="focal length x (px)")
    estimate.add_argument("--fy", type=float, help="focal length y (px)")
    estimate.add_argument("--cx", type=float, help="principal point x (px)")
    estimate.add_argument("--cy", type=float, help="principal point y (px)")
    estimate.add_argument("--weights", default="lite", help="pose weights: name or .pt file")
    estimate.add_argument("--people", default="people", help="person-stage weights")
    estimate.add_argument(
        "--backend", default="auto", help="auto, tensorrt, torch-cuda, onnxruntime or torch"
    )
    estimate.add_argument("--max-people", type=int, help="1: the single-person fast path")
    estimate.add_argument(
        "--flip-test", action="store_true", help="average each crop's heatmaps with its mirror's"
    )
    estimate.add_argument("--second-look", action="store_true", help=SECOND_LOOK_HELP)
    estimate.add_argument(
        "--person-threshold",
        type=float,
        help="mean joint confidence to report a person (default 0.3, as the node's)",
    )
    estimate.add_argument("--json", help="write the skeletons here")
    estimate.add_argument("--overlay", help="write the frame with skeletons drawn here")
    estimate.set_defaults(handler=_estimate)

    bench = commands.add_parser(
        "bench",
        help="measure speed (figures to stdout and --json)",
        description="model (default): every available backend and model config, model-only "
        "throughput and end-to-end estimator latency on 512x424 frames, the paper-size config "
        "as the baseline. node: the running node fed at --rate for --seconds (dropped frames, "
        "latency, CPU, memory). soak: the same for 10 minutes. synth: the data generator. real: "
        "the estimator on real frames without labels (skeletons per frame, an overlay sheet). "
        "annotate: the annotation page in Chromium (next frame and jump times).",
    )
    bench.add_argument(
        "target",
        nargs="?",
        choices=["model", "node", "soak", "synth", "real", "annotate"],
        default="model",
    )
    bench.add_argument(
        "--dir", default="../shared/real-dev", help="real: a folder of depth frames (.npz)"
    )
    bench.add_argument("--sheet", help="real: write an overlay sheet of the frames here")
    bench.add_argument(
        "--sheet-blank",
        action="store_true",
        help="real: draw the sheet on black, without the frames (to share where their licence "
        "forbids sharing them)",
    )
    bench.add_argument(
        "--flip-test",
        action="store_true",
        help="real, node, soak: average each crop's heatmaps with its mirror's",
    )
    bench.add_argument(
        "--second-look", action="store_true", help=f"real, node, soak: {SECOND_LOOK_HELP}"
    )
    bench.add_argument("--seconds", type=float, help="node: 60, soak: 600")
    bench.add_argument("--rate", type=float, default=30.0, help="node/soak: frames per second")
    bench.add_argument("--weights", default="lite", help="node, soak, real: pose weights")
    bench.add_argument(
        "--person-stage", default="people", help="real: person-stage weights (name or .pt)"
    )
    bench.add_argument("--frames", type=int, help="frames per measurement")
    bench.add_argument(
        "--configs",
        nargs="+",
        default=["lite", "base", "paper"],
        help="model configs (paper: the baseline)",
    )
    bench.add_argument("--backends", nargs="+", help="default: every available one")
    bench.add_argument(
        "--precision", choices=["fp32", "fp16", "int8"], help="model: only this; node: the node's"
    )
    bench.add_argument("--people", type=int, default=1, help="node/soak: people in the stream")
    bench.add_argument("--threads", type=int, default=0, help="node/soak: ONNX Runtime threads")
    bench.add_argument("--json", help="write the figures here")
    bench.set_defaults(handler=_bench)
