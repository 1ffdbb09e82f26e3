"""Evaluation: every method's test images, their segmentations by the frozen segmenters (g and
the held-out ones), and the metrics of ``per_slice.csv`` (columns: ``tact.per_slice``).

Test images live in test-set files (``tact.test_sets``): one method's images of every test
slice, in the split's order, so that methods line up slice by slice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tact.data.slices import load_stack
from tact.metrics.anatomy import slice_metrics
from tact.metrics.pixel import psnr_in_roi, ssim_in_roi
from tact.per_slice import PER_SLICE_COLUMNS, order_per_slice
from tact.roi import circular_roi
from tact.simulated_data import load_simulation
from tact.test_sets import TestSet, rows_of, split_test_rows, volume_ids

IMAGE_SOURCES = ("fulldose", "lowdose", "fbp")


def gather_test_images(
    source: str,
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    sim_paths: Sequence[str | Path] = (),
) -> TestSet:
    """Full-dose images (and masks' spacing), or the simulation's low-dose / FBP images."""
    if source not in IMAGE_SOURCES:
        raise ValueError(f"source must be one of {IMAGE_SOURCES}, got {source!r}")
    rows = split_test_rows(split_path)
    paths = dict(zip(volume_ids(store_paths), store_paths, strict=True))
    sims = dict(zip(volume_ids(sim_paths), sim_paths, strict=True)) if sim_paths else {}
    images = []
    for volume, group in rows.groupby("volume", sort=True):
        if source == "fulldose":
            stack = load_stack(paths[volume])
            images.append(stack.image[rows_of(stack.slice_index, group["slice"])])
        else:
            sim = load_simulation(sims[volume])
            images.append(getattr(sim, source)[rows_of(sim.slice_index, group["slice"])])
    return TestSet(np.concatenate(images), rows["volume"].to_numpy(), rows["slice"].to_numpy())


def method_table(
    method: str,
    truth: TestSet,
    masks: TestSet,
    spacing_mm: Mapping[int, tuple[float, float]],
    images: TestSet,
    labels: Mapping[str, TestSet],
    consistency: pd.DataFrame | None = None,
    tolerance_mm: float = 2.0,
) -> pd.DataFrame:
    """The rows of one method: per test slice and segmenter, the image metrics (PSNR and SSIM in
    the ROI, data consistency) and the segmentation metrics of that segmenter's label map.

    ``labels`` maps a segmenter name (``g``, ``held_out_1``, ...) to its label maps of the
    method's images. The full dose has no PSNR or SSIM against itself: those cells are empty;
    so is the consistency of a method when ``consistency`` is not given.
    """
    for name, part in [("images", images), *labels.items(), ("masks", masks)]:
        if not part.lines_up_with(truth):
            raise ValueError(f"{method} ({name}): test slices do not line up with the truth")
    pixel = _image_metrics(method, truth, images, consistency)
    rows = []
    for segmenter, predicted in labels.items():
        for i in range(len(truth)):
            volume = int(truth.volumes[i])
            row = {"method": method, "segmenter": segmenter, "volume": volume}
            row.update(slice=int(truth.slices[i]), **pixel[i])
            row.update(
                slice_metrics(
                    predicted.images[i], masks.images[i], spacing_mm[volume], tolerance_mm
                )
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=list(PER_SLICE_COLUMNS))


def _image_metrics(
    method: str, truth: TestSet, images: TestSet, consistency: pd.DataFrame | None
) -> list[dict[str, float]]:
    """PSNR, SSIM and consistency of every test slice (computed once, whatever the segmenter)."""
    roi = circular_roi(truth.images.shape[-1])
    values = np.full(len(truth), np.nan)
    if consistency is not None:
        by_slice = consistency.set_index(["volume", "slice"])["consistency"]
        keys = list(zip(truth.volumes.tolist(), truth.slices.tolist(), strict=True))
        missing = set(keys) - set(by_slice.index)
        if missing:
            raise ValueError(f"{method}: no consistency value for slices {sorted(missing)[:3]}")
        values = by_slice.loc[keys].to_numpy(float)
    rows = []
    for i in range(len(truth)):
        if method == "fulldose":
            psnr = ssim = np.nan
        else:
            psnr = psnr_in_roi(images.images[i], truth.images[i], roi)
            ssim = ssim_in_roi(images.images[i], truth.images[i], roi)
        rows.append({"psnr": psnr, "ssim": ssim, "consistency": values[i]})
    return rows


def per_slice_table(
    truth: TestSet,
    masks: TestSet,
    spacing_mm: Mapping[int, tuple[float, float]],
    methods: Mapping[str, tuple[TestSet, Mapping[str, TestSet]]],
    tolerance_mm: float = 2.0,
) -> pd.DataFrame:
    """:func:`method_table` of every method (id -> (images, labels by segmenter)), stacked."""
    tables = [
        method_table(method, truth, masks, spacing_mm, images, labels, None, tolerance_mm)
        for method, (images, labels) in methods.items()
    ]
    return order_per_slice(pd.concat(tables, ignore_index=True))
