"""`depth-pose estimate` and `depth-pose export` on a small network."""

import json

import cv2
import numpy as np
import onnxruntime

from depth_pose_ros.cli import main
from depth_pose_ros.core import schema
from depth_pose_ros.data.synthetic.dataset import SyntheticDataset
from depth_pose_ros.data.synthetic.generator import generate_v1_frame
from depth_pose_ros.evaluation import runner


def test_estimate_reads_png_and_npy_and_writes_json_and_overlay(tmp_path, tiny_weights, capsys):
    frame = generate_v1_frame("test", 2, 0, people=1)  # one person in plain view
    png = tmp_path / "frame.png"
    cv2.imwrite(str(png), frame.depth_mm)
    npy = tmp_path / "frame.npy"
    np.save(npy, frame.depth_m)
    i = frame.intrinsics
    camera = ["--fx", str(i.fx), "--fy", str(i.fy), "--cx", str(i.cx), "--cy", str(i.cy)]
    out, overlay = tmp_path / "out.json", tmp_path / "overlay.png"
    arguments = ["estimate", str(png), *camera, "--weights", str(tiny_weights)]
    # The tiny untrained network is unsure of everyone: threshold 0 reports whom the stage finds.
    arguments += ["--person-threshold", "0", "--max-people", "1"]
    assert main([*arguments, "--json", str(out), "--overlay", str(overlay)]) == 0
    document = json.loads(out.read_text())
    assert document["camera"]["fx"] == i.fx and document["camera"]["width"] == 512
    assert len(document["people"]) == 1
    for person in document["people"]:
        assert [j["name"] for j in person["joints"]] == list(schema.JOINT_NAMES)
        assert {j["state"] for j in person["joints"]} <= {"TRACKED", "INFERRED", "NOT_TRACKED"}
    assert cv2.imread(str(overlay)).shape == (424, 512, 3)
    options = ["--flip-test", "--second-look"]
    assert main(["estimate", str(npy), *camera, "--weights", str(tiny_weights), *options]) == 0
    assert "people" in capsys.readouterr().out


def test_estimate_rejects_bad_input(tmp_path, tiny_weights, capsys):
    rgb = tmp_path / "rgb.png"
    cv2.imwrite(str(rgb), np.zeros((10, 10, 3), np.uint8))
    assert main(["estimate", str(rgb), "--weights", str(tiny_weights)]) == 1
    assert "16-bit single-channel PNG" in capsys.readouterr().err
    assert main(["estimate", str(tmp_path / "none.png")]) == 1
    assert "does not exist" in capsys.readouterr().err
    depth = tmp_path / "d.npy"
    np.save(depth, np.ones((4, 4), np.float32))
    assert main(["estimate", str(depth), "--fx", "300", "--weights", str(tiny_weights)]) == 1
    assert "give all of --fx --fy --cx --cy" in capsys.readouterr().err
    np.save(depth, np.full((4, 4), 2500.0, np.float32))  # millimetres saved as floats
    assert main(["estimate", str(depth), "--weights", str(tiny_weights)]) == 1
    assert "millimetres?" in capsys.readouterr().err


def test_export_onnx_runs_in_onnxruntime(tmp_path, tiny_weights, capsys):
    out = tmp_path / "tiny.onnx"
    assert (
        main(["export", "--weights", str(tiny_weights), "--format", "onnx", "--out", str(out)]) == 0
    )
    assert "output heatmaps (1, 21, 8, 8)" in capsys.readouterr().out
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    heatmaps = session.run(None, {"depth": np.zeros((3, 1, 64, 64), np.float32)})[0]
    assert heatmaps.shape == (3, 21, 8, 8)


def test_eval_runs_a_model_on_a_data_set_with_its_thresholds_and_precision(tmp_path, tiny_weights):
    data = tmp_path / "data"
    synth = ["synth", "--frames", "4", "--seed", "2", "--scenario", "side_by_side"]
    assert main([*synth, "--out", str(data), "--workers", "1"]) == 0
    base = ["eval", "--weights", str(tiny_weights), "--data", str(data), "--backend", "onnxruntime"]

    def figures(*extra):
        out = tmp_path / "figures.json"
        assert main([*base, *extra, "--json", str(out)]) == 0
        return json.loads(out.read_text())

    everyone = figures("--person-threshold", "0")
    assert everyone["detections"] > 0 and everyone["person_threshold"] == 0.0
    assert figures("--person-threshold", "1")["detections"] == 0
    truth = figures("--person-boxes", "truth", "--person-threshold", "0")
    assert truth["detections"] == truth["people"]  # one skeleton per annotated person
    filled = figures("--fill-dropouts", "--person-threshold", "0")
    assert filled["dropouts_filled"] is True and everyone["dropouts_filled"] is False
    flipped = figures("--flip-test", "--person-threshold", "0")
    assert flipped["flip_test"] is True and everyone["flip_test"] is False
    looked = figures("--second-look", "--person-threshold", "0")
    assert looked["second_look"] is True and everyone["second_look"] is False
    int8 = figures("--precision", "int8", "--calibration", str(data), "--person-threshold", "0")
    assert int8["backend"] == "onnxruntime-int8"
    assert set(int8["families"]) == {"side_by_side"}


def test_evaluation_can_see_frames_as_a_sensor_without_scattered_dropouts(tmp_path):
    data = tmp_path / "data"
    assert (
        main(["synth", "--frames", "2", "--seed", "3", "--out", str(data), "--workers", "1"]) == 0
    )
    dataset = SyntheticDataset(data)

    class Recorder:
        """Stands in for the estimator: keeps the frames it is given, finds nobody."""

        def __init__(self):
            self.frames = []

        def __call__(self, depth, intrinsics):
            self.frames.append(depth)
            return []

    plain, filled = Recorder(), Recorder()
    runner.run(plain, dataset, progress=False)
    runner.run(filled, dataset, progress=False, filled=True)
    for raw, seen, index in zip(plain.frames, filled.frames, range(2), strict=True):
        np.testing.assert_array_equal(raw, dataset[index].depth, strict=True)
        assert np.count_nonzero(np.isnan(seen)) < np.count_nonzero(np.isnan(raw))
        known = np.isfinite(raw)
        np.testing.assert_array_equal(seen[known], raw[known])
