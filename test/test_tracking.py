"""Tracking: stable ids, tracking states, timeouts, One Euro smoothing."""

import numpy as np
import pytest

from depth_pose_ros.core.skeleton import KeypointState, Skeleton, TrackingState
from depth_pose_ros.inference.tracking import OneEuroFilter, Tracker, TrackerSettings


def person(x: float, z: float = 2.0, jitter: float = 0.0, seed: int = 0) -> Skeleton:
    rng = np.random.default_rng(seed)
    xyz = np.column_stack([np.full(21, x), np.linspace(-0.8, 0.8, 21), np.full(21, z)])
    xyz = xyz + rng.normal(0, jitter, xyz.shape)
    uv = 256 + 365 * xyz[:, :2] / xyz[:, 2:]
    return Skeleton(
        uv=uv, xyz=xyz, confidence=np.ones(21), state=np.full(21, KeypointState.TRACKED)
    )


def test_ids_stay_with_people_and_states_follow_the_tracks():
    tracker = Tracker(TrackerSettings(confirm_hits=2, timeout_s=0.5, smoothing=False))
    first = tracker.update([person(-1.0), person(1.0)], 0.0)
    assert [s.id for s in first] == [1, 2]
    assert {s.tracking_state for s in first} == {TrackingState.TENTATIVE}
    # People listed in the other order, having moved a little: ids follow the people.
    second = tracker.update([person(1.05), person(-0.95)], 1 / 30)
    assert [s.id for s in second] == [2, 1]
    assert {s.tracking_state for s in second} == {TrackingState.TRACKED}
    # Person 1 disappears: reported LOST (joints no more than INFERRED) until the timeout.
    third = tracker.update([person(1.1)], 2 / 30)
    assert [(s.id, s.tracking_state) for s in third] == [
        (2, TrackingState.TRACKED),
        (1, TrackingState.LOST),
    ]
    assert third[1].state.max() == KeypointState.INFERRED
    later = tracker.update([person(1.1)], 1.0)
    assert [s.id for s in later] == [2]
    # Someone new far away gets a new id.
    assert tracker.update([person(1.1), person(-2.5)], 1.03)[1].id == 3


def test_stamps_going_backwards_reset_the_tracks():
    tracker = Tracker(TrackerSettings(confirm_hits=1))
    tracker.update([person(0.0)], 5.0)
    assert tracker.update([person(0.0)], 1.0)[0].id == 2


def test_one_euro_filter_smooths_noise_and_follows_motion():
    still = OneEuroFilter(min_cutoff=1.0, beta=0.3, derivative_cutoff=1.0)
    rng = np.random.default_rng(0)
    noisy = [still(np.array([1.0 + rng.normal(0, 0.01)]), 1 / 30)[0] for _ in range(200)]
    assert np.std(noisy[50:]) < 0.5 * 0.01
    moving = OneEuroFilter(min_cutoff=1.0, beta=0.3, derivative_cutoff=1.0)
    track = [moving(np.array([t / 30.0]), 1 / 30)[0] for t in range(120)]
    assert track[-1] == pytest.approx(119 / 30.0, abs=0.1)  # lags little behind 1 m/s


def test_missing_joints_restart_their_filter():
    f = OneEuroFilter(1.0, 0.3, 1.0)
    f(np.array([0.0, 0.0]), 1 / 30)
    out = f(np.array([np.nan, 1.0]), 1 / 30)
    assert np.isnan(out[0])
    assert f(np.array([5.0, 1.0]), 1 / 30)[0] == 5.0  # back with no memory of before


def test_smoothed_tracks_jitter_less_than_the_detections():
    tracker = Tracker(TrackerSettings(confirm_hits=1))
    raw, smooth = [], []
    for frame in range(90):
        detection = person(0.3, jitter=0.01, seed=frame)
        raw.append(detection.xyz[0, 0])
        smooth.append(tracker.update([detection], frame / 30)[0].xyz[0, 0])
    assert np.std(smooth[30:]) < 0.6 * np.std(raw[30:])
