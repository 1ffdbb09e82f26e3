"""Reading one CT DICOM series (a folder of slices) with pydicom.

:func:`read_series` gives what nibabel gives for a NIfTI file: the modality-LUT-applied values
(HU for CT) as a 3-D array with axes (column, row, slice) and its RAS+ voxel-to-world affine, so
that :mod:`tact.data.volumes` treats a DICOM case exactly like a NIfTI one.
:mod:`tact.data.dicom_writing` writes the built-in phantom as such a series.

Why pydicom, with our own ordering and checks, and not MONAI's ``PydicomReader``: that reader
(MONAI 1.6.1, ``monai/data/image_reader.py``, ``_combine_dicom_series``) sorts a series' slices by
InstanceNumber, skips slices that lack it, and takes the slice spacing from the z coordinate of
ImagePositionPatient alone, so a series whose instance numbers are not in spatial order comes
out scrambled, and a tilted or non-axial series gets a wrong spacing. Here slices are ordered by
their position along the slice normal, whatever their numbers or file names, and a series with
a missing, duplicated or uneven slice is refused with a message naming it rather than read into
a distorted volume. SimpleITK (GDCM) would do the ordering too, but is a large new compiled
dependency (its 2.5.7 wheel: 52.8 MB, against pydicom's 2.4 MB; pip download, 2026-12-03) for
what is here a few hundred lines.

Gantry tilt: a tilted series shows as slice positions that do not lie along the slice normal
(the line from the first to the last position makes an angle with it). Up to
:data:`MAX_TILT_DEGREES` the slices are kept as the scanner reconstructed them, not resampled:
each axial slice is exactly the scanner's, and the in-plane shift between neighbouring slices
is left out of the geometry, which is what a pipeline of 2-D slices needs. The slice spacing is
then the distance between positions projected on the normal, and a warning names the folder
and the angle. Beyond that limit the series is refused: resample it first.

Values: a series is read with one way from stored numbers to values. Slices that disagree on
what changes their values (the rescale slope or intercept, present or not, the modality LUT,
the pixel representation, the bits stored) are refused naming the files that differ: applying
each file's own tags, with a missing one read as slope 1 and intercept 0, made one slice 1024
HU off, which no later check sees. A series given as the CT whose Modality says another is
refused saying so.

Every problem is raised as :class:`tact.errors.InputDataError` naming the folder or the file.
Hidden files (names starting with a dot, as a killed writer's temporary files) are not read.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, get_decoder, pixel_array
from pydicom.uid import (
    UID,
    MediaStorageDirectoryStorage,
)

from tact.data.orientation import MAX_OBLIQUE_DEGREES
from tact.errors import InputDataError

log = logging.getLogger(__name__)

MAX_TILT_DEGREES = MAX_OBLIQUE_DEGREES
MIN_SLICES = 2  # a case is a volume: one slice has no spacing, no 3-D metrics
TILT_NOTE_DEGREES = 0.01  # below this, the rounding of positions to decimal strings
IOP_TOLERANCE = 1e-4
PIXEL_MM_TOLERANCE = 1e-4
SAME_POSITION_MM = 1e-3
GAP_TOLERANCE = 0.10  # a slice step more than 10 % off the series' usual one
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class _Frame:
    """One slice of the series: a single-frame file, or one frame of a multi-frame file."""

    path: Path
    ds: Dataset
    index: int  # frame number in its file (0 for a single-frame file)
    position: np.ndarray  # ImagePositionPatient, LPS mm
    orientation: np.ndarray  # ImageOrientationPatient: row cosine, column cosine
    spacing: np.ndarray  # PixelSpacing: (between rows, between columns) mm
    shape: tuple[int, int]  # (Rows, Columns)

    @property
    def label(self) -> str:
        frames = int(self.ds.get("NumberOfFrames") or 1)
        return f"{self.path.name} frame {self.index + 1}" if frames > 1 else self.path.name


def _reason(exc: Exception) -> str:
    """An exception's message on one line, for an error that must stay one line."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def is_dicom(path: str | Path) -> bool:
    """Whether pydicom reads ``path`` as DICOM without force: 'DICM' at byte 128."""
    try:
        with open(path, "rb") as f:
            f.seek(128)
            return f.read(4) == b"DICM"
    except PermissionError as exc:
        raise InputDataError(path, "permission denied: tact may not read it (chmod a+r)") from exc


