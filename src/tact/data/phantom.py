"""Built-in LiTS-like abdominal CT phantom (portal-venous phase).

Why: LiTS cannot be downloaded on every machine, yet the workflow must run end to end. This
module draws seeded, deterministic abdominal volumes and writes them as real NIfTI files in the
LiTS layout (``volume-N.nii`` int16 HU, ``segmentation-N.nii`` uint8 with 0 background,
1 liver, 2 tumour), so the very same reader handles the phantom and LiTS.

The phantom has to be hard enough for the paper's effect to show: hypodense, uneven tumours of
realistic sizes, a liver whose outline changes from slice to slice, hypodense look-alikes
(gallbladder, bowel, stomach contents), bright vessels inside the liver, and organ texture
of 10-20 HU that low-dose noise then buries.

Geometry. Every axial slice is built as a 2-D array in the radiological display convention:
row 0 is anterior, column 0 is the patient's right (the liver appears on the image's left),
and slices are stacked from inferior to superior. In-plane positions are in mm from the body
centre: ``u`` grows towards the patient's left (with the column index), ``v`` grows towards
posterior (with the row index). Heights are either physical (``z`` in mm from the lowest slice
centre: vertebrae, ribs, vessels, tumours) or normalised (``t`` in [0, 1] over the volume:
organ extents, so that every volume covers the liver with liver-free slices at both ends).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import IntEnum
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from tact.data.orientation import radiological_to_ras
from tact.io import atomic_path

__all__ = [
    "DEFAULT_SPEC",
    "LIVER_TISSUES",
    "TISSUE_HU",
    "TISSUE_IDS",
    "PhantomSpec",
    "PhantomVolume",
    "Tissue",
    "generate_volume",
    "hu_to_int16",
    "lits_affine",
    "sample_tumour_diameters",
    "write_lits_pair",
]


class Tissue(IntEnum):
    """Tissue classes of the clean partition (``PhantomVolume.tissue``)."""

    AIR = 0
    SUBCUTANEOUS_FAT = 1
    VISCERAL_FAT = 2
    MUSCLE = 3
    LIVER = 4
    TUMOUR = 5
    PORTAL_VEIN = 6
    HEPATIC_VEIN = 7
    IVC = 8
    AORTA = 9
    SPLEEN = 10
    KIDNEY_CORTEX = 11
    KIDNEY_MEDULLA = 12
    SPONGY_BONE = 13
    CORTICAL_BONE = 14
    DISC = 15
    CSF = 16
    LUNG = 17
    MYOCARDIUM = 18
    BLOOD_POOL = 19
    BOWEL_WALL = 20
    BOWEL_CONTENTS = 21
    BOWEL_GAS = 22
    GALLBLADDER = 23


TISSUE_IDS: dict[str, int] = {t.name.lower(): int(t) for t in Tissue}

# Portal-venous HU ranges from the design notes (the tumour range is the liver range minus the
# 25-50 HU hypodensity; tissues the design does not name get typical literature values).
TISSUE_HU: dict[str, tuple[float, float]] = {
    "air": (-1000.0, -1000.0),
    "subcutaneous_fat": (-110.0, -90.0),
    "visceral_fat": (-100.0, -80.0),
    "muscle": (50.0, 65.0),
    "liver": (100.0, 115.0),
    "tumour": (50.0, 90.0),
    "portal_vein": (160.0, 190.0),
    "hepatic_vein": (130.0, 160.0),
    "ivc": (130.0, 160.0),
    "aorta": (150.0, 200.0),
    "spleen": (100.0, 120.0),
    "kidney_cortex": (150.0, 200.0),
    "kidney_medulla": (100.0, 140.0),
    "spongy_bone": (150.0, 230.0),
    "cortical_bone": (800.0, 1900.0),
    "disc": (70.0, 110.0),
    "csf": (0.0, 20.0),
    "lung": (-950.0, -850.0),
    "myocardium": (90.0, 120.0),
    "blood_pool": (140.0, 180.0),
    "bowel_wall": (40.0, 80.0),
    "bowel_contents": (0.0, 40.0),
    "bowel_gas": (-1010.0, -990.0),
    "gallbladder": (0.0, 20.0),
}

# Tissues that make up LiTS label 1 (vessels inside the liver belong to the liver mask there).
LIVER_TISSUES: tuple[int, ...] = (Tissue.LIVER, Tissue.PORTAL_VEIN, Tissue.HEPATIC_VEIN)
_BOWEL = (Tissue.BOWEL_WALL, Tissue.BOWEL_CONTENTS, Tissue.BOWEL_GAS)
_SOFT_FILL = (Tissue.VISCERAL_FAT, *_BOWEL)

TUMOUR_DIAMETER_RANGE_MM = (5.0, 80.0)
TUMOUR_MEDIAN_DIAMETER_MM = 20.0
TUMOUR_LOG_SIGMA = 0.55
HU_INT16_RANGE = (-1024, 3071)


@dataclass(frozen=True)
class PhantomSpec:
    """Size of the generated volumes; the field of view is drawn per volume from ``fov_mm``."""

    size: int = 512
    n_slices: int = 64
    slice_thickness_mm: float = 2.5
    fov_mm: tuple[float, float] = (350.0, 500.0)


DEFAULT_SPEC = PhantomSpec()


@dataclass
class PhantomVolume:
    """One generated volume: HU image, LiTS labels and the clean tissue partition."""

    hu: np.ndarray  # float32 (Z, rows, cols), radiological slices, HU
    labels: np.ndarray  # uint8 (Z, rows, cols): 0 background, 1 liver, 2 tumour
    tissue: np.ndarray  # uint8 (Z, rows, cols): Tissue id per voxel (clean, no texture)
    spacing_mm: tuple[float, float, float]  # (row, col, slice)
    tumour_diameters_mm: list[float]
    tumour_centres_vox: list[tuple[int, int, int]]  # (slice, row, col) of each tumour centre
    tumour_contrasts_hu: list[float]  # mean clean hypodensity of each tumour (HU below liver)
    fov_mm: float
    body_width_mm: float  # widest slice, left-right
    body_depth_mm: float  # deepest slice, front-back
    liver_hu: float  # mean liver parenchyma HU before texture
    seed: int

    @property
    def n_tumours(self) -> int:
        return len(self.tumour_diameters_mm)


# --------------------------------------------------------------------------------------------
# Small geometric building blocks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Wave:
    """Smooth random function of the normalised height t (offset plus low-frequency sines)."""

    offset: float
    amps: np.ndarray
    freqs: np.ndarray
    phases: np.ndarray

    def __call__(self, t: float) -> float:
        return self.offset + float(
            np.sum(self.amps * np.sin(2.0 * np.pi * self.freqs * t + self.phases))
        )

    @property
    def bound(self) -> float:
        return abs(self.offset) + float(np.sum(np.abs(self.amps)))


def _wave(rng: np.random.Generator, offset: float, amplitude: float, n_terms: int = 2) -> _Wave:
    return _Wave(
        offset=offset,
        amps=amplitude * rng.uniform(0.4, 1.0, n_terms) / math.sqrt(n_terms),
        freqs=rng.uniform(0.3, 1.6, n_terms),
        phases=rng.uniform(0.0, 2.0 * np.pi, n_terms),
    )


@dataclass(frozen=True)
class _Grid:
    """Voxel centres: u (columns) and v (rows) in mm from the body centre, z in mm."""

    u: np.ndarray
    v: np.ndarray
    z: np.ndarray
    px: float
    thk: float

    @property
    def height(self) -> float:
        return self.thk * len(self.z)

    def window(
        self, uc: float, vc: float, ru: float, rv: float
    ) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
        """Index window around (uc, vc) and its open coordinate grids (V column, U row)."""
        c0 = int(np.searchsorted(self.u, uc - ru))
        c1 = int(np.searchsorted(self.u, uc + ru, side="right"))
        r0 = int(np.searchsorted(self.v, vc - rv))
        r1 = int(np.searchsorted(self.v, vc + rv, side="right"))
        return (slice(r0, r1), slice(c0, c1)), self.v[r0:r1, None], self.u[None, c0:c1]

    def slice_range(self, zc: float, half: float) -> range:
        k0 = int(np.searchsorted(self.z, zc - half))
        k1 = int(np.searchsorted(self.z, zc + half, side="right"))
        return range(k0, k1)


@dataclass(frozen=True)
class _Ellipse:
    """In-plane ellipse; ``a`` is the semi-axis along u before rotation by ``angle``."""

    uc: float
    vc: float
    a: float
    b: float
    angle: float = 0.0

    @property
    def radius(self) -> float:
        return max(self.a, self.b)

    def mask(self, U: np.ndarray, V: np.ndarray, inset: float = 0.0) -> np.ndarray:
        a, b = self.a - inset, self.b - inset
        if a <= 0.0 or b <= 0.0:
            return np.zeros(np.broadcast_shapes(U.shape, V.shape), dtype=bool)
        du, dv = U - self.uc, V - self.vc
        if self.angle:
            c, s = math.cos(self.angle), math.sin(self.angle)
            du, dv = c * du + s * dv, -s * du + c * dv
        return (du / a) ** 2 + (dv / b) ** 2 <= 1.0

    def scaled(self, g: float) -> _Ellipse:
        return replace(self, a=self.a * g, b=self.b * g)


@dataclass(frozen=True)
class _Ellipsoid:
    """3-D ellipsoid in (u, v, z) mm: centre, orthonormal axes (rows) and semi-axes."""

    centre: np.ndarray  # (3,)
    axes: np.ndarray  # (3, 3)
    semi: np.ndarray  # (3,)

    def section(
        self, grid: _Grid, z: float, inset: float = 0.0, bound: float | None = None
    ) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None:
        """Window and in-plane mask of the cut at height z (None if the slice misses it)."""
        semi = self.semi - inset
        r = float(semi.max()) if bound is None else bound
        dz = z - self.centre[2]
        if np.any(semi <= 0.0) or abs(dz) > r:
            return None
        win, V, U = grid.window(self.centre[0], self.centre[1], r, r)
        du, dv = U - self.centre[0], V - self.centre[1]
        q = np.zeros(np.broadcast_shapes(du.shape, dv.shape))
        for axis, s in zip(self.axes, semi, strict=True):
            q = q + ((du * axis[0] + dv * axis[1] + dz * axis[2]) / s) ** 2
        return win, V, q <= 1.0


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))


def _axes_along(direction: np.ndarray) -> np.ndarray:
    """Orthonormal axes whose first row is ``direction``."""
    d = direction / np.linalg.norm(direction)
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(d, helper)
    e1 /= np.linalg.norm(e1)
    return np.stack([d, e1, np.cross(d, e1)])


def _smoothstep(x: float, lo: float, hi: float) -> float:
    s = min(1.0, max(0.0, (x - lo) / (hi - lo)))
    return s * s * (3.0 - 2.0 * s)


@dataclass(frozen=True, eq=False)
class _Lobe:
    """Star-shaped organ: radius is a low-order Fourier series whose coefficients drift in t.

    The size follows an envelope over [t_lo, t_hi] with its maximum at t_peak, so the organ
    grows and shrinks smoothly from slice to slice (rounded ends, dome on top).
    """

    t_lo: float
    t_peak: float
    t_hi: float
    gamma: float
    uc: float
    vc: float
    ru: float
    rv: float
    angle: float
    drift: tuple[_Wave, _Wave]  # mm
    low_shift: tuple[float, float]  # extra (u, v) shift at t_lo, fading out by t_peak
    fourier: tuple[tuple[_Wave, _Wave], ...]  # (cos, sin) coefficient of harmonics 1..K

    def envelope(self, t: float) -> float:
        if not self.t_lo < t < self.t_hi:
            return 0.0
        w = (self.t_peak - self.t_lo) if t < self.t_peak else (self.t_hi - self.t_peak)
        return max(0.0, 1.0 - ((t - self.t_peak) / w) ** 2) ** self.gamma

    def centre(self, t: float) -> tuple[float, float]:
        low = max(0.0, (self.t_peak - t) / (self.t_peak - self.t_lo))
        return (
            self.uc + self.drift[0](t) + self.low_shift[0] * low,
            self.vc + self.drift[1](t) + self.low_shift[1] * low,
        )

    def region(
        self, grid: _Grid, t: float, inset: float = 0.0
    ) -> tuple[tuple[slice, slice], np.ndarray] | None:
        env = self.envelope(t)
        if env < 0.03:
            return None
        uc, vc = self.centre(t)
        ru, rv = self.ru * env, self.rv * env
        bound = max(ru, rv) * (1.0 + sum(c.bound + s.bound for c, s in self.fourier))
        win, V, U = grid.window(uc, vc, bound, bound)
        du, dv = U - uc, V - vc
        if self.angle:
            c, s = math.cos(self.angle), math.sin(self.angle)
            du, dv = c * du + s * dv, -s * du + c * dv
        x, y = du / ru, dv / rv
        theta = np.arctan2(y, x)
        radial = np.ones_like(theta)
        for k, (cw, sw) in enumerate(self.fourier, start=1):
            radial += cw(t) * np.cos(k * theta) + sw(t) * np.sin(k * theta)
        radial = np.maximum(radial, 0.35) - inset / min(ru, rv)
        return win, np.hypot(x, y) <= radial


def _lobe(
    rng: np.random.Generator,
    t_range: tuple[float, float, float],
    centre: tuple[float, float],
    radii: tuple[float, float],
    *,
    angle: float = 0.0,
    gamma: float = 0.5,
    drift_mm: float = 5.0,
    roughness: float = 0.08,
    low_shift: tuple[float, float] = (0.0, 0.0),
    harmonics: int = 4,
) -> _Lobe:
    fourier = tuple(
        (
            _wave(rng, rng.normal(0.0, roughness / k), 0.6 * roughness / k),
            _wave(rng, rng.normal(0.0, roughness / k), 0.6 * roughness / k),
        )
        for k in range(1, harmonics + 1)
    )
    return _Lobe(
        t_lo=t_range[0],
        t_peak=t_range[1],
        t_hi=t_range[2],
        gamma=gamma,
        uc=centre[0],
        vc=centre[1],
        ru=radii[0],
        rv=radii[1],
        angle=angle,
        drift=(_wave(rng, 0.0, drift_mm), _wave(rng, 0.0, drift_mm)),
        low_shift=low_shift,
        fourier=fourier,
    )


# --------------------------------------------------------------------------------------------
# Anatomy: sampled parameters of every structure
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Body:
    """Skin ellipse with subcutaneous fat and a muscle wall around the abdominal cavity."""

    a: float
    b: float
    fat: tuple[float, float, float]  # lateral, anterior, posterior thickness (mm)
    muscle: tuple[float, float, float]
    scale: _Wave

    def outer(self, t: float) -> _Ellipse:
        s = 1.0 + self.scale(t)
        return _Ellipse(0.0, 0.0, self.a * s, self.b * s)

    def _inset(self, t: float, lat: float, ant: float, post: float) -> _Ellipse:
        o = self.outer(t)
        return _Ellipse(0.0, (ant - post) / 2.0, o.a - lat, o.b - (ant + post) / 2.0)

    def fat_inner(self, t: float) -> _Ellipse:
        return self._inset(t, *self.fat)

    def cavity(self, t: float) -> _Ellipse:
        lat, ant, post = (f + m for f, m in zip(self.fat, self.muscle, strict=True))
        return self._inset(t, lat, ant, post)


@dataclass(frozen=True)
class _Diaphragm:
    """Below it lies the abdomen; above it, lungs and heart. Its cut shrinks towards the dome."""

    t_lung: float  # lowest height with lung (posterior recesses)
    t_dome: float  # top of the right dome
    full: _Ellipse  # abdominal cross-section at t_lung (covers the cavity)

    def region(self, t: float) -> _Ellipse | None:
        if t <= self.t_lung:
            return None
        x = (t - self.t_lung) / (self.t_dome - self.t_lung)
        return self.full.scaled(math.sqrt(max(0.0, 1.0 - x * x)))


@dataclass(frozen=True, eq=False)
class _Spine:
    uc: _Wave  # mm, slight lateral curvature
    vc: float  # vertebral body centre (mm)
    ru: float
    rv: float
    cortex: float
    period: float  # vertebra + disc height (mm)
    phase: float
    disc: float  # disc height (mm)
    canal: tuple[float, float]
    arch: float  # thickness of the neural arch (mm)
    spinous: float  # length of the spinous process (mm)
    transverse: float  # length of a transverse process (mm)
    paraspinal: tuple[float, float, float, float]  # |u|, v, semi-axes of the back muscles

    @property
    def canal_v(self) -> float:
        return self.vc + self.rv + self.canal[1] + 1.0

    def back_muscles(self, t: float) -> tuple[_Ellipse, _Ellipse]:
        u, v, a, b = self.paraspinal
        uc = self.uc(t)
        return _Ellipse(uc - u, v, a, b, 0.15), _Ellipse(uc + u, v, a, b, -0.15)

    def block(self, t: float, U: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Vertebra and back muscles: a region no abdominal organ may enter."""
        uc = self.uc(t)
        left, right = self.back_muscles(t)
        reach = self.canal[0] + self.arch + 3.0
        return (
            _Ellipse(uc, self.vc, self.ru + 3.0, self.rv + 3.0).mask(U, V)
            | _Ellipse(uc, self.canal_v, reach, self.canal[1] + self.arch + 3.0).mask(U, V)
            | left.mask(U, V)
            | right.mask(U, V)
        )


