"""The torch FBP equals ODL's astra_cpu FBP: back-projection, filters, and through Scanner.

ASTRA's CPU projector keeps ray positions in float32 (angles wrapped by float32 additions, the
row walk by repeated additions); an exact float64 transpose of the same kernel differs from it
by ~5e-5 (relative L2) at 64 px and ~3e-3 at 512 px on noise, so the 1e-6 bounds below fail
unless that arithmetic is reproduced.
"""

import numpy as np
import odl
import pytest
import torch
from odl.applications import tomo
from odl.applications.tomo.analytic.filtered_back_projection import fbp_filter_op

from tact.data.phantom import PhantomSpec, generate_volume
from tact.data.units import MU_MAX, hu_to_normalised
from tact.fbp_torch import (
    AstraCpuBackprojection,
    ParallelGeometry2D,
    TorchFBP,
    fbp_filter_kernel,
)
from tact.physics import (
    LODOPAB_DOMAIN_MM,
    Scanner,
    ScanProtocol,
    choose_fbp_device,
    torch_cuda_works,
)


def relative_l2(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.linalg.norm(ours - reference) / np.linalg.norm(reference))


def relative_max(ours: np.ndarray, reference: np.ndarray) -> float:
    """Largest pixel difference over the largest value: a ray missed by one pixel shows here."""
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def square_pixel_space(shape: tuple[int, int], pixel_m: float) -> odl.DiscretizedSpace:
    half = np.array(shape) * pixel_m / 2
    return odl.uniform_discr(-half, half, shape, dtype="float32")


def ray_transform(space, n_angles: int | None = None, angles=None):
    if angles is None:
        geometry = tomo.parallel_beam_geometry(space, num_angles=n_angles)
    else:  # cell-centred angles that land on exact multiples of 45 degrees
        reference = tomo.parallel_beam_geometry(space, num_angles=4)
        geometry = tomo.Parallel2dGeometry(angles, reference.det_partition)
    return tomo.RayTransform(space, geometry, impl="astra_cpu")


EXACT_45 = odl.uniform_partition(-np.pi / 8, np.pi - np.pi / 8, 4)  # 0, 45, 90, 135 degrees

