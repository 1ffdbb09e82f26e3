"""Reading one case (a CT and its labels, found by :mod:`tact.data.layouts`) into tact's view.

NIfTI files go through nibabel, DICOM series through :mod:`tact.data.dicom`; both give an array
and its RAS+ affine, and from there every case, LiTS, Decathlon, DICOM or the built-in phantom,
takes the same path: the same checks, axes, labels (:mod:`tact.data.labels`) and spacing, so the
slice store of a volume does not depend on its file format. Every problem with a file is
raised as :class:`tact.errors.InputDataError`, whose message names the file, before anything is
written. Volumes are returned in one canonical view (see :mod:`tact.data.orientation`).

What is checked (README, "When things go wrong"): from the folder listing, before any job,
names in any letter case, linked files and folders followed, links that point nowhere and
files tact may not read; from the voxels, in each case's extraction job, the scaling fields as
the NIfTI standard reads them, a real scalar data type, intensities that can be HU, voxel sizes,
the axes, and labels (mapped to 0, 1, 2 by ``data.labels``). An oblique volume is taken to its
nearest axes without resampling: with a warning in the job's log up to
:data:`tact.data.orientation.MAX_OBLIQUE_DEGREES`, refused beyond.
"""

from __future__ import annotations

import itertools
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from tact.data.dicom import MIN_SLICES, holds_dicom_images, read_series
from tact.data.labels import LITS_LABELS, LabelMapping
from tact.data.layouts import Case, structure_entries, structure_name
from tact.data.orientation import MAX_OBLIQUE_DEGREES, ras_to_radiological
from tact.errors import InputDataError

log = logging.getLogger(__name__)

GRID_ROUNDING_VOXELS = 0.1  # grids whose voxels lie closer than this (in voxels) are one
OBLIQUE_NOTE_DEGREES = 0.01
VOXEL_MM = (0.05, 50.0)  # plausible voxel sizes of a CT volume
# HU plausibility, over the voxels inside the field of view (padding outside it excluded).
PADDING_HU = (-3100.0, -1900.0)  # scanners write -2000, -2048, -3000 or -3024 there
HU_RANGE = (-1100.0, 4000.0)
MAX_OUTSIDE_FRACTION = 0.01
AIR_BELOW_HU = -500.0  # the lowest 1 % of a CT volume is air (outside the body, lungs, bowel)
TISSUE_ABOVE_HU = -900.0  # and its highest 1 % is not


@dataclass
class CanonicalVolume:
    """A validated case in the canonical radiological view, HU as float32."""

    volume_id: int
    hu: np.ndarray  # (Z, rows, cols) float32
    labels: np.ndarray  # (Z, rows, cols) uint8 in {0, 1, 2}
    spacing_mm: tuple[float, float, float]  # (row, col, slice)


def _load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a 3-D NIfTI file fully (so truncation shows here) and return (data, affine)."""
    try:
        image = nib.load(path, mmap=False)
        if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
            raise InputDataError(path, f"is a {type(image).__name__}, not a NIfTI image")
        data = np.asanyarray(image.dataobj)
    except InputDataError:
        raise
    except PermissionError as exc:
        raise InputDataError(path, "permission denied: tact may not read it (chmod a+r)") from exc
    except HeaderDataError as exc:  # e.g. a valid scl_slope with a NaN scl_inter
        raise InputDataError(path, f"invalid header scaling fields: {exc}") from exc
    except (ImageFileError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise InputDataError(
            path, f"not a readable NIfTI file, corrupt or truncated ({exc})"
        ) from exc
    if data.dtype.kind not in "biuf":
        raise InputDataError(
            path, f"holds {data.dtype} voxels; expected real scalar values (one per voxel)"
        )
    while data.ndim > 3 and data.shape[-1] == 1:  # (X, Y, Z, 1) is still a volume
        data = data[..., 0]
    if data.ndim != 3:
        raise InputDataError(
            path, f"is {data.ndim}-D with shape {data.shape}; expected a 3-D volume"
        )
    affine = image.affine
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise InputDataError(path, "has a singular or non-finite affine")
    return data, affine


def _to_canonical(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reorder axes to RAS+ without resampling; return the data and its new affine (so that a
    DICOM series and a NIfTI file of one grid, stored in other axis orders, compare equal)."""
    transform = nib.orientations.ornt_transform(
        nib.orientations.io_orientation(affine), nib.orientations.axcodes2ornt("RAS")
    )
    canonical = nib.orientations.apply_orientation(data, transform)
    return canonical, affine @ nib.orientations.inv_ornt_aff(transform, data.shape)


