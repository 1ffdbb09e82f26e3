"""Reading one case: the LiTS layout's NIfTI pairs (layouts, checks, orientation, labels)."""

import gzip
import os
import shutil
import struct
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from conftest import make_case, ras_affine, write_case, write_nifti
from tact.data.labels import LabelMapping
from tact.data.layouts import Case, discover_cases
from tact.data.volumes import read_case
from tact.errors import InputDataError


def reorient(data: np.ndarray, affine: np.ndarray, perm, flips):
    """Store the same voxels with permuted/flipped axes and the affine that keeps them in place.

    new[n] = old[o(n)] with o[perm[a]] = n[a] (or shape[a] - 1 - n[a] if flips[a]);
    written as o = M @ n, the new affine is affine @ M.
    """
    new = np.transpose(data, perm)
    m = np.zeros((4, 4))
    m[3, 3] = 1
    for a, (p, flip) in enumerate(zip(perm, flips, strict=True)):
        if flip:
            new = np.flip(new, axis=a)
            m[p, a] = -1
            m[p, 3] = new.shape[a] - 1
        else:
            m[p, a] = 1
    return np.ascontiguousarray(new), affine @ m


STORAGES = {
    "ras": ((0, 1, 2), (False, False, False)),
    "lps": ((0, 1, 2), (True, True, False)),
    "z_flipped": ((0, 1, 2), (False, False, True)),
    "yxz": ((1, 0, 2), (False, False, False)),
    "zyx_lps": ((2, 1, 0), (False, True, True)),
}


def write_stored(root: Path, storage: str, suffix: str, dtype) -> Case:
    hu, labels = make_case(7)
    perm, flips = STORAGES[storage]
    hu_s, affine = reorient(hu, ras_affine(), perm, flips)
    labels_s, _ = reorient(labels, ras_affine(), perm, flips)
    image = write_nifti(root / f"volume-7{suffix}", hu_s.astype(dtype), affine)
    mask = write_nifti(root / f"segmentation-7{suffix}", labels_s, affine)
    return Case(7, image, mask)


@pytest.mark.parametrize("storage", sorted(STORAGES))
@pytest.mark.parametrize(("suffix", "dtype"), [(".nii", np.int16), (".nii.gz", np.float32)])
def test_every_storage_gives_the_same_canonical_slices(tmp_path, storage, suffix, dtype):
    reference = read_case(write_stored(tmp_path / "ref", "ras", ".nii", np.int16))
    other = read_case(write_stored(tmp_path / "other", storage, suffix, dtype))
    np.testing.assert_array_equal(other.hu, reference.hu)
    np.testing.assert_array_equal(other.labels, reference.labels)
    np.testing.assert_allclose(other.spacing_mm, reference.spacing_mm)


def test_canonical_view_is_radiological(tmp_path):
    volume = read_case(write_stored(tmp_path, "lps", ".nii", np.int16))
    hu, _labels = make_case(7)
    z, rows, cols = volume.hu.shape
    assert (z, rows, cols) == (hu.shape[2], hu.shape[1], hu.shape[0])
    _, _liver_rows, liver_cols = np.nonzero(volume.labels)
    assert liver_cols.mean() < cols / 2, "liver (patient's right) must be on the image's left"
    _, bone_rows, _ = np.nonzero(volume.hu > 500)
    assert bone_rows.mean() > rows / 2, "spine (posterior) must be at the bottom"
    assert volume.spacing_mm == pytest.approx((0.8, 0.8, 2.5))
    # first and last stored slices (inferior, superior) are the liver-free ones of make_case
    assert not volume.labels[0].any() and volume.labels[2].any()


def test_trailing_singleton_dimension_is_accepted(tmp_path):
    hu, labels = make_case(1)
    image = write_nifti(tmp_path / "volume-1.nii", hu[..., None].astype(np.int16), ras_affine())
    mask = write_nifti(tmp_path / "segmentation-1.nii", labels[..., None], ras_affine())
    assert read_case(Case(1, image, mask)).hu.shape == (12, 40, 48)