@dataclass(frozen=True)
class _Rib:
    side: int  # -1 patient's right, +1 patient's left
    z_attach: float  # height at the posterior end (mm)
    phi0: float  # start angle from the posterior midline (rad)
    phi1: float  # end angle (rad; pi would be the anterior midline)
    slope: float  # descent per mm of arc
    half_h: float  # half height of the rib (mm)
    half_t: float  # half thickness across the wall (mm)
    depth: float  # distance of the rib centre outside the cavity boundary (mm)


@dataclass(frozen=True, eq=False)
class _Vessel:
    """Great vessel column (aorta, IVC): ellipse whose centre moves smoothly with t."""

    low: tuple[float, float]  # centre in the lower abdomen
    high: tuple[float, float]  # centre above the blend range
    blend: tuple[float, float]  # t range over which the centre moves from low to high
    radii: tuple[float, float]
    wobble: tuple[_Wave, _Wave]
    t_top: float  # absent above this height

    def at(self, t: float) -> _Ellipse | None:
        if t > self.t_top:
            return None
        w = _smoothstep(t, *self.blend)
        uc = (1 - w) * self.low[0] + w * self.high[0] + self.wobble[0](t)
        vc = (1 - w) * self.low[1] + w * self.high[1] + self.wobble[1](t)
        return _Ellipse(uc, vc, *self.radii)


