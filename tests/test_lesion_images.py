"""Signal-known-exactly lesion images (issue 35): the lesion is exactly the disk, and a pair's
images differ only by it and by their noise."""

from dataclasses import replace

import h5py
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from tact.data.slices import SliceStack, save_stack
from tact.data.units import MU_MAX, hu_to_normalised
from tact.errors import ConfigError, TactError
from tact.io import read_arrays
from tact.lesion_images import (
    LesionSetting,
    detectability,
    detectability_interval,
    disk_profile,
    hotelling,
    hu_difference_to_normalised,
    insert_lesion,
    lesion_centre,
    noisy_fbps,
    pair_realisations,
    patch,
)
from tact.metrics.observers import laguerre_gauss_channels
from tact.observer_study import (
    OBSERVER_COLUMNS,
    ObserverDesign,
    known_backgrounds,
    observe,
    repeated_at_each_site,
    write_lesion_images,
)
from tact.physics import Scanner, ScanProtocol
from tact.report.observers import plot_detectability, write_observer_report
from tact.roi import circular_roi
from tact.test_sets import GroundTruth

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
    observer = hotelling(laguerre_gauss_channels((16, 16), 4, 7.0))
    results, intervals = {}, {}
    for contrast in (0.0, 10.0, 40.0):
        absent, present = pair_realisations(
            scanner, image, profile, contrast, count=80, seed=5, filters=[("Ram-Lak", 1.0)]
        )
        patches = patch(absent[0], centre, 16), patch(present[0], centre, 16)
        results[contrast] = detectability(*patches, observer)
        intervals[contrast] = detectability_interval(*patches, observer, resamples=500, seed=0)
    low, high = intervals[0.0]
    assert low < 0.5 < high
    assert results[40.0].auc > results[10.0].auc > results[0.0].auc
    assert results[40.0].detectability > 2


def write_truth(root, slices_per_volume: int = 3) -> GroundTruth:
    """Two test volumes of textured phantom slices (each its own texture) in slice stores,
    the liver labelled 1; volume 1's second slice has no liver."""
    split = []
    for vid in (0, 1):
        pairs = [liver_slice(seed=10 * vid + k) for k in range(slices_per_volume)]
        images = np.stack([p[0] for p in pairs]).astype(np.float32)
        masks = np.stack([p[1] for p in pairs]).astype(np.uint8)
        if vid == 1:
            masks[1] = 0
        index = np.arange(slices_per_volume) + 5
        spacing = np.array([*PIXEL_MM, 2.0])
        save_stack(SliceStack(vid, images, masks, index, spacing), root / f"volume-{vid}.h5")
        split += [{"volume": vid, "slice": int(s), "split": "test"} for s in index]
    pd.DataFrame(split).to_csv(root / "split.csv", index=False)
    return GroundTruth(tuple(str(root / f"volume-{v}.h5") for v in (0, 1)), str(root / "split.csv"))


def lesion_images(truth: GroundTruth, path, design: ObserverDesign) -> None:
    protocol = ScanProtocol(n_angles=90, photons_per_pixel=3e3)
    write_lesion_images(
        truth,
        design,
        scanner_of=lambda size, spacing: Scanner(size, size * spacing, protocol, fbp_device=None),
        fbp_reading=("Hann", 0.6),
        outside_value=0.0,
        path=path,
    )


DESIGN = ObserverDesign(
    (LesionSetting(7.0, 10.0),),
    realisations=60,
    sites=8,
    n_channels=4,
    channel_width=1.0,
    patch=2.0,
    seed=2,
    npwe=True,
    display_pixel_mm=54 / 128,  # LCD-CT's display (the schema's defaults)
    viewing_distance_mm=500.0,
)


def test_the_observer_study_sees_noise_hurt_and_hands_each_method_the_low_dose_images(tmp_path):
    """At sites on several slices, full dose (no noise, known backgrounds) finds a 7 mm lesion
    10 HU below the liver every time by either observer (AUC 1, d' beyond any noisy one's) and
    the noisy Ram-Lak images less often; a method that returns the low-dose images gets exactly
    the Ram-Lak result; the same seed gives the same images; outside the ROI the low-dose images
    hold the run's fill value, as the networks saw it."""
    truth = write_truth(tmp_path)
    lesion_images(truth, tmp_path / "a.h5", DESIGN)
    results = {
        name: observe(tmp_path / "a.h5", name, DESIGN, resamples=50)
        for name in ("fulldose", "lowdose", "fbp")
    }
    results["unchanged"] = observe(tmp_path / "a.h5", "x", DESIGN, lambda low: low, resamples=50)
    for name, result in results.items():
        assert result["observer"].tolist() == ["CHO", "NPWE"], name
    cho, npwe = ({name: result.iloc[k] for name, result in results.items()} for k in range(2))
    for observer in (cho, npwe):
        assert observer["fulldose"]["auc"] == 1
        assert observer["fulldose"]["d_prime"] == np.inf  # no noise at a known site
        assert observer["lowdose"]["auc"] < 1
    assert cho["lowdose"]["auc"] > 0.5  # the NPWE, which does not whiten CT's noise, is at chance
    same = ["auc", "auc_low", "auc_high", "d_prime", "realisations"]
    assert results["unchanged"][same].equals(results["lowdose"][same])
    assert results["lowdose"]["realisations"].iloc[0] == 60  # per class, both halves
    lesion_images(truth, tmp_path / "b.h5", DESIGN)
    name = DESIGN.settings[0].name
    with read_arrays(tmp_path / "a.h5") as a, read_arrays(tmp_path / "b.h5") as b:
        for array in ("lowdose", "fbp", "fulldose", "site", "centre_px", "volume", "slice"):
            assert np.array_equal(a[name][array][()], b[name][array][()]), array
        lowdose = a[name]["lowdose"][()]
    assert lowdose.shape == (2, 60, 64, 64)
    assert not lowdose[..., ~circular_roi(64)].any()