def test_discovery_over_batch_folders(lits_dir):
    pairs = discover_cases(lits_dir)
    assert [p.volume_id for p in pairs] == [0, 1, 2, 3, 4]
    assert pairs[3].image.parent.name == "Training Batch 2"
    assert pairs[1].labels.name == "segmentation-1.nii.gz"


# ---- bad input: one clear error naming the file -------------------------------------------


def _pair(root: Path, vid: int = 0) -> Case:
    return Case(vid, root / f"volume-{vid}.nii", root / f"segmentation-{vid}.nii")


def expect_error(pair_or_root, culprit: Path, fragment: str):
    with pytest.raises(InputDataError) as info:
        if isinstance(pair_or_root, Case):
            read_case(pair_or_root)
        else:
            discover_cases(pair_or_root)
    message = str(info.value)
    assert str(culprit) in message and fragment in message, message
    return message


def test_not_a_nifti(tmp_path):
    write_case(tmp_path, 0)
    (tmp_path / "volume-0.nii").write_bytes(b"this is not a NIfTI file at all" * 20)
    expect_error(_pair(tmp_path), tmp_path / "volume-0.nii", "not a readable NIfTI")


def test_truncated_gzip(tmp_path):
    write_case(tmp_path, 0, suffix=".nii.gz")
    path = tmp_path / "volume-0.nii.gz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    pair = Case(0, path, tmp_path / "segmentation-0.nii.gz")
    expect_error(pair, path, "truncated")


def test_truncated_uncompressed(tmp_path):
    write_case(tmp_path, 0)
    path = tmp_path / "segmentation-0.nii"
    path.write_bytes(path.read_bytes()[:1000])
    expect_error(_pair(tmp_path), path, "truncated")


def test_shape_mismatch(tmp_path):
    write_case(tmp_path, 0)
    _, labels = make_case(0)
    write_nifti(tmp_path / "segmentation-0.nii", labels[:, :, :-1], ras_affine())
    expect_error(_pair(tmp_path), tmp_path / "segmentation-0.nii", "does not match")


def test_affine_mismatch(tmp_path):
    write_case(tmp_path, 0)
    _, labels = make_case(0)
    write_nifti(tmp_path / "segmentation-0.nii", labels, ras_affine((0.8, 0.8, 5.0)))
    expect_error(_pair(tmp_path), tmp_path / "segmentation-0.nii", "affine does not match")


def test_mask_positions_rounded_below_a_voxel_are_one_grid_and_a_refusal_gives_the_distance(
    tmp_path,
):
    """Issue 33: a mask 0.01 mm off (an export's rounding) was refused, printing two matrices
    that looked equal; 0.5 mm off (more than a tenth of a 0.8 mm voxel) is refused."""
    write_case(tmp_path, 0)
    _, labels = make_case(0)
    affine = ras_affine()
    affine[:3, 3] += [0.01, 0.0, -0.005]
    write_nifti(tmp_path / "segmentation-0.nii", labels, affine)
    np.testing.assert_array_equal(read_case(_pair(tmp_path)).labels.max(), 2)
    affine[:3, 3] += [0.5, 0.0, 0.0]
    write_nifti(tmp_path / "segmentation-0.nii", labels, affine)
    message = expect_error(_pair(tmp_path), tmp_path / "segmentation-0.nii", "affine does not")
    assert "its voxels lie up to 0.51 mm from volume-0.nii's" in message and "\n" not in message


