"""The paper's metric: pycocotools' OKS AP with our sigmas, and what we add to it (per-joint AP,
PCK, 3D error, people recall, false skeletons)."""

import contextlib
import copy
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from depth_pose_ros.core import schema
from depth_pose_ros.data import coco
from depth_pose_ros.evaluation import metrics

K = schema.NUM_JOINTS


def ground_truth_person(ann_id, image_id, uv, visibility, iscrowd=None):
    record = coco.annotation(ann_id, image_id, uv, visibility)
    if iscrowd is not None:
        record["iscrowd"] = int(iscrowd)
    return record


def detection(image_id, uv, score):
    return coco.result(image_id, uv, np.ones(K), score)


def random_case(seed: int, images: int = 25):
    rng = np.random.default_rng(seed)
    annotations, results = [], []
    for image_id in range(1, images + 1):
        for _ in range(rng.integers(0, 4)):
            centre = rng.uniform([60, 60], [450, 360])
            uv = centre + rng.normal(0, 45, size=(K, 2))
            visibility = rng.choice([0, 1, 2], size=K, p=[0.15, 0.25, 0.6])
            if rng.random() < 0.05:
                visibility[:] = 0  # a person without labels (ignored)
            annotations.append(
                ground_truth_person(
                    len(annotations) + 1, image_id, uv, visibility, iscrowd=rng.random() < 0.05
                )
            )
            for _ in range(rng.integers(0, 3)):  # detections of various quality
                noise = rng.gamma(1.0, rng.uniform(1, 15))
                score = round(float(rng.uniform()), 2)  # ties happen
                results.append(detection(image_id, uv + rng.normal(0, noise, (K, 2)), score))
        for _ in range(rng.integers(0, 2)):  # false positives, also on images without people
            uv = rng.uniform([0, 0], [512, 424], size=(K, 2))
            results.append(detection(image_id, uv, round(float(rng.uniform()), 2)))
    images_json = [{"id": i, "width": 512, "height": 424} for i in range(1, images + 1)]
    return coco.document(images_json, annotations), results


def pycocotools_stats(ground_truth, results, joint=None):
    ground_truth, results = copy.deepcopy(ground_truth), copy.deepcopy(results)
    sigmas = schema.OKS_SIGMAS
    if joint is not None:  # OKS of one joint: the other joints unlabelled
        for ann in ground_truth["annotations"]:
            keypoints = np.asarray(ann["keypoints"]).reshape(K, 3)
            ann["keypoints"] = keypoints[joint].tolist()
            ann["num_keypoints"] = int(keypoints[joint, 2] > 0)
        for r in results:
            r["keypoints"] = np.asarray(r["keypoints"]).reshape(K, 3)[joint].tolist()
        sigmas = sigmas[joint : joint + 1]
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = ground_truth
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(results), "keypoints")
        evaluation.params.kpt_oks_sigmas = sigmas
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats[:3]  # AP, AP50, AP75


def ours(ground_truth, results):
    return metrics.evaluate(ground_truth, results)


@pytest.mark.parametrize("seed", range(2))
def test_ap_is_pycocotools_summary_with_our_sigmas(seed):
    ground_truth, results = random_case(seed)
    report = ours(ground_truth, results)
    expected = pycocotools_stats(ground_truth, results)
    np.testing.assert_allclose([report.mAP, report.AP50, report.AP75], expected, atol=1e-12)


def test_per_joint_ap_scores_each_joint_alone():
    ground_truth, results = random_case(100)
    report = ours(ground_truth, results)
    for joint in (0, 6, 19):
        expected = pycocotools_stats(ground_truth, results, joint)[0]
        assert report.per_joint[schema.JOINT_NAMES[joint]] == pytest.approx(expected, abs=1e-12)
    rng = np.random.default_rng(4)
    uv = rng.uniform(100, 300, size=(K, 2))
    truth = coco.document(
        [{"id": 1, "width": 512, "height": 424}], [coco.annotation(1, 1, uv, np.full(K, 2))]
    )
    wrong = uv + 200.0
    wrong[3] = uv[3]  # only the head is right
    single = ours(truth, [detection(1, wrong, 0.9)])
    assert single.per_joint["Head"] == pytest.approx(1.0)
    assert all(ap == 0.0 for name, ap in single.per_joint.items() if name != "Head")
    assert single.mAP == 0.0


