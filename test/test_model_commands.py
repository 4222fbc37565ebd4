"""`depth-pose estimate` and `depth-pose export` on a small network."""

import json

import cv2
import numpy as np
import onnxruntime

from depth_pose_ros.cli import main
from depth_pose_ros.core import schema
from depth_pose_ros.data.synthetic.generator import generate_v1_frame


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
    assert main(["estimate", str(npy), *camera, "--weights", str(tiny_weights)]) == 0
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


def test_export_onnx_runs_in_onnxruntime(tmp_path, tiny_weights, capsys):
    out = tmp_path / "tiny.onnx"
    assert (
        main(["export", "--weights", str(tiny_weights), "--format", "onnx", "--out", str(out)]) == 0
    )
    assert "output heatmaps (1, 21, 8, 8)" in capsys.readouterr().out
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    heatmaps = session.run(None, {"depth": np.zeros((3, 1, 64, 64), np.float32)})[0]
    assert heatmaps.shape == (3, 21, 8, 8)
