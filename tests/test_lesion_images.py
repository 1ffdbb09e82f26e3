"""Signal-known-exactly lesion images (issue 35): the lesion is exactly the disk, and a pair's
images differ only by it and by their noise."""

import numpy as np
import pytest

from tact.data.units import MU_MAX, hu_to_normalised
from tact.errors import TactError
from tact.lesion_images import (
    LesionSetting,
    detectability,
    disk_profile,
    hu_difference_to_normalised,
    insert_lesion,
    lesion_centre,
    lesion_sites,
    lesion_study,
    noisy_fbps,
    pair_realisations,
    patch,
)
from tact.metrics.observers import laguerre_gauss_channels
from tact.physics import Scanner, ScanProtocol

PIXEL_MM = (0.7, 0.8)


def liver_slice(size: int = 64, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A textured body with an elliptic liver, as mu / mu_max, and the liver's mask."""
    rng = np.random.default_rng(seed)
    y, x = np.indices((size, size)) - size / 2
    body = (y / (0.45 * size)) ** 2 + (x / (0.45 * size)) ** 2 <= 1
    liver = ((y + 4) / (0.25 * size)) ** 2 + ((x - 6) / (0.3 * size)) ** 2 <= 1
    hu = np.where(body, 40.0, -1000.0) + np.where(liver, 20.0, 0.0)
    hu += np.where(body, rng.normal(0, 8, hu.shape), 0.0)
    return hu_to_normalised(hu), liver


def test_disk_profile_holds_the_disks_area_and_nothing_beyond_it():
    """Partial-volume pixels sum to the disk's area (pi r^2), every value is a fraction, and
    no pixel whose every point lies beyond the radius is touched."""
    profile = disk_profile((64, 64), (30.3, 31.7), 10.0, PIXEL_MM)
    assert profile.sum() * PIXEL_MM[0] * PIXEL_MM[1] == pytest.approx(np.pi * 25, rel=0.01)
    assert profile.min() >= 0 and profile.max() == 1
    rows, cols = np.indices(profile.shape)
    nearest = np.hypot(
        np.maximum(np.abs(rows - 30.3) - 0.5, 0) * PIXEL_MM[0],
        np.maximum(np.abs(cols - 31.7) - 0.5, 0) * PIXEL_MM[1],
    )
    assert not profile[nearest > 5.0].any()


def test_insertion_changes_only_the_pixels_of_the_lesions_support():
    """In the full-dose image only pixels the disk covers change, each by its covered
    fraction times the contrast (in the images' units)."""
    image, liver = liver_slice()
    setting = LesionSetting(diameter_mm=7.0, contrast_hu=20.0)
    centre = lesion_centre(liver, setting.diameter_mm, PIXEL_MM, np.random.default_rng(0))
    profile = disk_profile(image.shape, centre, setting.diameter_mm, PIXEL_MM)
    present = insert_lesion(image, profile, setting.contrast_hu)
    changed = present != image
    assert changed.any() and not changed[profile == 0].any()
    expected = image - hu_difference_to_normalised(20.0) * profile
    assert present == pytest.approx(expected.astype(np.float32), abs=1e-7)
    assert hu_difference_to_normalised(20.0) == pytest.approx(
        float(
            hu_to_normalised(np.array(60.0), np.float64)
            - hu_to_normalised(np.array(40.0), np.float64)
        )
    )


def test_the_lesion_lies_inside_the_liver_or_the_slice_is_refused():
    image, liver = liver_slice()
    for seed in range(5):
        centre = lesion_centre(liver, 10.0, PIXEL_MM, np.random.default_rng(seed))
        support = disk_profile(image.shape, centre, 10.0, PIXEL_MM) > 0
        assert liver[support].all()
    with pytest.raises(TactError, match="40 mm lesion"):
        lesion_centre(liver, 40.0, PIXEL_MM, np.random.default_rng(0))


def test_a_pairs_images_differ_only_by_the_lesion_and_the_noise():
    """Through the scanner without noise, the reconstructions of the pair differ exactly by
    the reconstruction of the lesion's own line integrals (the simulation is linear up to the
    photon counts); with noise, a realisation depends on its draws alone."""
    image, liver = liver_slice()
    centre = lesion_centre(liver, 7.0, PIXEL_MM, np.random.default_rng(0))
    present = insert_lesion(image, disk_profile(image.shape, centre, 7.0, PIXEL_MM), 40.0)
    filters = [("Ram-Lak", 1.0), ("Hann", 0.6)]
    quiet = Scanner(64, 64 * 0.7, ScanProtocol(n_angles=90, noise=False), fbp_device=None)
    with_lesion, without = (
        noisy_fbps(quiet, im, 1, np.random.default_rng(0), filters=filters)[:, 0]
        for im in (present, image)
    )
    lesion_alone = quiet.line_integrals(present - image) / MU_MAX
    expected = quiet.fbp_many(lesion_alone[None], filters)[:, 0]
    scale = hu_difference_to_normalised(40.0)
    assert np.abs(with_lesion - without - expected).max() < 1e-3 * scale
    noisy = Scanner(64, 64 * 0.7, ScanProtocol(n_angles=90, photons_per_pixel=1e4), fbp_device=None)
    first, again = (
        noisy_fbps(noisy, image, 2, np.random.default_rng(3), filters=filters) for _ in "ab"
    )
    assert np.array_equal(first, again)  # the draws, not the call, make a realisation
    assert not np.array_equal(first[:, 0], first[:, 1])  # each realisation its own noise


def test_patch_is_centred_on_the_lesion_and_refuses_to_leave_the_image():
    images = np.arange(2 * 20 * 20, dtype=float).reshape(2, 20, 20)
    cut = patch(images, (10.0, 9.0), 6)
    assert cut.shape == (2, 6, 6) and cut[0, 3, 3] == images[0, 10, 9]
    with pytest.raises(TactError, match="leaves the image"):
        patch(images, (2.0, 9.0), 6)


def test_fbp_shows_a_stronger_lesion_better_and_no_lesion_not_at_all():
    """The observer on the Ram-Lak images of the phantom slice at a low dose: a 7 mm lesion 40
    HU below the liver is found more often than one 10 HU below, and with no contrast the
    classes are the same (the AUC's interval holds 0.5)."""
    image, liver = liver_slice()
    centre = lesion_centre(liver, 7.0, PIXEL_MM, np.random.default_rng(0))
    profile = disk_profile(image.shape, centre, 7.0, PIXEL_MM)
    scanner = Scanner(
        64, 64 * 0.7, ScanProtocol(n_angles=90, photons_per_pixel=3e3), fbp_device=None
    )
    channels = laguerre_gauss_channels((16, 16), 4, 7.0)
    results = {}
    for contrast in (0.0, 10.0, 40.0):
        absent, present = pair_realisations(
            scanner, image, profile, contrast, count=80, seed=5, filters=[("Ram-Lak", 1.0)]
        )
        results[contrast] = detectability(
            patch(absent[0], centre, 16), patch(present[0], centre, 16), channels
        )
    low, high = results[0.0].auc_interval()
    assert low < 0.5 < high
    assert results[40.0].auc > results[10.0].auc > results[0.0].auc
    assert results[40.0].detectability > 2


def textured_slices(n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``n`` slices of the phantom body, each its own liver texture."""
    images, livers = zip(*(liver_slice(seed=k) for k in range(n)), strict=True)
    return np.stack(images), np.stack(livers)


def test_a_lesion_study_sees_noise_hurt_and_passes_the_low_dose_images_to_each_method():
    """Over sites drawn on several slices, full dose (anatomy alone varies) finds a 7 mm lesion
    10 HU below the liver at least as well as the noisy Ram-Lak images; a method that returns
    the low-dose images gets exactly the Ram-Lak result; the same seed gives the same study."""
    images, livers = textured_slices()
    scanner = Scanner(
        64, 64 * 0.7, ScanProtocol(n_angles=90, photons_per_pixel=3e3), fbp_device=None
    )

    def study(**methods):
        return lesion_study(
            scanner,
            images,
            livers,
            LesionSetting(7.0, 10.0),
            pixel_mm=PIXEL_MM,
            count=60,
            seed=2,
            fbp_reading=("Hann", 0.6),
            patch_px=16,
            channels=laguerre_gauss_channels((16, 16), 4, 7.0),
            methods=methods,
        )

    results = study(unchanged=lambda low: low)
    assert set(results) == {"fulldose", "lowdose", "fbp", "unchanged"}
    assert results["fulldose"].auc >= results["lowdose"].auc
    assert results["lowdose"].auc < 1
    assert np.array_equal(results["unchanged"].present, results["lowdose"].present)
    assert np.array_equal(study()["fbp"].present, results["fbp"].present)


def test_lesion_sites_vary_the_anatomy_and_keep_to_livers_that_hold_the_lesion():
    images, livers = textured_slices()
    livers[1] = False  # a slice without liver never hosts a lesion
    sites = lesion_sites(livers, 7.0, PIXEL_MM, count=40, rng=np.random.default_rng(0))
    assert {s.slice_index for s in sites} == {0, 2, 3}
    for s in sites:
        support = disk_profile(images.shape[1:], s.centre_px, 7.0, PIXEL_MM) > 0
        assert livers[s.slice_index][support].all()
    with pytest.raises(TactError, match="no test slice's liver holds a 60 mm lesion"):
        lesion_sites(livers, 60.0, PIXEL_MM, count=2, rng=np.random.default_rng(0))
