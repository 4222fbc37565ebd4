"""A Kinect v2 / Time-of-Flight sensor model: what the camera makes of the ideal depth.

Depth-dependent noise with a slowly varying bias, flying pixels and dropouts along depth edges,
dropouts at grazing angles and beyond the reliable range, holes on dark materials (hair,
clothes, screens, windows), quantised to millimetres with 0 for invalid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from depth_pose_ros.data.synthetic.body import Part
from depth_pose_ros.data.synthetic.render import (
    DISTRACTOR,
    FURNITURE,
    WALL,
    Rays,
    Renderer,
    part_of,
    person_of,
)

MIN_RANGE = 0.5
RELIABLE_RANGE = 4.5
MAX_RANGE = 8.0


@dataclass(frozen=True)
class SensorProfile:
    """How imperfect this camera and scene are; drawn once per scene."""

    noise_scale: float
    flying_pixel_rate: float
    edge_dropout_rate: float
    grazing_cos: float  # below this cosine of the incidence angle pixels start to drop out
    dark_patches: list[tuple[int, int, int, int]] = field(default_factory=list)  # v0, v1, u0, u1
    dark_hair: frozenset[int] = frozenset()  # person indices
    dark_clothes: frozenset[int] = frozenset()


def sample_profile(rng: np.random.Generator, people: int, height: int, width: int) -> SensorProfile:
    patches = []
    for _ in range(rng.poisson(0.6)):
        h, w = rng.integers(10, height // 4), rng.integers(10, width // 4)
        v0, u0 = rng.integers(0, height - h), rng.integers(0, width - w)
        patches.append((int(v0), int(v0 + h), int(u0), int(u0 + w)))
    return SensorProfile(
        noise_scale=float(rng.uniform(0.7, 1.6)),
        flying_pixel_rate=float(rng.uniform(0.1, 0.5)),
        edge_dropout_rate=float(rng.uniform(0.15, 0.6)),
        grazing_cos=float(rng.uniform(0.15, 0.3)),
        dark_patches=patches,
        dark_hair=frozenset(k for k in range(people) if rng.random() < 0.35),
        dark_clothes=frozenset(k for k in range(people) if rng.random() < 0.2),
    )


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], cell: int) -> np.ndarray:
    """A smooth random field in [0, 1] with features about `cell` pixels wide."""
    coarse = rng.random((shape[0] // cell + 2, shape[1] // cell + 2)).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _incidence_cosine(depth: np.ndarray, rays: Rays, fx: float, fy: float) -> np.ndarray:
    """|cos| of the angle between each pixel's ray and the surface normal there.

    For P = z(u, v) (x, y, 1) the normal is proportional to
    (-fx z_u, -fy z_v, fx z_u x + fy z_v y + z), whose dot product with the ray is z.
    """
    dz_dv, dz_du = np.gradient(depth)
    a, b = fx * dz_du, fy * dz_dv
    c = a * rays.x + b * rays.y + depth
    norm = np.sqrt((a * a + b * b + c * c) * rays.squared_norm())
    return np.divide(depth, norm, out=np.zeros_like(depth), where=norm > 0)


def apply_sensor(
    renderer: Renderer, profile: SensorProfile, rng: np.random.Generator
) -> np.ndarray:
    """The camera's 16-bit millimetre image of the renderer's ideal depth."""
    depth, label = renderer.depth, renderer.label
    shape = depth.shape

    def uniform() -> np.ndarray:
        return rng.random(shape, dtype=np.float32)

    finite = np.where(np.isfinite(depth), depth, 50.0).astype(np.float32)

    # Depth edges: pixels with a neighbour more than 4 % (plus 2 cm) nearer or farther.
    padded = np.pad(finite, 1, mode="edge")
    neighbours = np.stack(
        [
            padded[:-2, 1:-1],
            padded[2:, 1:-1],
            padded[1:-1, :-2],
            padded[1:-1, 2:],
        ]
    )
    near, far = neighbours.min(axis=0), neighbours.max(axis=0)
    jump = np.maximum(finite - near, far - finite)
    edge = jump > 0.04 * finite + 0.02

    intrinsics = renderer.intrinsics
    cosine = _incidence_cosine(finite, renderer.rays(), intrinsics.fx, intrinsics.fy)
    sigma = (0.001 + 0.0006 * finite**2) * profile.noise_scale / np.sqrt(np.maximum(cosine, 0.3))
    noisy = finite + rng.standard_normal(shape, dtype=np.float32) * sigma
    noisy += (_smooth_field(rng, shape, 64) - 0.5) * (0.008 * profile.noise_scale)

    chance = uniform()
    flying = edge & (chance < profile.flying_pixel_rate)
    mix = uniform()
    noisy[flying] = near[flying] + mix[flying] * (far[flying] - near[flying])

    invalid = ~np.isfinite(depth) | (finite < MIN_RANGE) | (finite > MAX_RANGE)
    # Independent decisions from one draw: disjoint slices of [0, 1) for exclusive outcomes.
    invalid |= edge & ~flying & (chance < profile.flying_pixel_rate + profile.edge_dropout_rate)
    chance = uniform()
    grazing = cosine < profile.grazing_cos
    invalid |= grazing & (chance < 0.8 * (1 - cosine / profile.grazing_cos))
    far_fade = np.clip((finite - RELIABLE_RANGE) / (MAX_RANGE - RELIABLE_RANGE), 0, 1)
    chance = uniform()
    invalid |= (chance < 0.7 * far_fade) | (chance > 0.998)

    for v0, v1, u0, u1 in profile.dark_patches:
        patch = label[v0:v1, u0:u1]
        invalid[v0:v1, u0:u1] |= (patch == WALL) | (patch == FURNITURE) | (patch == DISTRACTOR)
    if profile.dark_hair or profile.dark_clothes:
        blobs = _smooth_field(rng, shape, 12)
        person, part = person_of(label), part_of(label)
        for k in profile.dark_hair:
            invalid |= (person == k) & (part == Part.HEAD) & (blobs > 0.35)
        for k in profile.dark_clothes:
            clothes = (part == Part.TORSO) | (part == Part.THIGH) | (part == Part.UPPER_ARM)
            invalid |= (person == k) & clothes & (blobs > 0.6)

    millimetres = np.rint(noisy * np.float32(1000.0))
    millimetres[invalid] = 0
    return np.clip(millimetres, 0, 65535).astype(np.uint16)
