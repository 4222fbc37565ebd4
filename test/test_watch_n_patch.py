"""Loaders for Watch-n-Patch and the Watch-R-Patch refined annotations, on fixtures written in
those layouts."""

import json

import numpy as np
import pytest
import scipy.io

from depth_pose_ros.core import schema
from depth_pose_ros.core.camera import KINECT_V2
from depth_pose_ros.data import coco, open_dataset
from depth_pose_ros.data.synthetic.geometry import project
from depth_pose_ros.data.watch_n_patch import WatchNPatch, WatchRPatch, read_depth_mat
from depth_pose_ros.evaluation import metrics


def kinect_joint(state: int, u: float, v: float, x: float, y: float, z: float) -> dict:
    return {
        "trackingState": state,
        "camera": np.array([[x], [y], [z]]),
        "depth": np.array([[u], [v]]),
        "color": np.array([[u * 3.75], [v * 2.55]]),
    }


def write_sequence(directory, frames: int, tracked_slot: int = 2, mirrored: bool = True):
    """A Watch-n-Patch sequence: depth/000N.mat and body.mat with one tracked body of six whose
    joints' depth pixels are where a Kinect v2 images their camera-space points: mirrored
    left-right (as the SDK's images are), or not."""
    (directory / "depth").mkdir(parents=True)
    body = np.empty((frames, 6), dtype=object)
    truth = []
    rng = np.random.default_rng(len(str(directory)))
    for f in range(frames):
        depth = np.full((424, 512), 2000 + f, dtype=np.uint16)
        depth[0, :10] = 0
        scipy.io.savemat(directory / "depth" / f"{f + 1:04d}.mat", {"depth": depth})
        states = np.full(25, 2)
        states[5], states[9] = 1, 0  # an inferred elbow, an untracked elbow
        xyz = np.column_stack(
            [rng.uniform(0.2, 0.6, 25), rng.uniform(-0.8, 0.8, 25), rng.uniform(2.0, 3.0, 25)]
        )  # a person to the sensor's left (camera space X > 0)
        sign = 1.0 if mirrored else -1.0
        uv = np.column_stack(
            [
                KINECT_V2.cx + KINECT_V2.fx * sign * xyz[:, 0] / xyz[:, 2],
                KINECT_V2.cy - KINECT_V2.fy * xyz[:, 1] / xyz[:, 2],
            ]
        )
        joints = np.empty((1, 25), dtype=object)
        for j in range(25):
            joints[0, j] = kinect_joint(states[j], *uv[j], *xyz[j])
        for slot in range(6):
            tracked = slot == tracked_slot
            body[f, slot] = {"isBodyTracked": int(tracked), "joints": joints if tracked else []}
        truth.append((states, uv, xyz))
    scipy.io.savemat(directory / "body.mat", {"body": body})
    return truth


@pytest.mark.parametrize("mirrored", [True, False])
def test_watch_n_patch_frames_and_kinect_skeletons(tmp_path, mirrored):
    truth = write_sequence(tmp_path / "office" / "data_03-58-25", frames=3, mirrored=mirrored)
    data = WatchNPatch(tmp_path)
    assert len(data) == 3
    sample = data[1]
    assert sample.depth.shape == (424, 512) and sample.depth.dtype == np.float32
    assert sample.depth[5, 5] == pytest.approx(2.001)
    assert np.isnan(sample.depth[0, 0])
    (person,) = sample.people
    _, uv, _ = truth[1]
    assert person.track_id == 3
    np.testing.assert_allclose(person.uv, uv[:21], rtol=1e-6)
    assert person.visibility[5] == coco.OCCLUDED and person.visibility[9] == coco.UNLABELLED
    assert person.visibility[0] == coco.VISIBLE
    # The 3D joints, in the optical frame, project onto the depth pixels the SDK recorded.
    projected = project(person.xyz.astype(np.float64), KINECT_V2)
    np.testing.assert_allclose(projected, person.uv, atol=1e-3)
    assert bool(np.all(person.xyz[:, 0] > 0)) == mirrored  # sensor's left: right if mirrored
    ground_truth = metrics.load_ground_truth(data.coco())
    assert len(ground_truth["images"]) == 3 and len(ground_truth["annotations"]) == 3
    assert isinstance(open_dataset(f"watch-n-patch:{tmp_path}"), WatchNPatch)


def test_watch_r_patch_refined_annotations(tmp_path):
    root = tmp_path / "wnp"
    write_sequence(root / "kitchen" / "data_02-10-35", frames=2)
    refined = {}
    for f in (1, 2):
        key = f"/home/annotator/watch_n_patch/kitchen/data_02-10-35/depth/{f:04d}.mat"
        joints = {str(j): [float(10 * j + f), float(5 * j)] for j in range(21)}
        joints["7"] = [-1, -1]  # a hand the annotators marked missing
        refined[key] = joints
    annotations = tmp_path / "refined.json"
    annotations.write_text(json.dumps(refined))
    data = WatchRPatch(annotations, root)
    assert len(data) == 2
    (person,) = data[1].people
    assert person.uv[3].tolist() == [32.0, 15.0]
    assert person.visibility[7] == coco.UNLABELLED and person.uv[7].tolist() == [0.0, 0.0]
    assert np.count_nonzero(person.visibility == coco.VISIBLE) == schema.NUM_JOINTS - 1
    assert person.xyz is None
    document = data.coco()
    assert document["annotations"][0]["num_keypoints"] == 20
    assert isinstance(open_dataset(f"watch-r-patch:{annotations}@{root}"), WatchRPatch)


def test_bad_watch_n_patch_input_gives_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Watch-n-Patch sequence"):
        WatchNPatch(tmp_path)
    bad = tmp_path / "x.mat"
    scipy.io.savemat(bad, {"other": np.zeros(3)})
    with pytest.raises(ValueError, match="not a Watch-n-Patch depth frame"):
        read_depth_mat(bad)
    sequence = tmp_path / "office" / "data_01"
    write_sequence(sequence, frames=2)
    (sequence / "depth" / "0002.mat").unlink()
    with pytest.raises(ValueError, match=r"body\.mat has 2 frames but depth/ has 1"):
        WatchNPatch(tmp_path)
    missing = tmp_path / "refined.json"
    missing.write_text(json.dumps({"a/data_09/depth/0001.mat": {"0": [1, 2]}}))
    with pytest.raises(FileNotFoundError, match="not found under"):
        WatchRPatch(missing, tmp_path)
