"""Data consistency: known answers, with the measured counts of real simulated scans."""

import numpy as np
import pandas as pd
import pytest

from tact.consistency import consistency, consistency_of_test_set, discrepancy, measurements_of
from tact.physics import Scanner, ScanProtocol
from tact.roi import circular_roi
from tact.simulated_data import Measurements, load_measurements, save_measurements
from tact.simulation import counts_dtype
from tact.test_sets import TestSet

SIZE = 64
ROWS, COLS = np.mgrid[:SIZE, :SIZE]
CENTRE = (SIZE - 1) / 2


def disc(row: float, col: float, radius: float) -> np.ndarray:
    return (ROWS - row) ** 2 + (COLS - col) ** 2 < radius**2


@pytest.fixture(scope="module")
def abdomen() -> np.ndarray:
    """Water-like body (0.25) with a brighter organ, in LoDoPaB units."""
    body = ((COLS - CENTRE) / 27) ** 2 + ((ROWS - CENTRE) / 20) ** 2 < 1
    return (0.25 * body + 0.02 * disc(CENTRE, CENTRE + 8, 7)).astype(np.float32)


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(SIZE, 350.0, ScanProtocol(n_angles=300), "astra_cpu", fbp_device=None)


def measured(scanner: Scanner, image: np.ndarray, seed: int) -> np.ndarray:
    return scanner.measure_counts(image, np.random.default_rng(seed))


def test_the_true_image_scores_one(scanner, abdomen):
    """E[(k - lambda)^2 / lambda] = 1 for Poisson counts: the normalisation is the noise's."""
    values = [
        consistency(scanner, abdomen, abdomen, measured(scanner, abdomen, s)) for s in range(6)
    ]
    n_rays = np.prod(scanner.sinogram_shape)
    spread = np.sqrt(2.2 / n_rays)  # sd of a mean of (k - lambda)^2 / lambda over the rays
    assert np.mean(values) == pytest.approx(1.0, abs=3 * spread)
    assert all(abs(v - 1) < 5 * spread for v in values)


def test_excess_over_one_is_the_squared_bias_in_noise_units(scanner, abdomen):
    """Painting a region shifts the expected counts; the statistic grows by exactly the mean
    of (lambda(x) - lambda(truth))^2 / lambda(truth), up to the noise of one realisation."""
    counts = measured(scanner, abdomen, 1)
    painted = abdomen + 0.1 * disc(CENTRE - 6, CENTRE - 10, 6)
    truth_expected = scanner.expected_counts(abdomen)
    bias = scanner.expected_counts(painted.astype(np.float32)) - truth_expected
    predicted_excess = np.mean(bias**2 / truth_expected)
    excess = consistency(scanner, painted, abdomen, counts) - consistency(
        scanner, abdomen, abdomen, counts
    )
    assert predicted_excess > 0.3  # a clearly visible change, not noise
    cross_term_sd = 2 * np.sqrt(predicted_excess / np.prod(scanner.sinogram_shape))
    assert excess == pytest.approx(predicted_excess, abs=4 * cross_term_sd + 1e-3)


def test_grows_with_painted_contrast_and_with_image_noise(scanner, abdomen):
    counts = measured(scanner, abdomen, 2)
    region = disc(CENTRE + 5, CENTRE - 8, 6)
    painted = [
        consistency(scanner, abdomen + contrast * region, abdomen, counts)
        for contrast in (0.0, 0.05, 0.1, 0.2)
    ]
    assert painted == sorted(painted) and painted[-1] > 2 * painted[0], painted
    rng = np.random.default_rng(0)
    pattern = rng.standard_normal(abdomen.shape).astype(np.float32)
    noisy = [
        consistency(scanner, abdomen + sd * pattern, abdomen, counts) for sd in (0.0, 0.02, 0.05)
    ]
    assert noisy == sorted(noisy) and noisy[-1] > 2 * noisy[0]


def test_outside_the_roi_every_image_takes_the_full_dose_values(scanner, abdomen):
    counts = measured(scanner, abdomen, 3)
    blanked = np.where(circular_roi(SIZE), abdomen, 0.0)
    scribbled = np.where(circular_roi(SIZE), abdomen, 0.7)
    reference = consistency(scanner, abdomen, abdomen, counts)
    assert consistency(scanner, blanked, abdomen, counts) == pytest.approx(reference, rel=1e-9)
    assert consistency(scanner, scribbled, abdomen, counts) == pytest.approx(reference, rel=1e-9)


def test_noise_free_counts_give_zero_for_the_truth(abdomen):
    scanner = Scanner(SIZE, 350.0, ScanProtocol(n_angles=100, noise=False), "astra_cpu", None)
    counts = measured(scanner, abdomen, 0)
    assert consistency(scanner, abdomen, abdomen, counts) == pytest.approx(0.0, abs=1e-9)
    expected_true = scanner.expected_counts(abdomen)
    assert (
        discrepancy(scanner, abdomen + 0.01, abdomen, counts=counts, expected_true=expected_true)
        > 0
    )


def test_measurements_round_trip_and_test_set_values(tmp_path, scanner, abdomen):
    from tact.simulated_data import SimulatedStack

    images = np.stack([abdomen, abdomen * 1.1]).astype(np.float32)
    counts = np.stack([measured(scanner, image, 4 + i) for i, image in enumerate(images)])
    protocol = scanner.protocol
    stored = counts.astype(counts_dtype(protocol))
    np.testing.assert_array_equal(stored, counts)  # Poisson counts are whole numbers
    sim = SimulatedStack(
        volume_id=7,
        slice_index=np.array([3, 9]),
        lowdose=images,
        fbp=images,
        n_views=protocol.n_angles,
        extent_mm=350.0,
        frequency_scaling=0.5,
        counts=stored,
    )
    save_measurements(sim, "astra_cpu", tmp_path / "volume-7.counts.npz")
    loaded = load_measurements(tmp_path / "volume-7.counts.npz")
    assert isinstance(loaded, Measurements) and loaded.backend == "astra_cpu"
    np.testing.assert_array_equal(loaded.counts, stored)
    truth = TestSet(images, np.array([7, 7]), np.array([3, 9]))
    method = TestSet(images + 0.05 * disc(CENTRE, CENTRE, 6), truth.volumes, truth.slices)
    found = measurements_of([tmp_path / "volume-7.counts.npz"], [7])
    table = consistency_of_test_set(method, truth, found, protocol=protocol, backend="astra_cpu")
    assert isinstance(table, pd.DataFrame) and table["slice"].tolist() == [3, 9]
    for i in range(2):
        direct = consistency(scanner, method.images[i], images[i], counts[i])
        assert table["consistency"].iloc[i] == pytest.approx(direct, rel=1e-12)
    with pytest.raises(ValueError, match="volumes \\[8\\]"):
        measurements_of([tmp_path / "volume-7.counts.npz"], [7, 8])


def test_counts_are_stored_in_enough_bits():
    assert counts_dtype(ScanProtocol(photons_per_pixel=4096)) == np.uint16
    assert counts_dtype(ScanProtocol(photons_per_pixel=1e6)) == np.uint32
    assert counts_dtype(ScanProtocol(noise=False)) == np.float32
