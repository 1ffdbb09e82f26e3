"""Generating one volume: grid, anatomy, slices, liver vessels, tumours, intensities.

The stages draw from one generator seeded with the volume's seed, always in this order, so a
seed gives the same volume on every machine and in every job order.
"""

from __future__ import annotations

import numpy as np

from tact.data.phantom.anatomy import sample_anatomy, sample_body
from tact.data.phantom.geometry import Grid
from tact.data.phantom.intensities import texture, tissue_tables
from tact.data.phantom.lesions import paint_tumour, sample_tumour_diameters, tumour_centres
from tact.data.phantom.painting import Slice, paint_slice
from tact.data.phantom.ranges import FIELD_OF_VIEW, TUMOURS
from tact.data.phantom.spec import DEFAULT_SPEC, PhantomSpec, PhantomVolume
from tact.data.phantom.structures import Anatomy, Body
from tact.data.phantom.tissues import LIVER_TISSUES, Tissue
from tact.data.phantom.vessels import liver_vessels, paint_tube


def make_grid(rng: np.random.Generator, spec: PhantomSpec, body: Body) -> tuple[Grid, float]:
    """FOV drawn from the spec's range, wide enough to hold the body with a margin."""
    lo, hi = spec.fov_mm
    body_span = 2.0 * body.half_width * FIELD_OF_VIEW.body_factor
    fov = rng.uniform(max(lo, min(hi, body_span + FIELD_OF_VIEW.margin_mm)), hi)
    pixel_mm = fov / spec.size
    centres = (np.arange(spec.size) + 0.5) * pixel_mm - fov / 2.0
    slack = max(0.0, (fov - body_span) / 2.0 - FIELD_OF_VIEW.edge_clearance_mm)
    shift_u, shift_v = rng.uniform(*FIELD_OF_VIEW.shift_fraction, 2) * min(
        FIELD_OF_VIEW.max_shift_mm, slack
    )
    z = (np.arange(spec.n_slices) + 0.5) * spec.slice_thickness_mm
    grid = Grid(
        u=centres - shift_u,
        v=centres - shift_v,
        z=z,
        pixel_mm=pixel_mm,
        thickness_mm=spec.slice_thickness_mm,
    )
    return grid, fov


def _paint_slices(spec: PhantomSpec, grid: Grid, anat: Anatomy) -> np.ndarray:
    """The clean tissue partition, slice by slice (no random draws)."""
    shape = (spec.n_slices, spec.size, spec.size)
    tissue = np.zeros(shape, dtype=np.uint8)
    cavity = np.zeros(shape[1:], dtype=bool)
    abdomen = np.zeros(shape[1:], dtype=bool)
    for k, z in enumerate(grid.z):
        t = (k + 0.5) / spec.n_slices
        paint_slice(Slice(grid, t, float(z), tissue[k], cavity, abdomen), anat)
    return tissue


def _paint_liver_vessels(
    rng: np.random.Generator, tissue: np.ndarray, grid: Grid, anat: Anatomy
) -> None:
    """Hepatic, then portal veins, onto liver voxels only."""
    portal, hepatic = liver_vessels(rng, anat, grid.height)
    for tube in hepatic:
        paint_tube(tissue, grid, tube, tissue_id=Tissue.HEPATIC_VEIN, onto=Tissue.LIVER)
    for tube in portal:
        paint_tube(tissue, grid, tube, tissue_id=Tissue.PORTAL_VEIN, onto=Tissue.LIVER)


def _add_tumours(
    rng: np.random.Generator, tissue: np.ndarray, offset: np.ndarray, grid: Grid
) -> tuple[np.ndarray, list[tuple[int, int, int]], list[float]]:
    """1-3 tumours: diameters, centres, then each painted (its HU offset into ``offset``)."""
    diameters = sample_tumour_diameters(rng, int(rng.integers(*TUMOURS.count)))
    centres = tumour_centres(rng, np.isin(tissue, LIVER_TISSUES), grid, diameters)
    contrasts = [
        paint_tumour(rng, tissue, offset, grid, centre=c, diameter=float(d))
        for c, d in zip(centres, diameters, strict=True)
    ]
    return diameters, centres, contrasts


def _check_spec(spec: PhantomSpec) -> None:
    if spec.size < 64 or spec.n_slices < 8:
        raise ValueError(f"phantom too small to hold the anatomy: {spec}")
    if not 0.0 < spec.fov_mm[0] <= spec.fov_mm[1]:
        raise ValueError(f"fov_mm must be (smallest, largest), got {spec.fov_mm}")


def generate_volume(seed: int, spec: PhantomSpec = DEFAULT_SPEC) -> PhantomVolume:
    """Draw one LiTS-like portal-venous abdominal volume, deterministic in ``seed``."""
    _check_spec(spec)
    rng = np.random.default_rng(seed)
    body = sample_body(rng, spec.fov_mm[1])
    grid, fov = make_grid(rng, spec, body)
    anat = sample_anatomy(rng, grid, body)
    tissue = _paint_slices(spec, grid, anat)
    _paint_liver_vessels(rng, tissue, grid, anat)
    offset = np.zeros(tissue.shape, dtype=np.float32)
    diameters, centres, contrasts = _add_tumours(rng, tissue, offset, grid)

    base, sd = tissue_tables(rng)
    base[Tissue.TUMOUR] = base[Tissue.LIVER]  # tumour HU = liver HU + (negative) offset
    hu = base[tissue]
    hu += offset
    hu += texture(rng, tissue.shape, grid.pixel_mm, grid.thickness_mm) * sd[tissue]

    label_of = np.zeros(len(Tissue), dtype=np.uint8)
    label_of[list(LIVER_TISSUES)] = 1
    label_of[Tissue.TUMOUR] = 2
    scales = [1.0 + body.scale((k + 0.5) / spec.n_slices) for k in range(spec.n_slices)]
    return PhantomVolume(
        hu=hu,
        labels=label_of[tissue],
        tissue=tissue,
        spacing_mm=(grid.pixel_mm, grid.pixel_mm, grid.thickness_mm),
        tumour_diameters_mm=[float(d) for d in diameters],
        tumour_centres_vox=centres,
        tumour_contrasts_hu=[float(c) for c in contrasts],
        fov_mm=float(fov),
        body_width_mm=float(2.0 * body.half_width * max(scales)),
        body_depth_mm=float(2.0 * body.half_depth * max(scales)),
        liver_hu=float(base[Tissue.LIVER]),
        seed=int(seed),
    )