@dataclass(frozen=True)
class _Loop:
    """Bowel segment or stomach-like cavity: wall, fluid contents, gas above a level."""

    shape: _Ellipsoid
    wall: float
    gas_level: float  # v (mm) above which (anterior, smaller v) the lumen holds gas


@dataclass(frozen=True)
class _Kidney:
    shape: _Ellipsoid
    cortex: float
    sinus: _Ellipsoid


@dataclass(frozen=True, eq=False)
class _Anatomy:
    body: _Body
    diaphragm: _Diaphragm
    liver_t: tuple[float, float]
    liver_lobes: tuple[_Lobe, _Lobe]
    spleen: _Lobe
    stomach: _Lobe
    stomach_wall: float
    stomach_gas: float  # fraction of the stomach depth that holds gas
    heart: _Lobe
    loops: tuple[_Loop, ...]
    gallbladder: _Ellipsoid
    kidneys: tuple[_Kidney, ...]
    psoas_top: float
    spine: _Spine
    ribs: tuple[_Rib, ...]
    aorta: _Vessel
    ivc: _Vessel


def _sample_body(rng: np.random.Generator, fov_max: float) -> _Body:
    """Body 310-370 mm wide (narrower if the largest allowed FOV could not hold it)."""
    width = rng.uniform(310.0, max(310.0, min(370.0, fov_max / 1.02 - 30.0)))
    depth = rng.uniform(230.0, min(290.0, width - 40.0))
    return _Body(
        a=width / 2.0,
        b=depth / 2.0,
        fat=(rng.uniform(10.0, 30.0), rng.uniform(10.0, 35.0), rng.uniform(10.0, 22.0)),
        muscle=(rng.uniform(10.0, 16.0), rng.uniform(8.0, 14.0), rng.uniform(12.0, 18.0)),
        scale=_wave(rng, 0.0, 0.012),
    )


def _sample_spine(rng: np.random.Generator, body: _Body) -> _Spine:
    """Lumbar vertebrae placed from the back: spinous tip just under the subcutaneous fat."""
    rv = rng.uniform(15.0, 18.0)
    canal = (rng.uniform(9.0, 11.0), rng.uniform(7.0, 9.0))
    arch = rng.uniform(5.0, 7.0)
    spinous = rng.uniform(24.0, 32.0)
    tip = body.b - body.fat[2] - rng.uniform(6.0, 12.0)
    canal_v = tip - (canal[1] + arch - 4.0 + spinous)
    vc = canal_v - canal[1] - 1.0 - rv
    return _Spine(
        uc=_wave(rng, 0.0, 3.0),
        vc=vc,
        ru=rng.uniform(19.0, 23.0),
        rv=rv,
        cortex=rng.uniform(1.3, 2.0),
        period=rng.uniform(30.0, 36.0),
        phase=rng.uniform(0.0, 36.0),
        disc=rng.uniform(6.0, 9.0),
        canal=canal,
        arch=arch,
        spinous=spinous,
        transverse=rng.uniform(22.0, 30.0),
        paraspinal=(
            rng.uniform(26.0, 32.0),
            canal_v + rng.uniform(12.0, 18.0),
            rng.uniform(22.0, 28.0),
            rng.uniform(18.0, 23.0),
        ),
    )


