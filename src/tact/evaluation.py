"""Evaluation: every method's test images, their segmentations by the frozen segmenters (g and
the held-out ones), and the metrics of ``per_slice.csv`` (columns: ``tact.per_slice``).

Test images live in test-set files (``tact.test_sets``): one method's images of every test
slice, in the split's order, so that methods line up slice by slice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tact.data.names import volume_ids
from tact.data.slices import load_stack
from tact.metrics.anatomy import LABELLED, class_skeletons, slice_metrics, volume_metrics
from tact.metrics.pixel import psnr_in_roi, ssim_in_roi
from tact.parallel import in_processes
from tact.per_slice import PER_SLICE_COLUMNS, PER_VOLUME_COLUMNS, order_rows
from tact.roi import circular_roi
from tact.simulated_data import load_simulation
from tact.test_sets import TestSet, rows_of, split_test_rows

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


@dataclass
class VolumeJob:
    """One method's test slices of one volume, with everything their metrics need: the unit of
    parallel evaluation (it pickles to a worker process)."""

    method: str
    volume: int
    slices: np.ndarray  # (n,) slice indices, in the split's order
    truth: np.ndarray  # (n, H, W) full-dose images
    images: np.ndarray  # (n, H, W) the method's images
    masks: np.ndarray  # (n, H, W) true label maps
    labels: dict[str, np.ndarray]  # segmenter -> (n, H, W) label maps of the method's images
    consistency: np.ndarray  # (n,) NaN where not measured
    spacing_mm: tuple[float, float, float]  # row, col, slice
    tolerance_mm: float
    labelled: tuple[str, ...]  # the classes the data labels


def method_tables(
    method: str,
    truth: TestSet,
    masks: TestSet,
    spacing_mm: Mapping[int, tuple[float, float, float]],
    *,
    images: TestSet,
    labels: Mapping[str, TestSet],
    consistency: pd.DataFrame | None = None,
    tolerance_mm: float = 2.0,
    tumour_labels: bool = True,
    workers: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of one method in ``per_slice.csv`` and ``per_volume.csv``, a volume per worker.

    Per slice and segmenter: the image metrics (PSNR and SSIM in the ROI, data consistency) and
    the segmentation metrics of that segmenter's label map. Per volume and segmenter: the 3-D
    metrics of the stacked test slices (:func:`tact.metrics.anatomy.volume_metrics`), empty
    where the volume's test slices are not contiguous. ``labels`` maps a segmenter name (``g``,
    ``held_out_1``, ...) to its label maps of the method's images. The full dose has no PSNR or
    SSIM against itself: those cells are empty; so is the consistency when not given.
    ``spacing_mm``: per volume (row, col, slice) in mm. Without ``tumour_labels`` (data whose
    labels hold no tumour class) the tumour columns are empty and Dice is the liver's.
    """
    for name, part in [("images", images), *labels.items(), ("masks", masks)]:
        if not part.lines_up_with(truth):
            raise ValueError(f"{method} ({name}): test slices do not line up with the truth")
    measured = _consistency_of(method, truth, consistency)
    jobs = []
    for volume in np.unique(truth.volumes):
        at = np.flatnonzero(truth.volumes == volume)
        jobs.append(
            VolumeJob(
                method,
                int(volume),
                truth.slices[at],
                truth.images[at],
                images.images[at],
                masks.images[at],
                {segmenter: predicted.images[at] for segmenter, predicted in labels.items()},
                measured[at],
                tuple(float(s) for s in spacing_mm[int(volume)]),
                tolerance_mm,
                LABELLED if tumour_labels else ("liver",),
            )
        )
    results = in_processes(
        _volume_rows, jobs, workers=workers, what=f"metrics of {method}", unit="test volumes"
    )
    per_slice = [row for slice_rows, _ in results for row in slice_rows]
    per_volume = [row for _, volume_rows in results for row in volume_rows]
    return (
        order_rows(pd.DataFrame(per_slice, columns=list(PER_SLICE_COLUMNS))),
        order_rows(pd.DataFrame(per_volume, columns=list(PER_VOLUME_COLUMNS))),
    )


def _consistency_of(method: str, truth: TestSet, consistency: pd.DataFrame | None) -> np.ndarray:
    """The consistency of every test slice in the truth's order (NaN when not given)."""
    if consistency is None:
        return np.full(len(truth), np.nan)
    by_slice = consistency.set_index(["volume", "slice"])["consistency"]
    keys = list(zip(truth.volumes.tolist(), truth.slices.tolist(), strict=True))
    missing = set(keys) - set(by_slice.index)
    if missing:
        raise ValueError(f"{method}: no consistency value for slices {sorted(missing)[:3]}")
    return by_slice.loc[keys].to_numpy(float)


def _volume_rows(job: VolumeJob) -> tuple[list[dict], list[dict]]:
    """The per-slice rows and the per-volume rows of one volume, every segmenter."""
    pixel = _image_metrics(job)
    in_plane = job.spacing_mm[:2]
    skeletons = [class_skeletons(mask) for mask in job.masks]  # shared by the segmenters
    stack = _stack_order(job.slices)
    volume_skeletons = class_skeletons(job.masks[stack]) if stack is not None else None
    slice_rows, volume_rows = [], []
    for segmenter, predicted in job.labels.items():
        head = {"method": job.method, "segmenter": segmenter, "volume": job.volume}
        for i, index in enumerate(job.slices):
            metrics = slice_metrics(
                predicted[i],
                job.masks[i],
                in_plane,
                tolerance_mm=job.tolerance_mm,
                truth_skeletons=skeletons[i],
                labelled=job.labelled,
            )
            slice_rows.append({**head, "slice": int(index), **pixel[i], **metrics})
        row = {**head, "n_slices": len(job.slices), "contiguous": stack is not None}
        if stack is not None:
            row_mm, col_mm, slice_mm = job.spacing_mm
            spacing = (slice_mm, row_mm, col_mm)
            row |= volume_metrics(
                predicted[stack],
                job.masks[stack],
                spacing,
                tolerance_mm=job.tolerance_mm,
                truth_skeletons=volume_skeletons,
                labelled=job.labelled,
            )
        volume_rows.append(row)
    return slice_rows, volume_rows


def _image_metrics(job: VolumeJob) -> list[dict[str, float]]:
    """PSNR, SSIM and consistency of every slice (once, whatever the segmenter); the full
    dose has no PSNR or SSIM against itself."""
    roi = circular_roi(job.truth.shape[-1])
    rows = []
    for i in range(len(job.slices)):
        if job.method == "fulldose":
            psnr = ssim = np.nan
        else:
            psnr = psnr_in_roi(job.images[i], job.truth[i], roi)
            ssim = ssim_in_roi(job.images[i], job.truth[i], roi)
        rows.append({"psnr": psnr, "ssim": ssim, "consistency": job.consistency[i]})
    return rows


def _stack_order(slices: np.ndarray) -> np.ndarray | None:
    """The order that stacks the test slices into a volume, or None when they are not
    contiguous: the stack would join slices that are not neighbours, so the 3-D metrics are
    left empty rather than guessed."""
    order = np.argsort(slices)
    return order if bool(np.all(np.diff(slices[order]) == 1)) else None
