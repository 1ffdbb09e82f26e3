import numpy as np
import pytest

from conftest import make_case, ras_affine, write_nifti
from tact.data.layouts import Case
from tact.data.slices import (
    SliceStack,
    extract_slices,
    load_stack,
    read_slice_index,
    save_stack,
)
from tact.data.units import hu_to_normalised
from tact.data.volumes import CanonicalVolume, read_case


@pytest.fixture
def volume(tmp_path) -> CanonicalVolume:
    hu, labels = make_case(2, shape=(40, 40, 14))
    image = write_nifti(tmp_path / "volume-2.nii", hu.astype(np.int16), ras_affine())
    mask = write_nifti(tmp_path / "segmentation-2.nii", labels, ras_affine())
    return read_case(Case(2, image, mask))


def test_keeps_exactly_the_non_empty_mask_slices(volume):
    stack = extract_slices(volume, size=40)
    non_empty = [k for k in range(len(volume.labels)) if volume.labels[k].any()]
    assert len(stack) == len(non_empty) == 10
    assert stack.slice_index.tolist() == non_empty
    assert all(stack.mask[i].any() for i in range(len(stack)))


def test_native_size_keeps_values_exactly(volume):
    stack = extract_slices(volume, size=40)
    keep = stack.slice_index
    np.testing.assert_array_equal(stack.image, hu_to_normalised(volume.hu[keep]))
    np.testing.assert_array_equal(stack.mask, volume.labels[keep])
    assert stack.image.dtype == np.float32 and stack.mask.dtype == np.uint8
    np.testing.assert_allclose(stack.spacing_mm, [0.8, 0.8, 2.5])


def test_resizing_updates_spacing_and_keeps_labels(volume):
    stack = extract_slices(volume, size=20)
    assert stack.image.shape == (10, 20, 20)
    np.testing.assert_allclose(stack.spacing_mm, [1.6, 1.6, 2.5])
    assert set(np.unique(stack.mask)) <= {0, 1, 2} and (stack.mask == 2).any()
    assert stack.image.min() >= 0.0 and stack.image.max() <= 1.0
    # liver area in mm^2 is preserved by nearest-neighbour resizing, up to edge effects
    area_native = (volume.labels[stack.slice_index] > 0).sum() * 0.8**2
    area_small = (stack.mask > 0).sum() * 1.6**2
    assert area_small == pytest.approx(area_native, rel=0.15)


def test_non_square_slices_are_padded_with_air(tmp_path):
    hu, labels = make_case(4, shape=(48, 32, 8))
    image = write_nifti(tmp_path / "volume-4.nii", hu, ras_affine())
    mask = write_nifti(tmp_path / "segmentation-4.nii", labels, ras_affine())
    stack = extract_slices(read_case(Case(4, image, mask)), size=48)
    assert stack.image.shape[1:] == (48, 48)
    air = hu_to_normalised(np.array([-1024.0]))[0]
    assert np.all(stack.image[:, :8, :] == air) and np.all(stack.image[:, -8:, :] == air)


def test_store_round_trip(volume, tmp_path):
    stack = extract_slices(volume, size=24)
    path = tmp_path / "store" / "volume-2.h5"
    save_stack(stack, path)
    loaded = load_stack(path)
    assert loaded.volume_id == 2
    for name in ("image", "mask", "slice_index", "spacing_mm"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(stack, name))
    vid, index = read_slice_index(path)
    assert vid == 2 and index.tolist() == stack.slice_index.tolist()
    assert [p.name for p in path.parent.iterdir()] == ["volume-2.h5"], "no temporary left"


def test_full_dose_is_stored_as_int16_hu_where_that_is_exact(tmp_path):
    """A scan read at its own size is integer HU: stored as int16 (half of float32) and read
    back as the very same float32 image; a resized (non-integer) one stays float32."""
    import h5py

    rng = np.random.default_rng(3)
    hu = rng.integers(-1024, 3072, (3, 16, 16)).astype(np.float64)
    mask = (rng.random((3, 16, 16)) > 0.5).astype(np.uint8)
    for name, image, stored in [
        ("integer", hu_to_normalised(hu), "hu"),
        ("resized", hu_to_normalised(hu + 0.5), "image"),
    ]:
        stack = SliceStack(4, image, mask, np.arange(3, dtype=np.int32), np.ones(3))
        path = tmp_path / f"{name}/volume-4.h5"
        save_stack(stack, path)
        with h5py.File(path) as file:
            assert list(file) == sorted([stored, "mask", "slice_index"]), name
            assert file[stored].dtype == (np.int16 if stored == "hu" else np.float32)
            assert file["mask"].compression == "gzip"
        loaded = load_stack(path)
        assert loaded.image.dtype == np.float32
        np.testing.assert_array_equal(loaded.image, image)
        np.testing.assert_array_equal(loaded.mask, mask)
