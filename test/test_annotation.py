"""The annotation tool without a browser: sources, the labels file, the server's API and its
safety, the CLI, a killed server, and fine-tuning on what it wrote."""

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from depth_pose_ros.annotation.bag_source import BagSource
from depth_pose_ros.annotation.server import Session, create_app
from depth_pose_ros.annotation.sources import (
    AnnotationError,
    DatasetSource,
    PngFolderSource,
    read_frame_list,
    select,
)
from depth_pose_ros.annotation.store import LabelStore, people_payload
from depth_pose_ros.cli import main
from depth_pose_ros.core.camera import KINECT_V2
from depth_pose_ros.data import open_dataset
from depth_pose_ros.ros.bag import DEFAULT_TOPICS
from depth_pose_ros.ros.recordings import write_sequence_bag

TOPICS = (DEFAULT_TOPICS.depth, DEFAULT_TOPICS.camera_info)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("annotate") / "recording.mcap"
    return write_sequence_bag(path, seed=4, seconds=0.3, people=2, progress=False)


@pytest.fixture
def session(recording, tmp_path):
    source = BagSource(str(recording), *TOPICS, DEFAULT_TOPICS.ground_truth)
    store = LabelStore(tmp_path / "labels.json", source.name, source.keys())
    return Session(source, store, list(range(len(source.keys()))))


@pytest.fixture
def client(session):
    return create_app(session).test_client()


def edited(client, number, move=(12.0, -7.0), visibility=1):
    """The frame's people with the head of the first moved and its visibility set, as the
    page would send them."""
    people = client.get(f"/api/frames/{number}").get_json()["people"]
    head = people[0]["joints"][3]
    people[0]["joints"][3] = [head[0] + move[0], head[1] + move[1], visibility]
    return people


def test_a_bag_starts_from_its_recorded_skeletons_matched_by_stamp(recording):
    source = BagSource(str(recording), *TOPICS, DEFAULT_TOPICS.ground_truth)
    keys = source.keys()
    assert len(keys) == 9 and keys == sorted(keys, key=int)
    frame = source.frame(2)
    assert frame.depth.shape == (424, 512) and frame.depth.dtype == np.float32
    assert frame.key == keys[2] and len(frame.people) == 2
    assert all(person.visibility.max() == 2 for person in frame.people)
    bare = BagSource(str(recording), *TOPICS)
    assert bare.frame(2).people is None  # nothing to start from: the estimator may pre-fill
    with pytest.raises(AnnotationError, match="no sensor_msgs/msg/Image topic /nope"):
        BagSource(str(recording), "/nope", DEFAULT_TOPICS.camera_info)


def test_frames_listed_first_then_every_nth():
    keys = [str(k) for k in range(10)]
    assert select(keys, 3, ["7", "3", "missing"]) == [7, 3, 0, 6, 9]
    assert select(keys, 1, []) == list(range(10))
    with pytest.raises(AnnotationError, match="none of the 1 listed frames"):
        select(keys, 1, ["x"])


def test_frame_list_reads_what_coverage_writes(tmp_path):
    listed = tmp_path / "todo.txt"
    listed.write_text("# frames of a.mcap to annotate first\n1700000000033333333\n\n42\n")
    assert read_frame_list(listed) == ["1700000000033333333", "42"]
    with pytest.raises(AnnotationError, match="cannot read frame list"):
        read_frame_list(tmp_path / "absent.txt")


def test_png_folder_needs_intrinsics_and_reads_millimetres(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.full((4, 6), 1500, np.uint16))
    with pytest.raises(AnnotationError, match="needs --fx --fy --cx --cy"):
        PngFolderSource(tmp_path, None)
    pinhole = (KINECT_V2.fx, KINECT_V2.fy, KINECT_V2.cx, KINECT_V2.cy)
    frame = PngFolderSource(tmp_path, pinhole).frame(0)
    assert frame.key == "a.png" and frame.depth.shape == (4, 6)
    assert frame.intrinsics.width == 6 and frame.depth[0, 0] == pytest.approx(1.5)


def test_an_edit_is_saved_at_once_and_reads_back_as_a_data_set(client, session):
    people = edited(client, 2)
    assert client.put("/api/frames/2", json={"people": people}).get_json() == {"state": "edited"}
    path = session.store.path
    document = json.loads(path.read_text())
    assert [image["frame"] for image in document["images"]] == [session.keys[2]]
    data = open_dataset(str(path))
    sample = data[0]
    assert len(data) == 1 and len(sample.people) == 2
    assert sample.people[0].uv[3] == pytest.approx(people[0]["joints"][3][:2], abs=1e-3)
    assert sample.people[0].visibility[3] == 1
    assert np.nanmax(np.abs(sample.depth - session.frame(2).depth)) < 1e-3  # millimetres
    assert sample.intrinsics.fx == pytest.approx(session.frame(2).intrinsics.fx)
    # the page now gets the saved labels, not the recorded ones
    assert client.get("/api/frames/2").get_json()["people"] == people
    client.put("/api/frames/2", json={"people": people, "state": "reviewed"})
    assert client.get("/api/session").get_json()["frames"][2]["state"] == "reviewed"