def test_crowds_unlabelled_people_and_duplicates_count_as_coco_counts_them():
    rng = np.random.default_rng(5)
    uv = rng.uniform(100, 300, size=(K, 2))
    visibility = np.full(K, 2)
    images = [{"id": i, "width": 512, "height": 424} for i in (1, 2, 3)]
    several = [
        ground_truth_person(1, 1, uv, visibility),
        ground_truth_person(2, 1, uv + 120, np.where(np.arange(K) % 3 == 0, 0, 2)),  # missing
        ground_truth_person(3, 2, uv, np.zeros(K)),  # nothing labelled: ignored
        ground_truth_person(4, 3, uv - 50, visibility, iscrowd=True),
    ]
    ground_truth = coco.document(images, several)
    results = [
        detection(1, uv + 2, 0.9),
        detection(1, uv + 121, 0.8),
        detection(1, uv + 2, 0.7),  # a duplicate
        detection(2, uv, 0.6),  # on the ignored person
        detection(3, uv - 50, 0.5),  # on the crowd
        detection(3, uv - 48, 0.4),  # crowds match several
    ]
    report = ours(ground_truth, results)
    expected = pycocotools_stats(ground_truth, results)
    np.testing.assert_allclose([report.mAP, report.AP50, report.AP75], expected, atol=1e-12)
    assert report.people == 2
    assert report.recall == 1.0
    # The duplicate matches nobody, and so does the detection on the person without a single
    # labelled joint (COCO gives them no box to match); detections on a crowd are ignored.
    assert [report.by_image[i].false for i in (1, 2, 3)] == [1, 1, 0]
    assert report.false_per_frame == pytest.approx(2 / 3)


def test_no_detections_give_zero_and_perfect_ones_give_one():
    uv = np.random.default_rng(1).uniform(50, 400, size=(K, 2))
    xyz = np.random.default_rng(2).uniform(-1, 3, size=(K, 3))
    ground_truth = coco.document(
        [{"id": 1, "width": 512, "height": 424}],
        [coco.annotation(1, 1, uv, np.full(K, 2), xyz)],
    )
    empty = ours(ground_truth, [])
    assert empty.mAP == 0.0 and empty.pck == 0.0 and empty.mpjpe_mm is None
    perfect = ours(ground_truth, [coco.result(1, uv, np.ones(K), 1.0, xyz)])
    # precision is tp / (tp + fp + eps), as in pycocotools: one up to rounding
    assert [perfect.mAP, perfect.AP50, perfect.AP75] == pytest.approx([1.0, 1.0, 1.0])
    assert list(perfect.per_joint.values()) == pytest.approx([1.0] * K)
    assert perfect.pck == 1.0
    assert perfect.mpjpe_mm == pytest.approx(0.0, abs=1e-3)


def test_oks_follows_the_papers_formula():
    uv = np.array([[100.0, 100.0]] * K)
    uv[1:, 0] += np.arange(1, K) * 5  # a box of area 100 x 0 would be degenerate: make it wide
    uv[1:, 1] += np.arange(1, K) * 4
    truth = coco.document([{"id": 1}], [coco.annotation(1, 1, uv, np.full(K, 2))])
    s2 = truth["annotations"][0]["area"]
    assert s2 == pytest.approx(np.ptp(uv[:, 0]) * np.ptp(uv[:, 1]))
    k = 2 * schema.OKS_SIGMAS
    for offset in (3.0, 6.0, 9.0):
        moved = uv + np.array([offset * 0.6, offset * 0.8])  # every joint `offset` px off
        oks = np.mean(np.exp(-(offset**2) / (2 * s2 * k**2)))
        report = ours(truth, [detection(1, moved, 1.0)])
        # AP at a threshold is 1 when the one detection's OKS reaches it, else 0.
        expected = (oks >= metrics.OKS_THRESHOLDS).astype(float)
        np.testing.assert_allclose(report.ap_per_threshold, expected, atol=1e-9)