def _sample_ribs(rng: np.random.Generator, spine: _Spine, height: float) -> tuple[_Rib, ...]:
    """Ribs 12 (floating, short) upwards; each descends as it runs round to the front."""
    z12 = rng.uniform(0.55, 0.65) * height
    slope = rng.uniform(0.28, 0.36)
    ribs = []
    for number in range(12, 0, -1):
        z_attach = z12 + (12 - number) * spine.period
        if z_attach - slope * 400.0 > height + 10.0:
            break
        if number == 12:
            end = rng.uniform(0.38, 0.45) * math.pi
        elif number == 11:
            end = rng.uniform(0.5, 0.6) * math.pi
        elif number == 10:
            end = rng.uniform(0.65, 0.72) * math.pi
        else:
            end = rng.uniform(0.8, 0.88) * math.pi
        for side in (-1, 1):
            ribs.append(
                _Rib(
                    side=side,
                    z_attach=z_attach + rng.uniform(-3.0, 3.0),
                    phi0=rng.uniform(0.17, 0.22) * math.pi,
                    phi1=end + rng.uniform(-0.03, 0.03) * math.pi,
                    slope=slope * rng.uniform(0.95, 1.05),
                    half_h=rng.uniform(5.0, 6.5),
                    half_t=rng.uniform(3.8, 4.8),
                    depth=rng.uniform(4.0, 7.0),
                )
            )
    return tuple(ribs)


def _sample_liver(
    rng: np.random.Generator, cavity: _Ellipse, t0: float, t1: float
) -> tuple[_Lobe, _Lobe]:
    """Right lobe (big, patient's right) and left lobe (anterior, across the midline)."""
    a, b, vc = cavity.a, cavity.b, cavity.vc
    span = t1 - t0
    right = _lobe(
        rng,
        (t0, t0 + rng.uniform(0.55, 0.7) * span, t1),
        (-rng.uniform(0.4, 0.5) * a, vc + rng.uniform(-0.1, 0.05) * b),
        (rng.uniform(0.52, 0.62) * a, rng.uniform(0.8, 0.95) * b),
        gamma=rng.uniform(0.45, 0.6),
        drift_mm=6.0,
        roughness=0.09,
        low_shift=(-0.22 * a, rng.uniform(-0.1, 0.15) * b),
    )
    left_lo = t0 + rng.uniform(0.3, 0.5) * span
    left = _lobe(
        rng,
        (left_lo, left_lo + rng.uniform(0.5, 0.7) * (t1 - left_lo), t1 - 0.02 * span),
        (rng.uniform(0.0, 0.15) * a, vc - rng.uniform(0.4, 0.55) * b),
        (rng.uniform(0.35, 0.5) * a, rng.uniform(0.25, 0.35) * b),
        angle=rng.uniform(-0.25, 0.1),
        gamma=0.5,
        drift_mm=5.0,
        roughness=0.1,
    )
    return right, left


def _sample_loops(
    rng: np.random.Generator, cavity: _Ellipse, height: float, t_top: float
) -> tuple[_Loop, ...]:
    """Small bowel loops and the colon (ascending, transverse, descending) with gas."""
    a, b, vc = cavity.a, cavity.b, cavity.vc
    loops = []
    for _ in range(int(rng.integers(20, 36))):
        r = rng.uniform(9.0, 19.0)
        centre = np.array(
            [
                rng.uniform(-0.65, 0.75) * a,
                vc + rng.uniform(-0.9, 0.5) * b,
                rng.uniform(0.0, t_top) * height,
            ]
        )
        shape = _Ellipsoid(
            centre, _axes_along(rng.standard_normal(3)), np.array([rng.uniform(20, 60), r, r])
        )
        has_gas = rng.random() < 0.45
        level = centre[1] + (rng.uniform(-0.7, 0.2) * r if has_gas else -1e6)
        loops.append(_Loop(shape, rng.uniform(2.0, 3.0), level))
    colon = [
        (np.array([-0.75 * a, vc + 0.1 * b, 0.15 * height]), (0, 0, 1), 0.35, 21.0),
        (np.array([0.78 * a, vc + 0.2 * b, 0.2 * height]), (0, 0, 1), 0.4, 16.0),
        (np.array([0.0, vc - 0.6 * b, 0.42 * height]), (1, 0, 0.1), 0.6 * a / height, 19.0),
    ]
    for centre, direction, half_len, radius in colon:
        jitter = np.array([rng.uniform(-8, 8), rng.uniform(-8, 8), rng.uniform(-5, 5)])
        r = radius * rng.uniform(0.85, 1.15)
        shape = _Ellipsoid(
            centre + jitter,
            _axes_along(np.asarray(direction, float) + rng.normal(0, 0.1, 3)),
            np.array([half_len * height, r, r * rng.uniform(0.85, 1.0)]),
        )
        loops.append(_Loop(shape, rng.uniform(2.0, 3.0), centre[1] + rng.uniform(-0.5, 0.3) * r))
    return tuple(loops)


def _sample_kidneys(
    rng: np.random.Generator, cavity: _Ellipse, height: float
) -> tuple[_Kidney, ...]:
    kidneys = []
    for side, t_centre in ((-1, rng.uniform(0.2, 0.3)), (1, rng.uniform(0.28, 0.38))):
        ru, rv = rng.uniform(26.0, 32.0), rng.uniform(19.0, 23.0)
        uc = side * rng.uniform(0.5, 0.6) * cavity.a
        vc = cavity.vc + cavity.b * math.sqrt(1.0 - (uc / cavity.a) ** 2) - rv - rng.uniform(3, 7)
        angle = side * rng.uniform(0.35, 0.6)  # hilum turned anteromedially
        c, s = math.cos(angle), math.sin(angle)
        axes = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
        half_len = rng.uniform(48.0, 58.0)
        centre = np.array([uc, vc, t_centre * height])
        shape = _Ellipsoid(centre, axes, np.array([ru, rv, half_len]))
        sinus_centre = centre - side * 0.55 * ru * axes[0]
        sinus = _Ellipsoid(sinus_centre, axes, np.array([0.45 * ru, 0.35 * rv, 0.55 * half_len]))
        kidneys.append(_Kidney(shape, rng.uniform(5.0, 7.0), sinus))
    return tuple(kidneys)


