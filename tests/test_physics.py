"""The LoDoPaB-CT simulation: geometry, photon statistics, the 0.1-photon rule, FBP quality."""

import numpy as np
import pytest

from tact.data.phantom import PhantomSpec, generate_volume
from tact.data.units import MU_MAX, hu_to_normalised
from tact.errors import ConfigError
from tact.metrics.pixel import psnr_in_roi
from tact.physics import LODOPAB_DOMAIN_MM, Scanner, ScanProtocol, choose_backend
from tact.roi import circular_roi

WATER = float(hu_to_normalised(np.array([0.0]))[0])


@pytest.fixture(scope="module")
def phantom_slice() -> np.ndarray:
    volume = generate_volume(3, PhantomSpec(size=256, n_slices=12, slice_thickness_mm=10.0))
    k = int(np.argmax((volume.labels > 0).sum(axis=(1, 2))))
    return hu_to_normalised(volume.hu[k])


def test_geometry_follows_lodopab():
    scanner = Scanner(362, LODOPAB_DOMAIN_MM, ScanProtocol(), "astra_cpu")
    # LoDoPaB-CT: 1000 angles x 513 detector pixels, ground truth projected from 1000 px
    assert scanner.sinogram_shape == (1000, 513)
    assert scanner.fine_space.shape == (1000, 1000)
    angles = scanner.geometry.angles
    assert angles.min() > 0 and angles.max() < np.pi  # 180 degrees, cell-centred


def test_noise_free_ramlak_reproduces_ground_truth(phantom_slice):
    scanner = Scanner(256, LODOPAB_DOMAIN_MM, ScanProtocol(noise=False), "astra_cpu")
    sinogram = scanner.measure(phantom_slice, np.random.default_rng(0))
    reconstruction = scanner.fbp(sinogram, "Ram-Lak")
    assert psnr_in_roi(reconstruction, phantom_slice, circular_roi(256)) >= 35.0


def test_line_integrals_of_a_flat_object():
    """A water square filling the domain: the central ray crosses 26 cm / cos(angle) of water."""
    scanner = Scanner(64, LODOPAB_DOMAIN_MM, ScanProtocol(n_angles=8), "astra_cpu")
    image = np.full((64, 64), WATER, np.float32)
    counts = scanner.expected_counts(image)
    centre = counts.shape[1] // 2
    angle = scanner.geometry.angles[0]  # cell-centred: pi / 16
    path_m = 0.26 / np.cos(angle)
    expected = 4096 * np.exp(-WATER * MU_MAX * path_m)  # mu_water = 20 /m -> about 20 photons
    assert counts[0, centre] == pytest.approx(expected, rel=0.02)
    assert counts.max() <= 4096 and counts[:, 0].min() == pytest.approx(4096, rel=1e-6)


def test_photon_counts_are_poisson():
    """Counts recovered from the sinogram have the model's mean and variance (Poisson)."""
    scanner = Scanner(32, LODOPAB_DOMAIN_MM, ScanProtocol(n_angles=10), "astra_cpu")
    image = np.full((32, 32), WATER / 4, np.float32)  # flat object, no zero counts
    expected = scanner.expected_counts(image)
    rng = np.random.default_rng(1)
    counts = np.stack(
        [4096 * np.exp(-MU_MAX * scanner.measure(image, rng)) for _ in range(400)]
    ).astype(np.float64)
    counts = np.round(counts)  # exp(-log(n)) gives back the integer count n
    inside = expected < 4000  # rays through the object
    standardized = (counts - expected[None]) / np.sqrt(expected[None])
    z = standardized[np.broadcast_to(inside[None], counts.shape)]
    assert abs(z.mean()) < 0.02 and z.var() == pytest.approx(1.0, abs=0.03)
    mean_ratio = counts.mean(axis=0)[inside] / expected[inside]
    assert np.abs(mean_ratio - 1).max() < 0.02


def test_zero_counts_become_a_tenth_of_a_photon():
    scanner = Scanner(32, LODOPAB_DOMAIN_MM, ScanProtocol(n_angles=10), "astra_cpu")
    opaque = np.ones((32, 32), np.float32)  # mu_max everywhere: about 21 e-folds, no photon left
    sinogram = scanner.measure(opaque, np.random.default_rng(0))
    ceiling = -np.log(0.1 / 4096) / MU_MAX
    central = sinogram[:, 8:-8]
    assert np.all(np.isfinite(sinogram))
    np.testing.assert_allclose(central, ceiling, rtol=1e-6)
    other_rule = Scanner(32, 260, ScanProtocol(n_angles=10, zero_count_photons=1.0), "astra_cpu")
    assert other_rule.measure(opaque, np.random.default_rng(0)).max() == pytest.approx(
        -np.log(1 / 4096) / MU_MAX, rel=1e-6
    )


def test_same_seed_same_sinogram(phantom_slice):
    scanner = Scanner(256, LODOPAB_DOMAIN_MM, ScanProtocol(n_angles=100), "astra_cpu")
    a = scanner.measure(phantom_slice, np.random.default_rng(7))
    b = scanner.measure(phantom_slice, np.random.default_rng(7))
    c = scanner.measure(phantom_slice, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_low_dose_noise_and_sparse_views_degrade_the_fbp(phantom_slice):
    roi = circular_roi(256)
    rng = np.random.default_rng(0)

    def psnr(protocol):
        scanner = Scanner(256, LODOPAB_DOMAIN_MM, protocol, "astra_cpu")
        return psnr_in_roi(scanner.fbp(scanner.measure(phantom_slice, rng)), phantom_slice, roi)

    full = psnr(ScanProtocol(noise=False))
    low_dose = psnr(ScanProtocol())
    sparse = psnr(ScanProtocol(n_angles=50, noise=False))
    assert low_dose < full - 3 and sparse < full - 3
    assert low_dose > 15 and sparse > 15


def test_hann_smooths_the_noise(phantom_slice):
    scanner = Scanner(256, LODOPAB_DOMAIN_MM, ScanProtocol(photons_per_pixel=256), "astra_cpu")
    sinogram = scanner.measure(phantom_slice, np.random.default_rng(0))
    roi = circular_roi(256)
    ramlak = psnr_in_roi(scanner.fbp(sinogram, "Ram-Lak"), phantom_slice, roi)
    hann = psnr_in_roi(scanner.fbp(sinogram, "Hann", 0.5), phantom_slice, roi)
    assert hann > ramlak + 3


def test_backend_choice():
    assert choose_backend("auto") in ("astra_cpu", "astra_cuda")
    assert choose_backend("astra_cpu") == "astra_cpu"
    with pytest.raises(ConfigError, match=r"simulation\.backend"):
        choose_backend("gpu")


@pytest.mark.parametrize(
    "bad", [{"n_angles": 0}, {"photons_per_pixel": 0}, {"zero_count_photons": -1}]
)
def test_protocol_rejects_nonsense(bad):
    with pytest.raises(ConfigError):
        ScanProtocol(**bad)