def _is_dicomdir(path: Path) -> bool:
    """A DICOMDIR: the index of a DICOM medium, not an image (its file meta says so)."""
    try:
        meta = pydicom.filereader.read_file_meta_info(path)
    except Exception:  # unreadable here: the series reader names it
        return False
    return meta.get("MediaStorageSOPClassUID") == MediaStorageDirectoryStorage


def holds_dicom_images(folder: Path) -> bool:
    """Whether ``folder`` holds DICOM files itself (a series), a DICOMDIR not counted: at the
    top of a folder of per-structure masks it would make the folder look like one series."""
    return any(
        p.is_file() and not p.name.startswith(".") and is_dicom(p) and not _is_dicomdir(p)
        for p in folder.iterdir()
    )


def _read_header(path: Path) -> Dataset | None:
    """The file's dataset, pixel data left on disk; None for a file that is not a DICOM image."""
    try:
        ds = pydicom.dcmread(path, defer_size="64 KB")
    except InvalidDicomError:
        return None
    except PermissionError as exc:
        raise InputDataError(path, "permission denied: tact may not read it (chmod a+r)") from exc
    except Exception as exc:  # pydicom raises many kinds on a damaged file
        raise InputDataError(
            path, f"not a readable DICOM file, corrupt or truncated ({_reason(exc)})"
        ) from exc
    return ds if "PixelData" in ds else None  # a DICOMDIR, a structured report, ...


def _read_headers(folder: Path) -> list[tuple[Path, Dataset]]:
    """The DICOM image files directly in ``folder``, others skipped and counted."""
    if not folder.is_dir():
        raise InputDataError(folder, "is not a folder holding a DICOM series")
    try:
        paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    except PermissionError as exc:
        raise InputDataError(folder, "permission denied: tact may not list it") from exc
    images = [(p, ds) for p in paths if (ds := _read_header(p)) is not None]
    skipped = len(paths) - len(images)
    if skipped:
        log.info("%s: skipped %d file(s) that are not DICOM images", folder, skipped)
    if not images:
        others = f" ({skipped} other file(s): not DICOM, or without pixel data)" if skipped else ""
        raise InputDataError(folder, f"holds no DICOM image file{others}")
    return images


def _check_one_series(folder: Path, images: list[tuple[Path, Dataset]]) -> None:
    """A folder is one series: slices of two series would be stacked into one volume."""
    series: dict[str, list[Dataset]] = {}
    for _, ds in images:
        series.setdefault(str(ds.get("SeriesInstanceUID", "(none)")), []).append(ds)
    if len(series) > 1:
        listed = "; ".join(
            f"{uid} '{datasets[0].get('SeriesDescription', '')}' ({len(datasets)} files)"
            for uid, datasets in series.items()
        )
        raise InputDataError(
            folder, f"holds {len(series)} DICOM series, put each series in its own folder: {listed}"
        )


def _check_modality(folder: Path, ds: Dataset, modality: str) -> None:
    """An MR or PET series given as the CT has no HU: say so, not that its values look odd
    (a series without the tag is read, and its values checked)."""
    found = str(ds.get("Modality") or "")
    if found and found.upper() != modality:
        described = f" ('{ds.get('SeriesDescription')}')" if ds.get("SeriesDescription") else ""
        raise InputDataError(
            folder,
            f"its Modality is {found}{described}, not {modality}: tact reads CT in HU; point"
            " data.dicom.image at the CT series",
        )


