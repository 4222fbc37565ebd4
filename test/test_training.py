"""Training: samples, the loop, resuming, fine-tuning modes, weights files, torchrun."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_pose_ros.core import schema
from depth_pose_ros.data.synthetic.dataset import SyntheticDataset, write_dataset
from depth_pose_ros.model import weights
from depth_pose_ros.model.heatmaps import decode, to_image
from depth_pose_ros.model.network import DepthPoseNet
from depth_pose_ros.model.preprocess import CropBox, apply, crop_transform
from depth_pose_ros.training.data import OBJECT_MASK, Augmentation, PersonCrops
from depth_pose_ros.training.loss import stage_loss
from depth_pose_ros.training.trainer import TrainSettings, train
from helpers import TINY


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> SyntheticDataset:
    root = tmp_path_factory.mktemp("data") / "train"
    write_dataset(root, "train", 3, 6, people=2, workers=1, progress=False)
    return SyntheticDataset(root)


def settings(**changes) -> TrainSettings:
    values = {
        "config": TINY,
        "epochs": 2,
        "batch_size": 2,
        "workers": 0,
        "val_people": 4,
        "negatives": 0.0,
    }
    return TrainSettings(**(values | changes))


def test_crops_and_targets_decode_back_to_the_annotated_joints(frames):
    config = TINY.with_changes(input_size=(128, 128))
    crops = PersonCrops(frames, config, Augmentation.none(), negatives=0.0)
    assert len(crops) == sum(not p.ignore for i in range(len(frames)) for p in frames[i].people)
    sample_index, person_index = crops.items[0]
    sample = frames[sample_index]
    person = sample.people[person_index]
    crop, maps, alphas = crops.make(sample, person_index, np.random.default_rng(0))
    assert crop.shape == (128, 128) and crop.dtype == np.float32
    assert crop.min() >= -1.0 and crop.max() <= 1.0

    box = CropBox.around_mask(sample.mask == person_index + 1, TINY.box_margin)
    affine = crop_transform(box, (128, 128))
    points, _ = decode(maps, smoothing=0.0)  # exact for a Gaussian target
    image = to_image(points, affine, TINY.stride)
    in_crop = np.all((apply(affine, person.uv) >= 0) & (apply(affine, person.uv) <= 127), axis=1)
    inside = np.all((apply(affine, person.uv) >= 8) & (apply(affine, person.uv) <= 119), axis=1)
    trained = alphas > 0
    assert (trained & in_crop).sum() >= 4
    np.testing.assert_array_equal(trained[in_crop], person.visibility[in_crop] > 0)
    # A peak can only be decoded inside the heatmap, and within a heatmap cell of its edge the
    # cut Gaussian pulls the sub-pixel refinement: compare the joints well inside the crop.
    check = trained & inside
    assert check.sum() >= 4
    np.testing.assert_allclose(image[check], person.uv[check], atol=0.05)


def test_flipping_swaps_left_and_right_joints(frames):
    plain = PersonCrops(frames, TINY.with_changes(input_size=(128, 128)), Augmentation.none())
    mirrored = PersonCrops(
        frames,
        TINY.with_changes(input_size=(128, 128)),
        replace(Augmentation.none(), flip=True),
    )
    sample_index, person_index = plain.items[0]
    sample = frames[sample_index]
    crop, maps, _ = plain.make(sample, person_index, np.random.default_rng(0))
    for seed in range(20):  # find a draw that flips
        flipped, flipped_maps, _ = mirrored.make(sample, person_index, np.random.default_rng(seed))
        if not np.array_equal(flipped, crop):
            break
    np.testing.assert_array_equal(flipped, crop[:, ::-1])
    np.testing.assert_allclose(flipped_maps, maps[schema.FLIP_PERMUTATION][:, :, ::-1], atol=1e-6)


def test_a_turned_share_of_crops_shows_people_at_any_angle(frames, monkeypatch):
    """Rotation stays within +-4 degrees, but a `turned` share of the crops shows the person at
    any angle (lying, bent over)."""
    from depth_pose_ros.training import data

    rotations: list[float] = []

    def recording(*args, **kwargs):
        rotations.append(args[4])  # prepare_crop(depth, box, reference, config, rotation, flip)
        return data_prepare_crop(*args, **kwargs)

    data_prepare_crop = data.prepare_crop
    monkeypatch.setattr(data, "prepare_crop", recording)
    config = TINY.with_changes(input_size=(128, 128))
    sample_index, person_index = PersonCrops(frames, config, Augmentation.none()).items[0]
    sample = frames[sample_index]

    def drawn(turned: float) -> np.ndarray:
        rotations.clear()
        crops = PersonCrops(frames, config, replace(Augmentation(), turned=turned))
        for seed in range(200):
            crops.make(sample, person_index, np.random.default_rng(seed))
        return np.abs(rotations)

    assert drawn(0.0).max() <= 4.0
    turned = drawn(0.5)
    assert 0.35 < np.mean(turned > 4.0) < 0.65 and turned.max() > 170.0


def test_crops_can_see_the_frame_with_the_sensors_scattered_dropouts_filled(frames):
    config = TINY.with_changes(input_size=(128, 128))
    sample_index, person_index = PersonCrops(frames, config, Augmentation.none()).items[0]
    sample = frames[sample_index]

    def invalid_pixels(filled: float) -> int:
        crops = PersonCrops(frames, config, replace(Augmentation.none(), filled=filled))
        crop, _, _ = crops.make(sample, person_index, np.random.default_rng(0))
        return int(np.count_nonzero(crop == config.invalid_value))

    assert invalid_pixels(1.0) < invalid_pixels(0.0)


def test_samples_are_deterministic_per_seed_epoch_and_index(frames):
    crops = PersonCrops(frames, TINY, Augmentation(), seed=3)
    first = crops[1][0]
    assert torch.equal(first, crops[1][0])
    crops.set_epoch(1)
    assert not torch.equal(first, crops[1][0])


def test_loss_weights_missing_joints_out():
    target = torch.zeros(1, 2, 4, 4)
    prediction = torch.ones(1, 2, 4, 4)
    weight = torch.tensor([[1.0, 0.0]])
    assert stage_loss([prediction, prediction], target, weight).item() == pytest.approx(32.0)


def test_a_coarser_stage_is_judged_against_the_targets_resized_up_to_them():
    target = torch.rand(2, 3, 8, 8)
    weight = torch.ones(2, 3)
    coarse = torch.rand(2, 3, 4, 4)
    resized = torch.nn.functional.interpolate(coarse, size=(8, 8), mode="bilinear")
    assert stage_loss([coarse, target], target, weight).item() == pytest.approx(
        stage_loss([resized], target, weight).item()
    )


def test_an_upsampling_head_trains_on_top_of_initial_weights(frames, tmp_path):
    """--upsample over --init weights: the stages start as those weights, the new head as their
    heatmaps resized up; the run's weights have the head; a head of other levels is refused."""
    config = TINY.with_changes(input_size=(128, 128))
    first = tmp_path / "first"
    train(frames, first, settings(config=config, epochs=1), progress=False)
    out = tmp_path / "fine"
    init = str(first / "last.pt")
    rows = train(frames, out, settings(epochs=1, init=init, upsample=1), val=frames, progress=False)
    model, _ = weights.load(out / "best.pt")
    assert model.config == config.with_changes(upsample=1) and model.config.stride == 4
    assert np.isfinite(rows[-1]["train_loss"]) and 0.0 <= rows[-1]["val_mAP"] <= 1.0
    initial, _ = weights.load(init)
    still = tmp_path / "still"  # at lr 0 the weights stay where they started
    train(frames, still, settings(epochs=1, init=init, upsample=1, lr=0.0), progress=False)
    started, _ = weights.load(still / "last.pt")
    parameters = dict(started.named_parameters())
    for name, value in initial.named_parameters():
        torch.testing.assert_close(parameters[name], value, atol=0, rtol=0)
    head = started.upsampling.head.weight[:, :, 0, 0]
    torch.testing.assert_close(head[:, -21:], torch.eye(21), atol=0, rtol=0)
    assert not head[:, :-21].any()
    with pytest.raises(ValueError, match="upsampling levels"):
        train(frames, tmp_path / "other", settings(epochs=1, init=str(out / "last.pt"), upsample=2))


