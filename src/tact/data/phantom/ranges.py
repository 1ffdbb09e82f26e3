"""Every random range of the phantom, by structure, in one place to read and edit.

Why: the anatomy used to be drawn from about 60 inline ``rng.uniform(lo, hi)`` calls whose
meaning lived in variable names like ``a``, ``b`` or ``gb_t``. Each table below is a frozen
dataclass of named ``(low, high)`` ranges (drawn uniformly unless the comment says otherwise)
and a few fixed shape parameters, each with its unit:

- mm: millimetres;
- HU: Hounsfield units;
- "fraction of the half width / half depth": of the abdominal cavity's semi-axes (inside the
  muscle wall, at mid height), signed as the code uses it: the code says whether a fraction is
  added or subtracted (front = anterior = smaller v);
- "height fraction": of the whole volume height, 0 at the bottom, 1 at the top ("t");
- "fraction of the liver span": of the liver's extent (top minus bottom height fraction).

Editing a range changes the phantom (and every seed's volume); changing the order in which
the code draws them would also change them, so the code draws in a fixed order.
The tissue HU ranges are in ``tact.data.phantom.tissues.TISSUE_HU``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Range = tuple[float, float]


@dataclass(frozen=True)
class WaveRanges:
    """Smooth random functions of height (a sum of low-frequency sines, ``geometry.Wave``)."""

    amplitude_fraction: Range = (0.4, 1.0)  # each sine's amplitude, fraction of the nominal one
    cycles: Range = (0.3, 1.6)  # each sine's frequency, cycles over the volume height
    phase_rad: Range = (0.0, 2.0 * math.pi)  # each sine's phase (rad)
    # Lobe outlines: a Fourier coefficient of harmonic k is normal(0, roughness / k) plus a
    # wave of this fraction of roughness / k, so the outline changes from slice to slice.
    outline_drift_fraction: float = 0.6


@dataclass(frozen=True)
class BodyRanges:
    """Skin ellipse, subcutaneous fat and abdominal muscle wall."""

    width_mm: Range = (310.0, 370.0)  # skin to skin, left-right (top lowered to fit the FOV)
    depth_mm: Range = (230.0, 290.0)  # skin to skin, front-back (top lowered to fit below)
    min_width_minus_depth_mm: float = 40.0  # the body is at least this much wider than deep
    fat_lateral_mm: Range = (10.0, 30.0)  # subcutaneous fat thickness at the sides
    fat_anterior_mm: Range = (10.0, 35.0)  # subcutaneous fat thickness in front
    fat_posterior_mm: Range = (10.0, 22.0)  # subcutaneous fat thickness at the back
    muscle_lateral_mm: Range = (10.0, 16.0)  # abdominal wall muscle thickness at the sides
    muscle_anterior_mm: Range = (8.0, 14.0)  # abdominal wall muscle thickness in front
    muscle_posterior_mm: Range = (12.0, 18.0)  # abdominal wall muscle thickness at the back
    scale_amplitude: float = 0.012  # change of the body outline with height (fraction)


@dataclass(frozen=True)
class FieldOfViewRanges:
    """Field of view (its range is ``PhantomSpec.fov_mm``) and where the body sits in it."""

    body_factor: float = 1.02  # the FOV holds at least this times the body width ...
    margin_mm: float = 30.0  # ... plus this margin (mm)
    shift_fraction: Range = (-1.0, 1.0)  # in-plane shift of the body centre (per axis) ...
    max_shift_mm: float = 10.0  # ... times at most this (mm) ...
    edge_clearance_mm: float = 15.0  # ... keeping this much air (mm) beside the body


@dataclass(frozen=True)
class SpineRanges:
    """Lumbar vertebrae (placed from the back) and the back muscles beside them."""

    body_half_width_mm: Range = (19.0, 23.0)  # vertebral body semi-axis, left-right
    body_half_depth_mm: Range = (15.0, 18.0)  # vertebral body semi-axis, front-back
    cortex_mm: Range = (1.3, 2.0)  # cortical rim thickness
    period_mm: Range = (30.0, 36.0)  # height of one vertebra plus its disc
    phase_mm: Range = (0.0, 36.0)  # height of the vertebra/disc pattern's start (mod period)
    disc_mm: Range = (6.0, 9.0)  # intervertebral disc height
    canal_half_width_mm: Range = (9.0, 11.0)  # spinal canal semi-axis, left-right
    canal_half_depth_mm: Range = (7.0, 9.0)  # spinal canal semi-axis, front-back
    arch_mm: Range = (5.0, 7.0)  # neural arch thickness
    spinous_mm: Range = (24.0, 32.0)  # spinous process length
    spinous_tip_mm: Range = (6.0, 12.0)  # spinous tip depth below the subcutaneous fat
    transverse_mm: Range = (22.0, 30.0)  # transverse process length
    curvature_mm: float = 3.0  # lateral curvature of the spine (wave amplitude)
    back_muscle_offset_mm: Range = (26.0, 32.0)  # back muscle centre, left-right of midline
    back_muscle_behind_canal_mm: Range = (12.0, 18.0)  # back muscle centre behind the canal
    back_muscle_half_width_mm: Range = (22.0, 28.0)  # back muscle semi-axis, left-right
    back_muscle_half_depth_mm: Range = (18.0, 23.0)  # back muscle semi-axis, front-back
    psoas_top: Range = (0.4, 0.5)  # the psoas muscles end at this height (height fraction)


@dataclass(frozen=True)
class RibRanges:
    """Ribs 12 upwards; each descends as it runs round from the spine to the front."""

    rib12_height_fraction: Range = (0.55, 0.65)  # posterior end of rib 12 (height fraction)
    slope: Range = (0.28, 0.36)  # descent (mm) per mm of arc, shared by all ribs ...
    slope_factor: Range = (0.95, 1.05)  # ... times this per rib
    height_jitter_mm: Range = (-3.0, 3.0)  # per rib, added to its posterior end height
    start_angle_pi: Range = (0.17, 0.22)  # from the posterior midline, in units of pi
    # End angle (units of pi; 1 = anterior midline) of ribs 12, 11, 10, then 9 and above.
    end_angle_pi: tuple[Range, Range, Range, Range] = (
        (0.38, 0.45),
        (0.5, 0.6),
        (0.65, 0.72),
        (0.8, 0.88),
    )
    end_jitter_pi: Range = (-0.03, 0.03)  # per rib and side, added to the end angle
    half_height_mm: Range = (5.0, 6.5)  # half the rib's height
    half_thickness_mm: Range = (3.8, 4.8)  # half the rib's thickness across the wall
    depth_mm: Range = (4.0, 7.0)  # rib centre outside the cavity boundary


@dataclass(frozen=True)
class LiverRanges:
    """Liver extent, right lobe (patient's right) and left lobe (anterior, across the midline)."""

    bottom: Range = (0.1, 0.2)  # lowest liver height (height fraction)
    top: Range = (0.82, 0.9)  # top of the liver (height fraction)
    right_peak: Range = (0.55, 0.7)  # right lobe's widest height (fraction of the liver span)
    right_centre_u: Range = (0.4, 0.5)  # towards the patient's right (fraction of half width)
    right_centre_v: Range = (-0.1, 0.05)  # behind the cavity centre (fraction of half depth)
    right_radius_u: Range = (0.52, 0.62)  # left-right radius (fraction of half width)
    right_radius_v: Range = (0.8, 0.95)  # front-back radius (fraction of half depth)
    right_gamma: Range = (0.45, 0.6)  # roundness of the top and bottom (envelope exponent)
    right_low_shift_u: float = -0.22  # extra shift of its bottom (fraction of half width)
    right_low_shift_v: Range = (-0.1, 0.15)  # extra shift of its bottom (fraction of half depth)
    right_drift_mm: float = 6.0  # drift of its centre with height
    right_roughness: float = 0.09  # outline irregularity (relative radius)
    left_bottom: Range = (0.3, 0.5)  # left lobe's lowest height (fraction of the liver span)
    left_peak: Range = (0.5, 0.7)  # its widest height (fraction of its own span)
    left_top_gap: float = 0.02  # it ends this far below the liver top (fraction of the span)
    left_centre_u: Range = (0.0, 0.15)  # towards the patient's left (fraction of half width)
    left_centre_v: Range = (0.4, 0.55)  # in front of the cavity centre (fraction of half depth)
    left_radius_u: Range = (0.35, 0.5)  # left-right radius (fraction of half width)
    left_radius_v: Range = (0.25, 0.35)  # front-back radius (fraction of half depth)
    left_angle_rad: Range = (-0.25, 0.1)  # in-plane rotation
    left_gamma: float = 0.5
    left_drift_mm: float = 5.0
    left_roughness: float = 0.1


@dataclass(frozen=True)
class ThoraxRanges:
    """Diaphragm (lungs above it) and heart."""

    dome_above_liver: Range = (0.015, 0.035)  # diaphragm dome above the liver top (height fr.)
    max_dome: float = 0.97  # the dome stays below this height fraction
    lung_below_liver_top: Range = (0.22, 0.3)  # lowest lung, below the liver top (liver span)
    heart_bottom: Range = (0.3, 0.45)  # heart's lowest height (fraction of lung-to-dome)
    heart_peak_above_bottom: float = 0.3  # its widest height above its bottom (height fraction)
    heart_top_above_bottom: float = 0.6  # its top above its bottom (height fraction)
    heart_centre_u: Range = (0.15, 0.3)  # towards the patient's left (fraction of half width)
    heart_centre_v: Range = (0.3, 0.4)  # in front of the cavity centre (fraction of half depth)
    heart_radius_u: Range = (0.42, 0.52)  # left-right radius (fraction of half width)
    heart_radius_v: Range = (0.55, 0.65)  # front-back radius (fraction of half depth)
    heart_angle_rad: Range = (0.3, 0.6)  # in-plane rotation
    heart_gamma: float = 0.35
    heart_drift_mm: float = 3.0
    heart_roughness: float = 0.05


@dataclass(frozen=True)
class GreatVesselRanges:
    """Aorta and inferior vena cava (IVC), in front of the spine."""

    aorta_radius_mm: Range = (10.0, 13.0)
    aorta_flattening: Range = (0.92, 1.0)  # front-back over left-right radius
    aorta_gap_mm: Range = (1.0, 4.0)  # between the vertebral body and the lower aorta
    ivc_radius_u_mm: Range = (11.0, 14.0)  # IVC left-right radius
    ivc_radius_v_mm: Range = (8.0, 11.0)  # IVC front-back radius
    ivc_gap_mm: Range = (2.0, 6.0)  # between the vertebral body and the lower IVC
    ivc_rise_forward_mm: Range = (8.0, 14.0)  # the IVC moves forward this much behind the liver
    wobble_mm: float = 2.0  # drift of both centres with height (wave amplitude)


@dataclass(frozen=True)
class SpleenRanges:
    bottom: Range = (0.35, 0.5)  # lowest spleen height (height fraction)
    peak: Range = (0.4, 0.6)  # widest height (fraction of bottom-to-dome)
    centre_u: Range = (0.58, 0.68)  # towards the patient's left (fraction of half width)
    centre_v: Range = (0.2, 0.4)  # behind the cavity centre (fraction of half depth)
    radius_u: Range = (0.18, 0.24)  # fraction of half width
    radius_v: Range = (0.4, 0.5)  # fraction of half depth
    angle_rad: Range = (0.4, 0.7)  # in-plane rotation
    drift_mm: float = 4.0
    roughness: float = 0.07


@dataclass(frozen=True)
class StomachRanges:
    bottom: Range = (0.42, 0.52)  # lowest stomach height (height fraction)
    peak: Range = (0.5, 0.7)  # widest height (fraction of bottom-to-dome)
    centre_u: Range = (0.25, 0.38)  # towards the patient's left (fraction of half width)
    centre_v: Range = (0.15, 0.3)  # in front of the cavity centre (fraction of half depth)
    radius_u: Range = (0.24, 0.32)  # fraction of half width
    radius_v: Range = (0.3, 0.4)  # fraction of half depth
    angle_rad: Range = (-0.4, 0.2)  # in-plane rotation
    drift_mm: float = 6.0
    roughness: float = 0.1
    wall_mm: Range = (3.0, 5.0)  # wall thickness
    gas_fraction: Range = (0.15, 0.5)  # front part of the lumen (of its depth) that holds gas


@dataclass(frozen=True)
class GallbladderRanges:
    height: Range = (0.2, 0.35)  # centre height (fraction of the liver span above its bottom)
    centre_u_jitter_mm: Range = (-8.0, 8.0)  # added to half the right lobe's centre u
    centre_v: Range = (0.35, 0.5)  # in front of the cavity centre (fraction of half depth)
    axis_u: Range = (-0.4, 0.2)  # long axis direction: u component (v component is -1) ...
    axis_z: Range = (0.2, 0.8)  # ... and z component (tilted upwards)
    half_length_mm: Range = (30.0, 42.0)  # semi-axis along the long axis
    half_width_mm: Range = (12.0, 17.0)  # the two other semi-axes
    half_thickness_mm: Range = (10.0, 15.0)


@dataclass(frozen=True)
class BowelRanges:
    """Small bowel loops (ellipsoids in random directions) and the colon."""

    count: tuple[int, int] = (20, 36)  # number of small bowel loops (integers, high excluded)
    radius_mm: Range = (9.0, 19.0)  # loop radius
    centre_u: Range = (-0.65, 0.75)  # loop centre left-right (fraction of half width)
    centre_v: Range = (-0.9, 0.5)  # loop centre front-back (fraction of half depth)
    # loop centre heights run from 0 to a little above the stomach's bottom (height fraction)
    top_above_stomach: float = 0.1
    half_length_mm: Range = (20.0, 60.0)  # loop semi-axis along its direction
    gas_probability: float = 0.45  # chance that a loop holds gas
    gas_level: Range = (-0.7, 0.2)  # gas-fluid level from the loop centre (fraction of radius)
    wall_mm: Range = (2.0, 3.0)  # bowel wall thickness (loops and colon)
    colon_jitter_u_mm: Range = (-8.0, 8.0)  # shift of each colon segment's centre
    colon_jitter_v_mm: Range = (-8.0, 8.0)
    colon_jitter_z_mm: Range = (-5.0, 5.0)
    colon_radius_factor: Range = (0.85, 1.15)  # times the segment's nominal radius
    colon_direction_sd: float = 0.1  # normal noise added to each segment's direction
    colon_flattening: Range = (0.85, 1.0)  # third semi-axis over the radius
    colon_gas_level: Range = (-0.5, 0.3)  # gas-fluid level from the centre (fraction of radius)


@dataclass(frozen=True)
class KidneyRanges:
    right_height: Range = (0.2, 0.3)  # right kidney centre (height fraction)
    left_height: Range = (0.28, 0.38)  # left kidney centre (height fraction)
    radius_u_mm: Range = (26.0, 32.0)  # in-plane semi-axis along the kidney
    radius_v_mm: Range = (19.0, 23.0)  # in-plane semi-axis across the kidney
    centre_u: Range = (0.5, 0.6)  # from the midline (fraction of half width)
    gap_mm: Range = (3.0, 7.0)  # between the kidney and the back of the cavity
    angle_rad: Range = (0.35, 0.6)  # rotation that turns the hilum anteromedially
    half_length_mm: Range = (48.0, 58.0)  # semi-axis along z
    cortex_mm: Range = (5.0, 7.0)  # cortex thickness


@dataclass(frozen=True)
class LiverVesselRanges:
    """Portal vein (enters at the hilum, branches right and left) and three hepatic veins."""

    hilum_height: Range = (0.4, 0.5)  # fraction of the liver span above its bottom
    hilum_in_front_of_ivc_mm: Range = (18.0, 28.0)
    entry_u_mm: Range = (6.0, 14.0)  # the portal trunk enters from this far left ...
    entry_v_mm: Range = (0.0, 8.0)  # ... this far behind ...
    entry_below_mm: float = 25.0  # ... and this far below the hilum
    trunk_radius_mm: Range = (6.5, 8.0)  # portal trunk radius at its entry
    right_branch_v_mm: Range = (-10.0, 10.0)  # right branch end, from the right lobe centre
    right_branch_height: Range = (0.45, 0.6)  # right branch end (fraction of the liver span)
    left_branch_height: Range = (0.65, 0.75)  # left branch end (fraction of the liver span)
    hepatic_right_height: Range = (0.45, 0.55)  # right hepatic vein end (liver span)
    hepatic_middle_height: Range = (0.45, 0.55)  # middle hepatic vein end (liver span)
    hepatic_left_height: Range = (0.65, 0.75)  # left hepatic vein end (liver span)
    hepatic_radius_mm: Range = (5.0, 6.5)  # hepatic vein radius at the IVC confluence
    bend_sd: float = 0.12  # normal bend of each branch's midpoint (fraction of its length)
    side_branch_at: Range = (0.35, 0.85)  # where side branches leave (fraction of the branch)
    side_branch_sd: float = 0.8  # normal noise added to the branch direction (unit vector)
    side_branch_length: Range = (0.4, 0.6)  # side branch length (fraction of the parent)


@dataclass(frozen=True)
class TumourRanges:
    """Liver tumours: count, size, shape and hypodensity."""

    count: tuple[int, int] = (1, 4)  # tumours per volume (integers, high excluded)
    median_diameter_mm: float = 20.0  # log-normal diameters ...
    log_sigma: float = 0.55  # ... with this sigma of the log ...
    diameter_mm: Range = (5.0, 80.0)  # ... clipped to this range
    semi_axis_factor: Range = (0.8, 1.2)  # each semi-axis over the radius (then volume kept)
    lobulation_cycles: tuple[int, int] = (1, 4)  # cycles of each of 3 lobulations (integers)
    lobulation_phase_rad: Range = (0.0, 2.0 * math.pi)
    lobulation_amplitude: Range = (0.03, 0.06)  # fraction of the radius
    edge_contrast_hu: Range = (29.0, 35.0)  # hypodensity at the rim (HU below the liver) ...
    core_contrast_hu: Range = (5.0, 14.0)  # ... plus this much more at the centre
    uneven_cycles: Range = (1.5, 3.0)  # a plane wave over the tumour: rad per radius ...
    uneven_phase_rad: Range = (0.0, 2.0 * math.pi)
    uneven_hu: Range = (2.0, 4.0)  # ... and its amplitude (HU)


@dataclass(frozen=True)
class IntensityRanges:
    """Per-volume tissue HU and texture."""

    position_in_range: Range = (0.2, 0.8)  # where each tissue's HU sits in its design range
    texture_sd_hu: Range = (11.0, 17.0)  # texture SD of soft tissue
    lung_texture_factor: float = 1.5  # texture SD of lung over soft tissue
    spongy_bone_texture_factor: float = 1.5
    cortical_bone_texture_factor: float = 4.0


WAVES = WaveRanges()
BODY = BodyRanges()
FIELD_OF_VIEW = FieldOfViewRanges()
SPINE = SpineRanges()
RIBS = RibRanges()
LIVER = LiverRanges()
THORAX = ThoraxRanges()
GREAT_VESSELS = GreatVesselRanges()
SPLEEN = SpleenRanges()
STOMACH = StomachRanges()
GALLBLADDER = GallbladderRanges()
BOWEL = BowelRanges()
KIDNEYS = KidneyRanges()
LIVER_VESSELS = LiverVesselRanges()
TUMOURS = TumourRanges()
INTENSITY = IntensityRanges()
