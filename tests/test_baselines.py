"""BM3D on a simulated low-dose phantom slice, and the sigma sweep."""

import logging

import numpy as np
import pandas as pd
import pytest

from tact.baselines import bm3d_denoise, bm3d_test_slices, sweep_sigma
from tact.data.phantom import PhantomSpec, generate_volume
from tact.data.units import hu_to_normalised
from tact.metrics.pixel import psnr_in_roi
from tact.physics import Scanner, ScanProtocol
from tact.roi import circular_roi
from tact.simulated_data import SimulatedStack, save_simulation


@pytest.fixture(scope="module")
def low_and_full():
    volume = generate_volume(5, PhantomSpec(size=128, n_slices=12, slice_thickness_mm=10.0))
    k = int(np.argmax((volume.labels > 0).sum(axis=(1, 2))))
    full = hu_to_normalised(volume.hu[k])
    scanner = Scanner(
        128, volume.spacing_mm[1] * 128, ScanProtocol(n_angles=300, photons_per_pixel=512)
    )
    low = scanner.fbp(scanner.measure(full, np.random.default_rng(0)))
    return low, full


def test_bm3d_improves_psnr_over_the_low_dose_input(low_and_full):
    low, full = low_and_full
    roi = circular_roi(128)
    denoised = bm3d_denoise(low, 0.075)
    assert denoised.shape == low.shape and denoised.dtype == np.float32
    assert psnr_in_roi(denoised, full, roi) > psnr_in_roi(low, full, roi) + 3
    np.testing.assert_array_equal(bm3d_denoise(low, 0.075), denoised)  # bit-identical reruns


def test_sweep_table_and_choice(low_and_full):
    best, table = sweep_sigma([low_and_full], sigmas=(0.01, 0.075, 0.3))
    assert table["sigma_psd"].tolist() == [0.01, 0.075, 0.3]
    assert table.loc[table["chosen"], "sigma_psd"].item() == best
    assert table.loc[table["chosen"], "psnr_mean"].item() == table["psnr_mean"].max()
    with pytest.raises(ValueError):
        bm3d_denoise(low_and_full[0], 0.0)


def test_sweep_warns_when_the_best_sigma_is_at_the_grid_edge(low_and_full, caplog):
    # this slice's noise wants sigma near 0.15: 0.01 and 0.02 put the best at the grid's edge
    best, _ = sweep_sigma([low_and_full], sigmas=(0.01, 0.02))
    assert best == 0.02
    assert "at the edge of the grid [0.01, 0.02]" in caplog.text
    caplog.clear()
    best, _ = sweep_sigma([low_and_full], sigmas=(0.075, 0.15, 0.3))
    assert best == 0.15
    assert "edge of the grid" not in caplog.text


def test_sweep_in_parallel_gives_the_same_table(low_and_full, caplog):
    low, full = low_and_full
    pairs = [(low, full), (low[::-1].copy(), full[::-1].copy())]
    sigmas = (0.02, 0.075, 0.2)
    _, serial = sweep_sigma(pairs, sigmas)
    with caplog.at_level(logging.INFO, logger="tact"):
        _, parallel = sweep_sigma(pairs, sigmas, workers=2)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lines[0] == "BM3D sweep, 2 slices x 3 sigmas: 6 BM3D denoisings, 2 at a time"
    assert lines[1].startswith("BM3D sweep, 2 slices x 3 sigmas: 1 of 6 done")
    assert any(line.startswith("BM3D sweep, 2 slices x 3 sigmas: 6 of 6 done") for line in lines)
    pd.testing.assert_frame_equal(serial, parallel)
    assert serial["psnr_mean"].nunique() == 3


def test_a_volume_denoised_in_processes_equals_one_at_a_time(low_and_full, tmp_path):
    """The test slices of the volume only, in split order, whatever the number of workers."""
    low, _ = low_and_full
    lowdose = np.stack([low, low[::-1], low[:, ::-1]]).astype(np.float32)
    sim = SimulatedStack(4, np.array([7, 3, 5]), lowdose, lowdose, 300, 100.0, 0.6)
    save_simulation(sim, tmp_path / "sim.h5")
    split = pd.DataFrame(
        {"volume": [4, 4, 4, 1], "slice": [3, 5, 7, 3], "split": ["test", "train", "test", "test"]}
    )
    split.to_csv(tmp_path / "split.csv", index=False)
    serial = bm3d_test_slices(tmp_path / "sim.h5", tmp_path / "split.csv", 0.075)
    parallel = bm3d_test_slices(tmp_path / "sim.h5", tmp_path / "split.csv", 0.075, workers=2)
    assert serial.slices.tolist() == [3, 7] and serial.volumes.tolist() == [4, 4]
    np.testing.assert_array_equal(serial.images, parallel.images)
    np.testing.assert_array_equal(serial.images[0], bm3d_denoise(lowdose[1], 0.075))
    np.testing.assert_array_equal(serial.images[1], bm3d_denoise(lowdose[0], 0.075))