def test_initial_weights_train_on_crops_of_another_size(frames, tmp_path):
    """--input-size over --init weights: every weight starts as it was (the network is fully
    convolutional), the crops and heatmaps take the new size, and the run's weights keep it."""
    first = tmp_path / "first"
    train(frames, first, settings(epochs=1), progress=False)
    init = str(first / "last.pt")
    out = tmp_path / "larger"
    train(frames, out, settings(epochs=1, init=init, input_size=(96, 96), lr=0.0), progress=False)
    model, _ = weights.load(out / "last.pt")
    assert model.config == TINY.with_changes(input_size=(96, 96))
    assert model.config.heatmap_size == (12, 12)
    initial, _ = weights.load(init)
    assert initial.config.input_size == TINY.input_size != (96, 96)
    parameters = dict(model.named_parameters())
    for name, value in initial.named_parameters():
        torch.testing.assert_close(parameters[name], value, atol=0, rtol=0)
    heatmaps = model.eval()(torch.zeros(1, 1, 96, 96))[-1]
    assert heatmaps.shape[-2:] == (12, 12)


def test_training_writes_logs_and_weights_and_resumes(frames, tmp_path):
    out = tmp_path / "run"
    rows = train(frames, out, settings(), val=frames, progress=False)
    assert [r["epoch"] for r in rows] == [1, 2]
    for name in ("last.pt", "best.pt", "log.csv", "log.json", "curves.png", "settings.json"):
        assert (out / name).is_file(), name
    assert {"train_loss", "val_loss", "val_mAP", "val_AP50", "val_AP75"} <= set(rows[-1])
    model, metadata = weights.load(out / "best.pt")
    assert model.config == TINY and "val" in metadata
    rows = train(frames, out, settings(epochs=3), val=frames, progress=False)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert json.loads((out / "log.json").read_text())[-1]["epoch"] == 3


