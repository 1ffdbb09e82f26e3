"""Slice extraction and the per-volume slice store.

The paper keeps only slices whose label map is non-empty, at 512 x 512. We keep them per
volume in one HDF5 file (no file per slice; tact.io says why), with the volume id, the slice
index in the canonical (inferior -> superior) order and the pixel spacing, so that later stages
read a volume's slices by memory map and metrics in mm (NSD) know the geometry. Images are read
in LoDoPaB units whether stored as int16 HU (lossless, at the scan's own size) or float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from tact.data.units import hu_to_normalised, normalised_to_hu
from tact.errors import InputDataError
from tact.io import mapped, read_arrays, release_pages, write_arrays

if TYPE_CHECKING:  # the reader (nibabel) is for the extraction job; stores load without it
    from tact.data.volumes import CanonicalVolume

AIR_HU = -1024.0


@dataclass
class SliceStack:
    """The extracted slices of one volume."""

    volume_id: int
    image: np.ndarray  # (n, size, size) float32, mu / mu_max in [0, 1]
    mask: np.ndarray  # (n, size, size) uint8 labels {0, 1, 2}
    slice_index: np.ndarray  # (n,) int32: position in the canonical volume
    spacing_mm: np.ndarray  # (3,) float64: row, col (after resizing) and slice thickness

    def __len__(self) -> int:
        return len(self.slice_index)


def _pad_to_square(stack: np.ndarray, fill: float) -> np.ndarray:
    """Centre non-square slices in a square canvas (a resize must not distort anatomy)."""
    _, rows, cols = stack.shape
    side = max(rows, cols)
    if rows == cols:
        return stack
    top, left = (side - rows) // 2, (side - cols) // 2
    out = np.full((stack.shape[0], side, side), fill, dtype=stack.dtype)
    out[:, top : top + rows, left : left + cols] = stack
    return out


def extract_slices(volume: CanonicalVolume, size: int) -> SliceStack:
    """Keep the slices with a non-empty label map, resized to ``size`` x ``size``.

    Slices are selected on the original label map. In-plane the image is padded to a square
    with air, then resized (anti-aliased linear for the image, nearest for the labels); the
    pixel spacing is updated so physical distances stay right.
    """
    # imported here: scikit-image's import (with scipy.ndimage) is most of a store reader's
    # import time (report and evaluation jobs load stores, only this job resizes)
    from skimage.transform import resize

    row_mm, col_mm, slice_mm = volume.spacing_mm
    if not np.isclose(row_mm, col_mm, rtol=1e-3):
        raise InputDataError(
            f"volume-{volume.volume_id}",
            f"non-square pixels ({row_mm:.4g} x {col_mm:.4g} mm) are not supported",
        )
    keep = np.flatnonzero(volume.labels.reshape(len(volume.labels), -1).any(axis=1))
    hu = _pad_to_square(volume.hu[keep], AIR_HU)
    labels = _pad_to_square(volume.labels[keep], 0)
    side = hu.shape[1]
    if side != size:
        shape = (len(keep), size, size)
        hu = resize(hu, shape, order=1, anti_aliasing=True, preserve_range=True)
        labels = resize(labels, shape, order=0, anti_aliasing=False, preserve_range=True)
    pixel_mm = row_mm * side / size
    return SliceStack(
        volume_id=volume.volume_id,
        image=hu_to_normalised(hu),
        mask=labels.astype(np.uint8),
        slice_index=keep.astype(np.int32),
        spacing_mm=np.array([pixel_mm, pixel_mm, slice_mm], dtype=np.float64),
    )


def _lossless_hu(image: np.ndarray) -> np.ndarray | None:
    """Integer HU that give exactly these normalised images, as int16, when there are such: a
    scan read at its own size is integer HU, half the bytes of float32 (resized slices are not
    integers). Air clipped to 0 is stored as -1024 HU, whatever it was below -1000.9."""
    # air below -1000.9 HU is clipped to 0 in LoDoPaB units; its nearest integer (-1001) is not
    hu = np.where(image <= 0, AIR_HU, np.rint(normalised_to_hu(image)))
    if hu.size and (hu.min() < -32768 or hu.max() > 32767):
        return None
    hu = hu.astype(np.int16)
    return hu if np.array_equal(hu_to_normalised(hu), image) else None


def save_stack(stack: SliceStack, path: str | Path) -> None:
    """Write the store atomically: the images as int16 HU where that is lossless (else float32
    in LoDoPaB units), memory-mappable; the label maps compressed (tact.io: why HDF5)."""
    hu = _lossless_hu(stack.image)
    images = {"image": stack.image} if hu is None else {"hu": hu}
    write_arrays(
        path,
        {**images, "mask": stack.mask, "slice_index": stack.slice_index},
        compress=["mask"],
        attrs={"volume_id": stack.volume_id, "spacing_mm": stack.spacing_mm},
    )


class StoredImages:
    """A store's full-dose images as they lie on disk, memory-mapped: indexing reads only the
    rows asked for, in LoDoPaB units (float32)."""

    def __init__(self, file: h5py.File) -> None:
        self.in_hu = "hu" in file
        self.raw = mapped(file["hu" if self.in_hu else "image"])
        self.shape = self.raw.shape

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, rows: Any) -> np.ndarray:
        part = np.asarray(self.raw[rows])
        return hu_to_normalised(part) if self.in_hu else part.astype(np.float32, copy=False)

    def release_pages(self) -> None:
        """Let go of the pages that reads touched (:func:`tact.io.release_pages`)."""
        release_pages(self.raw)


@dataclass
class OpenStack:
    """A store opened without reading its images (see :func:`open_stack`)."""

    volume_id: int
    image: StoredImages
    mask: h5py.Dataset  # read rows with mask[rows] (sorted rows)
    slice_index: np.ndarray
    spacing_mm: np.ndarray

    def __len__(self) -> int:
        return len(self.slice_index)


@contextlib.contextmanager
def open_stack(path: str | Path) -> Iterator[OpenStack]:
    """A store whose images are memory-mapped and whose label maps are read on demand: for
    jobs that use a few of its slices, or stream many volumes."""
    with read_arrays(path) as file:
        yield OpenStack(
            volume_id=int(file.attrs["volume_id"]),
            image=StoredImages(file),
            mask=file["mask"],
            slice_index=file["slice_index"][()],
            spacing_mm=np.asarray(file.attrs["spacing_mm"], dtype=np.float64),
        )


def load_stack(path: str | Path) -> SliceStack:
    """Read a store written by :func:`save_stack` whole (one volume)."""
    with open_stack(path) as stack:
        return SliceStack(
            volume_id=stack.volume_id,
            image=stack.image[:],
            mask=stack.mask[()],
            slice_index=stack.slice_index,
            spacing_mm=stack.spacing_mm,
        )


def read_slice_index(path: str | Path) -> tuple[int, np.ndarray]:
    """(volume id, slice indices) of a store, without reading its images."""
    with read_arrays(path) as file:
        return int(file.attrs["volume_id"]), file["slice_index"][()]