@pytest.mark.parametrize(
    ("bad_value", "problem"),
    [(3, "labels outside {0, 1, 2}: 3"), (255, "outside {0, 1, 2}: 255"), (1.5, "not whole")],
)
def test_labels_outside_lits_set(tmp_path, bad_value, problem):
    write_case(tmp_path, 0)
    _, labels = make_case(0)
    labels = labels.astype(np.float32)
    labels[5, 5, 5] = bad_value
    write_nifti(tmp_path / "segmentation-0.nii", labels, ras_affine())
    expect_error(_pair(tmp_path), tmp_path / "segmentation-0.nii", problem)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (
            (0.0, 255.0, 255.0),
            "none of its labels (255) is one data.labels maps (liver [1], tumour [2]",
        ),
        ((0.0, 0.5, 1.5), "its labels are not whole numbers (0.5, 1.5)"),
    ],
)
def test_float_labels_that_map_to_nothing_are_not_called_all_zero(tmp_path, values, problem):
    """Issue 33: with other: background, such a label map was 'all labels are 0'."""
    write_case(tmp_path, 0)
    _, labels = make_case(0)
    write_nifti(
        tmp_path / "segmentation-0.nii", np.take(values, labels).astype(np.float32), ras_affine()
    )
    with pytest.raises(InputDataError) as caught:
        read_case(_pair(tmp_path), LabelMapping(other="background"))
    assert problem in str(caught.value) and "all labels are 0" not in str(caught.value)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_voxels(tmp_path, bad_value):
    write_case(tmp_path, 0)
    hu, _ = make_case(0)
    hu[3, 4, 5] = bad_value
    write_nifti(tmp_path / "volume-0.nii", hu, ras_affine())
    expect_error(_pair(tmp_path), tmp_path / "volume-0.nii", "1 NaN or infinite voxels")


def test_four_dimensional_volume(tmp_path):
    write_case(tmp_path, 0)
    hu, _ = make_case(0)
    write_nifti(tmp_path / "volume-0.nii", np.stack([hu, hu], axis=-1), ras_affine())
    expect_error(_pair(tmp_path), tmp_path / "volume-0.nii", "4-D")


def test_no_liver(tmp_path):
    write_case(tmp_path, 0)
    _, labels = make_case(0)
    write_nifti(tmp_path / "segmentation-0.nii", np.zeros_like(labels), ras_affine())
    expect_error(_pair(tmp_path), tmp_path / "segmentation-0.nii", "no liver")


def test_image_without_mask(tmp_path):
    write_case(tmp_path, 0)
    write_case(tmp_path, 1)
    (tmp_path / "segmentation-1.nii").unlink()
    expect_error(tmp_path, tmp_path / "volume-1.nii", "no matching segmentation-1")


def test_mask_without_image(tmp_path):
    write_case(tmp_path, 0)
    write_case(tmp_path, 1)
    (tmp_path / "volume-1.nii").unlink()
    expect_error(tmp_path, tmp_path / "segmentation-1.nii", "no matching volume-1")


def test_duplicate_volume_id(tmp_path):
    write_case(tmp_path / "batch1", 0)
    write_case(tmp_path / "batch2", 0, suffix=".nii.gz")
    expect_error(tmp_path, tmp_path / "batch2", "duplicate volume id 0")


def test_empty_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")
    expect_error(tmp_path, tmp_path, "no volume-N.nii")


def test_missing_directory(tmp_path):
    expect_error(tmp_path / "nope", tmp_path / "nope", "does not exist")


def test_gzip_named_but_plain(tmp_path):
    """A .nii.gz that is really uncompressed is still refused with the file named."""
    write_case(tmp_path, 0)
    plain = tmp_path / "volume-0.nii"
    fake = tmp_path / "volume-0.nii.gz"
    shutil.copy(plain, fake)
    plain.unlink()
    with gzip.open(tmp_path / "segmentation-0.nii.gz", "wb") as out:
        out.write((tmp_path / "segmentation-0.nii").read_bytes())
    (tmp_path / "segmentation-0.nii").unlink()
    pair = discover_cases(tmp_path)[0]
    expect_error(pair, fake, "not a readable NIfTI")


def test_nifti_header_is_read_through_nibabel(tmp_path):
    """Scaled int16 storage (scl_slope/inter, common in LiTS-like data) yields true HU."""
    hu, labels = make_case(3)
    image = nib.Nifti1Image(((hu + 1024) / 2).astype(np.int16), ras_affine())
    image.header.set_slope_inter(2.0, -1024.0)
    nib.save(image, tmp_path / "volume-3.nii")
    write_nifti(tmp_path / "segmentation-3.nii", labels, ras_affine())
    volume = read_case(Case(3, tmp_path / "volume-3.nii", tmp_path / "segmentation-3.nii"))
    expected = np.transpose(hu, (2, 1, 0))[:, ::-1, ::-1]
    np.testing.assert_allclose(volume.hu, 2 * np.trunc((expected + 1024) / 2) - 1024)