def _sample_anatomy(rng: np.random.Generator, grid: _Grid, body: _Body) -> _Anatomy:
    height = grid.height
    cav = body.cavity(0.5)
    a, b, vc = cav.a, cav.b, cav.vc
    t0 = rng.uniform(0.1, 0.2)
    t1 = rng.uniform(0.82, 0.9)
    t_dome = min(t1 + rng.uniform(0.015, 0.035), 0.97)
    diaphragm = _Diaphragm(
        t_lung=t1 - rng.uniform(0.22, 0.3) * (t1 - t0),
        t_dome=t_dome,
        full=_Ellipse(-0.15 * a, vc - 0.3 * b, 1.45 * a, 1.75 * b),
    )
    t_heart = diaphragm.t_lung + rng.uniform(0.3, 0.45) * (t_dome - diaphragm.t_lung)
    spine = _sample_spine(rng, body)
    vb_front = spine.vc - spine.rv
    r_ao, r_ivc = rng.uniform(10.0, 13.0), (rng.uniform(11.0, 14.0), rng.uniform(8.0, 11.0))
    ivc_low = (-(0.75 * spine.ru + r_ivc[0]), vb_front - r_ivc[1] - rng.uniform(2.0, 6.0))
    aorta = _Vessel(
        low=(0.45 * spine.ru, vb_front - r_ao - rng.uniform(1.0, 4.0)),
        high=(spine.ru + r_ao - 4.0, spine.vc - 0.2 * spine.rv),
        blend=(diaphragm.t_lung - 0.05, t_dome),
        radii=(r_ao, r_ao * rng.uniform(0.92, 1.0)),
        wobble=(_wave(rng, 0.0, 2.0), _wave(rng, 0.0, 2.0)),
        t_top=2.0,
    )
    ivc = _Vessel(
        low=ivc_low,
        high=(ivc_low[0] - 4.0, ivc_low[1] - rng.uniform(8.0, 14.0)),
        blend=(t0 + 0.45 * (t1 - t0), t0 + 0.7 * (t1 - t0)),
        radii=r_ivc,
        wobble=(_wave(rng, 0.0, 2.0), _wave(rng, 0.0, 2.0)),
        t_top=t_dome,
    )
    liver = _sample_liver(rng, cav, t0, t1)
    spleen_lo = rng.uniform(0.35, 0.5)
    spleen = _lobe(
        rng,
        (spleen_lo, spleen_lo + rng.uniform(0.4, 0.6) * (t_dome - spleen_lo), t_dome),
        (rng.uniform(0.58, 0.68) * a, vc + rng.uniform(0.2, 0.4) * b),
        (rng.uniform(0.18, 0.24) * a, rng.uniform(0.4, 0.5) * b),
        angle=rng.uniform(0.4, 0.7),
        drift_mm=4.0,
        roughness=0.07,
    )
    stomach_lo = rng.uniform(0.42, 0.52)
    stomach = _lobe(
        rng,
        (stomach_lo, stomach_lo + rng.uniform(0.5, 0.7) * (t_dome - stomach_lo), t_dome),
        (rng.uniform(0.25, 0.38) * a, vc - rng.uniform(0.15, 0.3) * b),
        (rng.uniform(0.24, 0.32) * a, rng.uniform(0.3, 0.4) * b),
        angle=rng.uniform(-0.4, 0.2),
        drift_mm=6.0,
        roughness=0.1,
    )
    heart = _lobe(
        rng,
        (t_heart, t_heart + 0.3, t_heart + 0.6),
        (rng.uniform(0.15, 0.3) * a, vc - rng.uniform(0.3, 0.4) * b),
        (rng.uniform(0.42, 0.52) * a, rng.uniform(0.55, 0.65) * b),
        angle=rng.uniform(0.3, 0.6),
        gamma=0.35,
        drift_mm=3.0,
        roughness=0.05,
    )
    right = liver[0]
    gb_t = t0 + rng.uniform(0.2, 0.35) * (t1 - t0)
    ru_gb = right.centre(gb_t)[0]
    gallbladder = _Ellipsoid(
        np.array(
            [
                0.5 * ru_gb + rng.uniform(-8.0, 8.0),
                vc - rng.uniform(0.35, 0.5) * b,
                gb_t * height,
            ]
        ),
        _axes_along(np.array([rng.uniform(-0.4, 0.2), -1.0, rng.uniform(0.2, 0.8)])),
        np.array([rng.uniform(30.0, 42.0), rng.uniform(12.0, 17.0), rng.uniform(10.0, 15.0)]),
    )
    return _Anatomy(
        body=body,
        diaphragm=diaphragm,
        liver_t=(t0, t1),
        liver_lobes=liver,
        spleen=spleen,
        stomach=stomach,
        stomach_wall=rng.uniform(3.0, 5.0),
        stomach_gas=rng.uniform(0.15, 0.5),
        heart=heart,
        loops=_sample_loops(rng, cav, height, stomach_lo + 0.1),
        gallbladder=gallbladder,
        kidneys=_sample_kidneys(rng, cav, height),
        psoas_top=rng.uniform(0.4, 0.5),
        spine=spine,
        ribs=_sample_ribs(rng, spine, height),
        aorta=aorta,
        ivc=ivc,
    )


# --------------------------------------------------------------------------------------------
# Painting one axial slice (later structures overwrite earlier ones)
# --------------------------------------------------------------------------------------------


@dataclass
class _Slice:
    grid: _Grid
    t: float
    z: float
    tissue: np.ndarray  # (rows, cols) view into the volume
    cavity: np.ndarray  # bool (rows, cols): inside the muscle wall
    abdomen: np.ndarray  # bool (rows, cols): cavity below the diaphragm

    def paint(
        self,
        win: tuple[slice, slice],
        mask: np.ndarray,
        tid: int,
        *,
        onto: tuple[int, ...] | None = None,
        exclude: tuple[int, ...] | None = None,
        within: np.ndarray | None = None,
    ) -> None:
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
        ell: _Ellipse,
        tid: int,
        *,
        onto: tuple[int, ...] | None = None,
        within: np.ndarray | None = None,
    ) -> None:
        win, V, U = self.grid.window(ell.uc, ell.vc, ell.radius, ell.radius)
        self.paint(win, ell.mask(U, V), tid, onto=onto, within=within)


def _paint_body(s: _Slice, anat: _Anatomy) -> None:
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


def _paint_loop(s: _Slice, loop: _Loop, onto: tuple[int, ...]) -> None:
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


def _paint_bowel(s: _Slice, loops: tuple[_Loop, ...]) -> None:
    for loop in loops:
        _paint_loop(s, loop, onto=(Tissue.VISCERAL_FAT,))


def _paint_stomach(s: _Slice, anat: _Anatomy) -> None:
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


def _paint_heart(s: _Slice, heart: _Lobe) -> None:
    outer = heart.region(s.grid, s.t)
    if outer is None:
        return
    win, mask = outer
    s.paint(win, mask, Tissue.MYOCARDIUM, onto=(Tissue.LUNG,))
    inner = heart.region(s.grid, s.t, inset=9.0)
    if inner is not None:
        s.paint(win, inner[1], Tissue.BLOOD_POOL, onto=(Tissue.MYOCARDIUM,))


def _paint_liver(s: _Slice, anat: _Anatomy) -> None:
    for lobe in anat.liver_lobes:
        region = lobe.region(s.grid, s.t)
        if region is not None:
            s.paint(region[0], region[1], Tissue.LIVER, within=s.abdomen)


def _paint_gallbladder(s: _Slice, gb: _Ellipsoid) -> None:
    cut = gb.section(s.grid, s.z)
    if cut is not None:
        onto = (Tissue.LIVER, *_SOFT_FILL)
        s.paint(cut[0], cut[2], Tissue.GALLBLADDER, onto=onto, within=s.abdomen)


def _paint_spleen(s: _Slice, spleen: _Lobe) -> None:
    region = spleen.region(s.grid, s.t)
    if region is not None:
        s.paint(region[0], region[1], Tissue.SPLEEN, within=s.abdomen, exclude=(Tissue.LIVER,))


