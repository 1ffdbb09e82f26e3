"""Low-dose CT simulation following LoDoPaB-CT (Leuschner et al. 2021), and FBP.

The paper simulates its low-dose scans "following LoDoPaB-CT". Per slice, as LoDoPaB's code:

1. the ground truth (LoDoPaB units, mu / mu_max) is multiplied by mu_max and upsampled with
   linear interpolation (1000 px for 362 px in LoDoPaB, the same ratio here), so the data do not
   come from the discretisation that reconstructs them (no inverse crime);
2. parallel-beam line integrals over 180 degrees, detector from ``parallel_beam_geometry`` of the
   reconstruction space (so it covers the whole square domain), on the GPU when there is one;
3. expected photon counts N0 exp(-line integral), Poisson noise, counts below 0.1 photons (i.e.
   zero counts) set to 0.1;
4. -log(counts / N0) / mu_max: the sinogram in the units whose FBP is the normalised image.

FBP back-projects on the CPU whatever the projector backend, so that the images do not depend on
the hardware (see ``Scanner.__init__``).

Lengths are in metres, as in LoDoPaB (mu is in 1/m). The reconstruction domain is either
LoDoPaB's fixed 26 cm square or the physical extent of the slice (from the NIfTI spacing).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
import odl
from odl.applications import tomo
from skimage.transform import resize

from tact.data.units import MU_MAX
from tact.errors import ConfigError

log = logging.getLogger(__name__)

# ODL warns on every large astra_cpu call; the choice of backend is logged once instead.
warnings.filterwarnings("ignore", message="The 'astra_cpu' backend may be too slow")

LODOPAB_DOMAIN_MM = 260.0
LODOPAB_UPSAMPLE = 1000 / 362  # LoDoPaB: 362 px ground truth projected from 1000 px
BACKENDS = ("astra_cpu", "astra_cuda")


@dataclass(frozen=True)
class ScanProtocol:
    """Everything that defines the simulated acquisition (all from the config)."""

    n_angles: int = 1000
    photons_per_pixel: float = 4096.0
    zero_count_photons: float = 0.1
    noise: bool = True
    upsample_factor: float = LODOPAB_UPSAMPLE

    def __post_init__(self) -> None:
        if self.n_angles < 1:
            raise ConfigError(f"number of views must be positive, got {self.n_angles}")
        if self.photons_per_pixel <= 0 or self.zero_count_photons <= 0:
            raise ConfigError("photon counts must be positive")
        if self.upsample_factor < 1:
            raise ConfigError(f"upsample_factor must be >= 1, got {self.upsample_factor}")


@cache
def _cuda_projection_works() -> bool:
    """ASTRA can be built with CUDA yet find no usable GPU: try one tiny projection."""
    if not tomo.ASTRA_CUDA_AVAILABLE:
        return False
    try:
        space = odl.uniform_discr([-1, -1], [1, 1], (8, 8), dtype="float32")
        geometry = tomo.parallel_beam_geometry(space, num_angles=4)
        tomo.RayTransform(space, geometry, impl="astra_cuda")(np.ones((8, 8), np.float32))
    except Exception as exc:
        log.info("ASTRA CUDA is compiled in but does not run here (%s)", exc)
        return False
    return True


def choose_backend(requested: str = "auto") -> str:
    """``astra_cuda`` when a GPU and a working CUDA ASTRA are present, else ``astra_cpu``."""
    if requested == "auto":
        backend = "astra_cuda" if _cuda_projection_works() else "astra_cpu"
        log.info("projector backend: %s (chosen automatically)", backend)
        return backend
    if requested not in BACKENDS:
        raise ConfigError(
            f"simulation.backend must be auto or one of {BACKENDS}, got {requested!r}"
        )
    if requested == "astra_cuda" and not _cuda_projection_works():
        raise ConfigError("simulation.backend is astra_cuda but CUDA ASTRA does not run here")
    log.info("projector backend: %s (from the config)", requested)
    return requested


class Scanner:
    """Parallel-beam geometry and operators for one image size and physical extent."""

    def __init__(
        self, size: int, extent_mm: float, protocol: ScanProtocol, backend: str = "astra_cpu"
    ) -> None:
        half = extent_mm / 2000.0  # metres
        self.size = size
        self.extent_mm = extent_mm
        self.protocol = protocol
        self.backend = backend
        self.reco_space = odl.uniform_discr([-half, -half], [half, half], (size, size), "float32")
        self.geometry = tomo.parallel_beam_geometry(self.reco_space, num_angles=protocol.n_angles)
        fine = max(size, round(size * protocol.upsample_factor))
        self.fine_space = odl.uniform_discr([-half, -half], [half, half], (fine, fine), "float32")
        self._project = tomo.RayTransform(self.fine_space, self.geometry, impl=backend)
        # FBP always back-projects with ASTRA's CPU kernel (the exact adjoint of its projector).
        # The CUDA back-projector interpolates differently: on noisy data its Ram-Lak images were
        # 0.9 dB higher in PSNR (H200 vs CPU, same sinograms), so the networks' input would
        # depend on the hardware. The paper's preprocessing ran on CPUs.
        self._reco_trafo = tomo.RayTransform(self.reco_space, self.geometry, impl="astra_cpu")
        self._fbps: dict[tuple[str, float], odl.Operator] = {}

    @property
    def sinogram_shape(self) -> tuple[int, int]:
        return tuple(self.geometry.partition.shape)

    def line_integrals(self, image: np.ndarray) -> np.ndarray:
        """Integrals of mu (1/m) along every ray of the upsampled image: (angles, detectors)."""
        if image.shape != (self.size, self.size):
            raise ValueError(f"expected a {self.size} x {self.size} image, got {image.shape}")
        fine = resize(
            image.astype(np.float64) * MU_MAX, self.fine_space.shape, order=1, anti_aliasing=False
        ).astype(np.float32)
        return self._project(fine).asarray()

    def expected_counts(self, image: np.ndarray) -> np.ndarray:
        """Mean photon count per detector pixel: N0 exp(-line integral)."""
        return self.protocol.photons_per_pixel * np.exp(
            -self.line_integrals(image).astype(np.float64)
        )

    def counts_to_sinogram(self, counts: np.ndarray) -> np.ndarray:
        """Zero counts -> 0.1 photons, then -log(counts / N0) / mu_max."""
        counts = np.maximum(counts, self.protocol.zero_count_photons)
        return (-np.log(counts / self.protocol.photons_per_pixel) / MU_MAX).astype(np.float32)

    def measure(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The simulated post-log sinogram of one slice (Poisson noise unless disabled)."""
        counts = self.expected_counts(image)
        if self.protocol.noise:
            counts = rng.poisson(counts).astype(np.float64)
        return self.counts_to_sinogram(counts)

    def fbp(
        self, sinogram: np.ndarray, filter_type: str = "Ram-Lak", frequency_scaling: float = 1.0
    ) -> np.ndarray:
        """Filtered back-projection onto the reconstruction grid (zero-padded filtering)."""
        key = (filter_type, round(float(frequency_scaling), 6))
        if key not in self._fbps:
            self._fbps[key] = tomo.fbp_op(
                self._reco_trafo,
                padding=True,
                filter_type=filter_type,
                frequency_scaling=key[1],
            )
        return self._fbps[key](sinogram.astype(np.float32)).asarray()
