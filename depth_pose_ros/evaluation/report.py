"""A bag evaluation's report: metrics.json, summary.md, plots and overlay pictures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from depth_pose_ros.core.skeleton import KeypointState, Skeleton, TrackingState
from depth_pose_ros.core.visualize import colourise_depth, draw_skeleton, draw_skeletons, grid
from depth_pose_ros.evaluation import metrics
from depth_pose_ros.evaluation.sequence import SequenceRun

STRIP_FRAMES = 6
GIF_FPS = 10


def figures(
    run: SequenceRun,
    evaluation: tuple[metrics.Report, dict[int, float]] | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    """Everything metrics.json holds: accuracy (when there is ground truth) and speed."""
    result: dict[str, Any] = {
        **details,
        "depth_frames": len(run.stamps),
        "processed_frames": len(run.outputs),
        "rejected_frames": len(run.rejected_frames),
        "rejected_camera_info": len(run.rejected_camera_info),
        "rejections": sorted(
            {problem for _, problem in run.rejected_frames} | set(run.rejected_camera_info)
        ),
        "ground_truth": evaluation is not None,
    }
    if run.latencies_ms:
        p50, p95, p99 = np.percentile(run.latencies_ms, [50, 95, 99])
        result["latency_ms"] = {"p50": round(p50, 2), "p95": round(p95, 2), "p99": round(p99, 2)}
    if evaluation is not None:
        report, errors = evaluation
        result |= report.to_dict()
        result["error_3d_mm_per_frame_mean"] = (
            round(float(np.mean(list(errors.values()))), 1) if errors else None
        )
    return result


def summary_markdown(values: dict[str, Any]) -> str:
    lines = [f"# depth_pose_ros bag evaluation: {values.get('bag', '')}", ""]
    lines += ["| figure | value |", "|---|---|"]
    keys = ["weights", "backend", "depth_frames", "processed_frames", "rejected_frames"]
    keys += ["rejected_camera_info"]
    keys += ["mAP", "AP50", "AP75", "PCK@0.1", "mpjpe_mm", "recall", "false_per_frame"]
    keys += ["people", "detections"]
    for key in keys:
        if key in values and values[key] is not None:
            value = values[key]
            lines.append(
                f"| {key} | {value:.3f} |" if isinstance(value, float) else f"| {key} | {value} |"
            )
    if "latency_ms" in values:
        latency = values["latency_ms"]
        lines.append(
            f"| processing latency (ms) | p50 {latency['p50']}, p95 {latency['p95']}, "
            f"p99 {latency['p99']} |"
        )
    if values.get("per_joint"):
        lines += ["", "| joint | AP |", "|---|---|"]
        lines += [f"| {name} | {ap:.3f} |" for name, ap in values["per_joint"].items()]
    if values.get("rejections"):
        lines += ["", "Rejected frames:", *[f"- {p}" for p in values["rejections"]]]
    if not values["ground_truth"]:
        lines += ["", "The bag has no ground truth topic: speed only."]
    return "\n".join(lines) + "\n"


def _plot_per_joint(per_joint: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 4))
    names = list(per_joint)
    axes.bar(range(len(names)), [per_joint[n] for n in names], color="#3b7dd8")
    axes.set_xticks(range(len(names)), names, rotation=60, ha="right")
    axes.set(ylabel="AP (OKS of the joint)", ylim=(0, 1), title="Per-joint AP")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _plot_errors(run: SequenceRun, errors: dict[int, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = run.stamps[0] if run.stamps else 0
    stamps = sorted(errors)
    figure, axes = plt.subplots(figsize=(10, 3.5))
    axes.plot([(s - start) / 1e9 for s in stamps], [errors[s] for s in stamps], ".-", lw=1)
    axes.set(xlabel="time (s)", ylabel="mean 3D joint error (mm)", title="3D error over time")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def overlay(depth: np.ndarray, truth: list[Skeleton], found: list[Skeleton]) -> np.ndarray:
    """Half-resolution depth with the ground truth in white and the estimates in colour."""
    image = colourise_depth(depth)
    for person in truth:
        present = person.state != KeypointState.NOT_TRACKED
        draw_skeleton(image, person.uv / 2, present, np.zeros_like(present), (235, 235, 235))
    shown = [s for s in found if s.tracking_state != TrackingState.LOST]
    ids = [skeleton.id for skeleton in shown]
    draw_skeletons(image, shown, [str(i) for i in ids], ids, scale=0.5)
    return image


def write(
    out: str | Path,
    run: SequenceRun,
    evaluation: tuple[metrics.Report, dict[int, float]] | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    """Write metrics.json, summary.md, per_joint_ap.png, error_over_time.png, overlays.png and
    overlay.gif into `out`; returns the figures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    values = figures(run, evaluation, details)
    (out / "metrics.json").write_text(json.dumps(values, indent=2) + "\n")
    (out / "summary.md").write_text(summary_markdown(values))
    if evaluation is not None:
        _plot_per_joint(evaluation[0].per_joint, out / "per_joint_ap.png")
        if evaluation[1]:
            _plot_errors(run, evaluation[1], out / "error_over_time.png")
    pictures = [
        overlay(depth, run.truth.get(stamp, []), run.outputs.get(stamp, []))
        for stamp, depth in sorted(run.kept_depth.items())
    ]
    if pictures:
        chosen = np.linspace(0, len(pictures) - 1, min(STRIP_FRAMES, len(pictures))).astype(int)
        cv2.imwrite(str(out / "overlays.png"), grid([pictures[i] for i in chosen], columns=3))
        from PIL import Image

        frames = [Image.fromarray(cv2.cvtColor(p, cv2.COLOR_BGR2RGB)) for p in pictures]
        frames[0].save(
            out / "overlay.gif",
            save_all=True,
            append_images=frames[1:],
            duration=int(1000 / GIF_FPS),
            loop=0,
        )
    return values
