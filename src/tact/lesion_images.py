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

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from tact.data.units import MU_AIR, MU_MAX, MU_WATER
from tact.errors import TactError
from tact.metrics.observers import ObserverResult, channelized_hotelling
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
    candidates = np.argwhere(_room(liver, diameter_mm, pixel_mm))
    if len(candidates) == 0:
        raise TactError(f"no place in this slice's liver holds a {diameter_mm:g} mm lesion")
    row, col = candidates[rng.integers(len(candidates))]
    return float(row), float(col)


def _room(liver: np.ndarray, diameter_mm: float, pixel_mm: tuple[float, float]) -> np.ndarray:
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


def detectability(absent: np.ndarray, present: np.ndarray, channels: np.ndarray) -> ObserverResult:
    """The channelized Hotelling observer on patches (n, rows, cols) of each class: the
    template learnt on the first half of the realisations, scored on the second."""
    half = min(len(absent), len(present)) // 2
    train, test = (absent[:half], present[:half]), (absent[half:], present[half:])
    return channelized_hotelling(train, test, channels)


@dataclass(frozen=True)
class LesionSite:
    """Where one realisation's lesion goes: a slice of the study's stack and a centre in it."""

    slice_index: int
    centre_px: tuple[float, float]


def lesion_sites(
    livers: np.ndarray,
    diameter_mm: float,
    pixel_mm: tuple[float, float],
    *,
    count: int,
    rng: np.random.Generator,
) -> list[LesionSite]:
    """``count`` sites, each on a slice drawn among those whose liver holds the lesion, its
    centre drawn in that liver: the observer sees the anatomy vary as well as the noise."""
    slices = [i for i, liver in enumerate(livers) if _room(liver, diameter_mm, pixel_mm).any()]
    if not slices:
        raise TactError(f"no test slice's liver holds a {diameter_mm:g} mm lesion")
    drawn = rng.choice(slices, count)
    return [LesionSite(int(i), lesion_centre(livers[i], diameter_mm, pixel_mm, rng)) for i in drawn]


def lesion_study(
    scanner: Scanner,
    images: np.ndarray,
    livers: np.ndarray,
    setting: LesionSetting,
    *,
    pixel_mm: tuple[float, float],
    count: int,
    seed: int,
    fbp_reading: tuple[str, float],
    patch_px: int,
    channels: np.ndarray,
    methods: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
) -> dict[str, ObserverResult]:
    """The observer on ``count`` lesion-absent and lesion-present realisations of one lesion
    setting in the full-dose ``images`` (n, rows, cols; their ``livers``): for full dose (no
    noise: the anatomy alone varies), the low-dose Ram-Lak images, the tuned FBP (``fbp_reading``)
    and every method, a function of the low-dose images, as BM3D and the networks take them."""
    rng = np.random.default_rng([seed, 0])
    sites = lesion_sites(livers, setting.diameter_mm, pixel_mm, count=count, rng=rng)
    patches, lowdose = _realisations(
        scanner,
        images,
        sites,
        setting,
        pixel_mm=pixel_mm,
        seed=seed,
        fbp_reading=fbp_reading,
        patch_px=patch_px,
    )
    for name, method in (methods or {}).items():
        patches[name] = tuple(
            np.stack(
                [patch(x, s.centre_px, patch_px) for x, s in zip(method(low), sites, strict=True)]
            )
            for low in lowdose
        )
    return {name: detectability(*pair, channels) for name, pair in patches.items()}


def _realisations(
    scanner: Scanner,
    images: np.ndarray,
    sites: list[LesionSite],
    setting: LesionSetting,
    *,
    pixel_mm: tuple[float, float],
    seed: int,
    fbp_reading: tuple[str, float],
    patch_px: int,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """Each site's two images through the scanner, its own noise stream per class and site:
    the patches of full dose, Ram-Lak and FBP (absent, present), and the whole Ram-Lak images
    (absent, present) for the methods that start from them."""
    kept: dict[str, tuple[list, list]] = {name: ([], []) for name in ("fulldose", "lowdose", "fbp")}
    lowdose: tuple[list, list] = ([], [])
    filters = [("Ram-Lak", 1.0), fbp_reading]
    for i, site in enumerate(sites):
        image = images[site.slice_index]
        profile = disk_profile(image.shape, site.centre_px, setting.diameter_mm, pixel_mm)
        for k, im in enumerate((image, insert_lesion(image, profile, setting.contrast_hu))):
            draws = np.random.default_rng([seed, 1 + k, i])
            ramlak, fbp = noisy_fbps(scanner, im, 1, draws, filters=filters)[:, 0]
            for name, x in (("fulldose", im), ("lowdose", ramlak), ("fbp", fbp)):
                kept[name][k].append(patch(x, site.centre_px, patch_px))
            lowdose[k].append(ramlak)
    patches = {name: (np.stack(a), np.stack(p)) for name, (a, p) in kept.items()}
    return patches, (np.stack(lowdose[0]), np.stack(lowdose[1]))
