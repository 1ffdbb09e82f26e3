"""Sampled parameters of every anatomical structure (what ``anatomy.py`` draws).

Why: drawing all parameters first, and painting slice by slice afterwards, keeps the draws in
one fixed order (so a seed always gives the same volume) and lets every slice of an organ come
from one smooth 3-D description.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tact.data.phantom.geometry import Ellipse, Ellipsoid, Lobe, Wave, smoothstep


@dataclass(frozen=True, eq=False)
class Body:
    """Skin ellipse with subcutaneous fat and a muscle wall around the abdominal cavity."""

    half_width: float  # mm, skin to midline, left-right
    half_depth: float  # mm, skin to centre, front-back
    fat: tuple[float, float, float]  # lateral, anterior, posterior thickness (mm)
    muscle: tuple[float, float, float]  # lateral, anterior, posterior thickness (mm)
    scale: Wave  # relative change of the outline with height

    def outer(self, t: float) -> Ellipse:
        s = 1.0 + self.scale(t)
        return Ellipse(0.0, 0.0, self.half_width * s, self.half_depth * s)

    def _inset(self, t: float, lateral: float, anterior: float, posterior: float) -> Ellipse:
        """The skin ellipse moved in by a layer of the given thicknesses (mm)."""
        skin = self.outer(t)
        return Ellipse(
            0.0,
            (anterior - posterior) / 2.0,
            skin.semi_u - lateral,
            skin.semi_v - (anterior + posterior) / 2.0,
        )

    def fat_inner(self, t: float) -> Ellipse:
        return self._inset(t, *self.fat)

    def cavity(self, t: float) -> Ellipse:
        """Abdominal cavity: inside the fat and the muscle wall."""
        lateral, anterior, posterior = (f + m for f, m in zip(self.fat, self.muscle, strict=True))
        return self._inset(t, lateral, anterior, posterior)


@dataclass(frozen=True)
class Diaphragm:
    """Below it lies the abdomen; above it, lungs and heart. Its cut shrinks towards the dome."""

    t_lung: float  # lowest height with lung (posterior recesses)
    t_dome: float  # top of the right dome
    full: Ellipse  # abdominal cross-section at t_lung (covers the cavity)

    def region(self, t: float) -> Ellipse | None:
        if t <= self.t_lung:
            return None
        x = (t - self.t_lung) / (self.t_dome - self.t_lung)
        return self.full.scaled(math.sqrt(max(0.0, 1.0 - x * x)))


@dataclass(frozen=True, eq=False)
class Spine:
    """Lumbar spine: vertebral bodies and discs repeating with ``period`` along z."""

    centre_u: Wave  # mm, slight lateral curvature
    centre_v: float  # vertebral body centre (mm)
    half_width: float  # vertebral body semi-axis, left-right (mm)
    half_depth: float  # vertebral body semi-axis, front-back (mm)
    cortex: float  # cortical rim thickness (mm)
    period: float  # vertebra + disc height (mm)
    phase: float  # height where the pattern starts (mm)
    disc: float  # disc height (mm)
    canal: tuple[float, float]  # spinal canal semi-axes (u, v) in mm
    arch: float  # thickness of the neural arch (mm)
    spinous: float  # length of the spinous process (mm)
    transverse: float  # length of a transverse process (mm)
    back_muscle: tuple[float, float, float, float]  # |u|, v, semi-axes (u, v) of each, mm

    @property
    def canal_v(self) -> float:
        return self.centre_v + self.half_depth + self.canal[1] + 1.0

    def back_muscles(self, t: float) -> tuple[Ellipse, Ellipse]:
        offset_u, centre_v, semi_u, semi_v = self.back_muscle
        centre_u = self.centre_u(t)
        return (
            Ellipse(centre_u - offset_u, centre_v, semi_u, semi_v, 0.15),
            Ellipse(centre_u + offset_u, centre_v, semi_u, semi_v, -0.15),
        )

    def block(self, t: float, U: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Vertebra and back muscles: a region no abdominal organ may enter."""
        centre_u = self.centre_u(t)
        left, right = self.back_muscles(t)
        reach = self.canal[0] + self.arch + 3.0
        vertebra = Ellipse(centre_u, self.centre_v, self.half_width + 3.0, self.half_depth + 3.0)
        arch = Ellipse(centre_u, self.canal_v, reach, self.canal[1] + self.arch + 3.0)
        return vertebra.mask(U, V) | arch.mask(U, V) | left.mask(U, V) | right.mask(U, V)


@dataclass(frozen=True)
class Rib:
    side: int  # -1 patient's right, +1 patient's left
    z_attach: float  # height at the posterior end (mm)
    start_angle: float  # from the posterior midline (rad)
    end_angle: float  # (rad; pi would be the anterior midline)
    slope: float  # descent per mm of arc
    half_height: float  # half height of the rib (mm)
    half_thickness: float  # half thickness across the wall (mm)
    depth: float  # distance of the rib centre outside the cavity boundary (mm)


@dataclass(frozen=True, eq=False)
class Vessel:
    """Great vessel column (aorta, IVC): ellipse whose centre moves smoothly with t."""

    low: tuple[float, float]  # centre in the lower abdomen
    high: tuple[float, float]  # centre above the blend range
    blend: tuple[float, float]  # t range over which the centre moves from low to high
    radii: tuple[float, float]
    wobble: tuple[Wave, Wave]
    t_top: float  # absent above this height

    def at(self, t: float) -> Ellipse | None:
        if t > self.t_top:
            return None
        w = smoothstep(t, *self.blend)
        centre_u = (1 - w) * self.low[0] + w * self.high[0] + self.wobble[0](t)
        centre_v = (1 - w) * self.low[1] + w * self.high[1] + self.wobble[1](t)
        return Ellipse(centre_u, centre_v, *self.radii)


@dataclass(frozen=True)
class Loop:
    """Bowel segment or stomach-like cavity: wall, fluid contents, gas above a level."""

    shape: Ellipsoid
    wall: float
    gas_level: float  # v (mm) above which (anterior, smaller v) the lumen holds gas


@dataclass(frozen=True)
class Kidney:
    shape: Ellipsoid
    cortex: float  # mm
    sinus: Ellipsoid  # renal sinus fat


@dataclass(frozen=True, eq=False)
class Anatomy:
    """Everything ``anatomy.sample_anatomy`` draws for one volume."""

    body: Body
    diaphragm: Diaphragm
    liver_t: tuple[float, float]  # (bottom, top) of the liver, height fractions
    liver_lobes: tuple[Lobe, Lobe]  # right, left
    spleen: Lobe
    stomach: Lobe
    stomach_wall: float
    stomach_gas: float  # fraction of the stomach depth that holds gas
    heart: Lobe
    loops: tuple[Loop, ...]
    gallbladder: Ellipsoid
    kidneys: tuple[Kidney, ...]
    psoas_top: float
    spine: Spine
    ribs: tuple[Rib, ...]
    aorta: Vessel
    ivc: Vessel
