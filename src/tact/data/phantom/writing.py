"""Writing a phantom volume: a NIfTI pair in the LiTS layout, or DICOM series of one case."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
from pydicom.uid import generate_uid

from tact.data.dicom_writing import write_series
from tact.data.names import lits_names
from tact.data.orientation import radiological_to_ras
from tact.data.phantom.spec import PhantomVolume
from tact.io import atomic_path

HU_INT16_RANGE = (-1024, 3071)


def hu_to_int16(hu: np.ndarray) -> np.ndarray:
    """HU as stored in LiTS files: rounded int16 in [-1024, 3071]."""
    return np.clip(np.rint(hu), *HU_INT16_RANGE).astype(np.int16)


def lits_affine(spacing_mm: tuple[float, float, float], shape: tuple[int, ...]) -> np.ndarray:
    """Diagonal RAS+ affine for a (Z, rows, cols) radiological stack, centred in-plane."""
    row, col, thk = spacing_mm
    _, n_rows, n_cols = shape
    affine = np.diag([col, row, thk, 1.0])
    affine[:3, 3] = [-(n_cols - 1) * col / 2.0, -(n_rows - 1) * row / 2.0, 0.0]
    return affine


def _nifti_bytes(slices: np.ndarray, affine: np.ndarray) -> bytes:
    img = nib.Nifti1Image(radiological_to_ras(slices), affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return img.to_bytes()


def write_lits_pair(volume: PhantomVolume, out_dir: Path, volume_id: int) -> tuple[Path, Path]:
    """Write ``volume-{id}.nii`` (int16 HU) and ``segmentation-{id}.nii`` (uint8), atomically.

    Both share a diagonal RAS+ affine, so a reader that applies ``as_closest_canonical`` and
    ``ras_to_radiological`` gets the generated slices back exactly.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    affine = lits_affine(volume.spacing_mm, volume.hu.shape)
    vol_path, seg_path = (out_dir / name for name in lits_names(volume_id))
    with atomic_path(vol_path) as tmp:
        tmp.write_bytes(_nifti_bytes(hu_to_int16(volume.hu), affine))
    with atomic_path(seg_path) as tmp:
        tmp.write_bytes(_nifti_bytes(volume.labels.astype(np.uint8), affine))
    return vol_path, seg_path


def _series_uid(volume: PhantomVolume, volume_id: int, kind: str) -> str:
    """The same UID for the same volume, so that a rerun writes the same bytes."""
    content = hashlib.sha256(hu_to_int16(volume.hu).tobytes()).hexdigest()
    return generate_uid(entropy_srcs=["tact phantom", str(volume_id), kind, content])


def write_dicom_case(
    volume: PhantomVolume, case_dir: Path, volume_id: int, *, structures: bool = False
) -> tuple[Path, Path]:
    """Write ``case_dir/image/`` (a CT series, int16 HU stored as HU + 1024) and
    ``case_dir/labels/``: one label-map series (0, 1, 2), or with ``structures`` one binary
    series per structure (``liver`` including its tumours, ``tumour``), as 3D-IRCADb ships them.
    """
    image_dir, labels_dir = Path(case_dir) / "image", Path(case_dir) / "labels"
    slices = hu_to_int16(volume.hu)
    write_series(
        image_dir, slices, volume.spacing_mm, series_uid=_series_uid(volume, volume_id, "ct")
    )
    masks = (
        {"liver": volume.labels > 0, "tumour": volume.labels == 2}
        if structures
        else {"": volume.labels}
    )
    for name, mask in masks.items():
        write_series(
            labels_dir / name,
            mask.astype(np.uint8),
            volume.spacing_mm,
            rescale=(1.0, 0.0),
            series_uid=_series_uid(volume, volume_id, f"labels {name}"),
            description=f"tact phantom labels {name}".rstrip(),
        )
    return image_dir, labels_dir
