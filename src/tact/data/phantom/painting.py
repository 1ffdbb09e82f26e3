"""Painting one axial slice of the tissue partition (later structures overwrite earlier ones).

No random numbers are drawn here: every slice is a cut through the sampled ``Anatomy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tact.data.phantom.geometry import Ellipse, Ellipsoid, Grid, Lobe, Window
from tact.data.phantom.structures import Anatomy, Body, Kidney, Loop, Rib, Spine
from tact.data.phantom.tissues import SOFT_FILL, Tissue


@dataclass
class Slice:
    """One slice being painted, with the masks that keep organs where they belong."""

    grid: Grid
    t: float  # normalised height
    z: float  # mm
    tissue: np.ndarray  # (rows, cols) view into the volume
    cavity: np.ndarray  # bool (rows, cols): inside the muscle wall
    abdomen: np.ndarray  # bool (rows, cols): cavity below the diaphragm

    def paint(
        self,
        win: Window,
        mask: np.ndarray,
        tid: int,
        *,
        onto: tuple[int, ...] | None = None,
        exclude: tuple[int, ...] | None = None,
        within: np.ndarray | None = None,
    ) -> None:
        """Set ``mask`` to tissue ``tid``, only onto / not onto the given tissues, within."""
        view = self.tissue[win]
        mask = np.broadcast_to(mask, view.shape)
        if within is not None:
            mask = mask & within[win]
        if onto is not None:
            mask = mask & np.isin(view, onto)
        if exclude is not None:
            mask = mask & ~np.isin(view, exclude)
        view[mask] = tid

    def paint_ellipse(
        self,
        ellipse: Ellipse,
        tid: int,
        *,
        onto: tuple[int, ...] | None = None,
        within: np.ndarray | None = None,
    ) -> None:
        win, V, U = self.grid.window(
            ellipse.centre_u, ellipse.centre_v, ellipse.radius, ellipse.radius
        )
        self.paint(win, ellipse.mask(U, V), tid, onto=onto, within=within)


def _paint_body(s: Slice, anat: Anatomy) -> None:
    """Skin, subcutaneous fat, muscle wall, back muscles, visceral fat; lungs above the
    diaphragm. Sets the masks that keep organs inside the cavity and off the spine."""
    body, spine = anat.body, anat.spine
    U, V = s.grid.u[None, :], s.grid.v[:, None]
    s.tissue[body.outer(s.t).mask(U, V)] = Tissue.SUBCUTANEOUS_FAT
    inner = body.fat_inner(s.t).mask(U, V)
    s.tissue[inner] = Tissue.MUSCLE
    s.cavity[...] = body.cavity(s.t).mask(U, V)
    s.tissue[s.cavity] = Tissue.VISCERAL_FAT
    block = spine.block(s.t, U, V) & inner
    s.tissue[block] = Tissue.MUSCLE
    s.cavity &= ~block
    dome = anat.diaphragm.region(s.t)
    s.abdomen[...] = s.cavity if dome is None else s.cavity & dome.mask(U, V)
    if dome is not None:
        s.tissue[s.cavity & ~s.abdomen] = Tissue.LUNG


def _paint_loop(s: Slice, loop: Loop, onto: tuple[int, ...]) -> None:
    """Bowel wall, then fluid below and gas above the loop's gas level."""
    outer = loop.shape.section(s.grid, s.z)
    if outer is None:
        return
    win, V, mask = outer
    s.paint(win, mask, Tissue.BOWEL_WALL, onto=onto, within=s.abdomen)
    inner = loop.shape.section(s.grid, s.z, inset=loop.wall, bound=float(loop.shape.semi.max()))
    if inner is None:
        return
    lumen = inner[2] & (s.tissue[win] == Tissue.BOWEL_WALL)
    s.paint(win, lumen & (loop.gas_level <= V), Tissue.BOWEL_CONTENTS)
    s.paint(win, lumen & (loop.gas_level > V), Tissue.BOWEL_GAS)


def _paint_bowel(s: Slice, loops: tuple[Loop, ...]) -> None:
    for loop in loops:
        _paint_loop(s, loop, onto=(Tissue.VISCERAL_FAT,))


def _paint_stomach(s: Slice, anat: Anatomy) -> None:
    """Stomach wall and lumen; the front ``stomach_gas`` of the lumen's depth holds gas."""
    outer = anat.stomach.region(s.grid, s.t)
    inner = anat.stomach.region(s.grid, s.t, inset=anat.stomach_wall)
    if outer is None or inner is None:
        return
    win, mask = outer
    s.paint(win, mask, Tissue.BOWEL_WALL, within=s.abdomen)
    lumen = inner[1] & (s.tissue[win] == Tissue.BOWEL_WALL)
    V = s.grid.v[win[0], None]
    rows = np.nonzero(lumen.any(axis=1))[0]
    if rows.size == 0:
        return
    v_front, v_back = V[rows[0], 0], V[rows[-1], 0]
    level = v_front + anat.stomach_gas * (v_back - v_front)
    s.paint(win, lumen & (level <= V), Tissue.BOWEL_CONTENTS)
    s.paint(win, lumen & (level > V), Tissue.BOWEL_GAS)


