"""Crops, targets and decoding: one consistent mapping from image pixels to heatmaps and back."""

import numpy as np
import pytest

from depth_pose_ros.model import heatmaps
from depth_pose_ros.model.network import CONFIGS
from depth_pose_ros.model.preprocess import (
    CropBox,
    apply,
    crop_transform,
    invert,
    normalise,
    prepare_crop,
    warp_depth,
)

LITE = CONFIGS["lite"]


def test_crop_transform_maps_the_box_onto_the_input():
    box = CropBox(300.0, 200.0, 160.0)
    affine = crop_transform(box, (128, 128))
    np.testing.assert_allclose(apply(affine, np.array([300.0, 200.0])), [63.5, 63.5])
    np.testing.assert_allclose(apply(affine, np.array([380.0, 200.0])), [127.5, 63.5])
    flipped = crop_transform(box, (128, 128), flip=True)
    np.testing.assert_allclose(apply(flipped, np.array([380.0, 200.0])), [-0.5, 63.5])
    rotated = crop_transform(box, (128, 128), rotation_degrees=90)
    np.testing.assert_allclose(apply(rotated, np.array([380.0, 200.0])), [63.5, -0.5], atol=1e-9)
    np.testing.assert_allclose(apply(invert(rotated), np.array([63.5, -0.5])), [380.0, 200.0])


def test_crops_sample_depth_without_inventing_values():
    depth = np.full((100, 100), 2.0, np.float32)
    depth[:, 50:] = 3.0
    depth[10, 10] = np.nan
    affine = crop_transform(CropBox(50.0, 50.0, 100.0), (64, 64))
    crop = warp_depth(depth, affine, (64, 64))
    assert set(np.unique(crop[np.isfinite(crop)])) <= {2.0, 3.0}  # nearest neighbour
    outside = warp_depth(depth, crop_transform(CropBox(0.0, 0.0, 100.0), (64, 64)), (64, 64))
    assert np.isnan(outside[0, 0])
    normalised = normalise(np.array([[2.5, np.nan, 10.0, -3.0]], np.float32), 2.0, LITE)
    np.testing.assert_allclose(normalised, [[0.5, LITE.invalid_value, 1.0, -1.0]])


def test_targets_are_the_papers_gaussians_at_stride_8():
    joints = np.array([[35.5, 19.5], [0.0, 0.0]])  # input pixels; 35.5 is cell 4's centre
    maps, weights = heatmaps.targets(joints, np.array([True, False]), (8, 8), 8, 7.0)
    assert maps.shape == (2, 8, 8)
    assert maps[0].argmax() == np.ravel_multi_index((2, 4), (8, 8))
    assert maps[0, 2, 4] == pytest.approx(1.0)
    assert maps[0, 2, 5] == pytest.approx(np.exp(-((8 / 7) ** 2)))  # sigma = 7 input pixels
    np.testing.assert_array_equal(weights, [1.0, 0.0])
    assert not maps[1].any()
    _, far = heatmaps.targets(np.array([[500.0, 10.0]]), np.array([True]), (8, 8), 8, 7.0)
    assert far[0] == 0.0  # a peak the heatmap cannot hold is not trained


@pytest.mark.parametrize(
    ("rotation", "flip"), [(0.0, False), (3.0, False), (-4.0, True), (90.0, True)]
)
def test_a_known_heatmap_decodes_to_the_right_depth_image_pixel(rotation, flip):
    box = CropBox(301.3, 207.9, 171.0)
    affine = crop_transform(box, (128, 128), rotation, flip)
    truth = np.array([[280.25, 150.5], [330.1, 260.9], [301.3, 207.9], [250.0, 230.4]])
    maps, _ = heatmaps.targets(apply(affine, truth), np.ones(4, bool), (16, 16), 8, 7.0)
    points, confidence = heatmaps.decode(maps, smoothing=0.0)  # exact for a Gaussian
    np.testing.assert_allclose(heatmaps.to_image(points, affine, 8), truth, atol=1e-3)
    assert np.all(confidence > 0.5)
    cell = 8 * box.size / 128  # image pixels per heatmap cell
    points, smoothed_confidence = heatmaps.decode(maps)  # read through the blur
    np.testing.assert_allclose(heatmaps.to_image(points, affine, 8), truth, atol=cell / 40)
    np.testing.assert_array_equal(smoothed_confidence, confidence)  # the heatmap's own peak