# ---- issue 20: what the listing and the voxels can tell -----------------------------------


def test_a_file_tact_may_not_read_is_permission_denied_not_corrupt(tmp_path, monkeypatch):
    """Root reads every file, so the denial is the operating system's answer, simulated."""
    write_case(tmp_path, 0)
    culprit = tmp_path / "segmentation-0.nii"
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != culprit and real_access(p, mode))
    expect_error(tmp_path, culprit, "permission denied")
    monkeypatch.undo()
    real_load = nib.load

    def denied(path, **kwargs):
        if Path(path) == culprit:
            raise PermissionError(13, "Permission denied", str(path))
        return real_load(path, **kwargs)

    monkeypatch.setattr(nib, "load", denied)
    expect_error(_pair(tmp_path), culprit, "permission denied")


def write_volume(root: Path, hu: np.ndarray, affine: np.ndarray | None = None) -> Case:
    """Case 0 with ``hu`` as its volume and the usual labels."""
    write_case(root, 0)
    write_nifti(root / "volume-0.nii", hu, ras_affine() if affine is None else affine)
    if affine is not None:
        write_nifti(root / "segmentation-0.nii", make_case(0)[1], affine)
    return _pair(root)


def test_intensities_that_cannot_be_hu_are_refused(tmp_path):
    hu = make_case(0)[0]
    culprit = tmp_path / "volume-0.nii"
    expect_error(write_volume(tmp_path, hu + 1024), culprit, "scl_inter = -1024")
    expect_error(write_volume(tmp_path, np.full_like(hu, -1000)), culprit, "nothing but air")
    extremes = hu.copy()
    extremes[::3] = -32768  # not padding: below the scanners' -3024
    expect_error(write_volume(tmp_path, extremes), culprit, "outside [-1100, 4000]")
    padding = np.full_like(hu, -3000)
    expect_error(write_volume(tmp_path, padding), culprit, "every voxel is scanner padding")


@pytest.mark.parametrize("padding", [-2000, -2048, -3024])
def test_scanner_padding_and_clipped_bone_are_read(tmp_path, padding):
    hu = make_case(0)[0]
    hu[:4] = padding  # outside the circular field of view
    hu[hu > 600] = 1023  # 3D-IRCADb clips at 1023 HU
    volume = read_case(write_volume(tmp_path, hu))
    assert volume.hu.min() == padding and volume.hu.max() == 1023


def test_scaling_fields_read_as_the_nifti_standard_says(tmp_path):
    """slope 0 (or NaN) means unscaled; a valid slope with a non-finite intercept is an error."""
    pair = write_volume(tmp_path, make_case(0)[0].astype(np.int16))
    plain = read_case(pair).hu
    raw = bytearray(pair.image.read_bytes())
    for slope, inter in [(0.0, 7.0), (np.nan, 7.0)]:
        raw[112:120] = struct.pack("<2f", slope, inter)
        pair.image.write_bytes(bytes(raw))
        np.testing.assert_array_equal(read_case(pair).hu, plain)
    raw[112:120] = struct.pack("<2f", 1.0, np.inf)
    pair.image.write_bytes(bytes(raw))
    expect_error(pair, pair.image, "invalid header scaling fields")


@pytest.mark.parametrize(
    ("dtype", "shown"), [(np.complex64, "complex64"), ([("R", "u1"), ("G", "u1"), ("B", "u1")], "")]
)
def test_voxels_must_be_real_scalars(tmp_path, dtype, shown):
    write_case(tmp_path, 0)
    write_nifti(tmp_path / "volume-0.nii", np.zeros(make_case(0)[0].shape, dtype), ras_affine())
    message = expect_error(_pair(tmp_path), tmp_path / "volume-0.nii", "expected real scalar")
    assert shown in message


