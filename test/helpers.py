"""Test data and checks shared by several test modules."""

from pathlib import Path

import numpy as np
import pytest
import torch

from depth_pose_ros.core.skeleton import Skeleton, TrackingState
from depth_pose_ros.model import weights
from depth_pose_ros.model.network import DepthPoseNet, ModelConfig

# A tiny network (random weights) for tests that need a model but not a good one: fast.
TINY = ModelConfig(
    "tiny", width=0.125, stages=2, initial=(3, 1, 16), refine=(3, 1, 16), input_size=(64, 64)
)


def tiny_model(config: ModelConfig = TINY) -> DepthPoseNet:
    """The tiny network with deterministic random weights, in eval mode."""
    torch.manual_seed(0)
    return DepthPoseNet(config).eval()


def save_tiny_weights(path: Path) -> Path:
    """A weights file of the tiny network."""
    return weights.save(path, tiny_model())


def sample_skeletons(seed: int = 0, count: int = 2) -> list[Skeleton]:
    rng = np.random.default_rng(seed)
    skeletons = []
    for person in range(count):
        xyz = rng.uniform(-1, 3, size=(21, 3)).astype(np.float32)
        xyz[person] = np.nan  # one joint without depth
        skeletons.append(
            Skeleton(
                id=7 + person,
                uv=rng.uniform(0, 500, size=(21, 2)),
                xyz=xyz,
                confidence=rng.uniform(0, 1, size=21),
                state=rng.integers(0, 3, size=21),
                score=float(rng.uniform()),
                tracking_state=TrackingState(person % 3),
            )
        )
    return skeletons


def assert_same_skeletons(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert (a.id, a.tracking_state) == (e.id, e.tracking_state)
        assert a.score == pytest.approx(e.score, rel=1e-6)
        np.testing.assert_array_equal(a.uv, e.uv)
        np.testing.assert_array_equal(a.xyz, e.xyz)  # NaN compares equal here
        np.testing.assert_array_equal(a.confidence, e.confidence)
        np.testing.assert_array_equal(a.state, e.state)
