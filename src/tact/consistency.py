"""Data consistency: does an image agree with the measured data? A check no segmenter can fool.

A reconstruction that paints anatomy (draws what a segmenter calls a liver) changes the line
integrals through the painted region, and the detected photon counts of the simulation say how
large such a change may be. For one slice with detected counts ``k_i`` (ray ``i``), the image's
expected counts ``lambda_i(x) = N0 exp(-[A x]_i)`` through the simulation's own forward model
``A`` (the upsampled image, projected as the simulation projected the ground truth), and the
true image's expected counts ``lambda_i(x_true)``:

    consistency(x) = mean_i (k_i - lambda_i(x))^2 / lambda_i(x_true)

This is Pearson's chi-square per ray, normalised by the Poisson variance the noise model
predicts for the true image. For the true image its expected value is exactly 1 (the counts are
Poisson with mean and variance ``lambda_i(x_true)``); for any other image it is
``1 + mean_i (lambda_i(x) - lambda_i(x_true))^2 / lambda_i(x_true)`` on average: the excess is
the image's disagreement with the data in units of the noise. About 1: consistent with the
measurements; far above 1: the image contradicts them (painted or lost structure); below 1:
the image reproduces the noise of these particular counts (the Ram-Lak FBP does, in part).

Outside the circular ROI no method is evaluated and the low-dose images are blanked (the
paper's Figure 2), so every image is completed there with the full-dose values before it is
projected: the statistic judges what a method drew inside the ROI. Every ray counts, those that
miss the body too, so that painting outside the body is seen. With ``simulation.noise: false``
the counts are their means and the full dose scores 0.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from tact.data.names import volume_id_of
from tact.physics import Scanner, ScanProtocol, choose_backend
from tact.roi import circular_roi
from tact.simulated_data import Measurements, load_measurements
from tact.test_sets import GroundTruth, TestImages, TestSet

log = logging.getLogger(__name__)


def consistency(
    scanner: Scanner, image: np.ndarray, truth: np.ndarray, counts: np.ndarray
) -> float:
    """The normalised discrepancy of one slice's image with its detected counts (see above)."""
    expected_true = scanner.expected_counts(truth)
    return discrepancy(scanner, image, truth, counts=counts, expected_true=expected_true)


def discrepancy(
    scanner: Scanner,
    image: np.ndarray,
    truth: np.ndarray,
    *,
    counts: np.ndarray,
    expected_true: np.ndarray,
) -> float:
    """:func:`consistency` with the true image's expected counts already computed."""
    inside = circular_roi(image.shape[-1])
    completed = np.where(inside, image, truth).astype(np.float32)
    expected = scanner.expected_counts(completed)
    residual = counts.astype(np.float64) - expected
    return float(np.mean(residual**2 / expected_true))


def consistency_of_test_set(
    images: TestSet,
    truth: TestSet,
    measurements: Mapping[int, Measurements],
    *,
    protocol: ScanProtocol,
    backend: str = "auto",
) -> pd.DataFrame:
    """``volume, slice, consistency`` of every test slice of one method's images."""
    if not images.lines_up_with(truth):
        raise ValueError("images and ground truth cover different test slices")
    backend = choose_backend(backend)
    size = images.images.shape[-1]
    scanners: dict[float, Scanner] = {}
    values = np.empty(len(images))
    for i in tqdm(range(len(images)), desc="consistency", unit="slice"):
        measured = measurements[int(images.volumes[i])]
        if measured.extent_mm not in scanners:
            scanners[measured.extent_mm] = Scanner(
                size, measured.extent_mm, protocol, backend, fbp_device=None
            )
        row = np.flatnonzero(measured.slice_index == images.slices[i])
        counts = measured.counts[int(row[0])]
        scanner = scanners[measured.extent_mm]
        values[i] = consistency(scanner, images.images[i], truth.images[i], counts)
    return pd.DataFrame({"volume": images.volumes, "slice": images.slices, "consistency": values})


def measurements_of(paths: Sequence[str | Path], volumes: Sequence[int]) -> dict[int, Measurements]:
    """The measured counts of the given volumes (the test volumes), by volume id."""
    wanted = {int(v) for v in volumes}
    found = {}
    for path in paths:
        if volume_id_of(path) in wanted:
            measured = load_measurements(path)
            found[measured.volume_id] = measured
    missing = wanted - set(found)
    if missing:
        raise ValueError(f"no measured counts for volumes {sorted(missing)}")
    return found


def consistency_of_test_images(
    images: TestImages,
    truth: GroundTruth,
    counts_paths: Sequence[str | Path],
    *,
    protocol: ScanProtocol,
    backend: str = "auto",
) -> pd.DataFrame:
    """:func:`consistency_of_test_set` a test volume at a time, reading each volume's counts
    and images alone (the workflow's job: its memory is one volume's)."""
    tables = []
    for volume in truth.volumes:
        measured = measurements_of(counts_paths, [volume])
        method = images.of_volume(volume)
        full_dose, _, _ = truth.of_volume(volume)
        tables.append(
            consistency_of_test_set(method, full_dose, measured, protocol=protocol, backend=backend)
        )
    return pd.concat(tables, ignore_index=True)
