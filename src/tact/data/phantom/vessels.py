"""Vessel trees inside the liver: the portal vein and three hepatic veins (3-D tubes).

Painted after the slices, onto liver voxels only, so they stay inside the liver and belong to
the liver label (as in LiTS masks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tact.data.phantom.geometry import Ellipse, Grid, Lobe
from tact.data.phantom.ranges import LIVER_VESSELS
from tact.data.phantom.structures import Anatomy

Tube = tuple[np.ndarray, np.ndarray]  # centreline points (n, 3) in (u, v, z) mm, radii (n,)


def _branch_points(
    rng: np.random.Generator,
    start: np.ndarray,
    end: np.ndarray,
    start_radius: float,
    end_radius: float,
) -> Tube:
    """Gently curved tube (quadratic Bezier) sampled every ~1 mm, radius tapering linearly."""
    length = float(np.linalg.norm(end - start))
    control = (start + end) / 2.0 + rng.normal(0.0, LIVER_VESSELS.bend_sd * length, 3)
    s = np.linspace(0.0, 1.0, max(2, int(length) + 2))[:, None]
    points = (1 - s) ** 2 * start + 2 * s * (1 - s) * control + s**2 * end
    return points, start_radius + (end_radius - start_radius) * s[:, 0]


def _vessel_tree(
    rng: np.random.Generator,
    start: np.ndarray,
    end: np.ndarray,
    start_radius: float,
    end_radius: float,
    depth: int,
) -> list[Tube]:
    """A branch and, ``depth`` levels down, two thinner side branches from each branch."""
    points, radii = _branch_points(rng, start, end, start_radius, end_radius)
    tubes = [(points, radii)]
    if depth <= 0:
        return tubes
    main = (end - start) / max(float(np.linalg.norm(end - start)), 1e-6)
    length = float(np.linalg.norm(end - start))
    for _ in range(2):
        i = int(rng.uniform(*LIVER_VESSELS.side_branch_at) * (len(points) - 1))
        direction = main + rng.normal(0.0, LIVER_VESSELS.side_branch_sd, 3)
        direction /= np.linalg.norm(direction)
        side_end = points[i] + direction * length * rng.uniform(*LIVER_VESSELS.side_branch_length)
        side_radius = max(1.5, 0.7 * radii[i])
        tubes += _vessel_tree(
            rng, points[i], side_end, side_radius, max(1.2, 0.5 * side_radius), depth - 1
        )
    return tubes


@dataclass(frozen=True)
class _Landmarks:
    """Liver heights and lobe centres the veins aim at."""

    liver_t: tuple[float, float]  # (bottom, top) height fractions
    height: float  # mm
    right: Lobe
    left: Lobe

    def t(self, fraction: float) -> float:
        """Height fraction ``fraction`` of the way up the liver."""
        bottom, top = self.liver_t
        return bottom + fraction * (top - bottom)

    def z(self, fraction: float) -> float:
        """The same height in mm."""
        return self.t(fraction) * self.height

    @property
    def right_centre(self) -> tuple[float, float]:
        return self.right.centre(self.t(0.55))

    @property
    def left_centre(self) -> tuple[float, float]:
        return self.left.centre(self.t(0.75))


def _portal_vein(
    rng: np.random.Generator, marks: _Landmarks, ivc: Ellipse, hilum_fraction: float
) -> list[Tube]:
    """Trunk from below into the hilum (in front of the IVC), right and left branches."""
    right_u, right_v = marks.right_centre
    left_u, left_v = marks.left_centre
    hilum = np.array(
        [
            0.4 * right_u + 0.6 * ivc.centre_u,
            ivc.centre_v - rng.uniform(*LIVER_VESSELS.hilum_in_front_of_ivc_mm),
            marks.z(hilum_fraction),
        ]
    )
    entry = hilum + np.array(
        [
            rng.uniform(*LIVER_VESSELS.entry_u_mm),
            rng.uniform(*LIVER_VESSELS.entry_v_mm),
            -LIVER_VESSELS.entry_below_mm,
        ]
    )
    trunk_radius = rng.uniform(*LIVER_VESSELS.trunk_radius_mm)
    portal = _vessel_tree(rng, entry, hilum, trunk_radius, 6.0, 0)
    right_end = np.array(
        [
            right_u - 0.3 * marks.right.radius_u,
            right_v + rng.uniform(*LIVER_VESSELS.right_branch_v_mm),
            marks.z(rng.uniform(*LIVER_VESSELS.right_branch_height)),
        ]
    )
    portal += _vessel_tree(rng, hilum, right_end, 5.5, 3.0, 2)
    left_end = np.array(
        [
            left_u + 0.2 * marks.left.radius_u,
            left_v,
            marks.z(rng.uniform(*LIVER_VESSELS.left_branch_height)),
        ]
    )
    portal += _vessel_tree(rng, hilum, left_end, 4.5, 2.5, 1)
    return portal


def _hepatic_veins(rng: np.random.Generator, marks: _Landmarks, ivc_top: Ellipse) -> list[Tube]:
    """Right, middle and left hepatic veins from their confluence at the IVC downwards."""
    right_u, right_v = marks.right_centre
    left_u, left_v = marks.left_centre
    right, left = marks.right, marks.left
    confluence = np.array([ivc_top.centre_u, ivc_top.centre_v - 4.0, marks.z(0.85)])
    ends = [
        (
            right_u - 0.35 * right.radius_u,
            right_v + 0.2 * right.radius_v,
            marks.z(rng.uniform(*LIVER_VESSELS.hepatic_right_height)),
        ),
        (
            0.5 * (right_u + left_u),
            right_v - 0.5 * right.radius_v,
            marks.z(rng.uniform(*LIVER_VESSELS.hepatic_middle_height)),
        ),
        (
            left_u + 0.3 * left.radius_u,
            left_v,
            marks.z(rng.uniform(*LIVER_VESSELS.hepatic_left_height)),
        ),
    ]
    hepatic: list[Tube] = []
    for end in ends:
        radius = rng.uniform(*LIVER_VESSELS.hepatic_radius_mm)
        hepatic += _vessel_tree(rng, confluence, np.array(end), radius, 2.5, 1)
    return hepatic


def liver_vessels(
    rng: np.random.Generator, anat: Anatomy, height: float
) -> tuple[list[Tube], list[Tube]]:
    """Portal vein (enters at the hilum, branches right and left) and three hepatic veins."""
    marks = _Landmarks(anat.liver_t, height, *anat.liver_lobes)
    hilum_fraction = rng.uniform(*LIVER_VESSELS.hilum_height)
    ivc = anat.ivc.at(marks.t(hilum_fraction)) or anat.ivc.at(0.0)
    if ivc is None:
        raise RuntimeError("IVC missing at the liver hilum")
    portal = _portal_vein(rng, marks, ivc, hilum_fraction)
    hepatic = _hepatic_veins(rng, marks, anat.ivc.at(marks.t(0.85)) or ivc)
    return portal, hepatic


def paint_tube(tissue: np.ndarray, grid: Grid, tube: Tube, *, tissue_id: int, onto: int) -> None:
    """Union of spheres along the centreline, cut by each slice, painted only onto ``onto``."""
    points, radii = tube
    for (u, v, z), r in zip(points, radii, strict=True):
        for k in grid.slice_range(z, r):
            rr2 = r * r - (grid.z[k] - z) ** 2
            if rr2 <= 0.0:
                continue
            rr = math.sqrt(rr2)
            win, V, U = grid.window(u, v, rr, rr)
            view = tissue[k][win]
            view[((U - u) ** 2 + (V - v) ** 2 <= rr2) & (view == onto)] = tissue_id