def oblique(degrees: float) -> np.ndarray:
    turn = np.radians(degrees)
    affine = ras_affine()
    c, s = np.cos(turn), np.sin(turn)
    affine[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ affine[:3, :3]
    return affine


def test_oblique_axes_warned_up_to_twenty_degrees_then_refused(tmp_path, caplog):
    hu = make_case(0)[0]
    straight = read_case(write_volume(tmp_path, hu)).hu
    with caplog.at_level("WARNING", logger="tact.data.volumes"):
        tilted = read_case(write_volume(tmp_path, hu, oblique(19))).hu
    np.testing.assert_array_equal(tilted, straight)  # nearest axes, not resampled
    assert "19.00 degrees off the scanner's" in caplog.text
    expect_error(write_volume(tmp_path, hu, oblique(21)), tmp_path / "volume-0.nii", "21.0 degrees")


@pytest.mark.parametrize("thickness", [0.001, 80.0])
def test_implausible_voxel_sizes_are_refused(tmp_path, thickness):
    affine = ras_affine((0.8, 0.8, thickness))
    pair = write_volume(tmp_path, make_case(0)[0], affine)
    expect_error(pair, pair.image, f"voxel sizes (0.8, 0.8, {thickness:g}) mm")


def test_tumour_without_liver_is_refused(tmp_path):
    write_case(tmp_path, 0)
    labels = make_case(0)[1]
    labels[labels == 1] = 2
    write_nifti(tmp_path / "segmentation-0.nii", labels, ras_affine())
    expect_error(_pair(tmp_path), tmp_path / "segmentation-0.nii", "has tumour but no liver")


def test_names_in_any_case_and_linked_folders_are_found(tmp_path):
    write_case(tmp_path / "a", 0)
    (tmp_path / "a/volume-0.nii").rename(tmp_path / "a/Volume-0.nii")
    write_case(tmp_path / "elsewhere", 1)
    (tmp_path / "a/linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "a/loop").symlink_to(tmp_path / "a", target_is_directory=True)
    pairs = discover_cases(tmp_path / "a")
    assert [(p.volume_id, p.image.name) for p in pairs] == [
        (0, "Volume-0.nii"),
        (1, "volume-1.nii"),
    ]


def test_a_dangling_link_is_named(tmp_path):
    write_case(tmp_path, 0)
    link = tmp_path / "segmentation-1.nii"
    link.symlink_to(tmp_path / "gone.nii")
    write_nifti(tmp_path / "volume-1.nii", make_case(1)[0], ras_affine())
    expect_error(tmp_path, link, f"is a link to {tmp_path / 'gone.nii'}, which does not exist")


def test_volume_ids_and_file_names_map_one_way():
    from tact.data.names import LITS_FILE, lits_names, volume_id_of

    image, mask = lits_names(7)
    assert (image, mask) == ("volume-7.nii", "segmentation-7.nii")
    assert LITS_FILE.match(image)[2] == "7" and LITS_FILE.match("Segmentation-12.NII.GZ")[2] == "12"
    assert volume_id_of("results/x/sim/volume-12.counts.npz") == 12
    assert volume_id_of(Path("volume-3.npz")) == 3
    with pytest.raises(ValueError, match="not a per-volume file"):
        volume_id_of("segmentation-3.npz")


def test_a_single_slice_nifti_is_refused_as_a_single_slice_dicom_series_is(tmp_path):
    """Issue 33: one rule for both readers (a single-slice NIfTI was read without a word)."""
    hu, labels = make_case(0)
    write_nifti(tmp_path / "volume-0.nii", hu[:, :, 5:6].astype(np.int16), ras_affine())
    write_nifti(tmp_path / "segmentation-0.nii", labels[:, :, 5:6], ras_affine())
    message = expect_error(_pair(tmp_path), tmp_path / "volume-0.nii", "holds 1 slice along")
    assert "not a volume: tact needs at least 2" in message
