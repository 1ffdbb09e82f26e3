"""Signal-known-exactly lesion images for the model observers (issue 35).

A model observer asks whether a lesion can still be seen in a method's images. It needs pairs
of images that share their anatomy and differ only by a lesion of known shape, place and
contrast, each with its own noise realisations (Vaishnav et al., Med. Phys. 41:071904, 2014,
as the FDA's LCD-CT toolbox builds them). Here the lesion is a disk inside the liver of a real
test slice, added to its full-dose image (the slice's texture is kept: the signal is exactly
the disk), and both images go through the run's own scanner: Poisson noise at the run's dose,
then its FBPs. The disk's edge pixels take the fraction of their area inside it (partial
volume), so the signal does not depend on where the centre falls within a pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import ndimage

from tact.data.units import MU_AIR, MU_MAX, MU_WATER
from tact.errors import TactError
from tact.metrics.observers import (
    Observer,
    ObserverResult,
    Pair,
    auc_interval,
    channelized_hotelling,
    channelized_matched_filter,
)
from tact.physics import Scanner

SUPERSAMPLE = 8  # sub-pixels a side for the disk's partial-volume edge


@dataclass(frozen=True)
class LesionSetting:
    """One lesion of the observer study: its diameter and how far below the liver it lies."""

    diameter_mm: float
    contrast_hu: float  # positive: the lesion is this many HU darker than the liver around it

    @property
    def name(self) -> str:
        return f"{self.diameter_mm:g}mm_{self.contrast_hu:g}HU"


def hu_difference_to_normalised(hu: float) -> float:
    """A difference in HU in the images' units (mu / mu_max; tact.data.units is linear in HU)."""
    return hu * (MU_WATER - MU_AIR) / 1000.0 / MU_MAX


def disk_profile(
    shape: tuple[int, int],
    centre_px: tuple[float, float],
    diameter_mm: float,
    pixel_mm: tuple[float, float],
) -> np.ndarray:
    """The fraction of each pixel's area inside a disk (rows, cols; centre in pixel
    coordinates, the pixel spacing in mm): 1 inside, partial at the edge, exactly 0 outside."""
    profile = np.zeros(shape)
    radius = diameter_mm / 2
    reach = [int(np.ceil(radius / step)) + 1 for step in pixel_mm]
    rows = np.arange(
        max(0, int(centre_px[0]) - reach[0]), min(shape[0], int(centre_px[0]) + reach[0] + 2)
    )
    cols = np.arange(
        max(0, int(centre_px[1]) - reach[1]), min(shape[1], int(centre_px[1]) + reach[1] + 2)
    )
    offsets = (np.arange(SUPERSAMPLE) + 0.5) / SUPERSAMPLE - 0.5
    sub_r = (rows[:, None] + offsets[None, :] - centre_px[0]) * pixel_mm[0]  # (rows, sub)
    sub_c = (cols[:, None] + offsets[None, :] - centre_px[1]) * pixel_mm[1]
    inside = sub_r[:, None, :, None] ** 2 + sub_c[None, :, None, :] ** 2 <= radius**2
    profile[np.ix_(rows, cols)] = inside.mean(axis=(2, 3))
    return profile


def lesion_centre(
    liver: np.ndarray, diameter_mm: float, pixel_mm: tuple[float, float], rng: np.random.Generator
) -> tuple[float, float]:
    """A centre, drawn among the liver's pixels, where the whole disk and one pixel around it
    lie inside the liver: the signal sits on liver texture alone."""
    candidates = np.argwhere(lesion_room(liver, diameter_mm, pixel_mm))
    if len(candidates) == 0:
        raise TactError(f"no place in this slice's liver holds a {diameter_mm:g} mm lesion")
    row, col = candidates[rng.integers(len(candidates))]
    return float(row), float(col)


