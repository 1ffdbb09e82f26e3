"""A run's model-observer study (issue 35): can a low-contrast liver lesion still be detected
in each method's images?

One job makes the lesion images of every setting (``write_lesion_images``): sites drawn in the
livers of the run's test slices, each site's slice with and without a lesion sent through the
run's scanner with noise streams of its own. It keeps the low-dose (Ram-Lak) images whole, as
BM3D and the networks take them, and the patches around the lesion of full dose and the tuned
FBP. A job per method (``observe``) then applies the method to the whole low-dose images, cuts
the same patches and runs the observers, a setting at a time: the study's memory is one
setting's images, whatever the dataset's size. The observers: the channelized Hotelling
observer (CHO), and where the config asks, the non-prewhitening observer with an eye filter
(NPWE), LCD-CT's model of a human reader.

Channel width and patch follow LCD-CT's study (``lcdct.LCD``): channels of width 2/3 of the
lesion's diameter, a square of twice the diameter, both in the config (in diameters).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from tact.errors import ConfigError
from tact.io import add_array, array_file, read_arrays
from tact.lesion_images import (
    LesionSetting,
    detectability,
    detectability_interval,
    disk_profile,
    hotelling,
    insert_lesion,
    lesion_centre,
    lesion_room,
    noisy_fbps,
    patch,
)
from tact.metrics.observers import (
    Observer,
    eye_filter,
    laguerre_gauss_channels,
    non_prewhitening,
)
from tact.physics import Scanner
from tact.roi import fill_outside_roi
from tact.test_sets import GroundTruth

log = logging.getLogger(__name__)

LIVER = 1  # the label a lesion goes in: liver, not an existing tumour
REFERENCES = ("fulldose", "fbp")  # methods whose patches the images job keeps
OBSERVER_COLUMNS = [
    "method",
    "observer",
    "setting",
    "diameter_mm",
    "contrast_hu",
    "realisations",
    "auc",
    "auc_low",
    "auc_high",
    "d_prime",
]


@dataclass(frozen=True)
class ObserverDesign:
    """The study's settings (config ``observers``): the lesion grid, realisations per class
    and setting spread over a few sites, the CHO's channels and the patch in lesion diameters,
    and whether the NPWE observer runs too, with the display its eye filter assumes."""

    settings: tuple[LesionSetting, ...]
    realisations: int  # per class
    sites: int
    n_channels: int
    channel_width: float  # in lesion diameters
    patch: float  # in lesion diameters
    seed: int
    npwe: bool
    display_pixel_mm: float  # an image pixel on the display, for the NPWE's eye filter
    viewing_distance_mm: float

    @classmethod
    def from_config(cls, section: Mapping, seed: int) -> ObserverDesign:
        settings = tuple(
            LesionSetting(float(d), float(c))
            for d in section["diameters_mm"]
            for c in section["contrasts_hu"]
        )
        return cls(
            settings,
            int(section["realisations"]),
            int(section["sites"]),
            int(section["channels"]),
            float(section["channel_width"]),
            float(section["patch"]),
            seed,
            bool(section["npwe"]),
            float(section["display_pixel_mm"]),
            float(section["viewing_distance_mm"]),
        )

    def patch_px(self, setting: LesionSetting, pixel_mm: float) -> int:
        """The observer's square side in pixels: odd, so that it centres on a pixel."""
        return 2 * round(self.patch * setting.diameter_mm / pixel_mm / 2) + 1

    def channels(self, setting: LesionSetting, pixel_mm: float) -> np.ndarray:
        size = self.patch_px(setting, pixel_mm)
        width = self.channel_width * setting.diameter_mm / pixel_mm
        return laguerre_gauss_channels((size, size), self.n_channels, width)

    def observers(
        self, setting: LesionSetting, pixel_mm: float, *, noiseless: bool = False
    ) -> dict[str, Observer]:
        """The observers of a setting by name: the CHO (for a method without noise, its
        matched filter), then the NPWE where asked."""
        chosen = {"CHO": hotelling(self.channels(setting, pixel_mm), noiseless=noiseless)}
        if self.npwe:
            side = self.patch_px(setting, pixel_mm)
            eye = eye_filter(side, self.display_pixel_mm, self.viewing_distance_mm)
            chosen["NPWE"] = partial(non_prewhitening, eye=eye)
        return chosen


@dataclass(frozen=True)
class Site:
    """Where a setting's lesion goes: a test slice (volume, row among its test slices)."""

    volume: int
    row: int


def _rooms(truth: GroundTruth, diameters: list[float]) -> dict[float, list[Site]]:
    """The test slices whose liver holds a lesion of each diameter, read volume by volume
    (label maps only)."""
    rooms: dict[float, list[Site]] = {d: [] for d in diameters}
    for volume in truth.volumes:
        _, masks, spacing = truth.of_volume(volume, images=False)
        for row, labels in enumerate(masks.images):
            for d in diameters:
                if lesion_room(labels == LIVER, d, spacing[:2]).any():
                    rooms[d].append(Site(volume, row))
    return rooms


