"""Sampling the abdominal and thoracic organs inside the cavity (ranges in ``ranges.py``).

Positions and sizes scale with the abdominal cavity at mid height, ``cavity`` (an ellipse
inside the muscle wall): its ``semi_u`` is the cavity's half width (left-right), ``semi_v``
its half depth (front-back) and ``centre_v`` its front-back centre. Heights are fractions of
the volume height. The draws happen in a fixed order (see ``anatomy.sample_anatomy``).
"""

from __future__ import annotations

import math

import numpy as np

from tact.data.phantom.geometry import Ellipse, Ellipsoid, Lobe, axes_along, lobe
from tact.data.phantom.ranges import (
    BOWEL,
    GALLBLADDER,
    KIDNEYS,
    LIVER,
    SPLEEN,
    STOMACH,
    THORAX,
)
from tact.data.phantom.structures import Kidney, Loop


def sample_liver(
    rng: np.random.Generator, cavity: Ellipse, bottom: float, top: float
) -> tuple[Lobe, Lobe]:
    """Right lobe (big, patient's right) and left lobe (anterior, across the midline)."""
    half_width, half_depth, centre_v = cavity.semi_u, cavity.semi_v, cavity.centre_v
    span = top - bottom
    right = lobe(
        rng,
        (bottom, bottom + rng.uniform(*LIVER.right_peak) * span, top),
        (
            -rng.uniform(*LIVER.right_centre_u) * half_width,
            centre_v + rng.uniform(*LIVER.right_centre_v) * half_depth,
        ),
        (
            rng.uniform(*LIVER.right_radius_u) * half_width,
            rng.uniform(*LIVER.right_radius_v) * half_depth,
        ),
        gamma=rng.uniform(*LIVER.right_gamma),
        drift_mm=LIVER.right_drift_mm,
        roughness=LIVER.right_roughness,
        low_shift=(
            LIVER.right_low_shift_u * half_width,
            rng.uniform(*LIVER.right_low_shift_v) * half_depth,
        ),
    )
    left_bottom = bottom + rng.uniform(*LIVER.left_bottom) * span
    left = lobe(
        rng,
        (
            left_bottom,
            left_bottom + rng.uniform(*LIVER.left_peak) * (top - left_bottom),
            top - LIVER.left_top_gap * span,
        ),
        (
            rng.uniform(*LIVER.left_centre_u) * half_width,
            centre_v - rng.uniform(*LIVER.left_centre_v) * half_depth,
        ),
        (
            rng.uniform(*LIVER.left_radius_u) * half_width,
            rng.uniform(*LIVER.left_radius_v) * half_depth,
        ),
        angle=rng.uniform(*LIVER.left_angle_rad),
        gamma=LIVER.left_gamma,
        drift_mm=LIVER.left_drift_mm,
        roughness=LIVER.left_roughness,
    )
    return right, left


def sample_spleen(rng: np.random.Generator, cavity: Ellipse, t_dome: float) -> Lobe:
    """Spleen: posterior on the patient's left, up to the diaphragm dome."""
    half_width, half_depth, centre_v = cavity.semi_u, cavity.semi_v, cavity.centre_v
    bottom = rng.uniform(*SPLEEN.bottom)
    return lobe(
        rng,
        (bottom, bottom + rng.uniform(*SPLEEN.peak) * (t_dome - bottom), t_dome),
        (
            rng.uniform(*SPLEEN.centre_u) * half_width,
            centre_v + rng.uniform(*SPLEEN.centre_v) * half_depth,
        ),
        (
            rng.uniform(*SPLEEN.radius_u) * half_width,
            rng.uniform(*SPLEEN.radius_v) * half_depth,
        ),
        angle=rng.uniform(*SPLEEN.angle_rad),
        drift_mm=SPLEEN.drift_mm,
        roughness=SPLEEN.roughness,
    )


