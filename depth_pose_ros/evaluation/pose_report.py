"""Contact sheets of pose clusters and coverage: one row per cluster, its mean pose as a stick
figure and a few example poses (their depth crops where the source has depth)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from depth_pose_ros.core import schema
from depth_pose_ros.core.files import write_atomic
from depth_pose_ros.evaluation.coverage import (
    EXAMPLES,
    ClusterCoverage,
    Clustering,
    Coverage,
    normalise,
)

TILE = 96
CAPTION_WIDTH = 300
LEFT, RIGHT = (60, 120, 255), (255, 150, 60)  # BGR: left side red-orange, right side blue
LEFT_JOINTS = {i for i, name in enumerate(schema.JOINT_NAMES) if "Left" in name}
RIGHT_JOINTS = {i for i, name in enumerate(schema.JOINT_NAMES) if "Right" in name}
MAX_NOVEL_SHOWN = 8

Crop = Callable[[int], np.ndarray | None]


def stick_figure(normalised: np.ndarray, label: str = "") -> np.ndarray:
    """A normalised pose (torso length 1, root at the origin) seen from the camera: x right,
    y down; the subject's left in orange, right in blue."""
    tile = np.full((TILE, TILE, 3), 32, np.uint8)
    scale = TILE / 5.0
    centre = np.array([TILE / 2, TILE * 0.55])
    points = normalised[:, :2] * scale + centre
    present = np.isfinite(points).all(axis=1)
    for a, b in schema.BONES:
        if present[a] and present[b]:
            colour = LEFT if b in LEFT_JOINTS else RIGHT if b in RIGHT_JOINTS else (220, 220, 220)
            start = tuple(int(v) for v in np.rint(points[a]))
            end = tuple(int(v) for v in np.rint(points[b]))
            cv2.line(tile, start, end, colour, 2, cv2.LINE_AA)
    if label:
        cv2.putText(tile, label, (3, TILE - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.32, (255, 255, 255), 1)
    return tile


def _caption(lines: list[str], highlight: bool = False) -> np.ndarray:
    panel = np.full((TILE, CAPTION_WIDTH, 3), 20, np.uint8)
    if highlight:
        panel[:, :4] = (40, 40, 230)
    for row, text in enumerate(lines[:6]):
        cv2.putText(
            panel, text, (8, 16 + 15 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (235, 235, 235), 1
        )
    return panel


def _example(clustering: Clustering, index: int, crop: Crop | None) -> np.ndarray:
    picture = crop(index) if crop is not None else None
    if picture is None:
        normalised = _normalised(clustering, index)
        return stick_figure(normalised, clustering.poses.frames[index][-14:])
    return picture


def _normalised(clustering: Clustering, index: int) -> np.ndarray:
    vector = clustering.vectors[index] * np.sqrt(schema.NUM_JOINTS)
    return vector.reshape(schema.NUM_JOINTS, -1)


def _row(caption: np.ndarray, tiles: list[np.ndarray]) -> np.ndarray:
    return np.hstack([caption, *_padded(tiles[: 1 + EXAMPLES])])


def _groups(clustering: Clustering, members: np.ndarray) -> str:
    groups = clustering.poses.extra.get("groups")
    if not groups:
        return ""
    counts = Counter(groups[i] for i in members if groups[i])
    return ", ".join(f"{name} {count}" for name, count in counts.most_common(3))


def _message(text: str) -> np.ndarray:
    panel = np.full((TILE, CAPTION_WIDTH + (1 + EXAMPLES) * TILE, 3), 20, np.uint8)
    cv2.putText(panel, text, (8, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (235, 235, 235), 1)
    return panel


def clusters_sheet(clustering: Clustering, crop: Crop | None = None) -> np.ndarray:
    """Every cluster, most common first: mean pose, then examples closest to it."""
    rows = []
    for c in clustering.clusters:
        members = np.flatnonzero(clustering.labels == c.id)
        caption = _caption(
            [
                f"cluster {c.id}: {c.count} poses ({100 * c.share:.1f} %)",
                f"spread {c.spread:.2f} torso lengths",
                _groups(clustering, members),
            ]
        )
        tiles = [stick_figure(c.mean, "mean")]
        tiles += [_example(clustering, i, crop) for i in c.examples]
        rows.append(_row(caption, tiles))
    return np.vstack(rows)


def coverage_sheet(result: Coverage, target_crop: Crop | None = None) -> np.ndarray:
    """Missing clusters first (most common in the reference first), then the novel target poses,
    then the clusters the target has."""
    covered = [c for c in result.clusters if not c.missing]
    rows = [_message(f"MISSING in {result.target.name}: {len(result.missing)} clusters")]
    rows += [_coverage_row(result, item) for item in result.missing]
    rows.append(_novel_rows(result, target_crop))
    rows.append(_message(f"covered: {len(covered)} clusters"))
    rows += [_coverage_row(result, item) for item in covered]
    return np.vstack(rows)


def _coverage_row(result: Coverage, item: ClusterCoverage) -> np.ndarray:
    reference, c = result.reference, item.cluster
    members = np.flatnonzero(reference.labels == c.id)
    caption = _caption(
        [
            f"cluster {c.id}" + (" MISSING" if item.missing else ""),
            f"reference {c.count} ({100 * c.share:.1f} %)",
            f"target {item.target_count} ({100 * item.target_share:.1f} %)",
            _groups(reference, members),
        ],
        highlight=item.missing,
    )
    tiles = [stick_figure(c.mean, "mean")]
    tiles += [_example(reference, i, None) for i in c.examples]
    return _row(caption, tiles)


def _novel_rows(result: Coverage, crop: Crop | None) -> np.ndarray:
    novel = sorted(result.novel, key=lambda n: -n.distance)[:MAX_NOVEL_SHOWN]
    header = _message(f"NOVEL target poses (no reference pose near): {len(result.novel)}")
    if not novel:
        return header
    chosen = result.target.joints[[n.index for n in novel]]
    poses = normalise(chosen)
    rows = [header]
    for start in range(0, len(novel), 1 + EXAMPLES):
        chunk = novel[start : start + 1 + EXAMPLES]
        tiles = []
        for offset, item in enumerate(chunk):
            picture = crop(item.index) if crop is not None else None
            if picture is None:
                picture = stick_figure(poses[start + offset])
            cv2.putText(
                picture,
                f"{item.distance:.2f}",
                (3, 12),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.35,
                (255, 255, 255),
                1,
            )
            tiles.append(picture)
        frames = ", ".join(result.target.frames[n.index][-12:] for n in chunk)
        caption = _caption(["frames (distance in torso lengths):", frames[:44], frames[44:88]])
        rows.append(np.hstack([caption, *_padded(tiles)]))
    return np.vstack(rows)


def _padded(tiles: list[np.ndarray]) -> list[np.ndarray]:
    blank = np.zeros((TILE, TILE, 3), np.uint8)
    return [*tiles, *[blank] * (1 + EXAMPLES - len(tiles))]


def write_json(path: Path, document: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(document, indent=1))


def write_image(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"cannot write {path}")
