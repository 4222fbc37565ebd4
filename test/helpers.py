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


class FixedStage:
    """A person-stage backend that answers every frame with one given (4, h, w) output."""

    name = "fixed"

    def __init__(self, output: np.ndarray) -> None:
        self.output = output

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.repeat(self.output[None], len(batch), axis=0)


class OracleStage(FixedStage):
    """A person-stage backend that answers with the targets of a known frame: the stage's
    decoding then finds exactly the frame's counted people (a stand-in for trained weights)."""

    name = "oracle"

    def __init__(self, person_mask: np.ndarray, counted: set[int], config) -> None:
        from depth_pose_ros.inference.people import network_input
        from depth_pose_ros.training.people import targets

        self.config = config
        height, width = network_input(np.zeros(person_mask.shape, np.float32), config).shape[1:]
        padded = np.zeros((height * config.stride, width * config.stride), np.uint8)
        padded[: person_mask.shape[0], : person_mask.shape[1]] = person_mask
        target = targets(
            padded[:: config.stride, :: config.stride], counted, config, (height, width)
        )
        centre = np.clip(target["centre"], 1e-4, 1 - 1e-4)
        output = np.zeros((4, height, width), np.float32)
        output[0] = np.log(centre / (1 - centre))
        output[1] = np.where(target["foreground"] > 0, 10.0, -10.0)
        output[2:] = target["offsets"]
        super().__init__(output)


def oracle_stage(frame, config=None) -> OracleStage:
    """The oracle person stage of a synthetic frame (its counted people)."""
    from depth_pose_ros.model.people import PeopleConfig

    counted = {k for k, person in enumerate(frame.people) if not person.ignore}
    return OracleStage(frame.person_mask, counted, config or PeopleConfig())


def tiny_people(config=None):
    """A small person-stage network with deterministic random weights, in eval mode."""
    from depth_pose_ros.model.people import PeopleConfig, PeopleNet

    torch.manual_seed(0)
    return PeopleNet(config or PeopleConfig(encoder=(8, 8, 8, 8, 8), decoder=(8, 8, 8, 8))).eval()
