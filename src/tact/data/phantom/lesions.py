"""Liver tumours: sizes, centres deep inside the liver, lobulated hypodense ellipsoids."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from tact.data.phantom.geometry import Grid, random_rotation
from tact.data.phantom.ranges import TUMOURS
from tact.data.phantom.tissues import LIVER_TISSUES, Tissue

TUMOUR_DIAMETER_RANGE_MM = TUMOURS.diameter_mm
TUMOUR_MEDIAN_DIAMETER_MM = TUMOURS.median_diameter_mm
TUMOUR_LOG_SIGMA = TUMOURS.log_sigma


def sample_tumour_diameters(rng: np.random.Generator, n: int) -> np.ndarray:
    """Tumour diameters (mm): log-normal around a 20 mm median, clipped to [5, 80] mm."""
    d = rng.lognormal(math.log(TUMOUR_MEDIAN_DIAMETER_MM), TUMOUR_LOG_SIGMA, n)
    return np.clip(d, *TUMOUR_DIAMETER_RANGE_MM)


def tumour_centres(
    rng: np.random.Generator, liver: np.ndarray, grid: Grid, diameters: np.ndarray
) -> list[tuple[int, int, int]]:
    """Centre voxels in the liver, deep enough for each tumour to sit inside, kept apart.

    Why a coarse grid: the distance transform on ~2.5 mm voxels is fast at 512 x 512.
    """
    step = max(1, round(2.5 / grid.pixel_mm))
    coarse = liver[:, step // 2 :: step, step // 2 :: step]
    depth = ndimage.distance_transform_edt(
        coarse, sampling=(grid.thickness_mm, step * grid.pixel_mm, step * grid.pixel_mm)
    )
    deepest = float(depth.max())
    centres: list[tuple[int, int, int]] = []
    placed: list[tuple[np.ndarray, float]] = []  # centre (mm) and diameter of earlier tumours
    for d in diameters:
        candidates = np.argwhere(depth >= min(0.8 * d / 2.0, 0.85 * deepest))
        voxels = candidates * [1, step, step] + [0, step // 2, step // 2]
        pool = voxels
        if placed:
            mm = voxels * [grid.thickness_mm, grid.pixel_mm, grid.pixel_mm]
            gaps = [(np.linalg.norm(mm - p, axis=1), prev) for p, prev in placed]
            # Prefer tumours that do not touch; at least keep out of the earlier ones.
            apart = np.all([g > 0.5 * (prev + d) + 3.0 for g, prev in gaps], axis=0)
            outside = np.all([g > 0.65 * prev for g, prev in gaps], axis=0)
            for ok in (apart, outside):
                if ok.any():
                    pool = voxels[ok]
                    break
        k, i, j = (int(x) for x in pool[int(rng.integers(len(pool)))])
        centres.append((k, i, j))
        placed.append(
            (np.array([k * grid.thickness_mm, i * grid.pixel_mm, j * grid.pixel_mm]), float(d))
        )
    return centres


def _lobulation(rng: np.random.Generator, unit: np.ndarray) -> np.ndarray:
    """Relative bumps of the outline: three cosines over the direction from the centre."""
    lobes = np.zeros(unit.shape[1:])
    for _ in range(3):
        axis = random_rotation(rng)[0] * rng.integers(*TUMOURS.lobulation_cycles)
        phase = rng.uniform(*TUMOURS.lobulation_phase_rad)
        lobes += rng.uniform(*TUMOURS.lobulation_amplitude) * np.cos(
            np.tensordot(axis, unit, axes=1) + phase
        )
    return lobes


def _uneven(
    rng: np.random.Generator, offsets_mm: np.ndarray, paint: np.ndarray, radius: float
) -> np.ndarray:
    """A plane wave through the tumour (zero mean over it), so its inside is uneven (HU)."""
    direction = random_rotation(rng)[0] * rng.uniform(*TUMOURS.uneven_cycles) / radius
    phase_rad = rng.uniform(*TUMOURS.uneven_phase_rad)
    uneven = np.sin(np.tensordot(direction, offsets_mm, axes=1)[paint] + phase_rad)
    return rng.uniform(*TUMOURS.uneven_hu) * (uneven - uneven.mean())


def paint_tumour(
    rng: np.random.Generator,
    tissue: np.ndarray,
    offset: np.ndarray,
    grid: Grid,
    *,
    centre: tuple[int, int, int],
    diameter: float,
) -> float:
    """Lobulated ellipsoid, darker towards a necrotic-looking core; returns its mean contrast.

    Only liver voxels turn into tumour, so a tumour never leaves the liver; its centre voxel
    (a liver voxel by construction) always does, so no tumour vanishes between slices.
    """
    radius = diameter / 2.0
    semi = radius * rng.uniform(*TUMOURS.semi_axis_factor, 3)
    semi *= radius / np.prod(semi) ** (1.0 / 3.0)  # keep the volume of the nominal sphere
    rotation = random_rotation(rng)
    reach = float(semi.max()) * 1.2
    k, i, j = centre
    centre_z, centre_v, centre_u = grid.z[k], grid.v[i], grid.u[j]
    slices = grid.slice_range(centre_z, reach)
    (rows, cols), V, U = grid.window(centre_u, centre_v, reach, reach)
    Z = grid.z[slices.start : slices.stop, None, None] - centre_z
    # (3, z, v, u) offsets from the centre in mm
    offsets_mm = np.stack(np.broadcast_arrays(U[None] - centre_u, V[None] - centre_v, Z))
    local = np.tensordot(rotation, offsets_mm, axes=1) / semi[:, None, None, None]
    rho = np.sqrt(np.sum(local**2, axis=0))  # 1 on the ellipsoid's surface
    inside = rho <= 1.0 + _lobulation(rng, local / np.maximum(rho, 1e-6))
    inside[k - slices.start, i - rows.start, j - cols.start] = True
    # Hypodensity: edge + core * (1 - rho^2) lies in [29, 49] HU, the sphere mean in [31, 41];
    # a plane wave (zero mean over the tumour) makes the inside uneven.
    edge = rng.uniform(*TUMOURS.edge_contrast_hu)
    core = rng.uniform(*TUMOURS.core_contrast_hu)
    box = (slice(slices.start, slices.stop), rows, cols)
    view = tissue[box]
    paint = inside & np.isin(view, LIVER_TISSUES)
    if not paint.any():  # only if the centre fell inside an earlier tumour
        return float("nan")
    uneven = _uneven(rng, offsets_mm, paint, radius)
    delta = edge + core * np.clip(1.0 - rho[paint] ** 2, 0.0, 1.0) + uneven
    view[paint] = Tissue.TUMOUR
    offset[box][paint] = -delta
    return float(delta.mean())