def test_training_without_validation_keeps_the_lowest_training_loss(frames, tmp_path):
    rows = train(frames, tmp_path, settings(), progress=False)
    _, metadata = weights.load(tmp_path / "best.pt")
    losses = [row["train_loss"] for row in rows]
    assert metadata["epoch"] == 1 + losses.index(min(losses))


def test_resumed_training_matches_an_uninterrupted_run(frames, tmp_path):
    train(frames, tmp_path / "a", settings(epochs=2), progress=False)
    train(frames, tmp_path / "b", settings(epochs=1), progress=False)
    train(frames, tmp_path / "b", settings(epochs=2), progress=False)
    a = weights.read(tmp_path / "a" / "last.pt")["state_dict"]
    b = weights.read(tmp_path / "b" / "last.pt")["state_dict"]
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name


@pytest.mark.parametrize(
    ("mode", "frozen", "trained"),
    [
        ("all", [], ["features", "initial", "refinements.0"]),
        ("blk", ["features"], ["initial", "refinements.0"]),
        ("last", ["features", "initial"], ["refinements.0"]),
    ],
)
def test_finetuning_modes_freeze_what_the_paper_freezes(frames, tmp_path, mode, frozen, trained):
    base = tmp_path / "base.pt"
    weights.save(base, DepthPoseNet(TINY))
    train(
        frames, tmp_path / mode, settings(finetune=mode, init=str(base), epochs=1), progress=False
    )
    before = weights.read(base)["state_dict"]
    after = weights.read(tmp_path / mode / "last.pt")
    assert after["config"]["dropout"] == 0.5
    for name, value in after["state_dict"].items():
        changed = not torch.equal(value, before[name])
        if any(name.startswith(prefix) for prefix in frozen):
            assert not changed, name
        if name.startswith("refinements.0.head.weight") or any(
            name == f"{prefix}.head.weight" for prefix in trained
        ):
            assert changed, name


