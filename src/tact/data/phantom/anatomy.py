"""Sampling the anatomy of one volume: body, spine, ribs, great vessels, then the organs.

Every random range lives in ``ranges.py``. The order of the draws below is part of the
phantom's definition: a seed gives the same volume only while the draws keep their order.
"""

from __future__ import annotations

import math

import numpy as np

from tact.data.phantom.geometry import Ellipse, Grid, wave
from tact.data.phantom.organs import (
    sample_bowel,
    sample_gallbladder,
    sample_heart,
    sample_kidneys,
    sample_liver,
    sample_spleen,
    sample_stomach,
)
from tact.data.phantom.ranges import (
    BODY,
    BOWEL,
    FIELD_OF_VIEW,
    GREAT_VESSELS,
    LIVER,
    RIBS,
    SPINE,
    STOMACH,
    THORAX,
)
from tact.data.phantom.structures import Anatomy, Body, Diaphragm, Rib, Spine, Vessel


def sample_body(rng: np.random.Generator, fov_max: float) -> Body:
    """Body 310-370 mm wide (narrower if the largest allowed FOV could not hold it)."""
    fits = fov_max / FIELD_OF_VIEW.body_factor - FIELD_OF_VIEW.margin_mm
    width = rng.uniform(BODY.width_mm[0], max(BODY.width_mm[0], min(BODY.width_mm[1], fits)))
    depth = rng.uniform(
        BODY.depth_mm[0], min(BODY.depth_mm[1], width - BODY.min_width_minus_depth_mm)
    )
    return Body(
        half_width=width / 2.0,
        half_depth=depth / 2.0,
        fat=(
            rng.uniform(*BODY.fat_lateral_mm),
            rng.uniform(*BODY.fat_anterior_mm),
            rng.uniform(*BODY.fat_posterior_mm),
        ),
        muscle=(
            rng.uniform(*BODY.muscle_lateral_mm),
            rng.uniform(*BODY.muscle_anterior_mm),
            rng.uniform(*BODY.muscle_posterior_mm),
        ),
        scale=wave(rng, 0.0, BODY.scale_amplitude),
    )


def sample_spine(rng: np.random.Generator, body: Body) -> Spine:
    """Lumbar vertebrae placed from the back: spinous tip just under the subcutaneous fat."""
    half_depth = rng.uniform(*SPINE.body_half_depth_mm)
    canal = (rng.uniform(*SPINE.canal_half_width_mm), rng.uniform(*SPINE.canal_half_depth_mm))
    arch = rng.uniform(*SPINE.arch_mm)
    spinous = rng.uniform(*SPINE.spinous_mm)
    tip = body.half_depth - body.fat[2] - rng.uniform(*SPINE.spinous_tip_mm)
    canal_v = tip - (canal[1] + arch - 4.0 + spinous)
    return Spine(
        centre_u=wave(rng, 0.0, SPINE.curvature_mm),
        centre_v=canal_v - canal[1] - 1.0 - half_depth,
        half_width=rng.uniform(*SPINE.body_half_width_mm),
        half_depth=half_depth,
        cortex=rng.uniform(*SPINE.cortex_mm),
        period=rng.uniform(*SPINE.period_mm),
        phase=rng.uniform(*SPINE.phase_mm),
        disc=rng.uniform(*SPINE.disc_mm),
        canal=canal,
        arch=arch,
        spinous=spinous,
        transverse=rng.uniform(*SPINE.transverse_mm),
        back_muscle=(
            rng.uniform(*SPINE.back_muscle_offset_mm),
            canal_v + rng.uniform(*SPINE.back_muscle_behind_canal_mm),
            rng.uniform(*SPINE.back_muscle_half_width_mm),
            rng.uniform(*SPINE.back_muscle_half_depth_mm),
        ),
    )


def sample_ribs(rng: np.random.Generator, spine: Spine, height: float) -> tuple[Rib, ...]:
    """Ribs 12 (floating, short) upwards; each descends as it runs round to the front."""
    z_rib12 = rng.uniform(*RIBS.rib12_height_fraction) * height
    slope = rng.uniform(*RIBS.slope)
    ribs = []
    for number in range(12, 0, -1):
        z_attach = z_rib12 + (12 - number) * spine.period
        if z_attach - slope * 400.0 > height + 10.0:  # its front end lies above the volume
            break
        end = rng.uniform(*RIBS.end_angle_pi[min(12 - number, 3)]) * math.pi
        for side in (-1, 1):
            rib = Rib(
                side=side,
                z_attach=z_attach + rng.uniform(*RIBS.height_jitter_mm),
                start_angle=rng.uniform(*RIBS.start_angle_pi) * math.pi,
                end_angle=end + rng.uniform(*RIBS.end_jitter_pi) * math.pi,
                slope=slope * rng.uniform(*RIBS.slope_factor),
                half_height=rng.uniform(*RIBS.half_height_mm),
                half_thickness=rng.uniform(*RIBS.half_thickness_mm),
                depth=rng.uniform(*RIBS.depth_mm),
            )
            ribs.append(rib)
    return tuple(ribs)


