"""One CT DICOM series: written by tact.data.dicom.write_series, edited with pydicom into the
shapes real series come in, and read back by read_series into nibabel's (data, affine)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    EnhancedCTImageStorage,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    MediaStorageDirectoryStorage,
)

from tact.data.dicom import is_dicom, read_series
from tact.data.dicom_writing import write_series
from tact.data.labels import LabelMapping
from tact.data.layouts import Case
from tact.data.orientation import ras_to_radiological
from tact.data.phantom import PhantomSpec, generate_volume, write_dicom_case, write_lits_pair
from tact.data.phantom.writing import _nifti_bytes, hu_to_int16, lits_affine
from tact.data.volumes import read_case
from tact.errors import InputDataError

SPACING = (0.7, 0.7, 2.5)  # 0.7 has no exact binary value: the decimal strings must still agree
UID = "1.2.826.0.1.3680043.8.498.4242"


def hu_slices(shape: tuple[int, int, int] = (7, 20, 24), seed: int = 0) -> np.ndarray:
    """Integer HU, (Z, rows, cols) in the radiological view."""
    return np.random.default_rng(seed).integers(-1024, 2001, shape).astype(np.float64)


def write(folder: Path, slices: np.ndarray | None = None, **kwargs) -> np.ndarray:
    slices = hu_slices() if slices is None else slices
    write_series(folder, slices, kwargs.pop("spacing", SPACING), **kwargs)
    return slices


def edit_each(folder: Path, change: Callable[[int, Dataset], None]) -> None:
    """Apply change(k, dataset) to the k-th written slice file and save it in place."""
    for k, path in enumerate(sorted(folder.glob("slice-*.dcm"))):
        ds = pydicom.dcmread(path)
        change(k, ds)
        ds.save_as(path)


def canonical(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Axes reordered to RAS+ without resampling, as tact.data.volumes does."""
    transform = nib.orientations.ornt_transform(
        nib.orientations.io_orientation(affine), nib.orientations.axcodes2ornt("RAS")
    )
    new_affine = affine @ nib.orientations.inv_ornt_aff(transform, data.shape)
    return nib.orientations.apply_orientation(data, transform), new_affine


def as_slices(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    return ras_to_radiological(canonical(data, affine)[0])


def expect_error(folder: Path, *phrases: str) -> str:
    with pytest.raises(InputDataError) as caught:
        read_series(folder)
    message = str(caught.value)
    assert str(folder) in message and "\n" not in message
    for phrase in phrases:
        assert phrase in message
    return message


@pytest.mark.parametrize("spacing", [SPACING, (0.625, 0.7, 0.7)])
def test_round_trip_gives_the_values_and_the_geometry_of_tacts_nifti(tmp_path, spacing):
    slices = write(tmp_path / "series", spacing=spacing)
    data, affine = read_series(tmp_path / "series")
    assert data.dtype == np.float64 and data.shape == (24, 20, 7)
    for k in range(7):  # a standard axial series: data[:, :, k].T is the stored slice
        np.testing.assert_array_equal(data[:, :, k].T, slices[k])

    nifti = tmp_path / "volume.nii"
    nifti.write_bytes(_nifti_bytes(hu_to_int16(slices), lits_affine(spacing, slices.shape)))
    image = nib.load(nifti)
    from_nifti, nifti_affine = canonical(np.asanyarray(image.dataobj), image.affine)
    from_dicom, dicom_affine = canonical(data, affine)
    np.testing.assert_array_equal(from_dicom, from_nifti)
    np.testing.assert_array_equal(ras_to_radiological(from_dicom), slices)
    np.testing.assert_array_equal(
        nib.affines.voxel_sizes(dicom_affine).astype(np.float32),
        nib.affines.voxel_sizes(nifti_affine).astype(np.float32),
    )
    np.testing.assert_allclose(dicom_affine, nifti_affine, atol=1e-4)


def test_a_given_series_uid_writes_the_same_bytes_every_time(tmp_path):
    first = write_series(tmp_path / "a", hu_slices(), SPACING, series_uid=UID)
    second = write_series(tmp_path / "b", hu_slices(), SPACING, series_uid=UID)
    assert [p.name for p in first] == [f"slice-{k:04d}.dcm" for k in range(1, 8)]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second, strict=True))
    assert pydicom.dcmread(first[0]).SeriesInstanceUID == UID
    assert pydicom.dcmread(write_series(tmp_path / "c", hu_slices(), SPACING)[0]).SeriesInstanceUID


