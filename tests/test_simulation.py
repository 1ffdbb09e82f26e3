"""The simulation stage: ROI, pixel metrics, per-volume simulation and the FBP tuning."""

import logging

import numpy as np
import pandas as pd
import pytest
from skimage.metrics import structural_similarity

from conftest import make_case
from tact.data.slices import SliceStack
from tact.data.split import pick_tuning_slices
from tact.data.units import hu_to_normalised
from tact.metrics.pixel import psnr_in_roi, ssim_in_roi
from tact.physics import Scanner, ScanProtocol
from tact.readings import fbp_reading, read_fbp_reading, write_fbp_reading
from tact.roi import circular_roi, fill_outside_roi
from tact.simulated_data import (
    keep_test_slices,
    load_measurements,
    load_simulation,
    save_measurements,
    save_simulation,
)
from tact.simulation import (
    _mean_psnr_function,
    extent_mm,
    simulate_stack,
    tune_fbp,
)
from tact.test_sets import TestImages


def test_roi_is_the_inscribed_circle():
    roi = circular_roi(512)
    assert roi.sum() == pytest.approx(np.pi * 256**2, rel=0.005)
    assert roi[256, 256] and roi[0, 256] and roi[256, 511]  # touches the edge centres
    assert not roi[0, 0] and not roi[511, 511] and not roi[20, 20]  # corners excluded
    np.testing.assert_array_equal(roi, roi[::-1, ::-1])
    np.testing.assert_array_equal(roi, roi.T)


def test_fill_outside_roi():
    images = np.random.default_rng(0).random((2, 64, 64)).astype(np.float32)
    inside = images[:, circular_roi(64)].copy()
    fill_outside_roi(images, 0.5)
    assert np.all(images[:, ~circular_roi(64)] == 0.5)
    np.testing.assert_array_equal(images[:, circular_roi(64)], inside)


def test_psnr_of_a_known_noise_level():
    rng = np.random.default_rng(0)
    target = rng.random((256, 256))
    noisy = target + rng.normal(0, 0.01, target.shape)  # MSE 1e-4 -> 40 dB at range 1
    assert psnr_in_roi(noisy, target, circular_roi(256)) == pytest.approx(40.0, abs=0.1)


def test_roi_excludes_the_corners():
    target = np.zeros((64, 64))
    corrupted = target.copy()
    corrupted[~circular_roi(64)] = 1.0
    assert psnr_in_roi(corrupted, target, circular_roi(64)) == float("inf")
    assert ssim_in_roi(corrupted, target, circular_roi(64)) < 1.0  # the window sees the edge
    assert psnr_in_roi(corrupted, target, np.ones((64, 64), bool)) < 10


def test_ssim_matches_scikit_image_on_the_whole_image():
    rng = np.random.default_rng(1)
    a, b = rng.random((64, 64)), rng.random((64, 64))
    expected = structural_similarity(a, b, data_range=1.0)  # mean over the map minus 3 px
    inner = np.zeros((64, 64), bool)
    inner[3:-3, 3:-3] = True
    assert ssim_in_roi(b, a, inner) == pytest.approx(expected, rel=1e-9)
    assert ssim_in_roi(a, a, circular_roi(64)) == pytest.approx(1.0)


@pytest.fixture
def stack() -> SliceStack:
    hu, labels = make_case(5, shape=(64, 64, 6))
    slices = np.transpose(hu, (2, 1, 0))[1:5, ::-1, ::-1]
    masks = np.transpose(labels, (2, 1, 0))[1:5, ::-1, ::-1]
    return SliceStack(
        volume_id=5,
        image=hu_to_normalised(slices),
        mask=masks.astype(np.uint8),
        slice_index=np.arange(1, 5, dtype=np.int32),
        spacing_mm=np.array([6.0, 6.0, 5.0]),
    )


def simulate(stack, keep_sinograms, **fbp):
    return simulate_stack(
        stack,
        ScanProtocol(n_angles=60),
        domain="lodopab",
        fbp_reading=("Hann", 0.6),
        rng=np.random.default_rng(3),
        outside_value=0.25,
        keep_sinograms=keep_sinograms,
        progress=False,
        **fbp,
    )


