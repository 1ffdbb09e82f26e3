"""Reader for LiTS-layout NIfTI pairs (``volume-N.nii[.gz]`` + ``segmentation-N.nii[.gz]``).

The same reader serves the real LiTS data and the built-in phantom. Every problem with a file is
raised as :class:`tact.errors.InputDataError`, whose message names the file, before anything is
written. Volumes are returned in one canonical view (see :mod:`tact.data.orientation`).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError

from tact.data.orientation import ras_to_radiological
from tact.errors import InputDataError

AFFINE_TOLERANCE_MM = 1e-3
_NAME = re.compile(r"^(volume|segmentation)-(\d+)\.nii(\.gz)?$")


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
    found: dict[str, dict[int, Path]] = {"volume": {}, "segmentation": {}}
    for path in sorted(root.rglob("*.nii*")):
        match = _NAME.match(path.name)
        if match is None or not path.is_file():
            continue
        kind, volume_id = match.group(1), int(match.group(2))
        other = found[kind].get(volume_id)
        if other is not None:
            raise InputDataError(
                path, f"duplicate volume id {volume_id}: {other} is also its {kind}"
            )
        found[kind][volume_id] = path
    images, masks = found["volume"], found["segmentation"]
    if not images and not masks:
        raise InputDataError(root, "no volume-N.nii[.gz] / segmentation-N.nii[.gz] files found")
    for volume_id, path in images.items():
        if volume_id not in masks:
            raise InputDataError(path, f"has no matching segmentation-{volume_id}.nii[.gz]")
    for volume_id, path in masks.items():
        if volume_id not in images:
            raise InputDataError(path, f"has no matching volume-{volume_id}.nii[.gz]")
    return [VolumePair(i, images[i], masks[i]) for i in sorted(images)]


def _load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a 3-D NIfTI file fully (so truncation shows here) and return (data, affine)."""
    try:
        image = nib.load(path, mmap=False)
        if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
            raise InputDataError(path, f"is a {type(image).__name__}, not a NIfTI image")
        data = np.asanyarray(image.dataobj)
    except InputDataError:
        raise
    except (ImageFileError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise InputDataError(
            path, f"not a readable NIfTI file, corrupt or truncated ({exc})"
        ) from exc
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
    return mask.astype(np.uint8)


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
    hu = image.astype(np.float32)
    n_bad = int(np.size(hu) - np.count_nonzero(np.isfinite(hu)))
    if n_bad:
        raise InputDataError(pair.image, f"contains {n_bad} NaN or infinite voxels")
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
