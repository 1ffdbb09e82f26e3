"""Evaluation: every method's test images, their segmentations by the frozen segmenters (g and
the held-out ones), and the metrics of ``per_slice.csv`` (columns: ``tact.per_slice``).

Test images are found volume by volume where they lie (``tact.test_sets``), in the split's
order, so that methods line up slice by slice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from tact.io import add_array, array_file, read_arrays
from tact.metrics.anatomy import (
    LABELLED,
    class_skeletons,
    slice_metrics,
    surface_area_table,
    volume_metrics,
)
from tact.metrics.lesions import LITS_IOU, lesion_detection
from tact.metrics.pixel import psnr_in_roi, ssim_in_roi
from tact.parallel import in_processes
from tact.per_slice import (
    CLASSES,
    PER_LESION_COLUMNS,
    PER_SLICE_COLUMNS,
    PER_VOLUME_COLUMNS,
    order_rows,
)
from tact.roi import circular_roi
from tact.test_sets import GroundTruth, TestImages, TestSet, load_label_sets


@dataclass
class TruthSkeletons:
    """The skeletons of one test volume's true label maps, per class: of each slice (2-D),
    and of the stacked slices (3-D; None where the test slices are not contiguous). Every
    method's evaluation scores clDice against them, so the workflow computes them once
    (:func:`save_truth_skeletons`): on a 128-slice liver at 512 px they were 14 % of one
    method's evaluation of that volume (one process, 2026-12-06), the 3-D liver skeleton
    most of it."""

    per_slice: list[dict[int, np.ndarray]]
    stacked: dict[int, np.ndarray] | None

    @classmethod
    def of(cls, masks: np.ndarray, slices: np.ndarray) -> TruthSkeletons:
        stack = _stack_order(slices)
        stacked = class_skeletons(masks[stack]) if stack is not None else None
        return cls([class_skeletons(mask) for mask in masks], stacked)


@dataclass
class VolumeArrays:
    """One method's test slices of one volume, with everything their metrics need."""

    slices: np.ndarray  # (n,) slice indices, in the split's order
    truth: np.ndarray  # (n, H, W) full-dose images
    images: np.ndarray  # (n, H, W) the method's images
    masks: np.ndarray  # (n, H, W) true label maps
    labels: dict[str, np.ndarray]  # segmenter -> (n, H, W) label maps of the method's images
    spacing_mm: tuple[float, float, float]  # row, col, slice
    skeletons: TruthSkeletons | None = None  # computed from ``masks`` when not given

    def spacing(self) -> tuple[float, float, float]:
        return self.spacing_mm


def save_truth_skeletons(truth: GroundTruth, path: str | Path) -> None:
    """Every test volume's :class:`TruthSkeletons`, in one file, a volume at a time."""
    with array_file(path) as file:
        for volume in truth.volumes:
            _add_volume_skeletons(file, truth, volume)


def _add_volume_skeletons(file, truth: GroundTruth, volume: int) -> None:
    """One volume's skeletons into ``file``; its arrays are freed on return, before the next
    volume is read (held in the loop, two volumes' were: 523 MB with one test volume, 699 MB
    with two, in the scale rehearsal)."""
    _, masks, _ = truth.of_volume(volume, images=False)
    skeletons = TruthSkeletons.of(masks.images, masks.slices)
    parts = {"slices": _by_class(skeletons.per_slice)}
    if skeletons.stacked is not None:
        parts["volume"] = skeletons.stacked
    for kind, by_class in parts.items():
        for label, maps in by_class.items():
            add_array(
                file, f"{volume}/{kind}/{label}", maps.shape, np.uint8, compress=True, data=maps
            )


def _by_class(per_slice: list[dict[int, np.ndarray]]) -> dict[int, np.ndarray]:
    return {label: np.stack([s[label] for s in per_slice]) for label in per_slice[0]}


def load_truth_skeletons(path: str | Path, volume: int) -> TruthSkeletons:
    """One test volume's skeletons from :func:`save_truth_skeletons`'s file."""
    with read_arrays(path) as file:
        group = file[str(volume)]
        by_class = {int(k): v[()].astype(bool) for k, v in group["slices"].items()}
        stacked = None
        if "volume" in group:
            stacked = {int(k): v[()].astype(bool) for k, v in group["volume"].items()}
    n_slices = len(next(iter(by_class.values())))
    per_slice = [{k: maps[i] for k, maps in by_class.items()} for i in range(n_slices)]
    return TruthSkeletons(per_slice, stacked)