def _paint_psoas(s: _Slice, anat: _Anatomy) -> None:
    if s.t >= anat.psoas_top:
        return
    sp = anat.spine
    grow = 1.0 - s.t / anat.psoas_top
    r = 6.0 + 16.0 * grow
    for side in (-1, 1):
        ell = _Ellipse(
            sp.uc(s.t) + side * (sp.ru + 0.7 * r), sp.vc - 0.3 * sp.rv, r, 0.85 * r, 0.3 * side
        )
        s.paint_ellipse(ell, Tissue.MUSCLE, onto=_SOFT_FILL, within=s.cavity)


def _paint_kidneys(s: _Slice, kidneys: tuple[_Kidney, ...]) -> None:
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
            kid = (Tissue.KIDNEY_CORTEX, Tissue.KIDNEY_MEDULLA)
            s.paint(sinus[0], sinus[2], Tissue.VISCERAL_FAT, onto=kid)


def _paint_great_vessels(s: _Slice, anat: _Anatomy) -> None:
    for vessel, tid in ((anat.ivc, Tissue.IVC), (anat.aorta, Tissue.AORTA)):
        ell = vessel.at(s.t)
        if ell is not None:
            s.paint_ellipse(ell, tid, within=s.cavity)


def _paint_bone(s: _Slice, win: tuple[slice, slice], outer: np.ndarray, inner: np.ndarray) -> None:
    s.paint(win, outer, Tissue.CORTICAL_BONE)
    s.paint(win, inner & outer, Tissue.SPONGY_BONE)


def _paint_spine(s: _Slice, sp: _Spine) -> None:
    """Vertebral body or disc, spinal canal, neural arch with spinous/transverse processes."""
    uc = sp.uc(s.t)
    level = (s.z - sp.phase) % sp.period
    win, V, U = s.grid.window(uc, sp.vc + 40.0, 70.0, 75.0)
    body = _Ellipse(uc, sp.vc, sp.ru, sp.rv)
    if level < sp.disc:
        s.paint(win, body.mask(U, V), Tissue.DISC)
    else:
        _paint_bone(s, win, body.mask(U, V), body.mask(U, V, sp.cortex))
    canal_v = sp.vc + sp.rv + sp.canal[1] + 1.0
    canal = _Ellipse(uc, canal_v, *sp.canal)
    in_vertebra = (level - sp.disc) / (sp.period - sp.disc)
    if 0.05 < in_vertebra < 0.85:
        ring = _Ellipse(uc, canal_v, sp.canal[0] + sp.arch, sp.canal[1] + sp.arch)
        behind = canal_v - 0.6 * sp.canal[1] <= V
        _paint_bone(s, win, ring.mask(U, V) & behind, ring.mask(U, V, sp.cortex) & behind)
    if 0.25 < in_vertebra < 0.75:
        back = canal_v + sp.canal[1] + sp.arch
        spinous = _Ellipse(uc, back + sp.spinous / 2.0 - 4.0, 4.0, sp.spinous / 2.0)
        _paint_bone(s, win, spinous.mask(U, V), spinous.mask(U, V, sp.cortex))
        for side in (-1, 1):
            half = sp.transverse / 2.0
            proc = _Ellipse(
                uc + side * (sp.canal[0] + sp.arch + half - 6.0),
                canal_v - 2.0,
                half,
                4.5,
                -0.25 * side,
            )
            _paint_bone(s, win, proc.mask(U, V), proc.mask(U, V, sp.cortex))
    s.paint(win, canal.mask(U, V), Tissue.CSF)


def _paint_ribs(s: _Slice, body: _Body, ribs: tuple[_Rib, ...]) -> None:
    """Oblique rib cuts in the wall just outside the cavity (cortical rim, spongy core)."""
    live = [
        r
        for r in ribs
        if r.z_attach + r.half_h >= s.z
        and r.z_attach - r.slope * 250.0 * (r.phi1 - r.phi0) - r.half_h <= s.z
    ]
    if not live:
        return
    cav = body.cavity(s.t)
    U, V = s.grid.u[None, :], s.grid.v[:, None]
    du, dv = U - cav.uc, V - cav.vc
    rho = np.sqrt((du / cav.a) ** 2 + (dv / cav.b) ** 2)
    reach = max(r.depth + r.half_t for r in live)
    rows, cols = np.nonzero((rho > 0.97) & (rho < 1.0 + 1.3 * reach / min(cav.a, cav.b)))
    du, dv, rho = du[0, cols], dv[rows, 0], rho[rows, cols]
    grad = np.sqrt(du**2 / cav.a**4 + dv**2 / cav.b**4)
    dist = (rho - 1.0) * rho / np.maximum(grad, 1e-9)  # approximate mm outside the cavity
    phi = np.arctan2(np.abs(du), dv)  # 0 at the posterior midline, pi at the anterior one
    arc = 0.5 * (cav.a + cav.b)
    outer = np.zeros(rows.shape, dtype=bool)
    inner = np.zeros(rows.shape, dtype=bool)
    for r in live:
        on = (np.sign(du) == r.side) & (phi >= r.phi0) & (phi <= r.phi1)
        zc = r.z_attach - r.slope * arc * (phi - r.phi0)
        q_out = ((dist - r.depth) / r.half_t) ** 2 + ((s.z - zc) / r.half_h) ** 2
        core_t, core_h = r.half_t - 1.5, r.half_h - 1.5
        q_in = ((dist - r.depth) / core_t) ** 2 + ((s.z - zc) / core_h) ** 2
        outer |= on & (q_out <= 1.0)
        inner |= on & (q_in <= 1.0)
    s.tissue[rows[outer], cols[outer]] = Tissue.CORTICAL_BONE
    s.tissue[rows[inner], cols[inner]] = Tissue.SPONGY_BONE


def _paint_slice(s: _Slice, anat: _Anatomy) -> None:
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


# --------------------------------------------------------------------------------------------
# 3-D structures painted after the slices: vessel trees inside the liver, tumours
# --------------------------------------------------------------------------------------------


