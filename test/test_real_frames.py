"""Real frames without joint labels are judged by the box the person stands in: a skeleton on
a chair beside a missed person is reported as off the person, not as the one skeleton wanted."""

import json

import cv2
import numpy as np

from depth_pose_ros.cli import main
from depth_pose_ros.core.skeleton import KeypointState, Skeleton
from depth_pose_ros.data.synthetic.generator import generate_v1_frame
from depth_pose_ros.evaluation.real_frames import judge, marked_boxes
from depth_pose_ros.model.preprocess import mask_bounds


def figure_at(x: float, y: float) -> Skeleton:
    """21 joints spread over 60 x 160 px with their top-left corner at (x, y)."""
    rng = np.random.default_rng(1)
    uv = np.column_stack([rng.uniform(0, 60, 21) + x, rng.uniform(0, 160, 21) + y])
    state = np.full(21, KeypointState.TRACKED)
    return Skeleton(uv=uv, confidence=np.full(21, 0.8), state=state, score=0.8)


def test_a_skeleton_counts_as_on_the_person_when_its_joints_are_in_their_box():
    box = (100, 50, 170, 220)
    on, beside = figure_at(105, 55), figure_at(300, 55)
    assert judge([on], box).alone and judge([on], box).found
    both = judge([on, beside], box)
    assert both.on_person == [True, False] and not both.alone and both.off_person == 1
    chair_only = judge([beside], box)
    assert chair_only.found is False and chair_only.alone is False
    assert judge([], box).found is False
    assert judge([on], None).alone is None  # no box: not judged
    hidden = figure_at(105, 55)
    hidden.state[:] = KeypointState.NOT_TRACKED  # joints never located are no evidence
    assert judge([hidden], box).on_person == [False]


def test_every_development_frame_has_a_marked_person():
    boxes = marked_boxes()
    assert len(boxes) == 15
    assert all(x0 < x1 and y0 < y1 for x0, y0, x1, y1 in boxes.values())


def test_the_real_benchmark_reports_whether_the_person_was_found(tmp_path):
    frame = generate_v1_frame("test", 0, 1, people=1)
    person = mask_bounds(frame.person_mask == 1)
    i = frame.intrinsics
    frames = tmp_path / "frames"
    frames.mkdir()
    for name, box in (("a_marked", person), ("b_elsewhere", (0, 0, 20, 20))):
        np.savez(
            frames / f"{name}.npz",
            depth_mm=frame.depth_mm,
            fx=i.fx,
            fy=i.fy,
            cx=i.cx,
            cy=i.cy,
            person_box=np.array(box),
        )
    out = tmp_path / "real.json"
    args = ["bench", "real", "--dir", str(frames), "--json", str(out)]
    assert main([*args, "--sheet", str(tmp_path / "sheet.png")]) == 0
    result = json.loads(out.read_text())
    marked, elsewhere = result["frames"]
    assert marked["skeletons"] == 1 and marked["person_found_alone"] is True
    assert elsewhere["on_person"] == [False] and elsewhere["person_found_alone"] is False
    assert result["frames_person_found_alone"] == 1 and result["skeletons_off_person"] == 1
    assert main([*args, "--flip-test", "--second-look"]) == 0
    flipped = json.loads(out.read_text())
    assert flipped["flip_test"] is flipped["second_look"] is True
    assert result["flip_test"] is result["second_look"] is False
    assert flipped["frames"][0]["person_found_alone"] is True  # the same person, mirrored too
    overlays = cv2.imread(str(tmp_path / "sheet.png"))
    assert main([*args, "--sheet", str(tmp_path / "blank.png"), "--sheet-blank"]) == 0
    blank = cv2.imread(str(tmp_path / "blank.png"))
    assert blank.shape == overlays.shape
    drawn = blank.any(axis=2)  # skeletons, boxes and names only: the depth is not in it
    assert 0 < drawn.mean() < 0.1 < overlays.any(axis=2).mean()