def test_sites_are_distinct_slices_whose_livers_hold_the_lesion(tmp_path):
    """Asked for more sites than there are slices whose liver holds the lesion, the study uses
    every such slice once, never the liver-free one, each disk (and a pixel around it) inside
    the liver, the realisations dealt out in turn; a lesion no liver holds is the config's
    error, named by its key, before any file is written."""
    truth = write_truth(tmp_path)
    lesion_images(truth, tmp_path / "a.h5", DESIGN)
    with read_arrays(tmp_path / "a.h5") as file:
        group = file[DESIGN.settings[0].name]
        places = list(
            zip(group["volume"][()], group["slice"][()], group["centre_px"][()], strict=True)
        )
        site = group["site"][()]
    assert [(v, s) for v, s, _ in places] == [(0, 5), (0, 6), (0, 7), (1, 5), (1, 7)]
    assert site.tolist() == [i % 5 for i in range(60)]
    for volume, slice_, centre in places:
        _, masks, _ = truth.of_volume(int(volume), images=False)
        liver = masks.images[list(masks.slices).index(slice_)] == 1
        support = disk_profile(liver.shape, tuple(centre), 7.0, PIXEL_MM) > 0
        assert liver[support].all()
    too_big = replace(DESIGN, settings=(LesionSetting(60.0, 10.0),))
    with pytest.raises(ConfigError, match=r"observers\.diameters_mm: .* 60 mm lesion"):
        lesion_images(truth, tmp_path / "c.h5", too_big)
    assert not (tmp_path / "c.h5").exists()


def test_known_backgrounds_leave_the_noise_and_the_lesion_alone():
    """Each site's mean lesion-absent patch over the first half is taken from all its
    patches: without noise, absent patches become 0 and present ones the lesion itself."""
    rng = np.random.default_rng(0)
    anatomy = rng.normal(0, 50, (3, 8, 8))  # three sites' backgrounds, far above the lesion
    lesion = np.zeros((8, 8))
    lesion[3:5, 3:5] = 1.0
    site = np.arange(12) % 3
    absent, present = known_backgrounds(anatomy[site], anatomy[site] + lesion, site)
    assert np.abs(absent).max() < 1e-12
    assert np.abs(present - lesion).max() < 1e-12


def test_noiseless_classes_are_told_apart_every_time():
    """Each class one image repeated (full dose at a known background): no covariance to
    whiten, so the template is the signal (``noiseless``), and the AUC is 1 and d' infinite;
    the Hotelling template would whiten rounding alone (here its scores came out near 4e31).
    Rounding's noise (a background subtracted in float64 from float32 images) is no noise;
    real noise is, and the CHO keeps a finite d'."""
    signal = np.zeros((8, 8))
    signal[3:5, 3:5] = 1.0
    absent, present = np.zeros((20, 8, 8)), np.broadcast_to(signal, (20, 8, 8))
    channels = laguerre_gauss_channels((8, 8), 3, 3.0)
    matched, cho = hotelling(channels, noiseless=True), hotelling(channels)
    result = detectability(absent, present, matched)
    assert result.auc == 1 and result.detectability == np.inf
    rounding = np.random.default_rng(0).normal(0, 1e-15, (2, 20, 8, 8))
    result = detectability(absent + rounding[0], present + rounding[1], matched)
    assert result.auc == 1 and result.detectability == np.inf  # was 2.2e15
    noise = np.random.default_rng(1).normal(0, 0.5, (2, 20, 8, 8))
    assert 0 < detectability(absent + noise[0], present + noise[1], cho).detectability < 100


