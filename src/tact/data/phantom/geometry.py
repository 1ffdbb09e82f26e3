"""Geometric building blocks of the phantom: smooth waves, the voxel grid, ellipses, lobes.

Coordinates as in the package docstring: ``u`` (mm, towards the patient's left, with the
column index), ``v`` (mm, towards posterior, with the row index), ``z`` (mm from the lowest
slice centre) and the normalised height ``t`` in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from tact.data.phantom.ranges import WAVES

Window = tuple[slice, slice]  # (rows, cols) index window of a slice


@dataclass(frozen=True, eq=False)
class Wave:
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
        """Largest absolute value the wave can take (bounds the search windows)."""
        return abs(self.offset) + float(np.sum(np.abs(self.amps)))


def wave(rng: np.random.Generator, offset: float, amplitude: float, n_terms: int = 2) -> Wave:
    """Draw a wave around ``offset`` whose sines add up to about ``amplitude``."""
    return Wave(
        offset=offset,
        amps=amplitude * rng.uniform(*WAVES.amplitude_fraction, n_terms) / math.sqrt(n_terms),
        freqs=rng.uniform(*WAVES.cycles, n_terms),
        phases=rng.uniform(*WAVES.phase_rad, n_terms),
    )


@dataclass(frozen=True)
class Grid:
    """Voxel centres: u (columns) and v (rows) in mm from the body centre, z in mm."""

    u: np.ndarray
    v: np.ndarray
    z: np.ndarray
    pixel_mm: float
    thickness_mm: float

    @property
    def height(self) -> float:
        return self.thickness_mm * len(self.z)

    def window(
        self, centre_u: float, centre_v: float, reach_u: float, reach_v: float
    ) -> tuple[Window, np.ndarray, np.ndarray]:
        """Index window around a centre and its open coordinate grids (V column, U row).

        Why: structures are small against a 512 x 512 slice; painting only their window keeps
        the generator fast.
        """
        c0 = int(np.searchsorted(self.u, centre_u - reach_u))
        c1 = int(np.searchsorted(self.u, centre_u + reach_u, side="right"))
        r0 = int(np.searchsorted(self.v, centre_v - reach_v))
        r1 = int(np.searchsorted(self.v, centre_v + reach_v, side="right"))
        return (slice(r0, r1), slice(c0, c1)), self.v[r0:r1, None], self.u[None, c0:c1]

    def slice_range(self, centre_z: float, half: float) -> range:
        """Indices of the slices whose centres lie within ``half`` mm of ``centre_z``."""
        k0 = int(np.searchsorted(self.z, centre_z - half))
        k1 = int(np.searchsorted(self.z, centre_z + half, side="right"))
        return range(k0, k1)


@dataclass(frozen=True)
class Ellipse:
    """In-plane ellipse; ``semi_u`` is the semi-axis along u before rotation by ``angle``."""

    centre_u: float
    centre_v: float
    semi_u: float
    semi_v: float
    angle: float = 0.0

    @property
    def radius(self) -> float:
        return max(self.semi_u, self.semi_v)

    def mask(self, U: np.ndarray, V: np.ndarray, inset: float = 0.0) -> np.ndarray:
        """Points inside the ellipse shrunk by ``inset`` mm (a wall's inner boundary)."""
        semi_u, semi_v = self.semi_u - inset, self.semi_v - inset
        if semi_u <= 0.0 or semi_v <= 0.0:
            return np.zeros(np.broadcast_shapes(U.shape, V.shape), dtype=bool)
        du, dv = U - self.centre_u, V - self.centre_v
        if self.angle:
            c, s = math.cos(self.angle), math.sin(self.angle)
            du, dv = c * du + s * dv, -s * du + c * dv
        return (du / semi_u) ** 2 + (dv / semi_v) ** 2 <= 1.0

    def scaled(self, factor: float) -> Ellipse:
        return replace(self, semi_u=self.semi_u * factor, semi_v=self.semi_v * factor)


@dataclass(frozen=True)
class Ellipsoid:
    """3-D ellipsoid in (u, v, z) mm: centre, orthonormal axes (rows) and semi-axes."""

    centre: np.ndarray  # (3,)
    axes: np.ndarray  # (3, 3)
    semi: np.ndarray  # (3,)

    def section(
        self, grid: Grid, z: float, inset: float = 0.0, bound: float | None = None
    ) -> tuple[Window, np.ndarray, np.ndarray] | None:
        """Window, V grid and in-plane mask of the cut at height z (None if the slice misses)."""
        semi = self.semi - inset
        reach = float(semi.max()) if bound is None else bound
        dz = z - self.centre[2]
        if np.any(semi <= 0.0) or abs(dz) > reach:
            return None
        win, V, U = grid.window(self.centre[0], self.centre[1], reach, reach)
        du, dv = U - self.centre[0], V - self.centre[1]
        q = np.zeros(np.broadcast_shapes(du.shape, dv.shape))
        for axis, s in zip(self.axes, semi, strict=True):
            q = q + ((du * axis[0] + dv * axis[1] + dz * axis[2]) / s) ** 2
        return win, V, q <= 1.0


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly random 3-D rotation matrix (QR of a gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))