def test_finetuning_needs_initial_weights(frames, tmp_path):
    with pytest.raises(ValueError, match="needs --init"):
        train(frames, tmp_path / "x", settings(finetune="blk"), progress=False)


def test_negatives_cover_objects_or_bits_of_the_scene_but_nobody(tmp_path):
    root = tmp_path / "objects"
    write_dataset(root, "train", 6, 4, workers=1, progress=False, scenarios=["distractors"])
    data = SyntheticDataset(root)
    assert any((data[i].mask == OBJECT_MASK).any() for i in range(len(data)))
    crops = PersonCrops(data, TINY, Augmentation.none(), negatives=0.5)
    negatives = [i for i, (_, person) in enumerate(crops.items) if person < 0]
    people = len(crops.items) - len(negatives)
    assert len(negatives) == round(people)  # half of all samples
    for index in negatives[:4]:
        sample_index, _ = crops.items[index]
        sample = data[sample_index]
        box = crops._nobody(sample, np.random.default_rng(index))
        if box is not None:
            half = box.size / 2
            rows = slice(max(int(box.cy - half), 0), int(box.cy + half) + 1)
            columns = slice(max(int(box.cx - half), 0), int(box.cx + half) + 1)
            window = sample.mask[rows, columns]
            person = (window > 0) & (window != OBJECT_MASK)
            assert person.mean() <= 0.35, "a negative is mostly not a person"
        crop, maps, alphas = crops[index]
        assert crop.shape == (1, *TINY.input_size)
        assert not maps.any() and bool((alphas == 1).all())  # quiet everywhere


def test_weights_errors_name_what_is_available(tmp_path):
    with pytest.raises(weights.WeightsError, match="no weights named 'huge'; shipped weights: "):
        weights.load("huge")
    with pytest.raises(weights.WeightsError, match="does not exist"):
        weights.load(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a torch file")
    with pytest.raises(weights.WeightsError, match="not a readable weights file"):
        weights.load(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(weights.WeightsError, match="not a depth_pose_ros weights file"):
        weights.load(foreign)
    mismatched = tmp_path / "mismatched.pt"
    contents = weights.pack(DepthPoseNet(TINY))
    contents["config"] = TINY.with_changes(stages=3).to_dict()
    torch.save(contents, mismatched)
    with pytest.raises(weights.WeightsError, match="does not fit its own config"):
        weights.load(mismatched)


@pytest.mark.slow
def test_torchrun_trains_with_two_processes(frames, tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(
        "import sys\n"
        "from depth_pose_ros.data.synthetic.dataset import SyntheticDataset\n"
        "from depth_pose_ros.model.network import ModelConfig\n"
        "from depth_pose_ros.training.trainer import TrainSettings, train\n"
        f"config = ModelConfig.from_dict({TINY.to_dict()!r})\n"
        "s = TrainSettings(config=config, epochs=1, batch_size=2, workers=0, negatives=0.0)\n"
        "train(SyntheticDataset(sys.argv[1]), sys.argv[2], s, progress=False)\n"
    )
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [torchrun, "--standalone", "--nproc-per-node=2", script, frames.root, tmp_path / "ddp"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    log = json.loads((tmp_path / "ddp" / "log.json").read_text())
    assert len(log) == 1
    assert (tmp_path / "ddp" / "last.pt").is_file()