@dataclass
class VolumeFiles:
    """Where one volume's arrays lie: what a worker receives (paths, not images), so that
    evaluation holds one volume per worker whatever the size of the test set."""

    volume: int
    truth: GroundTruth
    images: TestImages
    labels: str  # the method's label file
    skeletons: str | None = None  # the truth's skeletons (save_truth_skeletons), if computed

    def spacing(self) -> tuple[float, float, float]:
        """(row, col, slice) in mm, read without the volume's arrays."""
        return self.truth.spacing_of(self.volume)

    def load(self) -> VolumeArrays:
        images, masks, spacing = self.truth.of_volume(self.volume)
        method = self.images.of_volume(self.volume)
        labels = load_label_sets(self.labels, self.volume)
        for name, part in [("images", method), *labels.items()]:
            if not part.lines_up_with(images):
                raise ValueError(f"{self.images.name} ({name}): test slices do not line up")
        maps = {segmenter: part.images for segmenter, part in labels.items()}
        skeletons = None
        if self.skeletons is not None:
            skeletons = load_truth_skeletons(self.skeletons, self.volume)
        return VolumeArrays(
            images.slices, images.images, method.images, masks.images, maps, spacing, skeletons
        )


@dataclass
class VolumeJob:
    """One method's test slices of one volume: the unit of parallel evaluation (it pickles to
    a worker process)."""

    method: str
    volume: int
    data: VolumeArrays | VolumeFiles
    consistency: np.ndarray  # (n,) NaN where not measured
    tolerance_mm: float
    labelled: tuple[str, ...]  # the classes the data labels
    surface_areas: tuple[np.ndarray, np.ndarray]  # surface_area_table of the volume's spacing
    lesion_iou: float = LITS_IOU  # a lesion is detected above this IoU (tact.metrics.lesions)


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
    lesion_iou: float = LITS_IOU,
    workers: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The rows of one method in ``per_slice.csv``, ``per_volume.csv`` and ``per_lesion.csv``
    from test sets in memory (small runs, tests, bench/), a volume per worker.

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
    sources = {}
    for volume in np.unique(truth.volumes):
        at = np.flatnonzero(truth.volumes == volume)
        sources[int(volume)] = VolumeArrays(
            truth.slices[at],
            truth.images[at],
            images.images[at],
            masks.images[at],
            {segmenter: predicted.images[at] for segmenter, predicted in labels.items()},
            tuple(float(s) for s in spacing_mm[int(volume)]),
        )
    measured = _consistency_of(method, truth.volumes, truth.slices, consistency)
    settings = dict(tolerance_mm=tolerance_mm, tumour_labels=tumour_labels, lesion_iou=lesion_iou)
    return _tables(method, sources, measured, settings, workers)