def _check_hu(path: Path, hu: np.ndarray) -> None:
    """Intensities a CT volume in HU can have: air near -1000, and few values outside about
    [-1100, 4000], over the voxels inside the field of view (padding outside it excluded)."""
    sample = hu.reshape(-1)[::7]  # every 7th voxel: fast, and no stride along an axis
    inside = sample[(sample < PADDING_HU[0]) | (sample > PADDING_HU[1])]
    if inside.size == 0:
        raise InputDataError(path, "every voxel is scanner padding (-1900 to -3100 HU)")
    outside = np.mean((inside < HU_RANGE[0]) | (inside > HU_RANGE[1]))
    low, high = np.percentile(inside, [1, 99])
    found = f"1st and 99th percentiles {low:.0f} and {high:.0f}"
    if outside > MAX_OUTSIDE_FRACTION:
        raise InputDataError(
            path,
            f"does not look like HU: {outside:.0%} of the voxels inside the field of view lie"
            f" outside [{HU_RANGE[0]:.0f}, {HU_RANGE[1]:.0f}] ({found})",
        )
    if low > AIR_BELOW_HU:
        raise InputDataError(
            path,
            f"does not look like HU: no air ({found}; air is near -1000). Raw scanner values"
            " 0..4095 look like this: set the rescale intercept (scl_inter = -1024)",
        )
    if high < TISSUE_ABOVE_HU:
        raise InputDataError(path, f"does not look like HU: nothing but air ({found})")


def _check_geometry(path: Path, affine: np.ndarray) -> None:
    """Voxel sizes a CT volume can have, and axes near the scanner's (see the module doc)."""
    sizes = nib.affines.voxel_sizes(affine)
    if np.any(sizes < VOXEL_MM[0]) or np.any(sizes > VOXEL_MM[1]):
        shown = ", ".join(f"{s:.4g}" for s in sizes)
        raise InputDataError(
            path,
            f"voxel sizes ({shown}) mm: each must lie in [{VOXEL_MM[0]}, {VOXEL_MM[1]}] mm;"
            " fix the header's pixdim or affine",
        )
    degrees = float(np.degrees(np.max(nib.affines.obliquity(affine))))
    if degrees > MAX_OBLIQUE_DEGREES:
        raise InputDataError(
            path,
            f"its axes are {degrees:.1f} degrees off the scanner's (more than"
            f" {MAX_OBLIQUE_DEGREES:g}): resample it to axis-aligned slices first",
        )
    if degrees > OBLIQUE_NOTE_DEGREES:
        log.warning(
            "%s: its axes are %.2f degrees off the scanner's; slices are read along the"
            " nearest axes, not resampled",
            path,
            degrees,
        )


