"""Reader for LiTS-layout NIfTI pairs (``volume-N.nii[.gz]`` + ``segmentation-N.nii[.gz]``).

The same reader serves the real LiTS data and the built-in phantom. Every problem with a file is
raised as :class:`tact.errors.InputDataError`, whose message names the file, before anything is
written. Volumes are returned in one canonical view (see :mod:`tact.data.orientation`).

What is checked (README, "When things go wrong"): from the folder listing, before any job,
names in any letter case, linked files and folders followed, links that point nowhere and
files tact may not read; from the voxels, in each case's extraction job, the scaling fields as
the NIfTI standard reads them, a real scalar data type, intensities that can be HU, voxel sizes,
the axes, and labels. An oblique volume is taken to its nearest axes without resampling: with a
warning in the job's log up to :data:`MAX_OBLIQUE_DEGREES`, refused beyond.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from tact.data.names import IMAGE, LITS_FILE, MASK
from tact.data.orientation import ras_to_radiological
from tact.errors import InputDataError

log = logging.getLogger(__name__)

AFFINE_TOLERANCE_MM = 1e-3
# Slices are read along the nearest axes, not resampled: a few degrees (a tilted gantry's
# reconstruction, a rotated export) move a voxel by under a voxel per few dozen; 20 degrees by
# a third of the way across the slice, which is no longer the scanner's slice.
MAX_OBLIQUE_DEGREES = 20.0
OBLIQUE_NOTE_DEGREES = 0.01
VOXEL_MM = (0.05, 50.0)  # plausible voxel sizes of a CT volume
# HU plausibility, over the voxels inside the field of view (padding outside it excluded).
PADDING_HU = (-3100.0, -1900.0)  # scanners write -2000, -2048, -3000 or -3024 there
HU_RANGE = (-1100.0, 4000.0)
MAX_OUTSIDE_FRACTION = 0.01
AIR_BELOW_HU = -500.0  # the lowest 1 % of a CT volume is air (outside the body, lungs, bowel)
TISSUE_ABOVE_HU = -900.0  # and its highest 1 % is not


@dataclass(frozen=True)
class VolumePair:
    """One LiTS case: the CT volume and its label map."""

    volume_id: int
    image: Path
    mask: Path


@dataclass
class CanonicalVolume:
    """A validated case in the canonical radiological view, HU as float32."""

    volume_id: int
    hu: np.ndarray  # (Z, rows, cols) float32
    labels: np.ndarray  # (Z, rows, cols) uint8 in {0, 1, 2}
    spacing_mm: tuple[float, float, float]  # (row, col, slice)


def discover_pairs(root: str | Path) -> list[VolumePair]:
    """Find every LiTS pair under ``root`` (recursively, so LiTS' two batch folders work)."""
    root = Path(root)
    if not root.is_dir():
        raise InputDataError(root, "LiTS directory does not exist or is not a directory")
    found: dict[str, dict[int, Path]] = {IMAGE: {}, MASK: {}}
    for path in _files_under(root):
        match = LITS_FILE.match(path.name)
        if match is None:
            continue
        _check_listed_file(path)
        kind, volume_id = match.group(1).lower(), int(match.group(2))
        other = found[kind].get(volume_id)
        if other is not None:
            raise InputDataError(
                path, f"duplicate volume id {volume_id}: {other} is also its {kind}"
            )
        found[kind][volume_id] = path
    images, masks = found[IMAGE], found[MASK]
    if not images and not masks:
        raise InputDataError(root, "no volume-N.nii[.gz] / segmentation-N.nii[.gz] files found")
    for volume_id, path in images.items():
        if volume_id not in masks:
            raise InputDataError(path, f"has no matching segmentation-{volume_id}.nii[.gz]")
    for volume_id, path in masks.items():
        if volume_id not in images:
            raise InputDataError(path, f"has no matching volume-{volume_id}.nii[.gz]")
    return [VolumePair(i, images[i], masks[i]) for i in sorted(images)]


def _files_under(root: Path) -> Iterator[Path]:
    """Every entry under ``root`` but folders, in a stable order, following linked folders
    (a batch folder linked in from another disk) once each."""
    seen: set[str] = set()
    for folder, folders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        folders.sort()
        if real in seen:
            folders.clear()
            continue
        seen.add(real)
        yield from (Path(folder) / name for name in sorted(files))


def _check_listed_file(path: Path) -> None:
    """What the listing shows: a link that points nowhere, a file tact may not read."""
    if not path.exists():
        raise InputDataError(path, f"is a link to {os.readlink(path)}, which does not exist")
    if not path.is_file():
        raise InputDataError(path, "is not a regular file")
    if not os.access(path, os.R_OK):
        raise InputDataError(path, "permission denied: tact may not read it (chmod a+r)")


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
    """Reorder axes to RAS+ without resampling; return the data and the new voxel sizes."""
    transform = nib.orientations.ornt_transform(
        nib.orientations.io_orientation(affine), nib.orientations.axcodes2ornt("RAS")
    )
    canonical = nib.orientations.apply_orientation(data, transform)
    new_affine = affine @ nib.orientations.inv_ornt_aff(transform, data.shape)
    return canonical, nib.affines.voxel_sizes(new_affine)


def _check_labels(path: Path, mask: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(mask)):
        raise InputDataError(path, "contains NaN or infinite labels")
    outside = (mask != 0) & (mask != 1) & (mask != 2)  # linear; np.unique would sort it all
    if outside.any():
        bad = np.unique(mask[outside]).tolist()
        shown = ", ".join(f"{v:g}" for v in bad[:5]) + (", ..." if len(bad) > 5 else "")
        raise InputDataError(path, f"has labels outside {{0, 1, 2}}: {shown}")
    if not mask.any():
        raise InputDataError(path, "contains no liver or tumour voxel (all labels are 0)")
    if not (mask == 1).any():
        raise InputDataError(path, "has tumour (label 2) but no liver (label 1)")
    return mask.astype(np.uint8)


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


def read_pair(pair: VolumePair) -> CanonicalVolume:
    """Load, validate and canonicalise one case; raise InputDataError naming the bad file."""
    image, image_affine = _load(pair.image)
    mask, mask_affine = _load(pair.mask)
    if image.shape != mask.shape:
        raise InputDataError(
            pair.mask, f"shape {mask.shape} does not match {pair.image.name} shape {image.shape}"
        )
    if not np.allclose(image_affine, mask_affine, rtol=0, atol=AFFINE_TOLERANCE_MM):
        raise InputDataError(
            pair.mask,
            f"affine does not match {pair.image.name} (image and mask must share one geometry):\n"
            f"{np.array2string(mask_affine, precision=4)}\nvs\n"
            f"{np.array2string(image_affine, precision=4)}",
        )
    _check_geometry(pair.image, image_affine)
    hu = image.astype(np.float32)
    n_bad = int(np.size(hu) - np.count_nonzero(np.isfinite(hu)))
    if n_bad:
        raise InputDataError(pair.image, f"contains {n_bad} NaN or infinite voxels")
    _check_hu(pair.image, hu)
    labels = _check_labels(pair.mask, mask)
    hu_ras, sizes = _to_canonical(hu, image_affine)
    labels_ras, _ = _to_canonical(labels, image_affine)
    spacing = (float(sizes[1]), float(sizes[0]), float(sizes[2]))  # rows follow y, cols follow x
    return CanonicalVolume(
        volume_id=pair.volume_id,
        hu=ras_to_radiological(hu_ras),
        labels=ras_to_radiological(labels_ras),
        spacing_mm=spacing,
    )