def test_a_shorter_series_written_over_a_longer_one_leaves_no_old_slice(tmp_path):
    write(tmp_path, hu_slices((9, 20, 24)))
    write(tmp_path, hu_slices((4, 20, 24)))
    assert len(list(tmp_path.iterdir())) == 4
    assert read_series(tmp_path)[0].shape[2] == 4


def test_slices_are_ordered_by_position_not_by_file_name_or_instance_number(tmp_path):
    slices = write(tmp_path / "series")
    edit_each(tmp_path / "series", lambda k, ds: setattr(ds, "InstanceNumber", [5, 1, 7, 2][k % 4]))
    names = np.random.default_rng(1).permutation(7)
    for k, path in enumerate(sorted((tmp_path / "series").iterdir())):
        path.rename(path.with_name(f"IM{names[k]:03d}"))
    data, affine = read_series(tmp_path / "series")
    np.testing.assert_array_equal(as_slices(data, affine), slices)


def test_the_series_rescale_slope_and_intercept_are_applied(tmp_path):
    slices = write(tmp_path / "series", rescale=(0.5, -1000.0))
    assert pydicom.dcmread(tmp_path / "series/slice-0001.dcm").RescaleSlope == 0.5
    data, affine = read_series(tmp_path / "series")
    np.testing.assert_array_equal(as_slices(data, affine), slices)


def drop_rescale(ds: Dataset) -> None:
    del ds.RescaleSlope, ds.RescaleIntercept


def other_intercept(ds: Dataset) -> None:  # the same HU, stored with another intercept
    ds.PixelData = (ds.pixel_array.astype(np.int32) + 10).astype(ds.pixel_array.dtype).tobytes()
    ds.RescaleIntercept = "-1034"


def signed(ds: Dataset) -> None:  # stored values read as two's complement
    ds.PixelRepresentation = 1


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (drop_rescale, "RescaleSlope: 1 in 6 slices, absent in 1 (slice-0004.dcm)"),
        (other_intercept, "RescaleIntercept: -1024 in 6 slices, -1034 in 1 (slice-0004.dcm)"),
        (signed, "PixelRepresentation: 0 in 6 slices, 1 in 1 (slice-0004.dcm)"),
    ],
)
def test_files_that_disagree_on_what_changes_their_values_are_named(tmp_path, change, problem):
    """Issue 33: a file without the rescale tags was read with slope 1, intercept 0 (1024 HU
    off, exit 0); one file's own tags are never applied where the series disagrees."""
    write(tmp_path, rescale=(1.0, -1024.0))
    edit_each(tmp_path, one_file(change))
    expect_error(tmp_path, "its files disagree on " + problem)


def test_a_label_series_without_rescale_tags_reads_as_stored(tmp_path):
    labels = np.random.default_rng(2).integers(0, 3, (5, 12, 10)).astype(np.uint8)
    write(tmp_path, labels, rescale=(1.0, 0.0), modality="SEG")
    edit_each(
        tmp_path, lambda k, ds: [delattr(ds, t) for t in ("RescaleSlope", "RescaleIntercept")]
    )
    data, affine = read_series(tmp_path)
    np.testing.assert_array_equal(as_slices(data, affine), labels)


@pytest.mark.parametrize(
    ("values", "rescale", "problem"),
    [
        ([1.0, 2.0], (2.0, 0.0), "not exactly representable"),
        ([0.0, 70000.0], (1.0, 0.0), "do not fit"),
        ([-40000.0, 0.0], (1.0, 0.0), "do not fit"),
    ],
)
def test_values_that_the_stored_pixels_cannot_hold_are_refused(tmp_path, values, rescale, problem):
    with pytest.raises(ValueError, match=problem):
        write_series(tmp_path, np.array(values).reshape(1, 1, 2), SPACING, rescale=rescale)


def test_a_missing_slice_is_named_with_the_gap(tmp_path):
    write(tmp_path)
    (tmp_path / "slice-0004.dcm").unlink()  # z = 7.5 mm
    expect_error(
        tmp_path,
        "missing slice",
        "no slice between 5.0 and 10.0 mm along the slice normal, where the series' spacing is"
        " 2.5 mm",
    )