def test_a_restart_resumes_and_refuses_another_sources_file(client, session, recording):
    people = edited(client, 1)
    client.put("/api/frames/1", json={"people": people})
    client.put("/api/position", json={"position": 4})
    again = LabelStore(session.store.path, session.source.name, session.keys)
    assert again.position == 4 and again.frames[session.keys[1]].state == "edited"
    assert people_payload(again.frames[session.keys[1]].people) == people
    with pytest.raises(AnnotationError, match="choose another --out"):
        LabelStore(session.store.path, "other.mcap", session.keys)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"people": {}}, "people must be a list"),
        ({"people": [{"joints": [[1, 2, 2]]}]}, "joints must be 21"),
        ({"people": [{"joints": [[1, 2, 5]] * 21}]}, "visibility must be 0, 1 or 2"),
        ({"people": [{"joints": [[1, 2, 2]] * 21, "track_id": -1}]}, "track_id"),
        ({"people": [], "state": "done"}, "state must be one of"),
    ],
)
def test_a_malformed_edit_is_refused_by_name_and_changes_nothing(client, session, body, problem):
    client.put("/api/frames/0", json={"people": edited(client, 0)})
    before = session.store.path.read_bytes()
    response = client.put("/api/frames/0", json=body)
    assert response.status_code == 400 and problem in response.get_json()["error"]
    assert session.store.path.read_bytes() == before


def test_the_server_serves_only_its_page_and_frames(client):
    assert client.get("/").status_code == 200
    assert client.get("/static/annotate.js").mimetype == "text/javascript"
    for path in (
        "/static/../server.py",
        "/static/..%2fserver.py",
        "/static/index.html%00",
        "/../labels.json",
        "/api/frames/99",
    ):
        assert client.get(path).status_code == 404, path
    big = b'{"people": [' + b" " * (2 << 20) + b"]}"
    response = client.put("/api/frames/0", data=big, content_type="application/json")
    assert response.status_code == 413
    assert client.put("/api/frames/0", data="not json").status_code == 400


def test_depth_png_and_the_depth_under_a_joint(client, session):
    response = client.get("/api/frames/0/depth.png?near=1&far=5")
    assert response.mimetype == "image/png" and response.data[:4] == b"\x89PNG"
    assert client.get("/api/frames/0/depth.png?near=5&far=1").status_code == 400
    joint = client.get("/api/frames/0").get_json()["people"][0]["joints"][0]
    point = client.get(f"/api/frames/0/point?u={joint[0]}&v={joint[1]}").get_json()
    depth = session.frame(0).depth
    assert point["depth"] == pytest.approx(depth[int(joint[1]), int(joint[0])], abs=0.1)
    assert point["xyz"][2] == pytest.approx(point["depth"])
    assert client.get("/api/frames/0/point?u=-1&v=3").status_code == 400


def test_interpolation_between_two_labelled_frames(client):
    start = edited(client, 1, move=(0, 0), visibility=2)
    end = [dict(p, joints=[[u + 10, v, s] for u, v, s in p["joints"]]) for p in start]
    client.put("/api/frames/1", json={"people": start})
    client.put("/api/frames/5", json={"people": end})
    track = start[0]["track_id"]
    person = client.get(f"/api/frames/2/interpolate?track={track}").get_json()["person"]
    u0, u1 = start[0]["joints"][0][0], end[0]["joints"][0][0]
    assert person["joints"][0][0] == pytest.approx(u0 + (u1 - u0) / 4, abs=0.01)
    assert client.get(f"/api/frames/7/interpolate?track={track}").status_code == 404


def test_watch_r_patch_export(client, session, recording, tmp_path, capsys):
    people = edited(client, 3, visibility=0)
    client.put("/api/frames/3", json={"people": people})
    exported = tmp_path / "wrp.json"
    arguments = [str(recording), "--out", str(session.store.path), "--export-wrp", str(exported)]
    assert main(["annotate", *arguments, "--skeleton-topic", DEFAULT_TOPICS.ground_truth]) == 0
    frames = json.loads(exported.read_text())
    assert list(frames) == [session.keys[3]]
    joints = frames[session.keys[3]]
    assert len(joints) == 21 and joints["3"] == [-1.0, -1.0]
    assert joints["0"] == pytest.approx(people[0]["joints"][0][:2], abs=0.01)


