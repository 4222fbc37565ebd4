import json

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from depth_pose_ros.core.camera import CameraIntrinsics
from depth_pose_ros.ros.bag import BagError, BagReader, BagWriter, typestore
from depth_pose_ros.ros.resources import share_directory
from helpers import assert_same_skeletons, sample_skeletons

FRAME = "kinect2_ir_optical_frame"
T0 = 1_700_000_000_000_000_000
PERIOD = 33_333_333  # 30 Hz
INTRINSICS = CameraIntrinsics(
    width=64,
    height=48,
    fx=45.0,
    fy=45.5,
    cx=32.1,
    cy=23.9,
    distortion_model="plumb_bob",
    distortion=(0.1, -0.2, 0.001, 0.002, 0.05),
)


def depth_sequence(frames: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    sequence = []
    for _ in range(frames):
        depth = rng.uniform(0.5, 4.5, size=(48, 64)).astype(np.float32)
        depth[rng.random(depth.shape) < 0.05] = np.nan
        sequence.append(depth)
    return sequence


def write_sample_bag(path, storage="mcap", frames=5, encoding="16UC1"):
    depths = depth_sequence(frames)
    skeletons = [sample_skeletons(seed=i, count=i % 3) for i in range(frames)]
    with BagWriter(path, storage) as writer:
        for i in range(frames):
            stamp = T0 + i * PERIOD
            writer.write_camera_info("/depth/camera_info", stamp, FRAME, INTRINSICS)
            writer.write_depth("/depth/image_raw", stamp, FRAME, depths[i], encoding)
            writer.write_skeletons("/ground_truth/skeletons", stamp, FRAME, skeletons[i])
    return depths, skeletons


@pytest.mark.parametrize(
    ("name", "storage"),
    [("bag_mcap", "mcap"), ("bag_sqlite", "sqlite3"), ("single.mcap", "mcap")],
)
@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_bag_round_trip(tmp_path, name, storage, encoding):
    path = tmp_path / name
    depths, skeletons = write_sample_bag(path, storage, encoding=encoding)
    assert path.is_file() == name.endswith(".mcap")
    with BagReader(path) as reader:
        topics = reader.topics
        assert {name: t.count for name, t in topics.items()} == {
            "/depth/camera_info": 5,
            "/depth/image_raw": 5,
            "/ground_truth/skeletons": 5,
        }
        assert topics["/depth/image_raw"].msgtype == "sensor_msgs/msg/Image"
        frames = list(reader.depth_frames("/depth/image_raw"))
        infos = list(reader.camera_infos("/depth/camera_info"))
        skeleton_frames = list(reader.skeleton_frames("/ground_truth/skeletons"))
    tolerance = 0.0005 + 1e-6 if encoding == "16UC1" else 0.0
    for i, frame in enumerate(frames):
        assert frame.stamp_ns == T0 + i * PERIOD
        assert frame.frame_id == FRAME
        np.testing.assert_array_equal(np.isnan(frame.depth), np.isnan(depths[i]))
        assert np.nanmax(np.abs(frame.depth - depths[i])) <= tolerance
    assert all(intrinsics == INTRINSICS for _, _, intrinsics in infos)
    for i, frame in enumerate(skeleton_frames):
        assert (frame.stamp_ns, frame.frame_id) == (T0 + i * PERIOD, FRAME)
        assert_same_skeletons(frame.skeletons, skeletons[i])


def test_mcap_we_write_decodes_with_the_official_mcap_reader(tmp_path):
    path = tmp_path / "official.mcap"
    depths, skeletons = write_sample_bag(path)
    decoded = {}
    with path.open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        assert reader.get_header().profile == "ros2"
        for schema, channel, message, ros_msg in reader.iter_decoded_messages():
            decoded.setdefault(channel.topic, []).append((schema.name, message.log_time, ros_msg))
    assert [len(v) for v in decoded.values()] == [5, 5, 5]
    name, log_time, array_msg = decoded["/ground_truth/skeletons"][1]
    assert name == "depth_pose_ros/msg/SkeletonArray"
    assert log_time == T0 + PERIOD
    assert len(array_msg.skeletons) == len(skeletons[1]) == 1
    person, expected = array_msg.skeletons[0], skeletons[1][0]
    assert person.id == expected.id
    assert len(person.keypoints) == 21
    assert person.keypoints[5].u == pytest.approx(expected.uv[5, 0])
    assert person.keypoints[5].position.z == pytest.approx(expected.xyz[5, 2])
    _, _, image = decoded["/depth/image_raw"][0]
    assert (image.encoding, image.width, image.height, image.step) == ("16UC1", 64, 48, 128)
    millimetres = np.frombuffer(bytes(image.data), "<u2").reshape(48, 64)
    np.testing.assert_array_equal(millimetres == 0, np.isnan(depths[0]))


def test_our_types_hash_like_rosidl_generated_ones():
    """Bags we write carry the same type hashes a ROS 2 install computes for our messages."""
    store = typestore()
    for path in sorted((share_directory() / "msg").glob("*.json")):
        name = f"depth_pose_ros/msg/{path.stem}"
        hashes = {
            h["type_name"]: h["hash_string"] for h in json.loads(path.read_text())["type_hashes"]
        }
        assert store.hash_rihs01(name) == hashes[name]


def test_missing_bag_and_topics_give_clear_errors(tmp_path):
    with pytest.raises(BagError, match="does not exist"):
        BagReader(tmp_path / "nope.mcap")
    path = tmp_path / "b.mcap"
    write_sample_bag(path, frames=1)
    with BagReader(path) as reader:
        with pytest.raises(BagError, match=r"has no topic /kinect2/sd/image_depth.*it has: "):
            list(reader.depth_frames("/kinect2/sd/image_depth"))
        with pytest.raises(BagError, match="carries sensor_msgs/msg/CameraInfo, expected"):
            list(reader.depth_frames("/depth/camera_info"))


def test_truncated_bag_gives_a_clear_error(tmp_path):
    path = tmp_path / "t.mcap"
    write_sample_bag(path, frames=3)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.mcap"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(BagError, match=r"truncated\.mcap"), BagReader(truncated) as reader:
        list(reader.depth_frames("/depth/image_raw"))


def test_not_a_bag_gives_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(BagError, match="cannot open bag"):
        BagReader(path)


def test_writer_never_overwrites(tmp_path):
    path = tmp_path / "x.mcap"
    write_sample_bag(path, frames=1)
    with pytest.raises(BagError, match="exists already"):
        BagWriter(path)
    with pytest.raises(BagError, match="storage 'zip'"):
        BagWriter(tmp_path / "y", storage="zip")