def test_full_dose_d_prime_is_infinite_when_the_lesion_differs_between_sites(tmp_path):
    """Full dose at sites whose volumes have other pixel sizes: each site's patches one image,
    the lesion a little different at each. No noise, so d' is infinite; a d' of the decision
    values' spread measured the sites' differences (3.9e3 by the CHO, 25 by the NPWE, where
    the showcase's Table IV read 2.0e4 and 5.8). A noisy method keeps its finite d'."""
    side, count, pixel_mm = 21, 60, (0.7, 0.75, 0.8, 0.85)
    site = np.arange(count) % len(pixel_mm)
    rng = np.random.default_rng(0)
    backgrounds = rng.normal(0.3, 0.01, (len(pixel_mm), side, side)).astype(np.float32)
    present = np.stack(
        [
            insert_lesion(b, disk_profile((side, side), (10.0, 10.0), 7.0, (mm, mm)), 20.0)
            for b, mm in zip(backgrounds, pixel_mm, strict=True)
        ]
    )
    noise = rng.normal(0, 0.002, (2, count, side, side))
    for name, images in {
        "fulldose": np.stack([backgrounds[site], present[site]]),
        "fbp": np.stack([backgrounds[site], present[site]]) + noise,
    }.items():
        with h5py.File(tmp_path / f"{name}.h5", "w") as file:
            file.attrs["pixel_mm"] = 0.7
            group = file.create_group(DESIGN.settings[0].name)
            group[name], group["site"] = images, site
    full = observe(tmp_path / "fulldose.h5", "fulldose", DESIGN, resamples=20)
    assert (full["auc"] == 1).all() and (full["d_prime"] == np.inf).all()
    noisy = observe(tmp_path / "fbp.h5", "fbp", DESIGN, resamples=20)
    assert np.isfinite(noisy["d_prime"]).all() and (noisy["d_prime"] > 0).all()
    assert repeated_at_each_site(backgrounds[site], present[site], site)
    assert not repeated_at_each_site(*(np.stack([backgrounds[site], present[site]]) + noise), site)


def test_table_iv_writes_an_infinite_d_prime_as_infinity(tmp_path):
    """Full dose's d' is infinite (no noise): Table IV says ∞ (LaTeX: $\\infty$), not a number
    of rounding's size or "inf"; a finite d' keeps three digits."""
    rows = {"base": (0.8, 0.7, 0.9, 1.234), "fulldose": (1.0, 1.0, 1.0, np.inf)}
    paths = []
    for method, (auc, low, high, d) in rows.items():
        paths.append(tmp_path / f"{method}.csv")
        pd.DataFrame(
            [[method, "CHO", "10mm_20HU", 10.0, 20.0, 60, auc, low, high, d]],
            columns=OBSERVER_COLUMNS,
        ).to_csv(paths[-1], index=False)
    design = {"channels": 5, "channel_width": 0.667, "patch": 2.0}
    figures = (tmp_path / "f.png", tmp_path / "f.pdf")
    write_observer_report(paths, tmp_path / "table4", figures, design)
    markdown = (tmp_path / "table4.md").read_text()
    assert "1.000 (1.00-1.00) ↑; d' ∞" in markdown and "d' 1.23" in markdown
    assert r"$d'$ $\infty$" in (tmp_path / "table4.tex").read_text()


@pytest.mark.parametrize("lowest", [0.28, 0.55])
def test_detectability_figure_shows_every_interval_whole(lowest):
    """Each panel reaches down to its lowest interval (the showcase's reach 0.28, which a
    fixed axis from 0.4 cut off), and starts at 0.4 when every interval is above it."""
    table = pd.DataFrame(
        [
            [method, "CHO", f"10mm_{c}HU", 10.0, c, 60, 0.6, low, 0.8, 0.5, "overlaps"]
            for method, low in (("base", 0.5), ("fbp", lowest))
            for c in (20.0, 60.0)
        ],
        columns=[*OBSERVER_COLUMNS, "vs_base"],
    )
    (ax,) = plot_detectability(table).axes[:1]
    bottom, top = ax.get_ylim()
    assert bottom <= lowest and top >= 1.0
    assert bottom == pytest.approx(min(0.4, lowest - 0.02))


def test_detectability_figure_gives_every_method_a_look_of_its_own():
    """The seeded runs' 11 methods once shared the low-dose bound's grey (tab10 has 10
    colours) and squeezed their panel to a sliver beside the legend."""
    methods = ["lowdose", "fbp", "bm3d", "base", "fulldose"]
    methods += [f"task_a{a}{d}" for a in (0.1, 0.5) for d in ("", "_ensemble", "_robust")]
    methods += [f"joint_c{c}" for c in (0.1, 0.5, 0.9)] + ["task_a0.01", "task_a0.9"]
    table = pd.DataFrame(
        [
            [m, "CHO", f"10mm_{c:g}HU", 10.0, c, 60, 0.6, 0.5, 0.8, 0.5, "overlaps"]
            for m in methods
            for c in (20.0, 60.0)
        ],
        columns=[*OBSERVER_COLUMNS, "vs_base"],
    )
    figure = plot_detectability(table)
    (ax,) = figure.axes[:1]
    handles, labels = ax.get_legend_handles_labels()
    looks = {
        (to_hex(line.get_color()), line.get_marker(), line.get_linestyle())
        for line in (handle.lines[0] for handle in handles)  # each an errorbar's data line
    }
    assert len(labels) == len(methods) == len(looks)
    assert ax.get_window_extent().width / figure.dpi >= 3.0  # inches: the legend beside it