def _value(ds: Dataset, frame: int, group: str, keyword: str) -> object:
    """A frame's attribute from its functional group (per-frame, then shared), else top level."""
    for groups_name, index in (
        ("PerFrameFunctionalGroupsSequence", frame),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        groups = ds.get(groups_name)
        if groups is not None and index < len(groups):
            items = groups[index].get(group)
            if items and keyword in items[0]:
                return items[0].get(keyword)
    return ds.get(keyword)


def _numbers(
    path: Path, ds: Dataset, frame: int, group: str, keyword: str, count: int
) -> np.ndarray:
    """A required multi-valued decimal attribute of a frame as floats."""
    value = _value(ds, frame, group, keyword)
    values = list(value) if isinstance(value, MultiValue | list) else [value]  # VM 1 is bare
    where = f" of frame {frame + 1}" if int(ds.get("NumberOfFrames") or 1) > 1 else ""
    try:
        numbers = np.array([float(v) for v in values])  # None, "" or "abc" fail here
    except (TypeError, ValueError):
        numbers = np.array([])
    if len(numbers) != count or not np.all(np.isfinite(numbers)):
        raise InputDataError(
            path, f"has no valid {keyword}{where} (found {value!r}); tact needs it to stack slices"
        )
    return numbers


def _orientation(path: Path, iop: np.ndarray) -> np.ndarray:
    """Unit row and column cosines; refuse ones that are not two orthogonal directions."""
    row, col = iop[:3], iop[3:]
    norms = np.linalg.norm(row), np.linalg.norm(col)
    if min(norms) < 0.5 or abs(row @ col) > 1e-3 * max(norms) ** 2:
        raise InputDataError(
            path, f"ImageOrientationPatient {iop.tolist()} is not two orthogonal directions"
        )
    return np.concatenate([row / norms[0], col / norms[1]])


def _frames(path: Path, ds: Dataset) -> list[_Frame]:
    """The slices a file holds, with their geometry (functional groups or top-level tags)."""
    if int(ds.get("SamplesPerPixel") or 1) != 1:
        raise InputDataError(path, "is a colour image (SamplesPerPixel > 1), not a CT slice")
    if ds.get("Rows") is None or ds.get("Columns") is None:
        raise InputDataError(path, "has no Rows or Columns")
    frames = []
    for index in range(int(ds.get("NumberOfFrames") or 1)):
        position = _numbers(path, ds, index, "PlanePositionSequence", "ImagePositionPatient", 3)
        iop = _numbers(path, ds, index, "PlaneOrientationSequence", "ImageOrientationPatient", 6)
        spacing = _numbers(path, ds, index, "PixelMeasuresSequence", "PixelSpacing", 2)
        if np.any(spacing <= 0):
            raise InputDataError(path, f"has PixelSpacing {spacing.tolist()}; must be positive")
        shape = (int(ds.Rows), int(ds.Columns))
        frames.append(_Frame(path, ds, index, position, _orientation(path, iop), spacing, shape))
    return frames


def _check_same_geometry(folder: Path, frames: list[_Frame]) -> None:
    """Every slice must share the first's orientation, pixel spacing and size."""
    first = frames[0]
    for frame in frames[1:]:
        for name, mine, theirs, tolerance in (
            ("ImageOrientationPatient", frame.orientation, first.orientation, IOP_TOLERANCE),
            ("PixelSpacing", frame.spacing, first.spacing, PIXEL_MM_TOLERANCE),
            ("Rows/Columns", np.array(frame.shape), np.array(first.shape), 0),
        ):
            if np.max(np.abs(mine - theirs)) > tolerance:
                raise InputDataError(
                    folder,
                    f"its slices disagree on {name}: {first.label} has {theirs.tolist()},"
                    f" {frame.label} has {mine.tolist()}; a series must have one geometry",
                )


def _shown(value: object) -> str:
    """A value-changing tag's value as compared and shown: 1 and "1.0" alike, "absent"."""
    if value is None or value == "":
        return "absent"
    try:
        return f"{float(value):g}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


def _digest(item: Dataset) -> str:
    """A short fingerprint of a lookup table, to tell two tables apart in a message."""
    return hashlib.sha1(repr(item).encode()).hexdigest()[:8]


def _value_tags(frame: _Frame) -> dict[str, str]:
    """What turns a slice's stored numbers into its values, each as :func:`_shown` gives it."""
    ds, index = frame.ds, frame.index
    table = ds.get("ModalityLUTSequence")
    return {
        "RescaleSlope": _shown(
            _value(ds, index, "PixelValueTransformationSequence", "RescaleSlope")
        ),
        "RescaleIntercept": _shown(
            _value(ds, index, "PixelValueTransformationSequence", "RescaleIntercept")
        ),
        "ModalityLUTSequence": "absent" if not table else f"table {_digest(table[0])}",
        "PixelRepresentation": _shown(ds.get("PixelRepresentation")),
        "BitsStored": _shown(ds.get("BitsStored")),
    }


def _few(labels: list[str]) -> str:
    """Up to five file names for a message, '...' for the rest."""
    return ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")


def _check_same_values(folder: Path, frames: list[_Frame]) -> None:
    """Every slice must store its values alike: a file without the rescale tags (read with
    slope 1, intercept 0) or with its own would be a slice 1024 HU off that no later check
    sees, so a series that disagrees stops, naming the files that differ."""
    tags = [_value_tags(frame) for frame in frames]
    for name in tags[0]:
        groups: dict[str, list[str]] = {}
        for frame, values in zip(frames, tags, strict=True):
            groups.setdefault(values[name], []).append(frame.label)
        if len(groups) == 1:
            continue
        (usual, common), *others = sorted(groups.items(), key=lambda item: -len(item[1]))
        differing = "; ".join(
            f"{value} in {len(labels)} ({_few(labels)})" for value, labels in others
        )
        raise InputDataError(
            folder,
            f"its files disagree on {name}: {usual} in {len(common)} slices, {differing}; a"
            " series must store its values alike (fix or remove the files that differ)",
        )


def _mm(value: float) -> str:
    """A position or distance in a message: 45.0, 0.625, -12.5."""
    text = f"{value + 0.0:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _check_steps(folder: Path, frames: list[_Frame], along: np.ndarray) -> None:
    """Sorted slices must be distinct and evenly spaced: no duplicate, no missing slice."""
    steps = np.diff(along)
    if np.any(steps < SAME_POSITION_MM):
        k = int(np.argmin(steps))
        raise InputDataError(
            folder,
            f"two slices at the same position, {_mm(along[k])} mm along the slice normal:"
            f" {frames[k].label} and {frames[k + 1].label}",
        )
    usual = float(np.median(steps))
    if np.all(np.abs(steps - usual) <= GAP_TOLERANCE * usual):
        return
    widest, narrowest = int(np.argmax(steps)), int(np.argmin(steps))
    if steps[widest] > (1 + GAP_TOLERANCE) * usual:
        raise InputDataError(
            folder,
            f"missing slice(s): no slice between {_mm(along[widest])} and"
            f" {_mm(along[widest + 1])} mm along the slice normal, where the series' spacing is"
            f" {_mm(usual)} mm",
        )
    raise InputDataError(
        folder,
        f"uneven slice spacing: slices at {_mm(along[narrowest])} and {_mm(along[narrowest + 1])}"
        f" mm along the slice normal are {_mm(steps[narrowest])} mm apart, where the series'"
        f" spacing is {_mm(usual)} mm",
    )


def _check_tilt(folder: Path, positions: np.ndarray, normal: np.ndarray, step: float) -> None:
    """Refuse a gantry tilt beyond MAX_TILT_DEGREES; warn below (see the module doc)."""
    line = positions[-1] - positions[0]
    cosine = abs(float(line @ normal)) / float(np.linalg.norm(line))
    degrees = float(np.degrees(np.arccos(min(cosine, 1.0))))
    if degrees > MAX_TILT_DEGREES:
        raise InputDataError(
            folder,
            f"gantry tilt of {degrees:.1f} degrees (more than {MAX_TILT_DEGREES:g}): its slices"
            " are not stacked along their normal; resample the series to untilted slices first",
        )
    if degrees > TILT_NOTE_DEGREES:
        log.warning(
            "%s: gantry tilt of %.2f degrees; slices are kept as the scanner reconstructed them,"
            " not resampled (an in-plane shift of %.2f mm between neighbouring slices is ignored)",
            folder,
            degrees,
            step * np.tan(np.radians(degrees)),
        )


def _stack(folder: Path, frames: list[_Frame]) -> tuple[list[_Frame], np.ndarray, float]:
    """Slices sorted along their normal, the normal, and the slice spacing."""
    if len(frames) < MIN_SLICES:  # no spacing from one position; tact.data.volumes: the rule
        raise InputDataError(folder, f"holds a single slice ({frames[0].label}), not a volume")
    row, col = frames[0].orientation[:3], frames[0].orientation[3:]
    normal = np.cross(row, col)
    along = np.array([f.position @ normal for f in frames])
    order = np.argsort(along, kind="stable")
    frames, along = [frames[i] for i in order], along[order]
    _check_steps(folder, frames, along)
    step = float(along[-1] - along[0]) / (len(frames) - 1)
    _check_tilt(folder, np.array([f.position for f in frames]), normal, step)
    return frames, normal, step


def _modality_source(ds: Dataset, frame: int) -> Dataset:
    """What apply_modality_lut needs for one frame: its rescale (slope 1, intercept 0 if absent)."""
    if ds.get("ModalityLUTSequence"):  # a classic image's lookup table
        return ds
    slope = _value(ds, frame, "PixelValueTransformationSequence", "RescaleSlope")
    intercept = _value(ds, frame, "PixelValueTransformationSequence", "RescaleIntercept")
    source = Dataset()
    source.RescaleSlope = 1.0 if slope is None or slope == "" else float(slope)
    source.RescaleIntercept = 0.0 if intercept is None or intercept == "" else float(intercept)
    return source


def _decode(path: Path, ds: Dataset) -> np.ndarray:
    """A file's stored pixel values as (frames, rows, cols)."""
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    try:
        pixels = pixel_array(path)
    except Exception as exc:  # missing decoder plugin, damaged data: pydicom varies the kind
        raise InputDataError(path, _undecodable(syntax, exc)) from exc
    return pixels.reshape(-1, *pixels.shape[-2:])


def _has_decoder(syntax: UID) -> bool:
    """Whether pydicom has a working decoder plugin for ``syntax`` here."""
    try:
        return get_decoder(syntax).is_available
    except NotImplementedError:  # a transfer syntax pydicom has no decoder for at all
        return False


def _undecodable(syntax: UID | None, exc: Exception) -> str:
    """Why pixel data failed to decode, in one line: no decoder here (install one), or a
    decoder that failed (the data is not what the transfer syntax says, or is damaged)."""
    if syntax is None or not syntax.is_compressed:
        return f"its pixel data cannot be decoded ({_reason(exc)})"
    if not _has_decoder(syntax):
        return (
            f"its pixel data is compressed as {syntax.name} ({syntax}), which pydicom cannot"
            f" decode here ({_reason(exc)}); decompress the series or install a decoder plugin"
        )
    said = "; ".join(line.strip() for line in str(exc).splitlines()[1:]) or _reason(exc)
    return (
        f"its pixel data is not valid {syntax.name}, as its transfer syntax ({syntax}) says:"
        f" the decoder failed ({said}); the file is damaged or mislabelled"
    )


def _affine(first: _Frame, normal: np.ndarray, step: float) -> np.ndarray:
    """RAS+ voxel-to-world matrix of (column, row, slice) indices."""
    (row_spacing, col_spacing), cosines = first.spacing, first.orientation
    lps = np.eye(4)
    lps[:3, 0] = cosines[:3] * col_spacing  # along a row: the next column
    lps[:3, 1] = cosines[3:] * row_spacing  # down a column: the next row
    lps[:3, 2] = normal * step
    lps[:3, 3] = first.position
    return LPS_TO_RAS @ lps


def read_series(folder: str | Path, modality: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read the one DICOM image series in `folder` -> (data, affine).

    ``data`` is float64, modality LUT applied (HU for CT), axes (column, row, slice) with
    slices sorted along their normal; ``affine`` maps those indices to RAS+ mm, as nibabel's.
    With ``modality`` (``CT``), a series that says it is another is refused.
    """
    folder = Path(folder)
    images = _read_headers(folder)
    _check_one_series(folder, images)
    if modality is not None:
        _check_modality(folder, images[0][1], modality)
    frames = [frame for path, ds in images for frame in _frames(path, ds)]
    _check_same_geometry(folder, frames)
    _check_same_values(folder, frames)
    frames, normal, step = _stack(folder, frames)
    rows, cols = frames[0].shape
    data = np.empty((cols, rows, len(frames)), dtype=np.float64)
    slot = {(f.path, f.index): k for k, f in enumerate(frames)}
    for path, ds in images:
        pixels = _decode(path, ds)
        for index, stored in enumerate(pixels):
            k = slot[(path, index)]
            data[:, :, k] = apply_modality_lut(stored, _modality_source(ds, index)).T
    return data, _affine(frames[0], normal, step)