def test_an_uneven_slice_step_is_refused(tmp_path):
    def closer(k: int, ds: Dataset) -> None:  # slices from the fifth on 0.5 mm lower
        x, y, z = ds.ImagePositionPatient
        ds.ImagePositionPatient = [x, y, f"{float(z) - 0.5 * (k >= 4):.4f}"]

    write(tmp_path)
    edit_each(tmp_path, closer)
    expect_error(tmp_path, "uneven slice spacing: slices at 7.5 and 9.5 mm", "2.0 mm apart")


def test_two_slices_at_one_position_and_a_single_slice_are_refused(tmp_path):
    write(tmp_path / "twice")
    data = (tmp_path / "twice/slice-0003.dcm").read_bytes()
    (tmp_path / "twice/copy.dcm").write_bytes(data)
    expect_error(tmp_path / "twice", "two slices at the same position", "copy.dcm")
    write(tmp_path / "one", hu_slices((1, 20, 24)))
    expect_error(tmp_path / "one", "a single slice", "not a volume")


def test_two_series_in_one_folder_are_refused_naming_both(tmp_path):
    write(tmp_path / "ct", series_uid=UID, description="abdomen")
    write(tmp_path / "other", series_uid=f"{UID}.2", description="scout")
    for path in (tmp_path / "other").iterdir():
        path.rename(tmp_path / "ct" / f"other-{path.name}")
    message = expect_error(tmp_path / "ct", UID, f"{UID}.2", "own folder")
    assert "'abdomen' (7 files)" in message and "'scout' (7 files)" in message


def tilt(degrees: float) -> Callable[[int, Dataset], None]:
    """Shift each slice along y as a gantry tilted by `degrees` would."""

    def shift(k: int, ds: Dataset) -> None:
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        y += k * SPACING[2] * math.tan(math.radians(degrees))
        ds.ImagePositionPatient = [f"{x:.4f}", f"{y:.4f}", f"{z:.4f}"]

    return shift


def test_a_gantry_tilt_is_kept_as_reconstructed_with_a_warning_then_refused(tmp_path, caplog):
    slices = write(tmp_path / "ten")
    edit_each(tmp_path / "ten", tilt(10))
    with caplog.at_level("WARNING", logger="tact.data.dicom"):
        data, affine = read_series(tmp_path / "ten")
    assert "tilt of 10.00 degrees" in caplog.text and str(tmp_path / "ten") in caplog.text
    np.testing.assert_array_equal(as_slices(data, affine), slices)
    assert nib.affines.voxel_sizes(affine)[2] == pytest.approx(SPACING[2], abs=1e-6)

    write(tmp_path / "thirty")
    edit_each(tmp_path / "thirty", tilt(30))
    expect_error(tmp_path / "thirty", "gantry tilt of 30.0 degrees", "resample")


def enhanced_ct(single: Path, path: Path, order: list[int]) -> None:
    """One multi-frame file of the single-frame series' slices, frames in `order`, each frame's
    rescale in its per-frame groups and the geometry in the shared groups."""
    sources = [pydicom.dcmread(p) for p in sorted(single.glob("slice-*.dcm"))]
    first = sources[0]
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = EnhancedCTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = (
        EnhancedCTImageStorage,
        ds.file_meta.MediaStorageSOPInstanceUID,
    )
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "Modality", "Rows", "Columns"):
        setattr(ds, keyword, getattr(first, keyword))
    for keyword in ("SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated"):
        setattr(ds, keyword, getattr(first, keyword))
    for keyword in ("BitsStored", "HighBit", "PixelRepresentation"):
        setattr(ds, keyword, getattr(first, keyword))
    ds.NumberOfFrames = len(order)
    orientation, measures, shared = Dataset(), Dataset(), Dataset()
    orientation.ImageOrientationPatient = first.ImageOrientationPatient
    measures.PixelSpacing, measures.SliceThickness = first.PixelSpacing, first.SliceThickness
    shared.PlaneOrientationSequence, shared.PixelMeasuresSequence = [orientation], [measures]
    ds.SharedFunctionalGroupsSequence = [shared]
    frames, pixels = [], []
    for k in order:
        position, transform, frame = Dataset(), Dataset(), Dataset()
        position.ImagePositionPatient = sources[k].ImagePositionPatient
        transform.RescaleSlope = sources[k].RescaleSlope
        transform.RescaleIntercept = sources[k].RescaleIntercept
        transform.RescaleType = "HU"
        frame.PlanePositionSequence = [position]
        frame.PixelValueTransformationSequence = [transform]
        frames.append(frame)
        pixels.append(sources[k].pixel_array)
    ds.PerFrameFunctionalGroupsSequence = frames
    ds.PixelData = np.stack(pixels).astype(first.pixel_array.dtype).tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_a_multi_frame_file_reads_like_the_single_frame_series(tmp_path):
    write(tmp_path / "single")
    (tmp_path / "multi").mkdir()
    enhanced_ct(tmp_path / "single", tmp_path / "multi/enhanced.dcm", [3, 0, 6, 1, 5, 2, 4])
    data, affine = read_series(tmp_path / "multi")
    single, single_affine = read_series(tmp_path / "single")
    np.testing.assert_array_equal(data, single)
    np.testing.assert_array_equal(affine, single_affine)