def test_simulate_stack(stack, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="tact"):
        sim = simulate(stack, keep_sinograms=True)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("volume 5: simulating 4 slices, 60 views x")
    assert lines[1].startswith("volume 5: 1 of 4 done")
    assert sim.lowdose.shape == sim.fbp.shape == (4, 64, 64)
    assert np.all(np.isfinite(sim.lowdose)) and np.all(np.isfinite(sim.fbp))
    outside = ~circular_roi(64)
    assert np.all(sim.lowdose[:, outside] == 0.25) and np.all(sim.fbp[:, outside] == 0.25)
    assert sim.sinogram.shape[:2] == (4, 60)
    assert sim.n_views == 60 and sim.extent_mm == 260.0 and sim.frequency_scaling == 0.6
    assert sim.fbp_filter == "Hann"
    again = simulate(stack, keep_sinograms=False)
    np.testing.assert_array_equal(again.lowdose, sim.lowdose)
    assert again.sinogram is None
    save_simulation(sim, tmp_path / "sim.h5")
    loaded = load_simulation(tmp_path / "sim.h5")
    np.testing.assert_array_equal(loaded.fbp, sim.fbp)
    np.testing.assert_array_equal(loaded.sinogram, sim.sinogram)
    assert loaded.fbp_filter == "Hann" and loaded.frequency_scaling == 0.6
    assert loaded.slice_index.tolist() == [1, 2, 3, 4]


def test_domain_extent(stack):
    assert extent_mm(stack, "lodopab") == 260.0
    assert extent_mm(stack, "physical") == pytest.approx(6.0 * 64)
    with pytest.raises(ValueError):
        extent_mm(stack, "nifti")


def test_tuning_finds_a_smoothing_hann_for_noisy_data(stack, tmp_path, caplog):
    protocol = ScanProtocol(n_angles=100, photons_per_pixel=64)  # very noisy: smoothing pays
    samples = [(stack.image[i], 260.0) for i in range(3)]
    with caplog.at_level(logging.INFO, logger="tact"):
        filter_type, best, table = tune_fbp(samples, protocol, np.random.default_rng(0))
    assert filter_type == "Hann" and set(table["filter_type"]) == {"Hann"}
    # the plan first, then progress from the first slice measured on
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("FBP tuning on 3 slices (astra_cpu, 1 threads)")
    assert lines[1].startswith("FBP tuning, slices measured: 1 of 3 done")
    assert any(line.startswith("FBP tuning, Hann grid points: 10 of 10 done") for line in lines)
    assert 0 < best < 1
    assert table.loc[table["chosen"], "frequency_scaling"].item() == best
    assert table.loc[table["chosen"], "psnr_mean"].item() == table["psnr_mean"].max()
    assert len(table) >= 10 and table["frequency_scaling"].is_monotonic_increasing
    # the tuned Hann beats Ram-Lak on the same (re-simulated, same seed) data
    rng = np.random.default_rng(0)
    scanner = Scanner(64, 260.0, protocol)
    sinograms = [scanner.measure(image, rng) for image, _ in samples]
    roi = circular_roi(64)
    ramlak = np.mean(
        [
            psnr_in_roi(scanner.fbp(s), im, roi)
            for s, (im, _) in zip(sinograms, samples, strict=True)
        ]
    )
    assert table["psnr_mean"].max() > ramlak
    write_fbp_reading(tmp_path / "choice.json", "Hann", best, psnr_db=30.0, n_slices=3)
    assert read_fbp_reading(tmp_path / "choice.json") == ("Hann", best)
    # a simulation takes the config's values, the tuned ones only where the config says auto
    assert fbp_reading("auto", "auto", tmp_path / "choice.json") == ("Hann", best)
    assert fbp_reading("Cosine", "auto", tmp_path / "choice.json") == ("Cosine", best)
    assert fbp_reading("auto", 0.3, tmp_path / "choice.json") == ("Hann", 0.3)
    assert fbp_reading("Hamming", 0.3, None) == ("Hamming", 0.3)


def test_tuning_over_filter_types_keeps_the_best_reading(stack):
    """fbp.filter_type auto: every filter at the given scaling, the best by mean PSNR chosen."""
    protocol = ScanProtocol(n_angles=100, photons_per_pixel=64)
    samples = [(stack.image[i], 260.0) for i in range(2)]
    filters = ("Ram-Lak", "Hann", "Cosine")
    filter_type, scaling, table = tune_fbp(
        samples, protocol, np.random.default_rng(0), filter_types=filters, scaling=0.5
    )
    assert table["filter_type"].tolist() == sorted(filters)
    assert (table["frequency_scaling"] == 0.5).all() and scaling == 0.5
    best = table.loc[table["psnr_mean"].idxmax()]
    assert table["chosen"].sum() == 1 and best["chosen"] and best["filter_type"] == filter_type
    # at such noise the smoothing filters beat Ram-Lak
    by_filter = table.set_index("filter_type")["psnr_mean"]
    assert by_filter["Hann"] > by_filter["Ram-Lak"] and by_filter["Cosine"] > by_filter["Ram-Lak"]


