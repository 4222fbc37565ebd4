"""The learned person stage: network, targets, decoding into people, training, weights."""

import json

import numpy as np
import pytest
import torch

from depth_pose_ros.data.synthetic.dataset import SyntheticDataset, write_dataset
from depth_pose_ros.data.synthetic.scenarios import generate_frame
from depth_pose_ros.inference.backends import OnnxRuntimeBackend, TorchBackend, export_onnx
from depth_pose_ros.inference.people import PeopleFinder, decode, network_input
from depth_pose_ros.model import weights
from depth_pose_ros.model.people import PeopleConfig, PeopleNet
from depth_pose_ros.training.people import (
    PeopleFrames,
    PeopleSettings,
    loss,
    match,
    targets,
    train_people,
)
from helpers import FixedStage, oracle_stage, tiny_model, tiny_people

SMALL = PeopleConfig(encoder=(8, 8, 8, 8, 8), decoder=(8, 8, 8, 8))


def test_network_maps_a_frame_to_centres_foreground_and_offsets():
    model = PeopleNet(SMALL).eval()
    with torch.inference_mode():
        out = model(torch.zeros(2, 2, 112, 128))
    assert out.shape == (2, 4, 112, 128)
    assert SMALL.stride == 4
    coarse = SMALL.with_changes(decoder=(8, 8, 8), output_stride=2)
    assert PeopleNet(coarse)(torch.zeros(1, 2, 64, 64)).shape == (1, 4, 32, 32)
    with pytest.raises(ValueError, match="output stride 2, not 1"):
        PeopleNet(SMALL.with_changes(decoder=(8, 8, 8)))
    assert PeopleConfig.from_dict(SMALL.to_dict()) == SMALL


def test_network_input_is_scaled_depth_and_validity_padded_to_the_grid():
    depth = np.full((424, 512), 2.0, np.float32)
    depth[0, 0] = np.nan
    depth[4, 4] = 12.0  # beyond max_depth
    x = network_input(depth, SMALL)
    assert x.shape == (2, 112, 128)  # 106 rows padded to a multiple of 16
    assert x[0, 2, 2] == pytest.approx(2.0 / SMALL.depth_scale) and x[1, 2, 2] == 1.0
    assert x[0, 0, 0] == 0.0 and x[1, 0, 0] == 0.0  # invalid
    assert x[0, 1, 1] == 0.0 and x[1, 1, 1] == 0.0  # too far
    assert x[1, 106:].sum() == 0.0  # padding


def test_frames_of_other_cameras_are_seen_at_the_stages_focal_length():
    import cv2

    frame = generate_frame("test", 3, 0, scenario="side_by_side")
    config = SMALL.with_changes(focal_length=frame.intrinsics.fx)
    oracle = oracle_stage(frame, config)
    seen = []

    def stage(batch):
        seen.append(batch.shape)
        return oracle(batch)

    # The same scene through a camera with a 1.5x longer focal length (a 768x636 image).
    size = (768, 636)
    depth = cv2.resize(frame.depth_m, size, interpolation=cv2.INTER_NEAREST)
    person_mask = cv2.resize(frame.person_mask, size, interpolation=cv2.INTER_NEAREST)
    found = PeopleFinder(stage, config, 0.5)(depth, 1.5 * frame.intrinsics.fx)
    assert seen[0] == (1, 2, *network_input(frame.depth_m, config).shape[1:])
    counted = [person_mask == k + 1 for k, p in enumerate(frame.people) if not p.ignore]
    hits, false = match([p.mask for p in found], counted)
    assert (hits, false) == (len(counted), 0)
    assert all(p.mask.shape == depth.shape for p in found)