def sample_stomach(rng: np.random.Generator, cavity: Ellipse, t_dome: float) -> tuple[float, Lobe]:
    """Stomach: anterior on the patient's left, up to the dome; also returns its bottom."""
    half_width, half_depth, centre_v = cavity.semi_u, cavity.semi_v, cavity.centre_v
    bottom = rng.uniform(*STOMACH.bottom)
    stomach = lobe(
        rng,
        (bottom, bottom + rng.uniform(*STOMACH.peak) * (t_dome - bottom), t_dome),
        (
            rng.uniform(*STOMACH.centre_u) * half_width,
            centre_v - rng.uniform(*STOMACH.centre_v) * half_depth,
        ),
        (
            rng.uniform(*STOMACH.radius_u) * half_width,
            rng.uniform(*STOMACH.radius_v) * half_depth,
        ),
        angle=rng.uniform(*STOMACH.angle_rad),
        drift_mm=STOMACH.drift_mm,
        roughness=STOMACH.roughness,
    )
    return bottom, stomach


def sample_heart(rng: np.random.Generator, cavity: Ellipse, t_heart: float) -> Lobe:
    """Heart above the diaphragm, from ``t_heart`` upwards (painted onto lung only)."""
    half_width, half_depth, centre_v = cavity.semi_u, cavity.semi_v, cavity.centre_v
    return lobe(
        rng,
        (
            t_heart,
            t_heart + THORAX.heart_peak_above_bottom,
            t_heart + THORAX.heart_top_above_bottom,
        ),
        (
            rng.uniform(*THORAX.heart_centre_u) * half_width,
            centre_v - rng.uniform(*THORAX.heart_centre_v) * half_depth,
        ),
        (
            rng.uniform(*THORAX.heart_radius_u) * half_width,
            rng.uniform(*THORAX.heart_radius_v) * half_depth,
        ),
        angle=rng.uniform(*THORAX.heart_angle_rad),
        gamma=THORAX.heart_gamma,
        drift_mm=THORAX.heart_drift_mm,
        roughness=THORAX.heart_roughness,
    )


def sample_gallbladder(
    rng: np.random.Generator,
    cavity: Ellipse,
    liver_t: tuple[float, float],
    *,
    right_lobe: Lobe,
    height: float,
) -> Ellipsoid:
    """Gallbladder under the right lobe: a hypodense look-alike next to the liver."""
    bottom, top = liver_t
    t_centre = bottom + rng.uniform(*GALLBLADDER.height) * (top - bottom)
    lobe_u = right_lobe.centre(t_centre)[0]
    centre = np.array(
        [
            0.5 * lobe_u + rng.uniform(*GALLBLADDER.centre_u_jitter_mm),
            cavity.centre_v - rng.uniform(*GALLBLADDER.centre_v) * cavity.semi_v,
            t_centre * height,
        ]
    )
    direction = np.array([rng.uniform(*GALLBLADDER.axis_u), -1.0, rng.uniform(*GALLBLADDER.axis_z)])
    semi_axes = np.array(
        [
            rng.uniform(*GALLBLADDER.half_length_mm),
            rng.uniform(*GALLBLADDER.half_width_mm),
            rng.uniform(*GALLBLADDER.half_thickness_mm),
        ]
    )
    return Ellipsoid(centre, axes_along(direction), semi_axes)


def _small_bowel_loop(
    rng: np.random.Generator, cavity: Ellipse, height: float, t_top: float
) -> Loop:
    """One small bowel loop: an ellipsoid in a random direction, gas in about half of them."""
    radius = rng.uniform(*BOWEL.radius_mm)
    centre = np.array(
        [
            rng.uniform(*BOWEL.centre_u) * cavity.semi_u,
            cavity.centre_v + rng.uniform(*BOWEL.centre_v) * cavity.semi_v,
            rng.uniform(0.0, t_top) * height,
        ]
    )
    shape = Ellipsoid(
        centre,
        axes_along(rng.standard_normal(3)),
        np.array([rng.uniform(*BOWEL.half_length_mm), radius, radius]),
    )
    has_gas = rng.random() < BOWEL.gas_probability
    level = centre[1] + (rng.uniform(*BOWEL.gas_level) * radius if has_gas else -1e6)
    return Loop(shape, rng.uniform(*BOWEL.wall_mm), level)