def test_a_missing_or_unreadable_source_is_one_line_and_exit_1(tmp_path, capsys):
    assert main(["annotate", str(tmp_path / "absent.mcap"), "--out", "x.json"]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0
    (tmp_path / "broken.mcap").write_bytes(b"not a bag")
    assert main(["annotate", str(tmp_path / "broken.mcap"), "--out", "x.json"]) == 1
    assert "cannot open bag" in capsys.readouterr().err
    with pytest.raises(AnnotationError, match="cannot open data set"):
        DatasetSource("synthetic:nope")


def _start_server(recording, out):
    command = [
        Path(sys.executable).with_name("depth-pose"),
        "annotate",
        str(recording),
        "--skeleton-topic",
        DEFAULT_TOPICS.ground_truth,
        "--out",
        str(out),
        "--port",
        "0",
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    for line in server.stdout:
        found = re.search(r"open (http://127\.0\.0\.1:\d+/)", line)
        if found:
            return server, found.group(1)
    raise AssertionError(f"the server printed no address (exit code {server.wait()})")


def _request(url, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_killed_server_loses_nothing_and_a_restart_resumes(recording, tmp_path):
    out = tmp_path / "labels.json"
    server, url = _start_server(recording, out)
    try:
        people = _request(f"{url}api/frames/4")["people"]
        people[1]["joints"][5] = [101.25, 202.5, 1]
        _request(f"{url}api/frames/4", "PUT", {"people": people})
        _request(f"{url}api/position", "PUT", {"position": 4})
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    assert not list(tmp_path.glob(".labels.json.*"))  # no partial file left behind
    server, url = _start_server(recording, out)
    try:
        session = _request(f"{url}api/session")
        assert session["position"] == 4 and session["frames"][4]["state"] == "edited"
        assert _request(f"{url}api/frames/4")["people"] == people
    finally:
        server.terminate()
        server.wait()


def test_fine_tuning_reads_the_labels_the_tool_wrote(client, session, tiny_weights, tmp_path):
    for number in (0, 3, 6):
        client.put(f"/api/frames/{number}", json={"people": edited(client, number, visibility=2)})
    out = tmp_path / "run"
    labels = str(session.store.path)
    arguments = ["--init", str(tiny_weights), "--data", labels, "--val", labels, "--out", str(out)]
    assert (
        main(["train", "--finetune", "blk", *arguments, "--epochs", "1", "--batch-size", "2"]) == 0
    )
    log = json.loads((out / "log.json").read_text())
    assert [epoch["epoch"] for epoch in log] == [1] and np.isfinite(log[0]["train_loss"])
    assert (out / "best.pt").is_file() and (out / "last.pt").is_file()


def test_frames_without_skeletons_are_prefilled_once_by_the_estimator(recording, tmp_path):
    from depth_pose_ros.core.skeleton import KeypointState, Skeleton

    calls = []

    def estimate(depth, intrinsics):
        calls.append(depth.shape)
        state = np.full(21, KeypointState.TRACKED, np.uint8)
        state[4] = KeypointState.INFERRED
        return [Skeleton(id=0, uv=np.full((21, 2), 50.0), state=state)]

    source = BagSource(str(recording), *TOPICS)
    store = LabelStore(tmp_path / "labels.json", source.name, source.keys())
    client = create_app(Session(source, store, [0, 1], estimate)).test_client()
    people = client.get("/api/frames/0").get_json()["people"]
    assert len(people) == 1 and people[0]["track_id"] == 1
    assert people[0]["joints"][0] == [50.0, 50.0, 2] and people[0]["joints"][4][2] == 1
    client.get("/api/frames/0")
    assert calls == [(424, 512)]


def test_prefilled_skeletons_come_from_the_flip_tested_estimator(tiny_weights):
    from depth_pose_ros.cli.annotate import prefill_estimator

    assert prefill_estimator(str(tiny_weights)).flip_test


def test_the_papers_loop_on_watch_n_patch(tmp_path):
    """Start from the Kinect SDK's skeletons, correct one, export Watch-R-Patch, read it back."""
    from test_watch_n_patch import write_sequence

    from depth_pose_ros.data.watch_n_patch import WatchRPatch

    write_sequence(tmp_path / "office" / "data_03-58-25", frames=3)
    source = DatasetSource(f"watch-n-patch:{tmp_path}")
    assert source.keys() == ["1", "2", "3"]
    assert source.origins()[1] == "data_03-58-25/depth/0002.mat"
    store = LabelStore(tmp_path / "labels.json", source.name, source.keys())
    client = create_app(Session(source, store, [0, 1, 2])).test_client()
    people = edited(client, 1, move=(5.0, 5.0), visibility=2)
    client.put("/api/frames/1", json={"people": people})
    origins = dict(zip(source.keys(), source.origins(), strict=True))
    exported = tmp_path / "wrp.json"
    exported.write_text(json.dumps(store.watch_r_patch(origins)))
    refined = WatchRPatch(exported, tmp_path)
    (person,) = refined[0].people
    assert len(refined) == 1 and person.uv[3] == pytest.approx(people[0]["joints"][3][:2], abs=0.01)
    assert person.visibility[9] == 0  # the SDK's untracked elbow stays unlabelled


def test_only_loopback_addresses_serve_without_a_warning():
    from depth_pose_ros.cli.annotate import _loopback

    assert _loopback("127.0.0.1") and _loopback("::1") and _loopback("localhost")
    assert not _loopback("0.0.0.0") and not _loopback("192.168.1.5") and not _loopback("robot")