def test_recall_and_false_skeletons_on_a_hand_made_case():
    rng = np.random.default_rng(11)
    people = [rng.uniform(50, 200, size=(K, 2)) + 150 * i for i in range(3)]
    images = [{"id": 1}, {"id": 2}]
    truth = coco.document(
        images, [coco.annotation(i + 1, 1, uv, np.full(K, 2)) for i, uv in enumerate(people)]
    )
    results = [
        detection(1, people[0] + 1.0, 0.9),  # found
        detection(1, people[1] - 1.0, 0.8),  # found
        detection(1, people[2] + 60.0, 0.7),  # on the third person, but OKS below 0.5
        detection(2, people[0], 0.6),  # a frame with nobody in it
    ]
    report = ours(truth, results)
    assert report.people == 3 and report.frames == 2
    assert report.recall == pytest.approx(2 / 3)
    assert [report.by_image[1].false, report.by_image[2].false] == [1, 1]
    assert report.false_per_frame == pytest.approx(1.0)


def test_pck_and_3d_error_on_matched_people():
    rng = np.random.default_rng(3)
    uv = rng.uniform(100, 300, size=(K, 2))
    xyz = rng.uniform(-1, 3, size=(K, 3))
    ground_truth = coco.document([{"id": 1}], [coco.annotation(1, 1, uv, np.full(K, 2), xyz)])
    size = np.max(uv.max(0) - uv.min(0))
    off = uv.copy()
    far = 0.2 * size
    off[:3, 0] += far  # three joints beyond PCK@0.1
    shifted = xyz + np.array([0.0, 0.0, 0.05])  # 50 mm deeper everywhere
    report = ours(ground_truth, [coco.result(1, off, np.ones(K), 0.9, shifted)])
    assert metrics.PCK_FRACTION * size < far
    assert report.pck == pytest.approx((K - 3) / K)
    assert report.mpjpe_mm == pytest.approx(50.0, abs=0.01)


def test_report_json_has_the_documented_keys():
    ground_truth, results = random_case(7, images=5)
    figures = ours(ground_truth, results).to_dict()
    keys = ("mAP", "AP50", "AP75", "per_joint", "frames", "PCK@0.1", "mpjpe_mm", "recall")
    for key in (*keys, "false_per_frame"):
        assert key in figures
    assert list(figures["per_joint"]) == list(schema.JOINT_NAMES)
    assert figures["frames"] == 5


def test_detections_on_unknown_images_are_an_error():
    ground_truth, _ = random_case(8, images=2)
    with pytest.raises(ValueError, match="image 99"):
        ours(ground_truth, [detection(99, np.zeros((K, 2)), 0.5)])


def test_eval_command_prints_the_table_and_writes_json(tmp_path):
    ground_truth, results = random_case(9)
    gt_path, pred_path, out = tmp_path / "gt.json", tmp_path / "pred.json", tmp_path / "out.json"
    gt_path.write_text(json.dumps(ground_truth))
    pred_path.write_text(json.dumps(results))
    command = Path(sys.executable).with_name("depth-pose")
    result = subprocess.run(
        [command, "eval", "--gt", gt_path, "--pred", pred_path, "--json", out],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "AP (OKS=0.50)" in result.stdout and "SpineShoulder" in result.stdout
    figures = json.loads(out.read_text())
    assert figures["mAP"] == pytest.approx(pycocotools_stats(ground_truth, results)[0], abs=1e-12)