def _branch_points(
    rng: np.random.Generator, p0: np.ndarray, p2: np.ndarray, r0: float, r1: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gently curved tube (quadratic Bezier) sampled every ~1 mm, radius tapering r0 -> r1."""
    length = float(np.linalg.norm(p2 - p0))
    p1 = (p0 + p2) / 2.0 + rng.normal(0.0, 0.12 * length, 3)
    s = np.linspace(0.0, 1.0, max(2, int(length) + 2))[:, None]
    points = (1 - s) ** 2 * p0 + 2 * s * (1 - s) * p1 + s**2 * p2
    return points, r0 + (r1 - r0) * s[:, 0]


def _vessel_tree(
    rng: np.random.Generator,
    p0: np.ndarray,
    p2: np.ndarray,
    r0: float,
    r1: float,
    depth: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    points, radii = _branch_points(rng, p0, p2, r0, r1)
    tubes = [(points, radii)]
    if depth <= 0:
        return tubes
    main = (p2 - p0) / max(float(np.linalg.norm(p2 - p0)), 1e-6)
    length = float(np.linalg.norm(p2 - p0))
    for _ in range(2):
        i = int(rng.uniform(0.35, 0.85) * (len(points) - 1))
        direction = main + rng.normal(0.0, 0.8, 3)
        direction /= np.linalg.norm(direction)
        end = points[i] + direction * length * rng.uniform(0.4, 0.6)
        r_start = max(1.5, 0.7 * radii[i])
        tubes += _vessel_tree(rng, points[i], end, r_start, max(1.2, 0.5 * r_start), depth - 1)
    return tubes


def _liver_vessels(
    rng: np.random.Generator, anat: _Anatomy, height: float
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]]]:
    """Portal vein (enters at the hilum, branches right and left) and three hepatic veins."""
    t0, t1 = anat.liver_t
    right, left = anat.liver_lobes

    def at(s: float) -> float:
        return (t0 + s * (t1 - t0)) * height

    s_hilum = rng.uniform(0.4, 0.5)
    ivc = anat.ivc.at(t0 + s_hilum * (t1 - t0)) or anat.ivc.at(0.0)
    if ivc is None:
        raise RuntimeError("IVC missing at the liver hilum")
    ru_c, rv_c = right.centre(t0 + 0.55 * (t1 - t0))
    lu_c, lv_c = left.centre(t0 + 0.75 * (t1 - t0))
    hilum = np.array([0.4 * ru_c + 0.6 * ivc.uc, ivc.vc - rng.uniform(18.0, 28.0), at(s_hilum)])
    entry = hilum + np.array([rng.uniform(6.0, 14.0), rng.uniform(0.0, 8.0), -25.0])
    portal = _vessel_tree(rng, entry, hilum, rng.uniform(6.5, 8.0), 6.0, 0)
    portal += _vessel_tree(
        rng,
        hilum,
        np.array([ru_c - 0.3 * right.ru, rv_c + rng.uniform(-10, 10), at(rng.uniform(0.45, 0.6))]),
        5.5,
        3.0,
        2,
    )
    portal += _vessel_tree(
        rng,
        hilum,
        np.array([lu_c + 0.2 * left.ru, lv_c, at(rng.uniform(0.65, 0.75))]),
        4.5,
        2.5,
        1,
    )
    top = anat.ivc.at(t0 + 0.85 * (t1 - t0)) or ivc
    confluence = np.array([top.uc, top.vc - 4.0, at(0.85)])
    ends = [
        (ru_c - 0.35 * right.ru, rv_c + 0.2 * right.rv, at(rng.uniform(0.45, 0.55))),
        (0.5 * (ru_c + lu_c), rv_c - 0.5 * right.rv, at(rng.uniform(0.45, 0.55))),
        (lu_c + 0.3 * left.ru, lv_c, at(rng.uniform(0.65, 0.75))),
    ]
    hepatic: list[tuple[np.ndarray, np.ndarray]] = []
    for end in ends:
        hepatic += _vessel_tree(rng, confluence, np.array(end), rng.uniform(5.0, 6.5), 2.5, 1)
    return portal, hepatic


def _paint_tube(
    tissue: np.ndarray,
    grid: _Grid,
    tube: tuple[np.ndarray, np.ndarray],
    tid: int,
    onto: int,
) -> None:
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
            view[((U - u) ** 2 + (V - v) ** 2 <= rr2) & (view == onto)] = tid


def sample_tumour_diameters(rng: np.random.Generator, n: int) -> np.ndarray:
    """Tumour diameters (mm): log-normal around a 20 mm median, clipped to [5, 80] mm."""
    d = rng.lognormal(math.log(TUMOUR_MEDIAN_DIAMETER_MM), TUMOUR_LOG_SIGMA, n)
    return np.clip(d, *TUMOUR_DIAMETER_RANGE_MM)


def _tumour_centres(
    rng: np.random.Generator, liver: np.ndarray, grid: _Grid, diameters: np.ndarray
) -> list[tuple[int, int, int]]:
    """Centre voxels in the liver, deep enough for each tumour to sit inside, kept apart."""
    f = max(1, round(2.5 / grid.px))
    coarse = liver[:, f // 2 :: f, f // 2 :: f]
    depth = ndimage.distance_transform_edt(coarse, sampling=(grid.thk, f * grid.px, f * grid.px))
    deepest = float(depth.max())
    centres: list[tuple[int, int, int]] = []
    placed: list[tuple[np.ndarray, float]] = []  # centre (mm) and diameter of earlier tumours
    for d in diameters:
        candidates = np.argwhere(depth >= min(0.8 * d / 2.0, 0.85 * deepest))
        voxels = candidates * [1, f, f] + [0, f // 2, f // 2]
        pool = voxels
        if placed:
            mm = voxels * [grid.thk, grid.px, grid.px]
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
        placed.append((np.array([k * grid.thk, i * grid.px, j * grid.px]), float(d)))
    return centres


def _paint_tumour(
    rng: np.random.Generator,
    tissue: np.ndarray,
    offset: np.ndarray,
    grid: _Grid,
    centre: tuple[int, int, int],
    diameter: float,
) -> float:
    """Lobulated ellipsoid, darker towards a necrotic-looking core; returns its mean contrast.

    Only liver voxels turn into tumour, so a tumour never leaves the liver; its centre voxel
    (a liver voxel by construction) always does, so no tumour vanishes between slices.
    """
    r = diameter / 2.0
    semi = r * rng.uniform(0.8, 1.2, 3)
    semi *= r / np.prod(semi) ** (1.0 / 3.0)
    rot = _rotation(rng)
    reach = float(semi.max()) * 1.2
    k, i, j = centre
    zc, vc, uc = grid.z[k], grid.v[i], grid.u[j]
    ks = grid.slice_range(zc, reach)
    (rs, cs), V, U = grid.window(uc, vc, reach, reach)
    Z = grid.z[ks.start : ks.stop, None, None] - zc
    X = np.stack(np.broadcast_arrays(U[None] - uc, V[None] - vc, Z))  # (3, z, v, u) in mm
    local = np.tensordot(rot, X, axes=1) / semi[:, None, None, None]
    rho = np.sqrt(np.sum(local**2, axis=0))
    unit = local / np.maximum(rho, 1e-6)
    lobes = np.zeros_like(rho)
    for _ in range(3):
        axis = _rotation(rng)[0] * rng.integers(1, 4)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        lobes += rng.uniform(0.03, 0.06) * np.cos(np.tensordot(axis, unit, axes=1) + phase)
    inside = rho <= 1.0 + lobes
    inside[k - ks.start, i - rs.start, j - cs.start] = True
    # Hypodensity: edge + core * (1 - rho^2) lies in [29, 49] HU, the sphere mean in [31, 41];
    # a plane wave (zero mean over the tumour) makes the inside uneven.
    edge = rng.uniform(29.0, 35.0)
    core = rng.uniform(5.0, 14.0)
    box = (slice(ks.start, ks.stop), rs, cs)
    view = tissue[box]
    paint = inside & np.isin(view, LIVER_TISSUES)
    if not paint.any():  # only if the centre fell inside an earlier tumour
        return float("nan")
    wave = _rotation(rng)[0] * rng.uniform(1.5, 3.0) / r
    uneven = np.sin(np.tensordot(wave, X, axes=1)[paint] + rng.uniform(0.0, 2.0 * np.pi))
    uneven = rng.uniform(2.0, 4.0) * (uneven - uneven.mean())
    delta = edge + core * np.clip(1.0 - rho[paint] ** 2, 0.0, 1.0) + uneven
    view[paint] = Tissue.TUMOUR
    offset[box][paint] = -delta
    return float(delta.mean())


# --------------------------------------------------------------------------------------------
# Intensities
# --------------------------------------------------------------------------------------------


def _texture(rng: np.random.Generator, shape: tuple[int, ...], px: float, thk: float) -> np.ndarray:
    """Unit-variance, spatially correlated 3-D noise (grain of about 1 mm)."""
    field = rng.standard_normal(shape, dtype=np.float32)
    sigma = (max(0.3, 1.0 / thk), max(0.6, 1.0 / px), max(0.6, 1.0 / px))
    field = ndimage.gaussian_filter(field, sigma, truncate=3.0, output=np.float32)
    field /= np.float32(field.ravel()[::101].std())
    return field


def _tissue_tables(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-volume base HU (inside the design range) and texture SD for every tissue."""
    base = np.zeros(len(Tissue), dtype=np.float32)
    for name, (lo, hi) in TISSUE_HU.items():
        base[TISSUE_IDS[name]] = lo + (hi - lo) * rng.uniform(0.2, 0.8)
    base[Tissue.AIR] = base[Tissue.BOWEL_GAS] = -1000.0
    soft = rng.uniform(11.0, 17.0)
    sd = np.full(len(Tissue), soft, dtype=np.float32)
    sd[[Tissue.AIR, Tissue.BOWEL_GAS]] = 0.0
    sd[Tissue.LUNG] = 1.5 * soft
    sd[Tissue.SPONGY_BONE] = 1.5 * soft
    sd[Tissue.CORTICAL_BONE] = 4.0 * soft
    return base, sd


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _make_grid(rng: np.random.Generator, spec: PhantomSpec, body: _Body) -> tuple[_Grid, float]:
    """FOV drawn from the spec's range, wide enough to hold the body with a margin."""
    lo, hi = spec.fov_mm
    fov = rng.uniform(max(lo, min(hi, 2.0 * body.a * 1.02 + 30.0)), hi)
    px = fov / spec.size
    centres = (np.arange(spec.size) + 0.5) * px - fov / 2.0
    slack = max(0.0, (fov - 2.0 * body.a * 1.02) / 2.0 - 15.0)
    du, dv = rng.uniform(-1.0, 1.0, 2) * min(10.0, slack)
    z = (np.arange(spec.n_slices) + 0.5) * spec.slice_thickness_mm
    return _Grid(u=centres - du, v=centres - dv, z=z, px=px, thk=spec.slice_thickness_mm), fov


def generate_volume(seed: int, spec: PhantomSpec = DEFAULT_SPEC) -> PhantomVolume:
    """Draw one LiTS-like portal-venous abdominal volume, deterministic in ``seed``."""
    if spec.size < 64 or spec.n_slices < 8:
        raise ValueError(f"phantom too small to hold the anatomy: {spec}")
    if not 0.0 < spec.fov_mm[0] <= spec.fov_mm[1]:
        raise ValueError(f"fov_mm must be (smallest, largest), got {spec.fov_mm}")
    rng = np.random.default_rng(seed)
    body = _sample_body(rng, spec.fov_mm[1])
    grid, fov = _make_grid(rng, spec, body)
    anat = _sample_anatomy(rng, grid, body)

    shape = (spec.n_slices, spec.size, spec.size)
    tissue = np.zeros(shape, dtype=np.uint8)
    cavity = np.zeros(shape[1:], dtype=bool)
    abdomen = np.zeros(shape[1:], dtype=bool)
    for k, z in enumerate(grid.z):
        t = (k + 0.5) / spec.n_slices
        _paint_slice(_Slice(grid, t, float(z), tissue[k], cavity, abdomen), anat)

    portal, hepatic = _liver_vessels(rng, anat, grid.height)
    for tube in hepatic:
        _paint_tube(tissue, grid, tube, Tissue.HEPATIC_VEIN, onto=Tissue.LIVER)
    for tube in portal:
        _paint_tube(tissue, grid, tube, Tissue.PORTAL_VEIN, onto=Tissue.LIVER)

    offset = np.zeros(shape, dtype=np.float32)
    diameters = sample_tumour_diameters(rng, int(rng.integers(1, 4)))
    centres = _tumour_centres(rng, np.isin(tissue, LIVER_TISSUES), grid, diameters)
    contrasts = [
        _paint_tumour(rng, tissue, offset, grid, c, float(d))
        for c, d in zip(centres, diameters, strict=True)
    ]

    base, sd = _tissue_tables(rng)
    base[Tissue.TUMOUR] = base[Tissue.LIVER]  # tumour HU = liver HU + (negative) offset
    hu = base[tissue]
    hu += offset
    hu += _texture(rng, shape, grid.px, grid.thk) * sd[tissue]

    label_of = np.zeros(len(Tissue), dtype=np.uint8)
    label_of[list(LIVER_TISSUES)] = 1
    label_of[Tissue.TUMOUR] = 2
    scales = [1.0 + body.scale((k + 0.5) / spec.n_slices) for k in range(spec.n_slices)]
    return PhantomVolume(
        hu=hu,
        labels=label_of[tissue],
        tissue=tissue,
        spacing_mm=(grid.px, grid.px, grid.thk),
        tumour_diameters_mm=[float(d) for d in diameters],
        tumour_centres_vox=centres,
        tumour_contrasts_hu=[float(c) for c in contrasts],
        fov_mm=float(fov),
        body_width_mm=float(2.0 * body.a * max(scales)),
        body_depth_mm=float(2.0 * body.b * max(scales)),
        liver_hu=float(base[Tissue.LIVER]),
        seed=int(seed),
    )


def hu_to_int16(hu: np.ndarray) -> np.ndarray:
    """HU as stored in LiTS files: rounded int16 in [-1024, 3071]."""
    return np.clip(np.rint(hu), *HU_INT16_RANGE).astype(np.int16)


def lits_affine(spacing_mm: tuple[float, float, float], shape: tuple[int, ...]) -> np.ndarray:
    """Diagonal RAS+ affine for a (Z, rows, cols) radiological stack, centred in-plane."""
    row, col, thk = spacing_mm
    _, n_rows, n_cols = shape
    affine = np.diag([col, row, thk, 1.0])
    affine[:3, 3] = [-(n_cols - 1) * col / 2.0, -(n_rows - 1) * row / 2.0, 0.0]
    return affine


def _nifti_bytes(slices: np.ndarray, affine: np.ndarray) -> bytes:
    img = nib.Nifti1Image(radiological_to_ras(slices), affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return img.to_bytes()


def write_lits_pair(volume: PhantomVolume, out_dir: Path, volume_id: int) -> tuple[Path, Path]:
    """Write ``volume-{id}.nii`` (int16 HU) and ``segmentation-{id}.nii`` (uint8), atomically.

    Both share a diagonal RAS+ affine, so a reader that applies ``as_closest_canonical`` and
    ``ras_to_radiological`` gets the generated slices back exactly.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    affine = lits_affine(volume.spacing_mm, volume.hu.shape)
    vol_path = out_dir / f"volume-{volume_id}.nii"
    seg_path = out_dir / f"segmentation-{volume_id}.nii"
    with atomic_path(vol_path) as tmp:
        tmp.write_bytes(_nifti_bytes(hu_to_int16(volume.hu), affine))
    with atomic_path(seg_path) as tmp:
        tmp.write_bytes(_nifti_bytes(volume.labels.astype(np.uint8), affine))
    return vol_path, seg_path