def draw_sites(truth: GroundTruth, design: ObserverDesign) -> list[list[Site]]:
    """Each setting's sites: ``design.sites`` distinct test slices whose liver holds its
    lesion (all of them, if fewer), drawn from a stream of the setting's own. A lesion that
    no test slice holds is the config's error, said before any image is made."""
    rooms = _rooms(truth, sorted({s.diameter_mm for s in design.settings}))
    sites = []
    for k, setting in enumerate(design.settings):
        room = rooms[setting.diameter_mm]
        if not room:
            raise ConfigError(
                f"observers.diameters_mm: no test slice's liver holds a "
                f"{setting.diameter_mm:g} mm lesion (with a pixel around it)"
            )
        rng = np.random.default_rng([design.seed, k])
        drawn = rng.choice(len(room), size=min(design.sites, len(room)), replace=False)
        sites.append([room[i] for i in sorted(drawn)])
    return sites


def pixel_size(truth: GroundTruth) -> float:
    """The test volumes' median in-plane pixel size (mm): patches and channels are one size
    for a setting, although the lesion is drawn at each volume's own spacing."""
    return float(np.median([truth.spacing_of(v)[1] for v in truth.volumes]))


def write_lesion_images(
    truth: GroundTruth,
    design: ObserverDesign,
    *,
    scanner_of: Callable[[int, float], Scanner],
    fbp_reading: tuple[str, float],
    outside_value: float,
    path: str | Path,
) -> None:
    """Every setting's lesion-absent and lesion-present images at ``path`` (a group per
    setting): the low-dose images whole, the patches of full dose and FBP, each
    realisation's site (realisation i lies at site i mod the sites, so that both halves of
    the realisations see every site) and where each site's lesion lies.
    ``scanner_of(size, col_spacing_mm)`` gives the run's scanner for a volume."""
    sites = draw_sites(truth, design)
    pixel_mm = pixel_size(truth)
    size = truth.of_volume(truth.volumes[0], images=False)[1].images.shape[-1]
    with array_file(path, attrs={"pixel_mm": pixel_mm, "seed": design.seed}) as file:
        groups = [
            _setting_group(file, s, design, len(own), size, pixel_mm)
            for s, own in zip(design.settings, sites, strict=True)
        ]
        for volume in truth.volumes:
            wanted = [
                (k, j, site.row)
                for k, own in enumerate(sites)
                for j, site in enumerate(own)
                if site.volume == volume
            ]
            if wanted:
                _volume_sites(
                    truth, volume, wanted, groups, design, scanner_of, fbp_reading, outside_value
                )


def _setting_group(
    file: h5py.File,
    setting: LesionSetting,
    design: ObserverDesign,
    n_sites: int,
    size: int,
    pixel_mm: float,
) -> h5py.Group:
    group = file.create_group(setting.name)
    side, count = design.patch_px(setting, pixel_mm), design.realisations
    group.attrs.update(diameter_mm=setting.diameter_mm, contrast_hu=setting.contrast_hu)
    add_array(group, "lowdose", (2, count, size, size), np.float32, compress=True)
    for name in REFERENCES:
        add_array(group, name, (2, count, side, side), np.float32)
    add_array(group, "site", (count,), np.int64, data=np.arange(count) % n_sites)
    add_array(group, "centre_px", (n_sites, 2), np.float64)
    add_array(group, "volume", (n_sites,), np.int64)
    add_array(group, "slice", (n_sites,), np.int64)
    return group


def _volume_sites(
    truth: GroundTruth,
    volume: int,
    wanted: list[tuple[int, int, int]],
    groups: list[h5py.Group],
    design: ObserverDesign,
    scanner_of: Callable[[int, float], Scanner],
    fbp_reading: tuple[str, float],
    outside_value: float,
) -> None:
    """The images of one volume's sites ((setting, site, row) each): each site's slice with
    and without its lesion, projected once, then its realisations' noise."""
    images, masks, spacing = truth.of_volume(volume)
    scanner = scanner_of(images.images.shape[-1], spacing[1])
    filters = [("Ram-Lak", 1.0), fbp_reading]
    for k, j, row in wanted:
        setting, group = design.settings[k], groups[k]
        side, at = group["fbp"].shape[-1], np.flatnonzero(group["site"][()] == j)
        centre = lesion_centre(
            masks.images[row] == LIVER,
            setting.diameter_mm,
            spacing[:2],
            np.random.default_rng([design.seed, k, 0, j]),
        )
        image = images.images[row]
        profile = disk_profile(image.shape, centre, setting.diameter_mm, spacing[:2])
        for c, im in enumerate((image, insert_lesion(image, profile, setting.contrast_hu))):
            draws = np.random.default_rng([design.seed, k, 1 + c, j])
            ramlak, fbp = noisy_fbps(scanner, im, len(at), draws, filters=filters)
            group["lowdose"][c, at] = fill_outside_roi(ramlak, outside_value)
            group["fbp"][c, at] = patch(fbp, centre, side)
            group["fulldose"][c, at] = np.broadcast_to(
                patch(im, centre, side), (len(at), side, side)
            )
        group["centre_px"][j] = centre
        group["volume"][j], group["slice"][j] = volume, images.slices[row]