def _load_image(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A NIfTI file or a DICOM series folder -> (data, RAS affine)."""
    return read_series(path) if path.is_dir() else _load(path)


def _load_labels(case: Case, mapping: LabelMapping) -> tuple[np.ndarray, np.ndarray, Path]:
    """The case's labels as tact's classes in RAS+ order, their affine, and their path. Of
    per-structure masks only those data.labels names are read: an unused broken one (bone/)
    must not stop the case."""
    path = case.labels
    entries = structure_entries(path)
    if not entries:
        if path.is_dir() and not holds_dicom_images(path):
            raise InputDataError(path, "holds no label map and no per-structure mask")
        raw, affine = _to_canonical(*_load_image(path))
        return mapping.label_map(raw, path), affine, path
    names = mapping.used_structures([structure_name(e) for e in entries], path)
    used = [e for e in entries if structure_name(e) in names]
    for entry in sorted(set(entries) - set(used)):
        log.info("%s: not read, data.labels does not name it", entry)
    grids = {entry: _to_canonical(*_load_image(entry)) for entry in used}
    first, (first_mask, first_affine) = next(iter(grids.items()))
    for entry, (mask, affine) in grids.items():
        _check_same_grid(entry, mask, affine, first, first_mask.shape, first_affine)
    masks = {structure_name(entry): mask for entry, (mask, _) in grids.items()}
    return mapping.structures(masks, path), first_affine, path


def _check_same_grid(
    path: Path,
    data: np.ndarray,
    affine: np.ndarray,
    reference: Path,
    shape: tuple[int, ...],
    ref_affine: np.ndarray,
) -> None:
    """Image and labels must share one voxel grid; positions that differ by the rounding of
    an export (0.01 mm), well below a voxel, are one grid."""
    if data.shape != shape:
        raise InputDataError(
            path, f"shape {data.shape} does not match {reference.name} shape {shape}"
        )
    corners = np.array([[*c, 1.0] for c in itertools.product(*[(0, n - 1) for n in shape])]).T
    apart = float(np.max(np.linalg.norm(((affine - ref_affine) @ corners)[:3], axis=0)))
    allowed = GRID_ROUNDING_VOXELS * float(np.min(nib.affines.voxel_sizes(ref_affine)))
    if apart > allowed:
        raise InputDataError(
            path,
            f"affine does not match {reference.name}: its voxels lie up to {apart:.3g} mm from"
            f" {reference.name}'s (rounding up to {allowed:.3g} mm, a tenth of a voxel, is"
            " accepted); image and mask must share one geometry",
        )


def _check_slices(path: Path, n_slices: int) -> None:
    """One rule for NIfTI and DICOM (whose reader cannot place a single slice): a case is a
    volume of at least MIN_SLICES slices along the body axis, as its 3-D metrics need."""
    if n_slices < MIN_SLICES:
        raise InputDataError(
            path,
            f"holds {n_slices} slice along the body axis, not a volume: tact needs at least"
            f" {MIN_SLICES} (its 3-D metrics, the slice spacing)",
        )


def read_case(case: Case, labels: LabelMapping = LITS_LABELS) -> CanonicalVolume:
    """Load, validate and canonicalise one case; raise InputDataError naming the bad file."""
    image, image_affine = (
        read_series(case.image, "CT") if case.image.is_dir() else _load(case.image)
    )
    hu = image.astype(np.float32)
    del image
    mask, mask_affine, mask_path = _load_labels(case, labels)
    hu_ras, ras_affine = _to_canonical(hu, image_affine)
    _check_slices(case.image, hu_ras.shape[2])
    _check_same_grid(mask_path, mask, mask_affine, case.image, hu_ras.shape, ras_affine)
    _check_geometry(case.image, image_affine)
    n_bad = int(np.size(hu) - np.count_nonzero(np.isfinite(hu)))
    if n_bad:
        raise InputDataError(case.image, f"contains {n_bad} NaN or infinite voxels")
    _check_hu(case.image, hu)
    # float32 precision, as NIfTI stores them: a DICOM's decimal "0.7" and a NIfTI's float32
    # 0.7 then give one spacing
    sizes = [float(np.float32(s)) for s in nib.affines.voxel_sizes(ras_affine)]
    return CanonicalVolume(
        volume_id=case.volume_id,
        hu=ras_to_radiological(hu_ras),
        labels=ras_to_radiological(mask),
        spacing_mm=(sizes[1], sizes[0], sizes[2]),  # rows follow y, cols follow x
    )
