"""Slice extraction and the per-volume slice store.

The paper keeps only slices whose label map is non-empty, at 512 x 512. We keep them per
volume in one ``.npz`` file (no file per slice), in LoDoPaB units, with the volume id, the
slice index in the canonical (inferior -> superior) order and the pixel spacing, so that later
stages load a volume in one read and metrics in mm (NSD) know the geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tact.data.units import hu_to_normalised
from tact.errors import InputDataError
from tact.io import atomic_path, read_npz

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


def save_stack(stack: SliceStack, path: str | Path) -> None:
    """Write the store atomically (uncompressed: loading speed matters more than disk here)."""
    with atomic_path(path) as tmp:
        np.savez(
            tmp,
            volume_id=np.int64(stack.volume_id),
            image=stack.image,
            mask=stack.mask,
            slice_index=stack.slice_index,
            spacing_mm=stack.spacing_mm,
        )


def load_stack(path: str | Path) -> SliceStack:
    """Read a store written by :func:`save_stack`."""
    with read_npz(path) as data:
        return SliceStack(
            volume_id=int(data["volume_id"]),
            image=data["image"],
            mask=data["mask"],
            slice_index=data["slice_index"],
            spacing_mm=data["spacing_mm"],
        )


def read_slice_index(path: str | Path) -> tuple[int, np.ndarray]:
    """(volume id, slice indices) of a store, without reading its images."""
    with read_npz(path) as data:
        return int(data["volume_id"]), data["slice_index"]
