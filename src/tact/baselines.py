"""BM3D baseline (the ``bm3d`` package, Makinen et al.) on the low-dose images.

The paper denoises the low-dose input with BM3D at sigma_psd = 0.075, chosen by "a parameter
sweep on a small, randomly selected subset"; :func:`sweep_sigma` is that sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import bm3d
import numpy as np
import pandas as pd

from tact.data.names import volume_ids
from tact.data.slices import load_stack
from tact.data.split import pick_tuning_slices, read_split
from tact.metrics.pixel import psnr_in_roi
from tact.parallel import in_processes
from tact.roi import circular_roi
from tact.simulated_data import load_simulation
from tact.test_sets import TestSet, rows_of, split_test_rows

log = logging.getLogger(__name__)

# Each BM3D denoising is single-threaded, so the values do not depend on the worker count; one
# process at a time, the sweep of 8 slices x 10 sigmas at 256 px took 346 s and held up every
# BM3D job (showcase, H200 machine, 2026-12-02).
BM3D_UNIT = "BM3D denoisings"
SWEEP_SIGMAS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3)


def bm3d_denoise(image: np.ndarray, sigma_psd: float) -> np.ndarray:
    """BM3D of one slice (white noise of standard deviation ``sigma_psd`` in image units).

    Single-threaded: bm3d's threads change the order of its float additions, so results would
    differ from run to run, and the workflow runs one BM3D job per volume and core instead.
    """
    if sigma_psd <= 0:
        raise ValueError(f"sigma_psd must be positive, got {sigma_psd}")
    profile = bm3d.BM3DProfile()
    profile.num_threads = 1
    denoised = bm3d.bm3d(image.astype(np.float64), sigma_psd=sigma_psd, profile=profile)
    return np.asarray(denoised, np.float32)


def _bm3d_of_job(job: tuple[np.ndarray, float]) -> np.ndarray:
    return bm3d_denoise(*job)


def _roi_psnr_of_bm3d(job: tuple[np.ndarray, np.ndarray, float]) -> float:
    low, full, sigma = job
    return psnr_in_roi(bm3d_denoise(low, sigma), full, circular_roi(full.shape[-1]))


def sweep_sigma(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    sigmas: Sequence[float] = SWEEP_SIGMAS,
    workers: int = 1,
) -> tuple[float, pd.DataFrame]:
    """Mean ROI PSNR of BM3D for every sigma over (low-dose, full-dose) pairs; the best sigma."""
    jobs = [(low, full, float(sigma)) for sigma in sigmas for low, full in pairs]
    what = f"BM3D sweep, {len(pairs)} slices x {len(sigmas)} sigmas"
    values = in_processes(_roi_psnr_of_bm3d, jobs, workers=workers, what=what, unit=BM3D_UNIT)
    per_sigma = np.reshape(values, (len(sigmas), len(pairs)))
    rows = [
        {"sigma_psd": float(sigma), "psnr_mean": float(np.mean(psnrs))}
        for sigma, psnrs in zip(sigmas, per_sigma, strict=True)
    ]
    table = pd.DataFrame(rows)
    best = float(table.loc[table["psnr_mean"].idxmax(), "sigma_psd"])
    if len(sigmas) > 1 and best in (min(sigmas), max(sigmas)):
        # the optimum may lie beyond the grid: say so rather than report an edge as the optimum
        log.warning(
            "BM3D sweep: the best sigma_psd %s is at the edge of the grid %s; the optimum may "
            "lie beyond it (extend bm3d.sweep_sigmas)",
            best,
            sorted(sigmas),
        )
    return best, table.assign(chosen=table["sigma_psd"] == best)


def bm3d_test_slices(
    sim_path: str | Path, split_path: str | Path, sigma_psd: float, workers: int = 1
) -> TestSet:
    """BM3D of one volume's low-dose test slices (none when the volume is not in the test set).

    The slices are denoised in ``workers`` processes: one at a time, a showcase volume's 28
    slices took 259 s, the longest job of the run (H200 machine, 2026-12-02).
    """
    sim = load_simulation(sim_path)
    rows = split_test_rows(split_path, sim.volume_id)
    index = rows_of(sim.slice_index, rows["slice"])
    images = bm3d_images(
        sim.lowdose[index], sigma_psd, workers=workers, what=f"BM3D of volume {sim.volume_id}"
    )
    return TestSet(images, rows["volume"].to_numpy(), rows["slice"].to_numpy())


def bm3d_images(
    images: np.ndarray, sigma_psd: float, *, workers: int = 1, what: str = "BM3D"
) -> np.ndarray:
    """BM3D of every image of a stack (n, rows, cols), in ``workers`` processes."""
    jobs = [(image, sigma_psd) for image in images]
    if not jobs:
        return np.empty(images.shape, np.float32)
    return np.stack(in_processes(_bm3d_of_job, jobs, workers=workers, what=what, unit=BM3D_UNIT))


def bm3d_sweep_from_files(
    store_paths: Sequence[str | Path],
    sim_paths: Sequence[str | Path],
    split_path: str | Path,
    *,
    sigmas: Sequence[float],
    n_slices: int,
    rng: np.random.Generator,
    workers: int = 1,
) -> tuple[float, pd.DataFrame]:
    """The paper's sweep: BM3D's sigma by mean ROI PSNR on random training slices."""
    chosen = pick_tuning_slices(read_split(split_path), n_slices, rng)
    stores = dict(zip(volume_ids(store_paths), store_paths, strict=True))
    sims = dict(zip(volume_ids(sim_paths), sim_paths, strict=True))
    pairs = []
    for volume, group in chosen.groupby("volume"):
        stack, sim = load_stack(stores[volume]), load_simulation(sims[volume])
        for i, j in zip(
            rows_of(sim.slice_index, group["slice"]),
            rows_of(stack.slice_index, group["slice"]),
            strict=True,
        ):
            pairs.append((sim.lowdose[i], stack.image[j]))
    best, table = sweep_sigma(pairs, sigmas, workers)
    return best, table.assign(n_slices=len(pairs))