def _paint_heart(s: Slice, heart: Lobe) -> None:
    """Myocardium (onto lung only, so above the diaphragm) around a 9 mm-inset blood pool."""
    outer = heart.region(s.grid, s.t)
    if outer is None:
        return
    win, mask = outer
    s.paint(win, mask, Tissue.MYOCARDIUM, onto=(Tissue.LUNG,))
    inner = heart.region(s.grid, s.t, inset=9.0)
    if inner is not None:
        s.paint(win, inner[1], Tissue.BLOOD_POOL, onto=(Tissue.MYOCARDIUM,))


def _paint_liver(s: Slice, anat: Anatomy) -> None:
    for liver_lobe in anat.liver_lobes:
        region = liver_lobe.region(s.grid, s.t)
        if region is not None:
            s.paint(region[0], region[1], Tissue.LIVER, within=s.abdomen)


def _paint_gallbladder(s: Slice, gallbladder: Ellipsoid) -> None:
    cut = gallbladder.section(s.grid, s.z)
    if cut is not None:
        onto = (Tissue.LIVER, *SOFT_FILL)
        s.paint(cut[0], cut[2], Tissue.GALLBLADDER, onto=onto, within=s.abdomen)


def _paint_spleen(s: Slice, spleen: Lobe) -> None:
    region = spleen.region(s.grid, s.t)
    if region is not None:
        s.paint(region[0], region[1], Tissue.SPLEEN, within=s.abdomen, exclude=(Tissue.LIVER,))


def _paint_psoas(s: Slice, anat: Anatomy) -> None:
    """Psoas muscles beside the spine, growing from 6 mm at ``psoas_top`` towards the bottom."""
    if s.t >= anat.psoas_top:
        return
    spine = anat.spine
    grow = 1.0 - s.t / anat.psoas_top
    radius = 6.0 + 16.0 * grow
    for side in (-1, 1):
        ellipse = Ellipse(
            spine.centre_u(s.t) + side * (spine.half_width + 0.7 * radius),
            spine.centre_v - 0.3 * spine.half_depth,
            radius,
            0.85 * radius,
            0.3 * side,
        )
        s.paint_ellipse(ellipse, Tissue.MUSCLE, onto=SOFT_FILL, within=s.cavity)


def _paint_kidneys(s: Slice, kidneys: tuple[Kidney, ...]) -> None:
    """Cortex, medulla inside it, and renal sinus fat."""
    for kidney in kidneys:
        outer = kidney.shape.section(s.grid, s.z)
        if outer is None:
            continue
        win, _, mask = outer
        s.paint(win, mask, Tissue.KIDNEY_CORTEX, within=s.abdomen, exclude=(Tissue.MUSCLE,))
        bound = float(kidney.shape.semi.max())
        inner = kidney.shape.section(s.grid, s.z, inset=kidney.cortex, bound=bound)
        if inner is not None:
            s.paint(win, inner[2], Tissue.KIDNEY_MEDULLA, onto=(Tissue.KIDNEY_CORTEX,))
        sinus = kidney.sinus.section(s.grid, s.z)
        if sinus is not None:
            kidney_tissues = (Tissue.KIDNEY_CORTEX, Tissue.KIDNEY_MEDULLA)
            s.paint(sinus[0], sinus[2], Tissue.VISCERAL_FAT, onto=kidney_tissues)


def _paint_great_vessels(s: Slice, anat: Anatomy) -> None:
    for vessel, tid in ((anat.ivc, Tissue.IVC), (anat.aorta, Tissue.AORTA)):
        ellipse = vessel.at(s.t)
        if ellipse is not None:
            s.paint_ellipse(ellipse, tid, within=s.cavity)


def _paint_bone(s: Slice, win: Window, outer: np.ndarray, inner: np.ndarray) -> None:
    """Cortical bone, with spongy bone inside its inner boundary."""
    s.paint(win, outer, Tissue.CORTICAL_BONE)
    s.paint(win, inner & outer, Tissue.SPONGY_BONE)


def _paint_spine(s: Slice, spine: Spine) -> None:
    """Vertebral body or disc, spinal canal, neural arch with spinous/transverse processes."""
    centre_u = spine.centre_u(s.t)
    level = (s.z - spine.phase) % spine.period  # mm above the last disc's bottom
    win, V, U = s.grid.window(centre_u, spine.centre_v + 40.0, 70.0, 75.0)
    vertebra = Ellipse(centre_u, spine.centre_v, spine.half_width, spine.half_depth)
    if level < spine.disc:
        s.paint(win, vertebra.mask(U, V), Tissue.DISC)
    else:
        _paint_bone(s, win, vertebra.mask(U, V), vertebra.mask(U, V, spine.cortex))
    canal_v = spine.centre_v + spine.half_depth + spine.canal[1] + 1.0
    canal = Ellipse(centre_u, canal_v, *spine.canal)
    in_vertebra = (level - spine.disc) / (spine.period - spine.disc)  # 0..1 through the bone
    if 0.05 < in_vertebra < 0.85:
        ring = Ellipse(centre_u, canal_v, spine.canal[0] + spine.arch, spine.canal[1] + spine.arch)
        behind = canal_v - 0.6 * spine.canal[1] <= V
        _paint_bone(s, win, ring.mask(U, V) & behind, ring.mask(U, V, spine.cortex) & behind)
    if 0.25 < in_vertebra < 0.75:
        _paint_processes(s, spine, win, U, V, centre_u, canal_v)
    s.paint(win, canal.mask(U, V), Tissue.CSF)