def lesion_room(liver: np.ndarray, diameter_mm: float, pixel_mm: tuple[float, float]) -> np.ndarray:
    """The centres that keep the disk and one pixel around it inside the liver."""
    radius = diameter_mm / 2
    reach = [int(np.ceil(radius / step)) + 1 for step in pixel_mm]
    y, x = np.ogrid[-reach[0] : reach[0] + 1, -reach[1] : reach[1] + 1]
    footprint = (y * pixel_mm[0]) ** 2 + (x * pixel_mm[1]) ** 2 <= (radius + max(pixel_mm)) ** 2
    return ndimage.binary_erosion(liver, footprint, border_value=0)


def insert_lesion(image: np.ndarray, profile: np.ndarray, contrast_hu: float) -> np.ndarray:
    """The image (mu / mu_max) with the lesion: lower by the contrast times the profile."""
    return (image - hu_difference_to_normalised(contrast_hu) * profile).astype(image.dtype)


def noisy_fbps(
    scanner: Scanner,
    image: np.ndarray,
    count: int,
    rng: np.random.Generator,
    *,
    filters: list[tuple[str, float]],
) -> np.ndarray:
    """``count`` noise realisations of one image through the scanner, each reconstructed with
    every filter: (filters, count, rows, cols). The expected counts are projected once."""
    expected = scanner.expected_counts(image)
    sinograms = []
    for _ in range(count):
        counts = rng.poisson(expected).astype(np.float64) if scanner.protocol.noise else expected
        sinograms.append(scanner.counts_to_sinogram(counts))
    return scanner.fbp_many(np.stack(sinograms), filters)


def patch(images: np.ndarray, centre_px: tuple[float, float], size: int) -> np.ndarray:
    """The ``size`` x ``size`` pixels around the lesion's centre of every image (..., rows,
    cols): what the observer sees."""
    top, left = (round(c) - size // 2 for c in centre_px)
    if top < 0 or left < 0 or top + size > images.shape[-2] or left + size > images.shape[-1]:
        raise TactError(f"a {size} px patch around {centre_px} leaves the image")
    return images[..., top : top + size, left : left + size]


def pair_realisations(
    scanner: Scanner,
    image: np.ndarray,
    profile: np.ndarray,
    contrast_hu: float,
    *,
    count: int,
    seed: int,
    filters: list[tuple[str, float]],
) -> tuple[np.ndarray, np.ndarray]:
    """Lesion-absent and lesion-present realisations of one slice, ``count`` each, every one
    reconstructed with every filter: two (filters, count, rows, cols) stacks. The classes draw
    their noise from streams of their own, so a class's images do not depend on the other's
    count, and a rerun with the same seed gives the same images."""
    present = insert_lesion(image, profile, contrast_hu)
    return tuple(
        noisy_fbps(scanner, im, count, np.random.default_rng([seed, k]), filters=filters)
        for k, im in enumerate((image, present))
    )


def hotelling(channels: np.ndarray, *, noiseless: bool = False) -> Observer:
    """The channelized Hotelling observer on ``channels``. Classes without noise (full dose,
    each site's patches one image) have no noise covariance to whiten; the pseudo-inverse of
    what is left (rounding, or the lesion's differences between sites) would set the template's
    scale and direction: their template is the signal (the channelized matched filter)."""
    chosen = channelized_matched_filter if noiseless else channelized_hotelling
    return partial(chosen, channels=channels)


def detectability(absent: np.ndarray, present: np.ndarray, observer: Observer) -> ObserverResult:
    """``observer`` on patches (n, rows, cols) of each class: its template learnt on the first
    half of the realisations, scored on the second."""
    return observer(*_halves(absent, present))


def detectability_interval(
    absent: np.ndarray, present: np.ndarray, observer: Observer, *, resamples: int, seed: int
) -> tuple[float, float]:
    """The bootstrap 95 % interval of :func:`detectability`'s AUC, the template learnt again
    on every resample (:func:`tact.metrics.observers.auc_interval`)."""
    return auc_interval(*_halves(absent, present), observer, resamples=resamples, seed=seed)


def _halves(absent: np.ndarray, present: np.ndarray) -> tuple[Pair, Pair]:
    """(train, test): the first and the second half of each class's realisations."""
    half = min(len(absent), len(present)) // 2
    return (absent[:half], present[:half]), (absent[half:], present[half:])
