"""The simulation stage: low-dose data and both FBPs for a volume, and the FBP tuning.

Per slice the stage keeps two reconstructions of the simulated sinogram:

- ``lowdose``: FBP with the plain Ram-Lak filter, the network input and the "Low-dose" row;
- ``fbp``: the "FBP" baseline row, FBP with the filter of ``fbp.filter_type`` (Hann by default)
  and ``fbp.frequency_scaling``; either may be ``auto``, tuned for PSNR on a few training slices
  as dival tunes its FBP baseline (dival's tuned Hann scaling on LoDoPaB is 0.641).

Both are set to a constant outside the circular ROI, as in the paper's Figure 2. The detected
photon counts of every slice are kept in a file of their own (the measured data that
``tact.consistency`` checks every method's images against); post-log sinograms are dropped
unless asked for. Noise is drawn from a generator seeded per volume, so the result does
not depend on which job runs first. When the FBPs run on the GPU (``Scanner.fbp_device``), the
slices are simulated ``FBP_BATCH`` at a time and reconstructed together: one back-projection
pass for the batch and both filters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from tqdm import tqdm

from tact.data.slices import SliceStack, load_stack, read_slice_index
from tact.data.split import pick_tuning_slices
from tact.logs import ProgressLog
from tact.metrics.pixel import psnr_in_roi
from tact.physics import LODOPAB_DOMAIN_MM, Scanner, ScanProtocol
from tact.roi import circular_roi, fill_outside_roi
from tact.simulated_data import SimulatedStack

log = logging.getLogger(__name__)

DOMAINS = ("lodopab", "physical")
FILTERS = ("Ram-Lak", "Shepp-Logan", "Cosine", "Hamming", "Hann")  # ODL's, as dival offers them
DEFAULT_FILTER = "Hann"  # the paper's FBP row: dival's tuned Hann on LoDoPaB
TUNING_GRID = np.linspace(0.1, 1.0, 10)  # the coarse search of the FBP tuning
FBP_BATCH = 32  # slices per GPU FBP call: ~0.1 GB of sinograms, and the pass is amortised


def extent_mm(stack: SliceStack, domain: str) -> float:
    """Side of the square reconstruction domain: LoDoPaB's 26 cm, or the slice's own extent."""
    return domain_extent_mm(domain, float(stack.spacing_mm[1]), stack.image.shape[-1])


def domain_extent_mm(domain: str, col_spacing_mm: float, size: int) -> float:
    """Side of the square reconstruction domain of slices of ``size`` pixels a side."""
    if domain == "lodopab":
        return LODOPAB_DOMAIN_MM
    if domain == "physical":
        return float(col_spacing_mm * size)
    raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")


def simulate_stack(
    stack: SliceStack,
    protocol: ScanProtocol,
    *,
    domain: str,
    fbp_reading: tuple[str, float],
    rng: np.random.Generator,
    backend: str = "astra_cpu",
    outside_value: float = 0.0,
    keep_sinograms: bool = False,
    progress: bool = True,
    fbp_device: str | None = "auto",
    fbp_batch: int = FBP_BATCH,
) -> SimulatedStack:
    """Simulate every slice of a volume and reconstruct it with both filters.

    Slices are measured in order whatever the batching, so the noise is the same on every
    machine; ``fbp_device`` is ``Scanner``'s (``"auto"``: the GPU with ``astra_cuda``).
    """
    size = stack.image.shape[-1]
    scanner = Scanner(size, extent_mm(stack, domain), protocol, backend, fbp_device)
    n = len(stack)
    views, detectors = scanner.sinogram_shape
    plan = f"{n} slices, {views} views x {detectors} detectors, FBP {scanner.fbp_name}"
    log.info(f"volume {stack.volume_id}: simulating {plan}")
    start = time.perf_counter()
    measured = _measure(
        stack,
        scanner,
        rng,
        filters=[("Ram-Lak", 1.0), (str(fbp_reading[0]), float(fbp_reading[1]))],
        batch=max(1, fbp_batch) if scanner.fbp_device is not None else 1,
        keep_sinograms=keep_sinograms,
        progress=progress,
    )
    log.info(
        "volume %d: %d slices, %d views x %d detectors, %.0f mm domain, %s, FBP %s, "
        "%.2f s per slice",
        stack.volume_id,
        n,
        *scanner.sinogram_shape,
        scanner.extent_mm,
        backend,
        scanner.fbp_name,
        (time.perf_counter() - start) / max(n, 1),
    )
    return SimulatedStack(
        volume_id=stack.volume_id,
        slice_index=stack.slice_index.copy(),
        lowdose=fill_outside_roi(measured["lowdose"], outside_value),
        fbp=fill_outside_roi(measured["fbp"], outside_value),
        n_views=protocol.n_angles,
        extent_mm=scanner.extent_mm,
        frequency_scaling=float(fbp_reading[1]),
        fbp_filter=str(fbp_reading[0]),
        sinogram=measured["sinogram"],
        counts=measured["counts"],
    )


def _measure(
    stack: SliceStack,
    scanner: Scanner,
    rng: np.random.Generator,
    *,
    filters: list[tuple[str, float]],
    batch: int,
    keep_sinograms: bool,
    progress: bool,
) -> dict[str, np.ndarray | None]:
    """Photon counts, Ram-Lak and tuned FBP (and the sinograms if kept) of every slice, in
    slice order: the noise draws do not depend on the batch size."""
    n, size = len(stack), stack.image.shape[-1]
    out: dict[str, np.ndarray | None] = {
        "lowdose": np.empty((n, size, size), np.float32),
        "fbp": np.empty((n, size, size), np.float32),
        "sinogram": (
            np.empty((n, *scanner.sinogram_shape), np.float32) if keep_sinograms else None
        ),
        "counts": np.empty((n, *scanner.sinogram_shape), counts_dtype(scanner.protocol)),
    }
    progress_log = ProgressLog(log, f"volume {stack.volume_id}", n)
    with tqdm(total=n, desc=f"volume {stack.volume_id}", unit="slice", disable=not progress) as bar:
        for first in range(0, n, batch):
            last = min(n, first + batch)
            detected = [scanner.measure_counts(stack.image[i], rng) for i in range(first, last)]
            out["counts"][first:last] = detected
            sinograms = np.stack([scanner.counts_to_sinogram(c) for c in detected])
            out["lowdose"][first:last], out["fbp"][first:last] = scanner.fbp_many(
                sinograms, filters
            )
            if keep_sinograms:
                out["sinogram"][first:last] = sinograms
            bar.update(last - first)
            progress_log.step(last - first)
    return out


def counts_dtype(protocol: ScanProtocol) -> np.dtype:
    """Poisson counts are integers: 16 bits hold them up to about 60,000 photons per pixel
    (the protocol's 4096 with room to spare); noise-free counts are their float means."""
    if not protocol.noise:
        return np.dtype(np.float32)
    largest = protocol.photons_per_pixel + 12 * np.sqrt(protocol.photons_per_pixel) + 20
    return np.dtype(np.uint16 if largest < np.iinfo(np.uint16).max else np.uint32)


# ---- tuning of the FBP baseline ---------------------------------------------------------------


def _mean_psnr_function(
    samples: Sequence[tuple[np.ndarray, float]],
    protocol: ScanProtocol,
    rng: np.random.Generator,
    backend: str,
    workers: int,
    fbp_device: str | None = "auto",
) -> Callable[[str, float], float]:
    """Simulate each sample once; return (filter, scaling) -> mean ROI PSNR of that FBP.

    On the CPU the FBPs of one reading run in a thread pool (ASTRA releases the GIL); on a
    GPU each scanner reconstructs all its samples in one batch.
    """
    scanners: dict[tuple[int, float], Scanner] = {}
    measured = []
    progress = ProgressLog(log, "FBP tuning, slices measured", len(samples))
    for image, extent in samples:
        key = (image.shape[-1], extent)
        if key not in scanners:
            scanners[key] = Scanner(key[0], extent, protocol, backend, fbp_device)
        measured.append((scanners[key], scanners[key].measure(image, rng), image))
        progress.step()
    roi = {size: circular_roi(size) for size, _ in scanners}

    def psnr(reading: tuple[str, float], sample: tuple[Scanner, np.ndarray, np.ndarray]) -> float:
        scanner, sinogram, image = sample
        return psnr_in_roi(scanner.fbp(sinogram, *reading), image, roi[scanner.size])

    def batch_psnrs(reading: tuple[str, float], scanner: Scanner) -> list[float]:
        """The samples of one scanner on a torch device, FBP_BATCH per FBP call."""
        mine = [(sinogram, image) for s, sinogram, image in measured if s is scanner]
        values = []
        for first in range(0, len(mine), FBP_BATCH):
            chunk = mine[first : first + FBP_BATCH]
            sinograms = np.stack([sinogram for sinogram, _ in chunk])
            images = scanner.fbp_many(sinograms, [reading])[0]
            values += [
                psnr_in_roi(reconstruction, image, roi[scanner.size])
                for reconstruction, (_, image) in zip(images, chunk, strict=True)
            ]
        return values

    def mean_psnr(filter_type: str, scaling: float) -> float:
        reading = (filter_type, scaling)
        on_odl = [sample for sample in measured if sample[0].fbp_device is None]
        with ThreadPoolExecutor(max(1, workers)) as pool:
            values = list(pool.map(partial(psnr, reading), on_odl))
        for scanner in scanners.values():
            if scanner.fbp_device is not None:
                values += batch_psnrs(reading, scanner)
        return float(np.mean(values))

    return mean_psnr


def tune_fbp(
    samples: Sequence[tuple[np.ndarray, float]],
    protocol: ScanProtocol,
    rng: np.random.Generator,
    *,
    filter_types: Sequence[str] = (DEFAULT_FILTER,),
    scaling: float | None = None,
    backend: str = "astra_cpu",
    workers: int = 1,
    fbp_device: str | None = "auto",
) -> tuple[str, float, pd.DataFrame]:
    """The FBP reading (filter type, frequency scaling) with the best mean ROI PSNR over
    ``samples``, as dival tunes its FBP baseline; every evaluation is returned as a table.

    ``samples`` are (ground-truth image, domain extent in mm). Each filter of ``filter_types``
    is tried; with ``scaling`` None its frequency scaling is searched (a coarse grid over
    (0, 1] finds the peak, a bounded scalar search refines it), else that scaling is used.
    """
    searched = scaling is None
    log.info(
        "FBP tuning on %d slices (%s, %d threads): each slice measured once, then %s for %s",
        len(samples),
        backend,
        workers,
        f"the frequency scaling at {len(TUNING_GRID)} points in [0.1, 1] and a bounded search "
        "to 0.005 around the best"
        if searched
        else f"scaling {scaling}",
        ", ".join(filter_types),
    )
    mean_psnr = _mean_psnr_function(samples, protocol, rng, backend, workers, fbp_device)
    evaluations: dict[tuple[str, float], float] = {}

    def evaluate(filter_type: str, value: float) -> float:
        key = (filter_type, round(float(value), 4))
        if key not in evaluations:
            evaluations[key] = mean_psnr(*key)
            log.info("%s scaling %.4f: mean PSNR %.3f dB", *key, evaluations[key])
        return evaluations[key]

    for filter_type in filter_types:
        if searched:
            _search_scaling(filter_type, evaluate)
        else:
            evaluate(filter_type, scaling)
    best = max(evaluations, key=evaluations.get)
    table = pd.DataFrame(
        [(*key, psnr) for key, psnr in sorted(evaluations.items())],
        columns=["filter_type", "frequency_scaling", "psnr_mean"],
    )
    table["chosen"] = (table["filter_type"] == best[0]) & (table["frequency_scaling"] == best[1])
    log.info("tuned FBP: %s, frequency scaling %.4f, %.2f dB", *best, evaluations[best])
    return best[0], best[1], table


def _search_scaling(filter_type: str, evaluate: Callable[[str, float], float]) -> None:
    """One filter's frequency scaling: the coarse grid, then a bounded search around its best."""
    progress = ProgressLog(log, f"FBP tuning, {filter_type} grid points", len(TUNING_GRID))
    for value in TUNING_GRID:
        evaluate(filter_type, value)
        progress.step()
    best = max(TUNING_GRID, key=lambda value: evaluate(filter_type, value))
    refined = minimize_scalar(
        lambda value: -evaluate(filter_type, value),
        bounds=(max(0.01, best - 0.1), min(1.0, best + 0.1)),
        method="bounded",
        options={"xatol": 0.005},
    )
    evaluate(filter_type, refined.x)


def tune_from_stores(
    store_paths: Sequence[str | Path],
    split: pd.DataFrame,
    *,
    n_slices: int,
    protocol: ScanProtocol,
    domain: str,
    rng: np.random.Generator,
    filter_types: Sequence[str] = (DEFAULT_FILTER,),
    scaling: float | None = None,
    backend: str = "astra_cpu",
    workers: int = 1,
) -> tuple[str, float, pd.DataFrame]:
    """Pick ``n_slices`` training slices from the stores and tune the FBP on them."""
    chosen = pick_tuning_slices(split, n_slices, rng)
    paths = {read_slice_index(p)[0]: p for p in store_paths}
    samples = []
    for volume_id, rows in chosen.groupby("volume"):
        stack = load_stack(paths[volume_id])
        position = {int(s): i for i, s in enumerate(stack.slice_index)}
        for slice_index in rows["slice"]:
            samples.append((stack.image[position[int(slice_index)]], extent_mm(stack, domain)))
    filter_type, best, table = tune_fbp(
        samples,
        protocol,
        rng,
        filter_types=filter_types,
        scaling=scaling,
        backend=backend,
        workers=workers,
    )
    return filter_type, best, table.assign(n_slices=len(samples))
