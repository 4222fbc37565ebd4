"""The benchmarks run and report their figures (their values are not judged here: timing
belongs to benchmarks, not tests)."""

import json

import pytest

from depth_pose_ros.cli import main
from depth_pose_ros.model.network import CONFIGS


def figures(path) -> dict:
    return json.loads(path.read_text())


def test_model_benchmark_reports_throughput_and_latency(tmp_path, capsys):
    out = tmp_path / "model.json"
    arguments = ["--configs", "lite", "--backends", "onnxruntime", "--frames", "8"]
    assert main(["bench", "model", *arguments, "--precision", "fp32", "--json", str(out)]) == 0
    assert "lite    onnxruntime" in capsys.readouterr().out
    result = figures(out)
    (row,) = result["rows"]
    assert row["config"] == "lite" and row["backend"] == "onnxruntime" and row["trained_weights"]
    assert row["precision"] == "fp32" and row["input_size"] == [128, 128]
    assert row["model_fps_crop"] > 0 and row["model_fps_512x424"] > 0
    keys = ("e2e_latency_ms", "e2e_three_people_latency_ms", "person_stage_latency_ms")
    for option in ("flip_test", "second_look"):  # each timed beside the plain estimator
        keys += (f"e2e_{option}_latency_ms", f"e2e_{option}_three_people_latency_ms")
        one, three = row[f"{option}_vs_plain_p50"]  # measured in the same run
        assert one == pytest.approx(
            row[f"e2e_{option}_latency_ms"]["p50"] / row["e2e_latency_ms"]["p50"], abs=0.051
        )
        assert three > 0 and row[f"e2e_{option}_three_people_cpu_ms_per_frame"] > 0
    for key in (*keys, "e2e_single_person_path_latency_ms"):
        latency = row[key]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert row["e2e_cpu_ms_per_frame"] > 0 and row["e2e_three_people_cpu_ms_per_frame"] > 0
    assert row["frames"] == 6  # 8 frames, 2 of them warm-up
    assert result["machine"]["cores"] >= 1 and result["machine"]["cpu"]


def test_model_benchmark_compares_with_the_paper_config(tmp_path, monkeypatch):
    # A small stand-in for the paper-size network: the comparison is what is tested here.
    monkeypatch.setitem(CONFIGS, "paper", CONFIGS["lite"].with_changes(name="paper", stages=2))
    monkeypatch.setattr("depth_pose_ros.cli.benchmarks._throughput", lambda run, batch: 10.0)
    out = tmp_path / "model.json"
    arguments = ["--configs", "lite", "paper", "--backends", "torch", "--frames", "4"]
    assert main(["bench", "model", *arguments, "--precision", "fp32", "--json", str(out)]) == 0
    lite, paper = figures(out)["rows"]
    assert paper["config"] == "paper" and "vs_paper" not in paper
    ratio = paper["e2e_latency_ms"]["p50"] / lite["e2e_latency_ms"]["p50"]
    assert lite["vs_paper"]["e2e_speedup"] == pytest.approx(ratio, abs=0.051)


def test_int8_rows_are_compared_with_fp32_of_the_same_model_and_backend():
    from depth_pose_ros.cli.benchmarks import _ratios

    rows = [
        {"config": "lite", "backend": "onnxruntime", "precision": "fp32", "model_fps_crop": 100.0},
        {
            "config": "lite",
            "backend": "onnxruntime-int8",
            "precision": "int8",
            "model_fps_crop": 180.0,
        },
    ]
    _ratios(rows)
    assert rows[1]["int8_vs_fp32_crop_throughput"] == 1.8
    assert "int8_vs_fp32_crop_throughput" not in rows[0]


def test_synth_benchmark_reports_frames_per_second(tmp_path):
    out = tmp_path / "synth.json"
    assert main(["bench", "synth", "--frames", "2", "--json", str(out)]) == 0
    result = figures(out)
    assert result["generate_fps_1_process"] > 0 and result["write_fps_1_worker"] > 0


@pytest.mark.slow
def test_node_benchmark_feeds_the_running_node(tmp_path):
    out = tmp_path / "node.json"
    arguments = ["--seconds", "8", "--rate", "10", "--flip-test", "--json", str(out)]
    assert main(["bench", "node", *arguments]) == 0
    result = figures(out)
    assert result["parameters"]["flip_test"] == "true"  # the node runs with it on
    assert result["frames_sent"] >= 60
    assert 0 < result["frames_answered"] <= result["frames_sent"]
    assert result["node_rss_mb"]["max"] > 0