def method_tables_from_files(
    images: TestImages,
    truth: GroundTruth,
    labels_path: str | Path,
    *,
    skeletons: str | Path | None = None,
    consistency: pd.DataFrame | None = None,
    tolerance_mm: float = 2.0,
    tumour_labels: bool = True,
    lesion_iou: float = LITS_IOU,
    workers: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`method_tables` for the workflow: each worker opens the volume it evaluates from
    its files, so the job's memory is bounded by ``workers`` volumes, not the test set;
    ``skeletons``: the truth's skeletons (:func:`save_truth_skeletons`), else computed."""
    where = None if skeletons is None else str(skeletons)
    sources = {v: VolumeFiles(v, truth, images, str(labels_path), where) for v in truth.volumes}
    rows = truth.rows
    measured = _consistency_of(images.name, rows["volume"], rows["slice"], consistency)
    settings = dict(tolerance_mm=tolerance_mm, tumour_labels=tumour_labels, lesion_iou=lesion_iou)
    return _tables(images.name, sources, measured, settings, workers)


def _tables(
    method: str,
    sources: Mapping[int, VolumeArrays | VolumeFiles],
    measured: pd.Series,
    settings: dict,
    workers: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``settings``: :func:`volume_jobs`' keywords."""
    jobs = volume_jobs(method, sources, measured, **settings)
    results = in_processes(
        _volume_rows, jobs, workers=workers, what=f"metrics of {method}", unit="test volumes"
    )
    columns = (PER_SLICE_COLUMNS, PER_VOLUME_COLUMNS, PER_LESION_COLUMNS)
    return tuple(
        order_rows(pd.DataFrame([row for volume in results for row in volume[k]], columns=list(c)))
        for k, c in enumerate(columns)
    )


def volume_jobs(
    method: str,
    sources: Mapping[int, VolumeArrays | VolumeFiles],
    measured: pd.Series,
    *,
    tolerance_mm: float,
    tumour_labels: bool,
    lesion_iou: float = LITS_IOU,
) -> list[VolumeJob]:
    """One method's jobs, a volume each, as the workers receive them."""
    labelled = LABELLED if tumour_labels else ("liver",)
    return [
        VolumeJob(
            method,
            volume,
            data,
            measured.loc[volume].to_numpy(),
            tolerance_mm,
            labelled,
            _surface_areas(_stacked_spacing(data.spacing())),
            lesion_iou,
        )
        for volume, data in sources.items()
    ]


@cache
def _surface_areas(spacing_mm: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The 3-D NSD's surface areas, computed here once per spacing so that the workers never
    import MONAI (:func:`tact.metrics.anatomy.surface_area_table`)."""
    return surface_area_table(spacing_mm)


def _stacked_spacing(spacing_mm: tuple[float, float, float]) -> tuple[float, float, float]:
    """(slice, row, col) in mm, the stacked slices' order, from (row, col, slice)."""
    row_mm, col_mm, slice_mm = spacing_mm
    return (slice_mm, row_mm, col_mm)


def _consistency_of(
    method: str, volumes: Sequence[int], slices: Sequence[int], consistency: pd.DataFrame | None
) -> pd.Series:
    """The consistency of every test slice, indexed by (volume, slice) in the test order (NaN
    when not given)."""
    keys = pd.MultiIndex.from_arrays(
        [np.asarray(volumes, int), np.asarray(slices, int)], names=["volume", "slice"]
    )
    if consistency is None:
        return pd.Series(np.nan, index=keys)
    by_slice = consistency.set_index(["volume", "slice"])["consistency"]
    missing = keys.difference(by_slice.index)
    if len(missing):
        raise ValueError(f"{method}: no consistency value for slices {sorted(missing)[:3]}")
    return by_slice.loc[keys].astype(float)


def _volume_rows(job: VolumeJob) -> tuple[list[dict], list[dict], list[dict]]:
    """The per-slice, per-volume and per-lesion rows of one volume, every segmenter."""
    data = job.data.load() if isinstance(job.data, VolumeFiles) else job.data
    pixel = _image_metrics(job.method, data, job.consistency)
    in_plane = data.spacing_mm[:2]
    truth = data.skeletons or TruthSkeletons.of(data.masks, data.slices)  # for every segmenter
    skeletons, volume_skeletons = truth.per_slice, truth.stacked
    stack = _stack_order(data.slices)
    slice_rows, volume_rows, lesion_rows = [], [], []
    for segmenter, predicted in data.labels.items():
        head = {"method": job.method, "segmenter": segmenter, "volume": job.volume}
        for i, index in enumerate(data.slices):
            metrics = slice_metrics(
                predicted[i],
                data.masks[i],
                in_plane,
                tolerance_mm=job.tolerance_mm,
                truth_skeletons=skeletons[i],
                labelled=job.labelled,
            )
            slice_rows.append({**head, "slice": int(index), **pixel[i], **metrics})
        row = {**head, "n_slices": len(data.slices), "contiguous": stack is not None}
        if stack is not None:
            row |= volume_metrics(
                predicted[stack],
                data.masks[stack],
                _stacked_spacing(data.spacing_mm),
                tolerance_mm=job.tolerance_mm,
                truth_skeletons=volume_skeletons,
                labelled=job.labelled,
                surface_areas=job.surface_areas,
            )
            lesion_rows += [head | r for r in _lesions(job, data, predicted, stack)]
        volume_rows.append(row)
    return slice_rows, volume_rows, lesion_rows


def _lesions(
    job: VolumeJob, data: VolumeArrays, predicted: np.ndarray, stack: np.ndarray
) -> list[dict]:
    """The stacked volume's lesions and false positives (none without tumour labels)."""
    if "tumour" not in job.labelled:
        return []
    tumour = CLASSES["tumour"]
    return lesion_detection(
        predicted[stack] == tumour,
        data.masks[stack] == tumour,
        _stacked_spacing(data.spacing_mm),
        iou_threshold=job.lesion_iou,
    )


def _image_metrics(
    method: str, data: VolumeArrays, consistency: np.ndarray
) -> list[dict[str, float]]:
    """PSNR, SSIM and consistency of every slice (once, whatever the segmenter); the full
    dose has no PSNR or SSIM against itself."""
    roi = circular_roi(data.truth.shape[-1])
    rows = []
    for i in range(len(data.slices)):
        if method == "fulldose":
            psnr = ssim = np.nan
        else:
            psnr = psnr_in_roi(data.images[i], data.truth[i], roi)
            ssim = ssim_in_roi(data.images[i], data.truth[i], roi)
        rows.append({"psnr": psnr, "ssim": ssim, "consistency": consistency[i]})
    return rows


def _stack_order(slices: np.ndarray) -> np.ndarray | None:
    """The order that stacks the test slices into a volume, or None when they are not
    contiguous: the stack would join slices that are not neighbours, so the 3-D metrics are
    left empty rather than guessed."""
    order = np.argsort(slices)
    return order if bool(np.all(np.diff(slices[order]) == 1)) else None