def test_files_that_are_not_dicom_images_are_skipped(tmp_path, caplog):
    slices = write(tmp_path)
    (tmp_path / "README.txt").write_text("scanned on a Tuesday\n")
    (tmp_path / "empty").write_bytes(b"")
    report = pydicom.dcmread(tmp_path / "slice-0001.dcm")
    del report.PixelData  # a DICOM file without an image, as a structured report
    report.save_as(tmp_path / "report.dcm")
    with caplog.at_level("INFO", logger="tact.data.dicom"):
        data, affine = read_series(tmp_path)
    np.testing.assert_array_equal(as_slices(data, affine), slices)
    assert "skipped 3 file(s)" in caplog.text
    assert is_dicom(tmp_path / "report.dcm") and is_dicom(tmp_path / "slice-0001.dcm")
    assert not is_dicom(tmp_path / "README.txt") and not is_dicom(tmp_path / "empty")

    for path in tmp_path.glob("slice-*.dcm"):
        path.unlink()
    expect_error(tmp_path, "holds no DICOM image file", "3 other file(s)")


def one_file(change: Callable[[Dataset], None]) -> Callable[[int, Dataset], None]:
    """The change, made to the fourth file only."""
    return lambda k, ds: change(ds) if k == 3 else None


def smaller_image(ds: Dataset) -> None:
    ds.Rows = ds.Columns = 10
    ds.PixelData = np.zeros((10, 10), dtype=np.uint16).tobytes()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda ds: setattr(ds, "ImageOrientationPatient", [1, 0, 0, 0, 0.99, 0.141067]),
            "disagree on ImageOrientationPatient",
        ),
        (lambda ds: setattr(ds, "PixelSpacing", [0.7, 0.75]), "disagree on PixelSpacing"),
        (smaller_image, "disagree on Rows/Columns"),
        (lambda ds: delattr(ds, "ImagePositionPatient"), "has no valid ImagePositionPatient"),
        (lambda ds: delattr(ds, "PixelSpacing"), "has no valid PixelSpacing"),
    ],
)
def test_slices_of_another_geometry_are_refused(tmp_path, change, problem):
    write(tmp_path)
    edit_each(tmp_path, one_file(change))
    with pytest.raises(InputDataError, match=problem) as caught:
        read_series(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_pixel_data_that_pydicom_cannot_decode_names_the_file_and_its_compression(tmp_path):
    write(tmp_path)
    path = tmp_path / "slice-0002.dcm"
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = encapsulate([b"\xff\xd8 not really JPEG-LS \xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds.save_as(path)
    with pytest.raises(InputDataError, match="JPEG-LS") as caught:
        read_series(tmp_path)
    assert caught.value.path == path and "\n" not in str(caught.value)


def test_data_that_is_not_what_its_transfer_syntax_says_is_one_line_without_install_advice(
    tmp_path,
):
    """Issue 33: JPEG 2000 by its transfer syntax, raw pixels inside: the decoder pydicom has
    (Pillow) fails; the message said 'install a decoder plugin' above the plugin's lines."""
    write(tmp_path)
    path = tmp_path / "slice-0002.dcm"
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.PixelData = encapsulate([ds.PixelData])
    ds["PixelData"].VR = "OB"
    ds.save_as(path)
    with pytest.raises(InputDataError) as caught:
        read_series(tmp_path)
    message = str(caught.value)
    assert caught.value.path == path and "\n" not in message
    assert "its pixel data is not valid JPEG 2000 Image Compression (Lossless Only)" in message
    assert "pillow: cannot identify image file" in message and "install" not in message


# ---- a DICOM case through tact's reader: CT and labels in either format --------------------


def phantom_case(tmp_path: Path):
    """A small phantom volume written as a LiTS NIfTI pair and as DICOM series."""
    volume = generate_volume(3, PhantomSpec(size=64, n_slices=8, slice_thickness_mm=5.0))
    nifti = write_lits_pair(volume, tmp_path / "nifti", 3)
    image, labels = write_dicom_case(volume, tmp_path / "case-3", 3)
    return Case(3, *nifti), image, labels


def assert_same_volume(volume, reference) -> None:
    np.testing.assert_array_equal(volume.hu, reference.hu)
    np.testing.assert_array_equal(volume.labels, reference.labels)
    assert volume.spacing_mm == reference.spacing_mm


def test_a_dicom_ct_reads_like_its_nifti_with_labels_in_either_format(tmp_path):
    nifti, image, labels = phantom_case(tmp_path)
    reference = read_case(nifti)
    assert (reference.labels == 2).any(), "the phantom case needs a tumour"
    assert_same_volume(read_case(Case(3, image, labels)), reference)  # DICOM label map
    assert_same_volume(read_case(Case(3, image, nifti.labels)), reference)  # NIfTI label map
    assert_same_volume(read_case(Case(3, nifti.image, labels)), reference)  # NIfTI CT


def test_per_structure_masks_as_dicom_series_or_nifti_files(tmp_path):
    nifti, image, _ = phantom_case(tmp_path)
    reference = read_case(nifti)
    volume = generate_volume(3, PhantomSpec(size=64, n_slices=8, slice_thickness_mm=5.0))
    _, structures = write_dicom_case(volume, tmp_path / "ircad", 3, structures=True)
    by_name = LabelMapping(liver=("LIVER",), tumour=("tum*",))
    assert_same_volume(read_case(Case(3, image, structures), by_name), reference)
    # 3D-IRCADb's masks as NIfTI files: liver.nii.gz and tumour.nii.gz, 0/255, plus a vessel
    masks = tmp_path / "masks"
    affine = nib.load(nifti.image).affine
    truth = nib.load(nifti.labels).get_fdata()
    for name, mask in [("liver", truth > 0), ("tumour", truth == 2), ("portalvein", truth == 0)]:
        masks.mkdir(exist_ok=True)
        nib.save(nib.Nifti1Image(mask.astype(np.uint8) * 255, affine), masks / f"{name}.nii.gz")
    assert_same_volume(read_case(Case(3, image, masks), by_name), reference)
    with pytest.raises(InputDataError, match="one mask per structure"):
        read_case(Case(3, image, masks))  # the default mapping gives label values


def dicomdir(path: Path) -> None:
    """A DICOMDIR as a DICOM medium holds it: an index, no image."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = MediaStorageDirectoryStorage
    ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.FileSetID = "TACT"
    ds.save_as(path, enforce_file_format=True)


def test_a_dicomdir_and_a_broken_unused_structure_leave_the_masks_read(tmp_path):
    """Issue 33: a DICOMDIR beside the structure folders made them one label-map series, and a
    broken bone/ that data.labels does not use stopped the case."""
    nifti, image, _ = phantom_case(tmp_path)
    volume = generate_volume(3, PhantomSpec(size=64, n_slices=8, slice_thickness_mm=5.0))
    _, structures = write_dicom_case(volume, tmp_path / "ircad", 3, structures=True)
    dicomdir(structures / "DICOMDIR")
    (structures / "bone").mkdir()
    (structures / "bone/slice-0001.dcm").write_bytes(bytes(128) + b"DICM\x02\x00")  # cut short
    by_name = LabelMapping(liver=("liver",), tumour=("tumour",))
    assert_same_volume(read_case(Case(3, image, structures), by_name), read_case(nifti))
    with pytest.raises(InputDataError, match=r"labels/bone: holds no DICOM image file"):
        read_case(Case(3, image, structures), LabelMapping(liver=("liver",), tumour=("b*",)))


def test_an_mr_series_given_as_the_ct_is_named_as_mr(tmp_path):
    """Issue 33: it was refused with advice about the rescale intercept, or, with values that
    look like HU, read as a CT."""
    _, image, labels = phantom_case(tmp_path)
    edit_each(image, lambda k, ds: setattr(ds, "Modality", "MR"))
    with pytest.raises(InputDataError) as caught:
        read_case(Case(3, image, labels))
    assert str(caught.value) == (
        f"{image}: its Modality is MR ('tact phantom'), not CT: tact reads CT in HU; point"
        " data.dicom.image at the CT series"
    )