def test_tuning_slices_come_from_training_only():
    split = pd.DataFrame(
        {
            "volume": [0] * 5 + [1] * 5,
            "slice": list(range(10)),
            "split": ["train"] * 5 + ["test"] * 5,
        }
    )
    chosen = pick_tuning_slices(split, 3, np.random.default_rng(0))
    assert len(chosen) == 3 and set(chosen["volume"]) == {0}
    again = pick_tuning_slices(split, 3, np.random.default_rng(0))
    pd.testing.assert_frame_equal(chosen, again)
    assert len(pick_tuning_slices(split, 50, np.random.default_rng(0))) == 5


def test_simulate_stack_with_the_torch_fbp_gives_the_same_images(stack):
    """Batched torch FBPs (batches of 3 over 4 slices) equal the ODL path, noise included."""
    reference = simulate(stack, keep_sinograms=True)
    batched = simulate(stack, keep_sinograms=True, fbp_device="cpu", fbp_batch=3)
    np.testing.assert_array_equal(batched.sinogram, reference.sinogram)
    for ours, theirs in [(batched.lowdose, reference.lowdose), (batched.fbp, reference.fbp)]:
        assert np.linalg.norm(ours - theirs) / np.linalg.norm(theirs) < 1e-6
        np.testing.assert_array_equal(ours[:, ~circular_roi(64)], 0.25)


def test_tuning_on_a_torch_device_sees_the_same_psnrs(stack):
    protocol = ScanProtocol(n_angles=60, photons_per_pixel=256)
    samples = [(stack.image[i], 260.0) for i in range(3)] + [(stack.image[3], 300.0)]
    rng = np.random.default_rng
    odl_psnr = _mean_psnr_function(samples, protocol, rng(0), "astra_cpu", 2, None)
    torch_psnr = _mean_psnr_function(samples, protocol, rng(0), "astra_cpu", 2, "cpu")
    for reading in [("Hann", 0.3), ("Hann", 0.8), ("Shepp-Logan", 0.6)]:
        assert torch_psnr(*reading) == pytest.approx(odl_psnr(*reading), abs=1e-4)
    assert torch_psnr("Hann", 0.3) != pytest.approx(torch_psnr("Hann", 0.8), abs=1e-2)


def test_fbp_images_and_counts_are_kept_for_the_test_slices(stack, tmp_path):
    """The FBP row and the consistency check read test slices only: the rest is not stored
    (about 1 MB a slice each at 512 px); the low-dose images stay for every slice."""
    sim = simulate(stack, keep_sinograms=False)
    kept = keep_test_slices(sim, np.array([2, 4, 9]))  # 9: not a slice of this volume
    assert kept.fbp_slice_index.tolist() == [2, 4]
    np.testing.assert_array_equal(kept.fbp, sim.fbp[[1, 3]])
    np.testing.assert_array_equal(kept.counts, sim.counts[[1, 3]])
    np.testing.assert_array_equal(kept.lowdose, sim.lowdose)
    save_simulation(kept, tmp_path / "sim/volume-5.h5")
    save_measurements(kept, "astra_cpu", tmp_path / "sim/volume-5.counts.npz")
    loaded = load_simulation(tmp_path / "sim/volume-5.h5")
    assert loaded.fbp_slice_index.tolist() == [2, 4] and loaded.slice_index.tolist() == [1, 2, 3, 4]
    np.testing.assert_array_equal(loaded.fbp, kept.fbp)
    counts = load_measurements(tmp_path / "sim/volume-5.counts.npz")
    assert counts.slice_index.tolist() == [2, 4]
    np.testing.assert_array_equal(counts.counts, sim.counts[[1, 3]])
    pd.DataFrame({"volume": 5, "slice": [1, 2, 3, 4], "split": ["train", "test"] * 2}).to_csv(
        tmp_path / "split.csv", index=False
    )
    paths = (str(tmp_path / "sim/volume-5.h5"),)
    for name, rows in [("fbp", [1, 3]), ("lowdose", [1, 3])]:
        test_images = TestImages(name, paths, str(tmp_path / "split.csv")).of_volume(5)
        assert test_images.slices.tolist() == [2, 4]
        np.testing.assert_array_equal(test_images.images, getattr(sim, name)[rows])