CASES = {
    "64 px, 90 angles (45 and 135 degrees)": ((64, 64), 90, None),
    "64 px, 100 angles": ((64, 64), 100, None),
    "63 px, 90 angles": ((63, 63), 90, None),
    "40 x 64 px, 30 angles": ((40, 64), 30, None),
    "64 px, 0/45/90/135 degrees": ((64, 64), None, EXACT_45),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_backprojection_equals_astra_cpu_adjoint(case):
    shape, n_angles, angles = case
    trafo = ray_transform(square_pixel_space(shape, 5e-4), n_angles, angles)
    if n_angles == 90:
        assert np.isclose(trafo.geometry.angles, np.pi / 4).any()
    sinograms = np.random.default_rng(0).standard_normal((3, *trafo.range.shape), np.float32)
    reference = np.stack([trafo.adjoint(s).asarray() for s in sinograms])
    geometry = ParallelGeometry2D.from_odl(trafo.domain, trafo.geometry)
    ours = AstraCpuBackprojection(geometry, angle_chunk=7)(torch.from_numpy(sinograms)).numpy()
    assert ours.shape == reference.shape
    assert relative_l2(ours, reference) < 1e-6
    assert relative_max(ours, reference) < 5e-6


def test_backprojection_is_linear_in_the_batch():
    trafo = ray_transform(square_pixel_space((32, 32), 5e-4), 20)
    geometry = ParallelGeometry2D.from_odl(trafo.domain, trafo.geometry)
    backprojection = AstraCpuBackprojection(geometry)
    a, b = torch.randn(2, 1, *trafo.range.shape)
    together = backprojection(torch.cat([a, b, 2 * a - b]))
    torch.testing.assert_close(together[2], 2 * together[0] - together[1], rtol=0, atol=1e-5)
    torch.testing.assert_close(backprojection(a)[0], together[0], rtol=0, atol=1e-6)


def test_taps_without_weight_read_the_zero_row():
    """Speed: about half the taps carry no weight; they all read one cached row of zeros."""
    trafo = ray_transform(square_pixel_space((32, 32), 5e-4), 20)
    geometry = ParallelGeometry2D.from_odl(trafo.domain, trafo.geometry)
    backprojection = AstraCpuBackprojection(geometry)
    zero_row = 20 * geometry.det_count
    for walk, tensors in zip(backprojection.walks, backprojection._tensors, strict=True):
        n = len(walk.angle_index)
        positions = torch.empty(walk.n_lines, n, geometry.det_count)
        positions[0] = tensors["start"]
        for line in range(1, walk.n_lines):
            positions[line] = positions[line - 1] + tensors["step"][:, None]
        index, weight = backprojection._taps(walk, tensors, positions, 0, 0, n)
        assert 0.2 < (weight == 0).float().mean() < 0.8
        assert torch.equal(index == zero_row, weight == 0)
        assert int(index.max()) == zero_row


@pytest.mark.parametrize("name", ["Ram-Lak", "Shepp-Logan", "Cosine", "Hamming", "Hann"])
@pytest.mark.parametrize("scaling", [0.437, 1.0])
def test_filter_equals_odl(name, scaling):
    trafo = ray_transform(square_pixel_space((64, 64), 5e-4), 50)
    sinogram = np.random.default_rng(1).standard_normal(trafo.range.shape, np.float32)
    reference = fbp_filter_op(trafo, True, name, scaling)(sinogram).asarray()
    fbp = TorchFBP(ParallelGeometry2D.from_odl(trafo.domain, trafo.geometry))
    ours = fbp.filter(torch.from_numpy(sinogram)[None], name, scaling)[0].numpy()
    assert relative_l2(ours, reference) < 1e-6


@pytest.mark.parametrize("name", ["Ram-Lak", "Shepp-Logan", "Hamming"])
def test_filter_equals_odl_where_a_frequency_sits_on_the_cutoff(name):
    """At 64 px over 300 mm a frequency of the padded grid is 0.6 of the largest: a filter that
    jumps at a scaling of 0.6 keeps or drops it exactly as ODL does."""
    scanner = Scanner(64, 300.0, ScanProtocol(n_angles=60), "astra_cpu", None)
    trafo = scanner._reco_trafo
    sinogram = np.random.default_rng(1).standard_normal(trafo.range.shape, np.float32)
    reference = fbp_filter_op(trafo, True, name, 0.6)(sinogram).asarray()
    fbp = TorchFBP(ParallelGeometry2D.from_odl(trafo.domain, trafo.geometry))
    ours = fbp.filter(torch.from_numpy(sinogram)[None], name, 0.6)[0].numpy()
    assert relative_l2(ours, reference) < 1e-6


def test_filter_kernel_is_even_and_ramp_like():
    kernel = fbp_filter_kernel(65, 1e-3, np.pi, filter_type="Ram-Lak", scaling=1.0)
    np.testing.assert_allclose(kernel, kernel[::-1], rtol=0, atol=1e-9 * np.abs(kernel).max())
    centre = len(kernel) // 2
    assert kernel[centre] > 0 and kernel[centre + 1] < 0  # the ramp's sharp positive peak
    # ODL's frequency grid is shifted by half a bin: almost, not exactly, no response at 0
    assert abs(kernel.sum()) < 0.02 * kernel[centre]
    with pytest.raises(ValueError, match="filter_type"):
        fbp_filter_kernel(65, 1e-3, np.pi, filter_type="Butterworth", scaling=1.0)


@pytest.fixture(scope="module")
def noisy_phantom():
    """A phantom slice, its scanner (64 px, 100 angles) and one low-dose sinogram."""
    volume = generate_volume(3, PhantomSpec(size=64, n_slices=12, slice_thickness_mm=10.0))
    k = int(np.argmax((volume.labels > 0).sum(axis=(1, 2))))
    image = hu_to_normalised(volume.hu[k])
    scanner = Scanner(64, LODOPAB_DOMAIN_MM, ScanProtocol(n_angles=100), "astra_cpu", None)
    return image, scanner, scanner.measure(image, np.random.default_rng(0))


@pytest.mark.parametrize(
    "name, scaling", [("Ram-Lak", 1.0), ("Hann", 0.437), ("Hann", 1.0)], ids=str
)
def test_fbp_equals_odl_fbp_op_on_a_noisy_phantom(noisy_phantom, name, scaling):
    _, scanner, sinogram = noisy_phantom
    reference = scanner.fbp(sinogram, name, scaling)  # ODL, astra_cpu
    fbp = TorchFBP(ParallelGeometry2D.from_odl(scanner.reco_space, scanner.geometry))
    ours = fbp(sinogram, [(name, scaling)])[0, 0].numpy()
    assert relative_l2(ours, reference) < 1e-6
    assert relative_max(ours, reference) < 5e-6


def test_scanner_on_a_torch_device_gives_the_odl_images(noisy_phantom):
    _, odl_scanner, sinogram = noisy_phantom
    scanner = Scanner(64, LODOPAB_DOMAIN_MM, ScanProtocol(n_angles=100), "astra_cpu", "cpu")
    assert scanner.fbp_device == "cpu" and odl_scanner.fbp_device is None
    filters = [("Ram-Lak", 1.0), ("Hann", 0.437)]
    batch = np.stack([sinogram, 0.5 * sinogram])
    ours, reference = scanner.fbp_many(batch, filters), odl_scanner.fbp_many(batch, filters)
    assert ours.shape == reference.shape == (2, 2, 64, 64)
    assert relative_l2(ours, reference) < 1e-6
    single = scanner.fbp(sinogram, "Hann", 0.437)
    assert relative_l2(single, odl_scanner.fbp(sinogram, "Hann", 0.437)) < 1e-6


def test_fbp_device_choice():
    assert choose_fbp_device("auto", "astra_cpu") is None
    assert choose_fbp_device(None, "astra_cuda") is None
    assert choose_fbp_device("cpu", "astra_cpu") == "cpu"
    on_gpu = choose_fbp_device("auto", "astra_cuda")  # with CUDA ASTRA: the GPU if torch has it
    assert on_gpu == ("cuda" if torch_cuda_works() else None)
    assert Scanner(32, 260.0, ScanProtocol(n_angles=10)).fbp_device is None


def disc_sinogram(geometry, discs: list[tuple[float, float, float]]) -> np.ndarray:
    """Exact line integrals of discs (x, y, radius in m; mu in 1/m) in ODL's geometry."""
    angles = geometry.angles[:, None]
    s = geometry.det_partition.meshgrid[0][None, :]
    total = np.zeros((len(geometry.angles), s.shape[1]))
    for x, y, radius, mu in discs:
        # ODL's detector axis at angle theta is (cos, sin)
        offset = s - (np.cos(angles) * x + np.sin(angles) * y)
        total += 2 * mu * np.sqrt(np.clip(radius**2 - offset**2, 0, None))
    return total


@pytest.mark.slow
def test_fbp_equals_odl_at_the_paper_geometry():
    """512 px, 1000 angles, 727 detector pixels, a noisy (Poisson) scan of discs."""
    scanner = Scanner(512, 350.0, ScanProtocol(), "astra_cpu", None)
    assert scanner.sinogram_shape == (1000, 727)
    discs = [(0, 0, 0.15, 10.0), (0.05, 0.02, 0.04, 15.0), (-0.06, -0.03, 0.02, 60.0)]
    expected = 4096 * np.exp(-disc_sinogram(scanner.geometry, discs))
    counts = np.random.default_rng(0).poisson(expected).astype(np.float64)
    sinogram = scanner.counts_to_sinogram(counts)
    filters = [("Ram-Lak", 1.0), ("Hann", 0.437)]
    reference = scanner.fbp_many(sinogram[None], filters)[:, 0]
    fbp = TorchFBP(ParallelGeometry2D.from_odl(scanner.reco_space, scanner.geometry))
    ours = fbp(sinogram, filters)[:, 0].numpy()
    for name, mine, ref in zip(("Ram-Lak", "Hann"), ours, reference, strict=True):
        assert relative_l2(mine, ref) < 1e-5, name
        assert relative_max(mine, ref) < 1e-5, name
    # and the images are the scan: the large disc reads 10 /m (in units of mu_max) inside, up to
    # the ~2.5% that ODL's ramp (sampled half a bin off zero frequency) adds to flat regions
    for image in ours:
        assert image[236:276, 150:190].mean() == pytest.approx(10.0 / MU_MAX, rel=0.05)
