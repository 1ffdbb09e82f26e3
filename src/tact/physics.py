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

FBP: ODL's ``fbp_op`` with ASTRA's CPU projector defines the images. With CUDA ASTRA and a CUDA
torch, the same FBP runs on the GPU through ``tact.fbp_torch``, which reproduces it to float32
rounding (ASTRA's own CUDA back-projector interpolates differently, see ``Scanner.__init__``), so
the images do not depend on the hardware.

Lengths are in metres, as in LoDoPaB (mu is in 1/m). The reconstruction domain is either
LoDoPaB's fixed 26 cm square or the physical extent of the slice (from the NIfTI spacing).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
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


@cache
def torch_cuda_works() -> bool:
    """torch can be a CPU build, or see no usable GPU: try one tiny operation."""
    import torch

    if not torch.cuda.is_available():
        return False
    try:
        torch.ones(1, device="cuda").add_(1).cpu()
    except Exception as exc:
        log.info("torch sees CUDA but cannot use it (%s)", exc)
        return False
    return True


def choose_fbp_device(requested: str | None, backend: str) -> str | None:
    """Where FBPs run: ``None`` is ODL's astra_cpu path, a string a torch device.

    ``"auto"`` picks the GPU when the projection runs on it (``astra_cuda``) and torch has
    CUDA: the torch FBP equals the ODL one to float32 rounding, so the choice only changes speed.
    """
    if requested == "auto":
        return "cuda" if backend == "astra_cuda" and torch_cuda_works() else None
    return requested


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
    """Parallel-beam geometry and operators for one image size and physical extent.

    ``backend`` projects (ASTRA CPU or CUDA); ``fbp_device`` reconstructs: ``"auto"`` (the GPU
    through torch with ``astra_cuda``, else ODL on the CPU), ``None`` (ODL's astra_cpu ``fbp_op``)
    or a torch device (``tact.fbp_torch``, the same images to float32 rounding).
    """

    def __init__(
        self,
        size: int,
        extent_mm: float,
        protocol: ScanProtocol,
        backend: str = "astra_cpu",
        fbp_device: str | None = "auto",
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
        # FBP back-projects with ASTRA's CPU kernel (the exact adjoint of its projector), through
        # ODL or through its torch replica on the GPU. ASTRA's CUDA back-projector interpolates
        # differently: on noisy data its Ram-Lak images were 0.9 dB higher in PSNR (H200 vs CPU,
        # same sinograms), so the networks' input would depend on the hardware.
        self._reco_trafo = tomo.RayTransform(self.reco_space, self.geometry, impl="astra_cpu")
        self._fbps: dict[tuple[str, float], odl.Operator] = {}
        self.fbp_device = choose_fbp_device(fbp_device, backend)
        self._torch_fbp = None
        if self.fbp_device is not None:
            from tact.fbp_torch import ParallelGeometry2D, TorchFBP

            geometry = ParallelGeometry2D.from_odl(self.reco_space, self.geometry)
            self._torch_fbp = TorchFBP(geometry, self.fbp_device)

    @property
    def sinogram_shape(self) -> tuple[int, int]:
        return tuple(self.geometry.partition.shape)

    def upsample(self, image: np.ndarray) -> np.ndarray:
        """mu (1/m) on the fine grid: linear interpolation of the image times mu_max."""
        if image.shape != (self.size, self.size):
            raise ValueError(f"expected a {self.size} x {self.size} image, got {image.shape}")
        fine = resize(
            image.astype(np.float64) * MU_MAX, self.fine_space.shape, order=1, anti_aliasing=False
        )
        return fine.astype(np.float32)

    def project(self, fine: np.ndarray) -> np.ndarray:
        """Line integrals of an upsampled image (``backend``'s projector): (angles, detectors)."""
        return self._project(fine).asarray()

    def line_integrals(self, image: np.ndarray) -> np.ndarray:
        """Integrals of mu (1/m) along every ray of the upsampled image: (angles, detectors)."""
        return self.project(self.upsample(image))

    def expected_counts(self, image: np.ndarray) -> np.ndarray:
        """Mean photon count per detector pixel: N0 exp(-line integral)."""
        return self.protocol.photons_per_pixel * np.exp(
            -self.line_integrals(image).astype(np.float64)
        )

    def counts_to_sinogram(self, counts: np.ndarray) -> np.ndarray:
        """Zero counts -> 0.1 photons, then -log(counts / N0) / mu_max."""
        counts = np.maximum(counts, self.protocol.zero_count_photons)
        return (-np.log(counts / self.protocol.photons_per_pixel) / MU_MAX).astype(np.float32)

    def measure_counts(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The detected photon counts of one slice: Poisson draws (or their means, noise off)."""
        counts = self.expected_counts(image)
        if self.protocol.noise:
            counts = rng.poisson(counts).astype(np.float64)
        return counts

    def measure(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The simulated post-log sinogram of one slice (Poisson noise unless disabled)."""
        return self.counts_to_sinogram(self.measure_counts(image, rng))

    @property
    def fbp_name(self) -> str:
        """How FBPs run, for logs and benchmarks."""
        return "ODL astra_cpu" if self.fbp_device is None else f"torch on {self.fbp_device}"

    def fbp(
        self, sinogram: np.ndarray, filter_type: str = "Ram-Lak", frequency_scaling: float = 1.0
    ) -> np.ndarray:
        """Filtered back-projection onto the reconstruction grid (zero-padded filtering)."""
        return self.fbp_many(sinogram[None], [(filter_type, frequency_scaling)])[0, 0]

    def fbp_many(self, sinograms: np.ndarray, filters: Sequence[tuple[str, float]]) -> np.ndarray:
        """FBPs of (B, angles, detectors) sinograms with each (filter, scaling): (F, B, n, n).

        On a torch device the batch and the filters share one back-projection pass, which is
        what makes the GPU fast; the ODL path loops over them.
        """
        sinograms = np.asarray(sinograms, dtype=np.float32)
        keys = [(str(name), round(float(scaling), 6)) for name, scaling in filters]
        if self._torch_fbp is not None:
            return self._torch_fbp(sinograms, keys).cpu().numpy()
        images = np.empty((len(keys), len(sinograms), self.size, self.size), np.float32)
        for i, key in enumerate(keys):
            if key not in self._fbps:
                self._fbps[key] = tomo.fbp_op(
                    self._reco_trafo, padding=True, filter_type=key[0], frequency_scaling=key[1]
                )
            for b, sinogram in enumerate(sinograms):
                images[i, b] = self._fbps[key](sinogram).asarray()
        return images