@pytest.mark.parametrize("scenario", ["side_by_side", "behind", "crowd", "tpose", "distractors"])
def test_decoding_the_targets_finds_exactly_the_counted_people(scenario):
    for index in range(3):
        frame = generate_frame("test", 3, index, scenario=scenario)
        stage = oracle_stage(frame, SMALL)
        found = PeopleFinder(stage, SMALL, 0.5)(frame.depth_m)
        counted = [frame.person_mask == k + 1 for k, p in enumerate(frame.people) if not p.ignore]
        hits, false = match([p.mask for p in found], counted)
        assert (hits, false) == (len(counted), 0) and all(p.claimed for p in found)
        for proposal in found:
            values = frame.depth_m[proposal.mask]
            assert abs(proposal.reference_depth - np.nanmedian(values)) < 0.05
            x0, y0, x1, y1 = proposal.box
            assert proposal.mask[y0 : y1 + 1, x0 : x1 + 1].any() and not proposal.mask[:y0].any()


def test_cells_pointing_at_no_centre_belong_to_nobody():
    output = np.full((4, 16, 16), -10.0, np.float32)
    output[0, 8, 8] = 10.0  # one person centred at (8, 8)
    output[1, 6:11, 6:11] = 10.0  # their cells, pointing at the centre
    rows, columns = np.mgrid[6:11, 6:11]
    output[2, 6:11, 6:11] = (8 - columns) / SMALL.offset_scale
    output[3, 6:11, 6:11] = (8 - rows) / SMALL.offset_scale
    output[1, 0:3, 0:3] = 10.0  # foreground far away, pointing at itself: nobody found there
    output[2:, 0:3, 0:3] = 0.0
    decoded = decode(output, SMALL, 0.5)
    assert len(decoded.scores) == 1 and decoded.scores[0] > 0.99
    assert decoded.peaks.tolist() == [[8, 8]]
    assert (decoded.labels[6:11, 6:11] == 1).all() and (decoded.labels[0:3, 0:3] == 0).all()
    decoded = decode(output, SMALL, 1.0)  # threshold above every peak
    assert len(decoded.scores) == 0 and not decoded.labels.any()


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


@pytest.mark.parametrize("foreground", [0.3, 0.05])
def test_a_centre_without_cells_of_its_own_is_the_depth_around_it(foreground):
    # A person (3 m) beside a box (3.6 m) before a wall (5 m): the stage sees the person's centre
    # but calls too little of them foreground (a far, thin or hidden person does this).
    depth = np.full((424, 512), 5.0, np.float32)
    depth[150:270, 240:280] = 3.0  # the person
    depth[200:270, 280:330] = 3.6  # the box beside them
    output = np.full((4, 112, 128), -10.0, np.float32)
    output[2:] = 0.0
    output[0, 52, 65] = 2.0  # the person's centre, cell (row 52, column 65)
    output[1, 37:68, 60:83] = _logit(foreground)  # neither plainly background nor foreground
    found = PeopleFinder(FixedStage(output), SMALL, 0.15)(depth)
    if foreground < 0.1:  # plainly background around the peak: nobody to crop
        assert found == []
        return
    (person,) = found
    assert not person.claimed  # the estimator asks a surer skeleton of them
    assert abs(person.reference_depth - 3.0) < 1e-6 and person.score == pytest.approx(0.881, 1e-3)
    assert person.mask[150:270, 240:280].mean() > 0.95  # all of them
    assert not person.mask[:, 280:].any() and not (depth[person.mask] != 3.0).any()
    assert person.box == (240, 150, 279, 269)