def known_backgrounds(
    absent: np.ndarray, present: np.ndarray, site: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every patch less its site's mean lesion-absent patch over the training half (the
    first): the observer knows each site's background, as LCD-CT's observer knows its
    phantom's, and the noise alone varies. Without this, a few sites' anatomy outweighs the
    lesion: on the demo, full dose scored AUC 0.74 for an 8 mm lesion 10 HU below the liver."""
    half = min(len(absent), len(present)) // 2
    absent, present = absent.astype(np.float64), present.astype(np.float64)
    for j in np.unique(site):
        background = absent[:half][site[:half] == j].mean(axis=0)
        absent[site[: len(absent)] == j] -= background
        present[site[: len(present)] == j] -= background
    return absent, present


def repeated_at_each_site(absent: np.ndarray, present: np.ndarray, site: np.ndarray) -> bool:
    """Whether every realisation at a site is one image, in both classes: full dose, whose
    patches the images job repeats. Its classes then differ by the lesion alone, which differs
    between sites whose volumes have other pixel sizes (the same disk covers other pixels);
    an observer told each site's background sees no noise."""
    return all(
        np.ptp(images[site[: len(images)] == j], axis=0).max() == 0
        for images in (absent, present)
        for j in np.unique(site)
    )


def _without_noise(auc: float) -> float:
    """d' of classes without noise: infinite, signed as the observer ranks them (0 where it
    cannot tell them apart). Their decision values still spread with the lesion's
    differences between sites, and a d' of that spread (2.0e4 for full dose at 20 HU in the
    showcase, 5.8 at 60 HU) measured those differences, not detectability."""
    return 0.0 if auc == 0.5 else float(np.copysign(np.inf, auc - 0.5))


def observe(
    images_path: str | Path,
    name: str,
    design: ObserverDesign,
    method: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    resamples: int = 2000,
) -> pd.DataFrame:
    """Each observer's AUC (with its bootstrap 95 % interval) and d' for one method, a row
    per setting and observer: ``method`` maps the whole low-dose images (n, rows, cols) to
    the method's; full dose and FBP (``method`` None) read the patches the images job kept,
    low-dose reads its own images (the identity)."""
    rows = []
    with read_arrays(images_path) as file:
        pixel_mm = float(file.attrs["pixel_mm"])
        for setting in design.settings:
            group = file[setting.name]
            patches, site = _patches(group, name, method), group["site"][()]
            classes = known_backgrounds(*patches, site)
            noiseless = repeated_at_each_site(*patches, site)
            observers = design.observers(setting, pixel_mm, noiseless=noiseless)
            for observer_name, observer in observers.items():
                row = _scored(classes, observer, setting, seed=design.seed, resamples=resamples)
                if noiseless:
                    row["d_prime"] = _without_noise(row["auc"])
                rows.append({"method": name, "observer": observer_name, **row})
                log.info(
                    "%s, %s, %s: AUC %.3f (%.3f-%.3f)",
                    *(name, observer_name, setting.name),
                    *(row["auc"], row["auc_low"], row["auc_high"]),
                )
    return pd.DataFrame(rows, columns=OBSERVER_COLUMNS)


def _scored(
    classes: tuple[np.ndarray, np.ndarray],
    observer: Observer,
    setting: LesionSetting,
    *,
    seed: int,
    resamples: int,
) -> dict:
    """One observer's AUC, its interval and d' on one setting's (absent, present) patches."""
    result = detectability(*classes, observer)
    low, high = detectability_interval(*classes, observer, resamples=resamples, seed=seed)
    return {
        "setting": setting.name,
        "diameter_mm": setting.diameter_mm,
        "contrast_hu": setting.contrast_hu,
        "realisations": len(classes[0]),
        "auc": result.auc,
        "auc_low": low,
        "auc_high": high,
        "d_prime": result.detectability,
    }


def _patches(
    group: h5py.Group, name: str, method: Callable[[np.ndarray], np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """One setting's (absent, present) patches of a method."""
    if name in REFERENCES:
        stored = group[name][()]
        return stored[0], stored[1]
    centres = group["centre_px"][()][group["site"][()]]
    side, lowdose = group["fbp"].shape[-1], group["lowdose"][()]
    count = lowdose.shape[1]
    images = lowdose.reshape(2 * count, *lowdose.shape[2:])  # both classes in one call
    if method is not None:
        images = method(images)
    cut = np.stack(
        [patch(x, tuple(c), side) for x, c in zip(images, np.tile(centres, (2, 1)), strict=True)]
    )
    return cut[:count], cut[count:]