def _colon(rng: np.random.Generator, cavity: Ellipse, height: float) -> list[Loop]:
    """Ascending (patient's right), descending (left) and transverse (front) colon, with gas."""
    half_width, half_depth, centre_v = cavity.semi_u, cavity.semi_v, cavity.centre_v
    # (centre in mm, direction, half length as a height fraction, nominal radius in mm)
    segments = [
        (
            np.array([-0.75 * half_width, centre_v + 0.1 * half_depth, 0.15 * height]),
            (0, 0, 1),
            0.35,
            21.0,
        ),
        (
            np.array([0.78 * half_width, centre_v + 0.2 * half_depth, 0.2 * height]),
            (0, 0, 1),
            0.4,
            16.0,
        ),
        (
            np.array([0.0, centre_v - 0.6 * half_depth, 0.42 * height]),
            (1, 0, 0.1),
            0.6 * half_width / height,
            19.0,
        ),
    ]
    loops = []
    for centre, direction, half_length, nominal_radius in segments:
        jitter = np.array(
            [
                rng.uniform(*BOWEL.colon_jitter_u_mm),
                rng.uniform(*BOWEL.colon_jitter_v_mm),
                rng.uniform(*BOWEL.colon_jitter_z_mm),
            ]
        )
        radius = nominal_radius * rng.uniform(*BOWEL.colon_radius_factor)
        noisy = np.asarray(direction, float) + rng.normal(0, BOWEL.colon_direction_sd, 3)
        shape = Ellipsoid(
            centre + jitter,
            axes_along(noisy),
            np.array([half_length * height, radius, radius * rng.uniform(*BOWEL.colon_flattening)]),
        )
        wall = rng.uniform(*BOWEL.wall_mm)
        level = centre[1] + rng.uniform(*BOWEL.colon_gas_level) * radius
        loops.append(Loop(shape, wall, level))
    return loops


def sample_bowel(
    rng: np.random.Generator, cavity: Ellipse, height: float, t_top: float
) -> tuple[Loop, ...]:
    """Small bowel loops (centres below ``t_top``) and the colon."""
    count = int(rng.integers(*BOWEL.count))
    loops = [_small_bowel_loop(rng, cavity, height, t_top) for _ in range(count)]
    return tuple(loops + _colon(rng, cavity, height))


def _kidney(
    rng: np.random.Generator, cavity: Ellipse, height: float, side: int, t_centre: float
) -> Kidney:
    """One kidney (side -1: patient's right) against the back of the cavity, hilum inwards."""
    radius_u, radius_v = rng.uniform(*KIDNEYS.radius_u_mm), rng.uniform(*KIDNEYS.radius_v_mm)
    centre_u = side * rng.uniform(*KIDNEYS.centre_u) * cavity.semi_u
    back_of_cavity = cavity.centre_v + cavity.semi_v * math.sqrt(
        1.0 - (centre_u / cavity.semi_u) ** 2
    )
    centre_v = back_of_cavity - radius_v - rng.uniform(*KIDNEYS.gap_mm)
    angle = side * rng.uniform(*KIDNEYS.angle_rad)  # hilum turned anteromedially
    c, s = math.cos(angle), math.sin(angle)
    axes = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    half_length = rng.uniform(*KIDNEYS.half_length_mm)
    centre = np.array([centre_u, centre_v, t_centre * height])
    shape = Ellipsoid(centre, axes, np.array([radius_u, radius_v, half_length]))
    sinus_centre = centre - side * 0.55 * radius_u * axes[0]
    sinus_semi = np.array([0.45 * radius_u, 0.35 * radius_v, 0.55 * half_length])
    sinus = Ellipsoid(sinus_centre, axes, sinus_semi)
    return Kidney(shape, rng.uniform(*KIDNEYS.cortex_mm), sinus)


def sample_kidneys(rng: np.random.Generator, cavity: Ellipse, height: float) -> tuple[Kidney, ...]:
    """Right kidney (lower) and left kidney; both heights are drawn before either kidney."""
    sides = ((-1, rng.uniform(*KIDNEYS.right_height)), (1, rng.uniform(*KIDNEYS.left_height)))
    return tuple(_kidney(rng, cavity, height, side, t_centre) for side, t_centre in sides)