def test_targets_put_a_centre_on_each_counted_person_and_offsets_pointing_there():
    mask = np.zeros((20, 30), np.uint8)
    mask[2:12, 3:9] = 1
    mask[5:18, 15:25] = 2
    mask[0:3, 27:30] = 3  # a hidden person: foreground, but no centre
    mask[15:19, 0:5] = 255  # an object that is not a person
    target = targets(mask, {0, 1}, SMALL, mask.shape)
    assert target["centre"].max() == 1.0
    peaks = np.argwhere(target["centre"] == 1.0)
    assert {tuple(p) for p in peaks} == {(6, 5), (11, 19)} or len(peaks) == 2
    np.testing.assert_array_equal(target["foreground"], ((mask > 0) & (mask < 255)))
    assert target["offset_weight"][0:3, 27:30].sum() == 0
    for row, column in peaks:
        k = mask[row, column]
        rows, columns = np.nonzero(mask == k)
        aimed_x = columns + target["offsets"][0, rows, columns] * SMALL.offset_scale
        aimed_y = rows + target["offsets"][1, rows, columns] * SMALL.offset_scale
        np.testing.assert_allclose(aimed_x, column, atol=1e-4)
        np.testing.assert_allclose(aimed_y, row, atol=1e-4)


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> SyntheticDataset:
    root = tmp_path_factory.mktemp("people") / "data"
    write_dataset(root, "train", 4, 4, workers=1, progress=False, scenarios=["side_by_side"])
    return SyntheticDataset(root)


def test_training_frames_are_deterministic_and_mirrored_with_their_targets(frames):
    plain = PeopleFrames(frames, SMALL, augment=False)
    x, target = plain[0]
    assert x.shape == (2, 112, 128) and target["centre"].shape == (112, 128)
    assert target["centre"].max() == 1.0
    augmented = PeopleFrames(frames, SMALL, augment=True, seed=2)
    a, _ = augmented[1]
    assert torch.equal(a, augmented[1][0])
    augmented.set_epoch(1)
    assert not torch.equal(a, augmented[1][0])


def test_training_frames_can_have_the_sensors_scattered_dropouts_filled(frames):
    def invalid_cells(filled: float) -> int:
        inputs, _ = PeopleFrames(frames, SMALL, augment=True, seed=2, filled=filled)[0]
        return int((inputs[1] == 0).sum())

    assert invalid_cells(1.0) < invalid_cells(0.0)


def test_loss_is_low_for_the_targets_and_high_for_nothing(frames):
    _, target = PeopleFrames(frames, SMALL, augment=False)[0]
    batch = {k: v[None] for k, v in target.items()}
    perfect = torch.zeros(1, 4, 112, 128)
    centre = batch["centre"].clamp(1e-4, 1 - 1e-4)
    perfect[:, 0] = torch.log(centre / (1 - centre))
    perfect[:, 1] = torch.where(batch["foreground"] > 0, 10.0, -10.0)
    perfect[:, 2:] = batch["offsets"]
    empty = torch.zeros(1, 4, 112, 128)
    assert loss(perfect, batch)["loss"] < 0.1 * loss(empty, batch)["loss"]
    assert loss(perfect, batch)["offset"] == 0.0


def test_person_stage_training_writes_logs_and_weights_and_resumes(frames, tmp_path):
    settings = PeopleSettings(config=SMALL, epochs=1, batch_size=2, val_frames=2)
    rows = train_people(frames, tmp_path / "run", settings, val=frames, progress=False)
    assert [r["epoch"] for r in rows] == [1]
    assert {"train_loss", "val_recall", "val_false_per_frame"} <= set(rows[0])
    best = tmp_path / "run" / "best.pt"
    model, metadata = weights.load_people(best)
    assert model.config == SMALL and metadata["epoch"] == 1
    with pytest.raises(weights.WeightsError, match="holds people weights, not pose weights"):
        weights.load(best)
    longer = PeopleSettings(config=SMALL, epochs=2, batch_size=2, val_frames=2)
    rows = train_people(frames, tmp_path / "run", longer, val=frames, progress=False)
    assert [r["epoch"] for r in rows] == [1, 2]  # resumed: epoch 1 not run again
    logged = json.loads((tmp_path / "run" / "log.json").read_text())
    assert [r["epoch"] for r in logged] == [1, 2]
    with pytest.raises(ValueError, match="different model config"):
        train_people(frames, tmp_path / "run", PeopleSettings(epochs=3), progress=False)


