"""Writing slices as one single-frame CT DICOM series, read back by :mod:`tact.data.dicom`:
the built-in phantom's DICOM cases and the test series."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from tact.io import atomic_path

DS_MAX_CHARS = 16
_SLICE_NAME = re.compile(r"slice-\d{4,}\.dcm")


def _ds(value: float) -> str:
    """A decimal string (at most 16 characters): the shortest repr of the float32 value."""
    value32 = np.float32(value + 0.0)  # + 0.0: no "-0"
    text = np.format_float_positional(value32, trim="-")
    if len(text) > DS_MAX_CHARS:
        text = np.format_float_scientific(value32, trim="-")
    if len(text) > DS_MAX_CHARS or not np.isfinite(value32):
        raise ValueError(f"{value} does not fit a DICOM decimal string")
    return text


def _stored(slices: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """Stored pixel values, uint16 if none is negative else int16; integer-valued input must be
    exactly representable (HU, label values), other input is rounded to the stored grid."""
    values = np.asarray(slices, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("slices hold NaN or infinite values")
    stored = np.rint((values - intercept) / slope)
    if np.array_equal(values, np.rint(values)) and not np.array_equal(
        stored * slope + intercept, values
    ):
        raise ValueError(
            f"values are not exactly representable with slope {slope}, intercept {intercept}"
        )
    dtype = np.uint16 if stored.min() >= 0 else np.int16
    limits = np.iinfo(dtype)
    if stored.min() < limits.min or stored.max() > limits.max:
        raise ValueError(
            f"stored values {stored.min():.0f}..{stored.max():.0f} do not fit {dtype.__name__}"
            f" (slope {slope}, intercept {intercept})"
        )
    return stored.astype(dtype)


@dataclass(frozen=True)
class _SeriesHeader:
    """What every slice of a written series shares."""

    series_uid: str
    description: str
    modality: str
    spacing: tuple[str, str, str]  # decimal strings: row, col, thickness
    rescale: tuple[str, str]  # decimal strings: slope, intercept
    shape: tuple[int, int]  # rows, cols

    def uid(self, what: str) -> str:
        """A UID derived from the series UID: the same every run."""
        return str(generate_uid(entropy_srcs=[self.series_uid, what]))


def _slice_dataset(header: _SeriesHeader, k: int, pixels: np.ndarray) -> Dataset:
    """One CT Image Storage file of the series: slice k (0-based), its stored pixels."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = header.uid(f"instance {k + 1}")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    ds.Modality, ds.SeriesDescription = header.modality, header.description
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "tact", "tact", "", ""
    ds.StudyInstanceUID, ds.StudyID = header.uid("study"), ""
    ds.StudyDate, ds.StudyTime, ds.ReferringPhysicianName, ds.AccessionNumber = "", "", "", ""
    ds.SeriesInstanceUID, ds.SeriesNumber = header.series_uid, 1
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = header.uid("frame of reference"), ""
    ds.Manufacturer, ds.KVP, ds.AcquisitionNumber = "tact", "", 1
    ds.InstanceNumber = k + 1
    row, col, thickness = header.spacing
    rows, cols = header.shape
    z = _ds(k * float(thickness))
    ds.ImagePositionPatient = [
        _ds(-(cols - 1) * float(col) / 2),
        _ds(-(rows - 1) * float(row) / 2),
        z,
    ]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing, ds.SliceThickness, ds.SliceLocation = [row, col], thickness, z
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = int(pixels.dtype == np.int16)
    ds.RescaleSlope, ds.RescaleIntercept = header.rescale
    ds.RescaleType = "HU" if header.modality == "CT" else "US"
    ds.PixelData = np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("<")).tobytes()
    return ds


def write_series(
    folder: str | Path,
    slices: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    rescale: tuple[float, float] = (1.0, -1024.0),
    series_uid: str | None = None,
    description: str = "tact phantom",
    modality: str = "CT",
) -> list[Path]:
    """Write (Z, rows, cols) radiological slices as one single-frame DICOM series.

    Values are stored as round((value - intercept) / slope); the geometry is that of
    :func:`tact.data.phantom.writing.lits_affine`, so this series and the NIfTI file of the
    same slices read alike. Files are ``slice-0001.dcm``...; a given ``series_uid`` makes them
    byte-identical between runs. Earlier ``slice-*.dcm`` files beyond Z are removed.
    """
    slices = np.asarray(slices)
    if slices.ndim != 3 or 0 in slices.shape:
        raise ValueError(f"expected a non-empty (Z, rows, cols) array, got shape {slices.shape}")
    if not all(np.isfinite(s) and s > 0 for s in spacing_mm):
        raise ValueError(f"spacing_mm must be positive, got {spacing_mm}")
    slope, intercept = (_ds(v) for v in rescale)
    if float(slope) == 0:
        raise ValueError("the rescale slope must not be 0")
    series_uid = str(generate_uid()) if series_uid is None else series_uid
    if not pydicom.uid.UID(series_uid).is_valid:
        raise ValueError(f"{series_uid!r} is not a valid DICOM UID")
    stored = _stored(slices, float(slope), float(intercept))
    header = _SeriesHeader(
        series_uid=series_uid,
        description=description,
        modality=modality,
        spacing=(_ds(spacing_mm[0]), _ds(spacing_mm[1]), _ds(spacing_mm[2])),
        rescale=(slope, intercept),
        shape=(int(slices.shape[1]), int(slices.shape[2])),
    )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for k in range(stored.shape[0]):
        path = folder / f"slice-{k + 1:04d}.dcm"
        with atomic_path(path) as tmp:
            _slice_dataset(header, k, stored[k]).save_as(tmp, enforce_file_format=True)
        written.append(path)
    for stale in folder.iterdir():  # a longer series written here before
        if _SLICE_NAME.fullmatch(stale.name) and stale not in written:
            stale.unlink()
    return written