def test_a_noisy_heatmap_is_read_nearer_its_joint_through_the_blur():
    """A network's heatmaps are not clean Gaussians: read through the light blur, noisy
    heatmaps give peaks nearer the joint than read as they are."""
    rng = np.random.default_rng(0)
    joints = rng.uniform(24.0, 104.0, (200, 2))  # input pixels, away from the border
    maps, _ = heatmaps.targets(joints, np.ones(len(joints), bool), (16, 16), 8, 7.0)
    noisy = 0.7 * maps + rng.normal(0.0, 0.05, maps.shape).astype(np.float32)

    def error(smoothing: float) -> float:
        points, _ = heatmaps.decode(noisy, smoothing)
        return float(np.linalg.norm(heatmaps.heatmap_to_input(points, 8) - joints, axis=1).mean())

    assert error(heatmaps.PEAK_SMOOTHING_SIGMA) < 0.8 * error(0.0)


def test_flip_testing_maps_a_mirrored_crops_heatmaps_back_onto_the_crop():
    """A mirrored crop shows the person's left as their right, mirrored: mapped back (columns
    reversed, left and right swapped) its heatmaps peak where the plain crop's do."""
    from depth_pose_ros.core.schema import FLIP_PERMUTATION, JOINT_NAMES

    rng = np.random.default_rng(0)
    joints = rng.uniform(10.0, 118.0, (len(JOINT_NAMES), 2))  # input pixels of a 128 crop
    labelled = np.ones(len(JOINT_NAMES), bool)
    plain, _ = heatmaps.targets(joints, labelled, (16, 16), 8, 7.0)
    seen_mirrored = np.column_stack([127.0 - joints[:, 0], joints[:, 1]])[FLIP_PERMUTATION]
    mirrored, _ = heatmaps.targets(seen_mirrored, labelled, (16, 16), 8, 7.0)
    averaged = heatmaps.flip_averaged(plain[None], mirrored[None])[0]
    np.testing.assert_allclose(averaged, plain, atol=1e-6)
    points, _ = heatmaps.decode(averaged, smoothing=0.0)  # exact for a Gaussian
    np.testing.assert_allclose(heatmaps.heatmap_to_input(points, 8), joints, atol=1e-3)
    unswapped = (plain + mirrored[:, :, ::-1]) / 2.0  # mirrored back but not swapped: wrong
    assert not np.allclose(unswapped, plain, atol=0.1)


def test_decoding_without_a_clear_peak_keeps_the_cell():
    flat = np.zeros((2, 6, 6), np.float32)
    flat[0, 0, 3] = 0.9  # on the border: no refinement
    flat[1, 3, 3] = 0.4
    flat[1, 3, 4] = 0.4  # a plateau: not concave
    points, confidence = heatmaps.decode(flat)
    np.testing.assert_array_equal(points[0], [3, 0])
    assert points[1, 1] == 3 and 3 <= points[1, 0] <= 4
    np.testing.assert_allclose(confidence, [0.9, 0.4])
    points, confidence = heatmaps.decode(-np.ones((1, 4, 4), np.float32))
    assert confidence[0] == 0.0


def test_prepare_crop_is_warp_then_normalise():
    rng = np.random.default_rng(0)
    depth = rng.uniform(1, 4, size=(120, 160)).astype(np.float32)
    box = CropBox(80.0, 60.0, 90.0)
    config = LITE.with_changes(input_size=(64, 64), depth_range=0.5, invalid_value=0.7)
    crop, affine = prepare_crop(depth, box, 2.5, config, 2.0, True)
    np.testing.assert_array_equal(affine, crop_transform(box, (64, 64), 2.0, True))
    expected = normalise(warp_depth(depth, affine, (64, 64)), 2.5, config)
    np.testing.assert_array_equal(crop, expected)
    assert np.isclose(
        expected, (np.clip(warp_depth(depth, affine, (64, 64)) - 2.5, -0.5, 0.5)) / 0.5
    ).all()