def test_person_stage_training_can_start_from_weights_with_their_config(frames, tmp_path):
    """--init for the person stage: a new run on given weights (their config, not the
    settings'), with a fresh schedule; at learning rate 0 they stay exactly those weights."""
    first = PeopleSettings(config=SMALL, epochs=1, batch_size=2, val_frames=2)
    train_people(frames, tmp_path / "first", first, progress=False)
    start = str(tmp_path / "first" / "best.pt")
    still = PeopleSettings(epochs=1, batch_size=2, lr=0.0, val_frames=2, init=start)
    rows = train_people(frames, tmp_path / "still", still, val=frames, progress=False)
    assert [r["epoch"] for r in rows] == [1] and 0.0 <= rows[0]["val_recall"] <= 1.0
    initial, _ = weights.load_people(start)
    trained, _ = weights.load_people(tmp_path / "still" / "last.pt")
    assert trained.config == SMALL
    after = trained.state_dict()
    for name, value in initial.state_dict().items():
        if not name.endswith("num_batches_tracked") and "running_" not in name:
            assert torch.equal(value, after[name]), name
    moved = PeopleSettings(epochs=1, batch_size=2, lr=1e-2, init=start)
    train_people(frames, tmp_path / "moved", moved, progress=False)
    changed, _ = weights.load_people(tmp_path / "moved" / "last.pt")
    assert not torch.equal(changed.head.weight, initial.head.weight)
    pose = weights.save(tmp_path / "pose.pt", tiny_model())
    with pytest.raises(weights.WeightsError, match="holds pose weights"):
        train_people(frames, tmp_path / "wrong", PeopleSettings(init=str(pose)), progress=False)


def test_person_stage_weights_train_on_frames_read_at_another_resolution(frames, tmp_path):
    """--downsample over --init: the same (fully convolutional) weights, reading every N-th
    pixel instead of their own config's; the file keeps the new resolution."""
    first = PeopleSettings(config=SMALL, epochs=1, batch_size=2, val_frames=2)
    train_people(frames, tmp_path / "first", first, progress=False)
    start = str(tmp_path / "first" / "best.pt")
    finer = PeopleSettings(epochs=1, batch_size=2, lr=0.0, val_frames=2, init=start, downsample=2)
    rows = train_people(frames, tmp_path / "finer", finer, val=frames, progress=False)
    assert 0.0 <= rows[0]["val_recall"] <= 1.0
    initial, _ = weights.load_people(start)
    trained, _ = weights.load_people(tmp_path / "finer" / "best.pt")
    assert trained.config == SMALL.with_changes(downsample=2) and trained.config.stride == 2
    for name, value in initial.state_dict().items():
        if not name.endswith("num_batches_tracked") and "running_" not in name:
            assert torch.equal(value, trained.state_dict()[name]), name
    depth = frames[0].depth
    assert network_input(depth, trained.config).shape[1] == -(-depth.shape[0] // 2 // 16) * 16
    finder = PeopleFinder(TorchBackend(trained.eval()), trained.config, 0.0)
    assert all(p.mask.shape == depth.shape for p in finder(depth))


def test_pose_weights_are_not_people_weights(tmp_path):
    path = weights.save(tmp_path / "pose.pt", tiny_model())
    with pytest.raises(weights.WeightsError, match="holds pose weights, not people weights"):
        weights.load_people(path)


def test_onnx_export_of_the_person_stage_agrees_with_pytorch():
    model = tiny_people(SMALL)
    x = np.random.default_rng(0).uniform(0, 1, size=(1, 2, 112, 128)).astype(np.float32)
    expected = TorchBackend(model)(x)
    actual = OnnxRuntimeBackend(export_onnx(model))(x)
    np.testing.assert_allclose(actual, expected, atol=1e-4 * max(1.0, np.abs(expected).max()))