def axes_along(direction: np.ndarray) -> np.ndarray:
    """Orthonormal axes whose first row is ``direction``."""
    d = direction / np.linalg.norm(direction)
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(d, helper)
    e1 /= np.linalg.norm(e1)
    return np.stack([d, e1, np.cross(d, e1)])


def smoothstep(x: float, lo: float, hi: float) -> float:
    """0 below ``lo``, 1 above ``hi``, a smooth S-curve between (for gradual blends)."""
    s = min(1.0, max(0.0, (x - lo) / (hi - lo)))
    return s * s * (3.0 - 2.0 * s)


@dataclass(frozen=True, eq=False)
class Lobe:
    """Star-shaped organ: radius is a low-order Fourier series whose coefficients drift in t.

    The size follows an envelope over [t_lo, t_hi] with its maximum at t_peak, so the organ
    grows and shrinks smoothly from slice to slice (rounded ends, dome on top).
    """

    t_lo: float
    t_peak: float
    t_hi: float
    gamma: float
    centre_u: float
    centre_v: float
    radius_u: float
    radius_v: float
    angle: float
    drift: tuple[Wave, Wave]  # mm
    low_shift: tuple[float, float]  # extra (u, v) shift at t_lo, fading out by t_peak
    fourier: tuple[tuple[Wave, Wave], ...]  # (cos, sin) coefficient of harmonics 1..K

    def envelope(self, t: float) -> float:
        """Size factor at height t: 0 outside [t_lo, t_hi], 1 at t_peak."""
        if not self.t_lo < t < self.t_hi:
            return 0.0
        w = (self.t_peak - self.t_lo) if t < self.t_peak else (self.t_hi - self.t_peak)
        return max(0.0, 1.0 - ((t - self.t_peak) / w) ** 2) ** self.gamma

    def centre(self, t: float) -> tuple[float, float]:
        low = max(0.0, (self.t_peak - t) / (self.t_peak - self.t_lo))
        return (
            self.centre_u + self.drift[0](t) + self.low_shift[0] * low,
            self.centre_v + self.drift[1](t) + self.low_shift[1] * low,
        )

    def region(self, grid: Grid, t: float, inset: float = 0.0) -> tuple[Window, np.ndarray] | None:
        """Window and mask of the organ's cut at height t, shrunk by ``inset`` mm."""
        env = self.envelope(t)
        if env < 0.03:
            return None
        centre_u, centre_v = self.centre(t)
        radius_u, radius_v = self.radius_u * env, self.radius_v * env
        reach = max(radius_u, radius_v) * (1.0 + sum(c.bound + s.bound for c, s in self.fourier))
        win, V, U = grid.window(centre_u, centre_v, reach, reach)
        du, dv = U - centre_u, V - centre_v
        if self.angle:
            c, s = math.cos(self.angle), math.sin(self.angle)
            du, dv = c * du + s * dv, -s * du + c * dv
        x, y = du / radius_u, dv / radius_v
        theta = np.arctan2(y, x)
        radial = np.ones_like(theta)
        for k, (cos_wave, sin_wave) in enumerate(self.fourier, start=1):
            radial += cos_wave(t) * np.cos(k * theta) + sin_wave(t) * np.sin(k * theta)
        radial = np.maximum(radial, 0.35) - inset / min(radius_u, radius_v)
        return win, np.hypot(x, y) <= radial


def _coefficient(rng: np.random.Generator, roughness: float, k: int) -> Wave:
    """Fourier coefficient of harmonic k: a normal offset that drifts slowly with height."""
    return wave(rng, rng.normal(0.0, roughness / k), WAVES.outline_drift_fraction * roughness / k)


def lobe(
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
) -> Lobe:
    """Draw a lobe's outline: Fourier coefficients of ``roughness`` and centre drift in mm."""
    fourier = tuple(
        (_coefficient(rng, roughness, k), _coefficient(rng, roughness, k))
        for k in range(1, harmonics + 1)
    )
    return Lobe(
        t_lo=t_range[0],
        t_peak=t_range[1],
        t_hi=t_range[2],
        gamma=gamma,
        centre_u=centre[0],
        centre_v=centre[1],
        radius_u=radii[0],
        radius_v=radii[1],
        angle=angle,
        drift=(wave(rng, 0.0, drift_mm), wave(rng, 0.0, drift_mm)),
        low_shift=low_shift,
        fourier=fourier,
    )