def _sample_diaphragm(
    rng: np.random.Generator, cavity: Ellipse, liver_t: tuple[float, float]
) -> Diaphragm:
    """Dome just above the liver top; lung bases reach down behind the upper liver."""
    bottom, top = liver_t
    t_dome = min(top + rng.uniform(*THORAX.dome_above_liver), THORAX.max_dome)
    half_width, half_depth, centre_v = cavity.semi_u, cavity.semi_v, cavity.centre_v
    return Diaphragm(
        t_lung=top - rng.uniform(*THORAX.lung_below_liver_top) * (top - bottom),
        t_dome=t_dome,
        full=Ellipse(
            -0.15 * half_width, centre_v - 0.3 * half_depth, 1.45 * half_width, 1.75 * half_depth
        ),
    )


def _sample_great_vessels(
    rng: np.random.Generator, spine: Spine, diaphragm: Diaphragm, liver_t: tuple[float, float]
) -> tuple[Vessel, Vessel]:
    """Aorta (patient's left of the spine, moving back beside it higher up) and IVC (right)."""
    bottom, top = liver_t
    vertebra_front = spine.centre_v - spine.half_depth
    aorta_radius = rng.uniform(*GREAT_VESSELS.aorta_radius_mm)
    ivc_radii = (
        rng.uniform(*GREAT_VESSELS.ivc_radius_u_mm),
        rng.uniform(*GREAT_VESSELS.ivc_radius_v_mm),
    )
    ivc_low = (
        -(0.75 * spine.half_width + ivc_radii[0]),
        vertebra_front - ivc_radii[1] - rng.uniform(*GREAT_VESSELS.ivc_gap_mm),
    )
    aorta = Vessel(
        low=(
            0.45 * spine.half_width,
            vertebra_front - aorta_radius - rng.uniform(*GREAT_VESSELS.aorta_gap_mm),
        ),
        high=(
            spine.half_width + aorta_radius - 4.0,
            spine.centre_v - 0.2 * spine.half_depth,
        ),
        blend=(diaphragm.t_lung - 0.05, diaphragm.t_dome),
        radii=(aorta_radius, aorta_radius * rng.uniform(*GREAT_VESSELS.aorta_flattening)),
        wobble=(wave(rng, 0.0, GREAT_VESSELS.wobble_mm), wave(rng, 0.0, GREAT_VESSELS.wobble_mm)),
        t_top=2.0,  # runs through the whole volume
    )
    ivc = Vessel(
        low=ivc_low,
        high=(ivc_low[0] - 4.0, ivc_low[1] - rng.uniform(*GREAT_VESSELS.ivc_rise_forward_mm)),
        blend=(bottom + 0.45 * (top - bottom), bottom + 0.7 * (top - bottom)),
        radii=ivc_radii,
        wobble=(wave(rng, 0.0, GREAT_VESSELS.wobble_mm), wave(rng, 0.0, GREAT_VESSELS.wobble_mm)),
        t_top=diaphragm.t_dome,
    )
    return aorta, ivc


def sample_anatomy(rng: np.random.Generator, grid: Grid, body: Body) -> Anatomy:
    """Draw every structure of one volume (the order of the draws is fixed)."""
    height = grid.height
    cavity = body.cavity(0.5)
    liver_t = (rng.uniform(*LIVER.bottom), rng.uniform(*LIVER.top))
    diaphragm = _sample_diaphragm(rng, cavity, liver_t)
    lung_to_dome = diaphragm.t_dome - diaphragm.t_lung
    t_heart = diaphragm.t_lung + rng.uniform(*THORAX.heart_bottom) * lung_to_dome
    spine = sample_spine(rng, body)
    aorta, ivc = _sample_great_vessels(rng, spine, diaphragm, liver_t)
    liver = sample_liver(rng, cavity, *liver_t)
    spleen = sample_spleen(rng, cavity, diaphragm.t_dome)
    stomach_bottom, stomach = sample_stomach(rng, cavity, diaphragm.t_dome)
    heart = sample_heart(rng, cavity, t_heart)
    gallbladder = sample_gallbladder(rng, cavity, liver_t, right_lobe=liver[0], height=height)
    return Anatomy(
        body=body,
        diaphragm=diaphragm,
        liver_t=liver_t,
        liver_lobes=liver,
        spleen=spleen,
        stomach=stomach,
        stomach_wall=rng.uniform(*STOMACH.wall_mm),
        stomach_gas=rng.uniform(*STOMACH.gas_fraction),
        heart=heart,
        loops=sample_bowel(rng, cavity, height, stomach_bottom + BOWEL.top_above_stomach),
        gallbladder=gallbladder,
        kidneys=sample_kidneys(rng, cavity, height),
        psoas_top=rng.uniform(*SPINE.psoas_top),
        spine=spine,
        ribs=sample_ribs(rng, spine, height),
        aorta=aorta,
        ivc=ivc,
    )