def _paint_processes(
    s: Slice,
    spine: Spine,
    win: Window,
    U: np.ndarray,
    V: np.ndarray,
    centre_u: float,
    canal_v: float,
) -> None:
    """Spinous process (backwards) and the two transverse processes (sideways)."""
    back = canal_v + spine.canal[1] + spine.arch
    spinous = Ellipse(centre_u, back + spine.spinous / 2.0 - 4.0, 4.0, spine.spinous / 2.0)
    _paint_bone(s, win, spinous.mask(U, V), spinous.mask(U, V, spine.cortex))
    for side in (-1, 1):
        half = spine.transverse / 2.0
        process = Ellipse(
            centre_u + side * (spine.canal[0] + spine.arch + half - 6.0),
            canal_v - 2.0,
            half,
            4.5,
            -0.25 * side,
        )
        _paint_bone(s, win, process.mask(U, V), process.mask(U, V, spine.cortex))


def _live_ribs(s: Slice, ribs: tuple[Rib, ...]) -> list[Rib]:
    """Ribs whose height range (posterior end down to the front end) includes this slice."""
    return [
        r
        for r in ribs
        if r.z_attach + r.half_height >= s.z
        and r.z_attach - r.slope * 250.0 * (r.end_angle - r.start_angle) - r.half_height <= s.z
    ]


def _paint_ribs(s: Slice, body: Body, ribs: tuple[Rib, ...]) -> None:
    """Oblique rib cuts in the wall just outside the cavity (cortical rim, spongy core)."""
    live = _live_ribs(s, ribs)
    if not live:
        return
    cavity = body.cavity(s.t)
    semi_u, semi_v = cavity.semi_u, cavity.semi_v
    U, V = s.grid.u[None, :], s.grid.v[:, None]
    du, dv = U - cavity.centre_u, V - cavity.centre_v
    rho = np.sqrt((du / semi_u) ** 2 + (dv / semi_v) ** 2)  # 1 on the cavity boundary
    reach = max(r.depth + r.half_thickness for r in live)
    rows, cols = np.nonzero((rho > 0.97) & (rho < 1.0 + 1.3 * reach / min(semi_u, semi_v)))
    du, dv, rho = du[0, cols], dv[rows, 0], rho[rows, cols]
    grad = np.sqrt(du**2 / semi_u**4 + dv**2 / semi_v**4)
    dist = (rho - 1.0) * rho / np.maximum(grad, 1e-9)  # approximate mm outside the cavity
    phi = np.arctan2(np.abs(du), dv)  # 0 at the posterior midline, pi at the anterior one
    arc = 0.5 * (semi_u + semi_v)
    outer = np.zeros(rows.shape, dtype=bool)
    inner = np.zeros(rows.shape, dtype=bool)
    for r in live:
        on = (np.sign(du) == r.side) & (phi >= r.start_angle) & (phi <= r.end_angle)
        zc = r.z_attach - r.slope * arc * (phi - r.start_angle)
        q_out = ((dist - r.depth) / r.half_thickness) ** 2 + ((s.z - zc) / r.half_height) ** 2
        core_t, core_h = r.half_thickness - 1.5, r.half_height - 1.5
        q_in = ((dist - r.depth) / core_t) ** 2 + ((s.z - zc) / core_h) ** 2
        outer |= on & (q_out <= 1.0)
        inner |= on & (q_in <= 1.0)
    s.tissue[rows[outer], cols[outer]] = Tissue.CORTICAL_BONE
    s.tissue[rows[inner], cols[inner]] = Tissue.SPONGY_BONE


def paint_slice(s: Slice, anat: Anatomy) -> None:
    """Paint every structure's cut, in an order where later ones overwrite earlier ones."""
    _paint_body(s, anat)
    _paint_bowel(s, anat.loops)
    _paint_stomach(s, anat)
    _paint_heart(s, anat.heart)
    _paint_liver(s, anat)
    _paint_gallbladder(s, anat.gallbladder)
    _paint_spleen(s, anat.spleen)
    _paint_psoas(s, anat)
    _paint_kidneys(s, anat.kidneys)
    _paint_great_vessels(s, anat)
    _paint_spine(s, anat.spine)
    _paint_ribs(s, anat.body, anat.ribs)
