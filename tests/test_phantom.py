"""Tests for the built-in LiTS-like phantom (design notes: "The built-in phantom")."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from tact.data.orientation import ras_to_radiological
from tact.data.phantom import (
    LIVER_TISSUES,
    TISSUE_HU,
    TISSUE_IDS,
    PhantomSpec,
    PhantomVolume,
    Tissue,
    generate_volume,
    hu_to_int16,
    sample_tumour_diameters,
    write_lits_pair,
)

# Small but physically similar to the default (24 x 6 mm = 144 mm of abdomen).
SMALL = PhantomSpec(size=224, n_slices=24, slice_thickness_mm=6.0)
TINY = PhantomSpec(size=128, n_slices=16, slice_thickness_mm=9.0)
SEEDS = (0, 1, 2)
IN_PLANE = np.ones((1, 3, 3), dtype=bool)


@pytest.fixture(scope="module")
def volumes() -> list[PhantomVolume]:
    return [generate_volume(seed, SMALL) for seed in SEEDS]


def _eroded(mask: np.ndarray, iterations: int = 2) -> np.ndarray:
    return ndimage.binary_erosion(mask, structure=IN_PLANE, iterations=iterations)


def _liver_mean(vol: PhantomVolume) -> float:
    return float(vol.hu[_eroded(vol.tissue == Tissue.LIVER)].mean(dtype=np.float64))


def test_arrays_have_the_documented_layout(volumes: list[PhantomVolume]) -> None:
    for vol in volumes:
        shape = (SMALL.n_slices, SMALL.size, SMALL.size)
        assert vol.hu.shape == vol.labels.shape == vol.tissue.shape == shape
        assert vol.hu.dtype == np.float32
        assert vol.labels.dtype == np.uint8
        assert vol.tissue.dtype == np.uint8
        assert vol.spacing_mm[0] == pytest.approx(vol.fov_mm / SMALL.size)
        assert vol.spacing_mm[1] == vol.spacing_mm[0]
        assert vol.spacing_mm[2] == SMALL.slice_thickness_mm
        assert set(np.unique(vol.tissue)) <= set(TISSUE_IDS.values())


@pytest.mark.parametrize("name", sorted(TISSUE_HU))
def test_tissue_mean_hu_is_in_design_range(volumes: list[PhantomVolume], name: str) -> None:
    lo, hi = TISSUE_HU[name]
    for vol in volumes:
        mask = vol.tissue == TISSUE_IDS[name]
        assert mask.sum() >= 3, f"{name} missing in seed {vol.seed}"
        mean = float(vol.hu[mask].mean(dtype=np.float64))
        assert lo <= mean <= hi, f"{name}: mean {mean:.1f} HU outside [{lo}, {hi}]"


def test_key_tissue_ranges_match_the_design() -> None:
    assert TISSUE_HU["liver"] == (100.0, 115.0)
    assert TISSUE_HU["portal_vein"] == (160.0, 190.0)
    assert TISSUE_HU["hepatic_vein"] == TISSUE_HU["ivc"] == (130.0, 160.0)
    assert TISSUE_HU["aorta"] == (150.0, 200.0)
    assert TISSUE_HU["spleen"] == (100.0, 120.0)
    assert TISSUE_HU["kidney_cortex"] == (150.0, 200.0)
    assert TISSUE_HU["muscle"] == (50.0, 65.0)
    assert TISSUE_HU["spongy_bone"] == (150.0, 230.0)
    assert TISSUE_HU["cortical_bone"] == (800.0, 1900.0)
    assert TISSUE_HU["air"] == (-1000.0, -1000.0)


@pytest.mark.parametrize("name", ["liver", "spleen", "muscle"])
def test_texture_noise_inside_organs_is_10_to_20_hu(
    volumes: list[PhantomVolume], name: str
) -> None:
    for vol in volumes:
        inner = _eroded(vol.tissue == TISSUE_IDS[name])
        assert inner.sum() > 200
        sd = float(vol.hu[inner].std(dtype=np.float64))
        assert 10.0 <= sd <= 20.0, f"{name} texture SD {sd:.1f} HU (seed {vol.seed})"


def test_texture_is_spatially_correlated(volumes: list[PhantomVolume]) -> None:
    vol = volumes[0]
    inner = _eroded(vol.tissue == Tissue.LIVER, iterations=3)
    k, i, j = np.nonzero(inner[:, :, :-1] & inner[:, :, 1:])
    a, b = vol.hu[k, i, j], vol.hu[k, i, j + 1]
    assert np.corrcoef(a, b)[0, 1] > 0.2  # neighbours share texture: not white noise


def test_tumours_are_25_to_50_hu_below_liver(volumes: list[PhantomVolume]) -> None:
    for vol in volumes:
        liver = _liver_mean(vol)
        tumour = vol.tissue == Tissue.TUMOUR
        overall = liver - float(vol.hu[tumour].mean(dtype=np.float64))
        assert 25.0 <= overall <= 50.0, f"seed {vol.seed}: contrast {overall:.1f} HU"
        components, n = ndimage.label(tumour)
        for c in range(1, n + 1):
            part = components == c
            if part.sum() >= 100:
                contrast = liver - float(vol.hu[part].mean(dtype=np.float64))
                assert 25.0 <= contrast <= 50.0, f"seed {vol.seed}: tumour {contrast:.1f} HU"
        assert all(25.0 <= c <= 50.0 for c in vol.tumour_contrasts_hu)


def test_tumours_are_uneven_inside(volumes: list[PhantomVolume]) -> None:
    """Hypodense tumours are darker towards their core than at their rim."""
    vol = max(volumes, key=lambda v: max(v.tumour_diameters_mm))
    components, _ = ndimage.label(vol.tissue == Tissue.TUMOUR)
    biggest = components == np.argmax(np.bincount(components.ravel())[1:]) + 1
    depth = ndimage.distance_transform_edt(
        biggest, sampling=(vol.spacing_mm[2], vol.spacing_mm[0], vol.spacing_mm[1])
    )
    core = depth > 0.5 * depth.max()
    rim = biggest & (depth <= np.percentile(depth[biggest], 30))
    assert core.sum() > 30 and rim.sum() > 30
    darker = float(vol.hu[rim].mean(dtype=np.float64) - vol.hu[core].mean(dtype=np.float64))
    assert darker > 2.0, f"core only {darker:.1f} HU darker than the rim"


def test_body_and_field_of_view_in_range(volumes: list[PhantomVolume]) -> None:
    for vol in volumes:
        px = vol.spacing_mm[1]
        assert 350.0 <= vol.fov_mm <= 500.0
        assert vol.fov_mm == pytest.approx(SMALL.size * px)
        assert 300.0 <= vol.body_width_mm <= 380.0
        assert 220.0 <= vol.body_depth_mm <= 300.0
        body = vol.tissue != Tissue.AIR
        for k in range(body.shape[0]):
            rows = np.nonzero(body[k].any(axis=1))[0]
            cols = np.nonzero(body[k].any(axis=0))[0]
            width = (cols[-1] - cols[0] + 1) * px
            depth = (rows[-1] - rows[0] + 1) * px
            assert 300.0 - px <= width <= 380.0 + px
            assert 220.0 - px <= depth <= 300.0 + px
            # The body stays inside the circle inscribed in the field of view.
            assert cols[0] > 0 and cols[-1] < SMALL.size - 1
            assert rows[0] > 0 and rows[-1] < SMALL.size - 1


def test_tumour_count_and_sizes_over_seeds() -> None:
    counts = []
    for seed in range(12):
        vol = generate_volume(seed, TINY)
        counts.append(vol.n_tumours)
        assert 1 <= vol.n_tumours <= 3
        assert len(vol.tumour_centres_vox) == vol.n_tumours
        assert all(5.0 <= d <= 80.0 for d in vol.tumour_diameters_mm)
        assert (vol.labels == 2).any(), f"seed {seed}: no tumour voxel"
    assert len(set(counts)) >= 2  # the count is drawn, not fixed


def test_tumour_diameter_distribution() -> None:
    d = sample_tumour_diameters(np.random.default_rng(123), 20000)
    assert d.min() >= 5.0 and d.max() <= 80.0
    assert 15.0 <= float(np.median(d)) <= 25.0
    assert np.percentile(d, 10) < 12.0 and np.percentile(d, 90) > 30.0  # a spread, not a value
    assert (d == 5.0).any() or d.min() < 7.0


def test_labels_follow_the_tissue_map(volumes: list[PhantomVolume]) -> None:
    for vol in volumes:
        assert set(np.unique(vol.labels)) <= {0, 1, 2}
        np.testing.assert_array_equal(vol.labels == 2, vol.tissue == Tissue.TUMOUR)
        np.testing.assert_array_equal(vol.labels == 1, np.isin(vol.tissue, LIVER_TISSUES))
        for k, i, j in vol.tumour_centres_vox:
            assert vol.labels[k, i, j] == 2


def test_tumours_sit_inside_the_liver(volumes: list[PhantomVolume]) -> None:
    for vol in volumes:
        components, n = ndimage.label(vol.labels == 2)
        assert n >= 1
        for c in range(1, n + 1):
            part = components == c
            if part.sum() < 20:
                continue
            ring = ndimage.binary_dilation(part, structure=IN_PLANE) & ~part
            assert (vol.labels[ring] >= 1).mean() >= 0.5, "tumour mostly outside the liver"


def test_some_slices_are_empty_and_most_hold_liver(volumes: list[PhantomVolume]) -> None:
    for vol in volumes:
        has_mask = vol.labels.any(axis=(1, 2))
        assert not has_mask[0] and not has_mask[-1]  # liver-free slices at both ends
        assert has_mask.mean() >= 0.6
        first, last = np.nonzero(has_mask)[0][[0, -1]]
        assert has_mask[first : last + 1].all()  # one liver, no gaps


def test_liver_outline_changes_smoothly_between_slices(volumes: list[PhantomVolume]) -> None:
    for vol in volumes:
        liver = vol.labels >= 1
        area = liver.sum(axis=(1, 2))
        dices = []
        for k in range(len(area) - 1):
            if min(area[k], area[k + 1]) > 0.3 * area.max():
                inter = (liver[k] & liver[k + 1]).sum()
                dices.append(2.0 * inter / (area[k] + area[k + 1]))
        assert len(dices) >= 5
        assert min(dices) > 0.6  # neighbouring slices look alike
        assert max(dices) < 0.995  # but the outline does change


def test_radiological_orientation(volumes: list[PhantomVolume]) -> None:
    """Liver on the image's left, spleen on its right, spine at the bottom centre."""
    for vol in volumes:
        size = vol.labels.shape[2]

        def centroid(mask: np.ndarray) -> tuple[float, float]:
            _, rows, cols = np.nonzero(mask)
            return float(rows.mean()), float(cols.mean())

        assert centroid(vol.labels >= 1)[1] < size / 2
        assert centroid(vol.tissue == Tissue.SPLEEN)[1] > size / 2
        row, col = centroid(vol.tissue == Tissue.CSF)  # spinal canal
        assert abs(col - size / 2) < 0.05 * size
        assert row > 0.55 * size
        assert row > centroid(vol.tissue != Tissue.AIR)[0] + 0.1 * size  # behind the middle
        assert centroid(vol.tissue == Tissue.AORTA)[1] > centroid(vol.tissue == Tissue.IVC)[1]
        lung_slices = np.nonzero((vol.tissue == Tissue.LUNG).any(axis=(1, 2)))[0]
        assert lung_slices.size > 0 and lung_slices.max() == vol.labels.shape[0] - 1
        assert lung_slices.min() > vol.labels.shape[0] // 2  # lung bases: top slices only


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    a = generate_volume(7, SMALL)
    b = generate_volume(7, SMALL)
    np.testing.assert_array_equal(a.hu, b.hu)
    paths_a = write_lits_pair(a, tmp_path / "a", 3)
    paths_b = write_lits_pair(b, tmp_path / "b", 3)
    for pa, pb in zip(paths_a, paths_b, strict=True):
        assert pa.name == pb.name
        assert pa.read_bytes() == pb.read_bytes()


def test_global_numpy_rng_is_not_used() -> None:
    np.random.seed(1)
    a = generate_volume(5, TINY)
    np.random.seed(2)
    b = generate_volume(5, TINY)
    np.testing.assert_array_equal(a.hu, b.hu)


def test_another_seed_gives_different_anatomy(volumes: list[PhantomVolume]) -> None:
    a, b = volumes[0], volumes[1]
    assert a.labels.shape == b.labels.shape
    assert (a.labels != b.labels).mean() > 0.01
    assert a.fov_mm != b.fov_mm


def test_write_then_read_round_trip(volumes: list[PhantomVolume], tmp_path: Path) -> None:
    vol = volumes[0]
    vol_path, seg_path = write_lits_pair(vol, tmp_path / "lits", 12)
    assert vol_path == tmp_path / "lits" / "volume-12.nii"
    assert seg_path == tmp_path / "lits" / "segmentation-12.nii"
    assert sorted(p.name for p in (tmp_path / "lits").iterdir()) == [
        "segmentation-12.nii",
        "volume-12.nii",
    ]  # no temporary files left behind

    img = nib.load(vol_path)
    seg = nib.load(seg_path)
    assert img.get_data_dtype() == np.int16
    assert seg.get_data_dtype() == np.uint8
    row, col, thk = vol.spacing_mm
    np.testing.assert_allclose(img.header.get_zooms(), (col, row, thk), rtol=1e-6)
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")

    hu = ras_to_radiological(np.asanyarray(nib.as_closest_canonical(img).dataobj))
    labels = ras_to_radiological(np.asanyarray(nib.as_closest_canonical(seg).dataobj))
    assert hu.dtype == np.int16
    np.testing.assert_array_equal(hu, hu_to_int16(vol.hu))
    np.testing.assert_array_equal(labels, vol.labels)
    assert np.abs(hu.astype(np.float32) - vol.hu).max() <= 0.5 + 1e-3


def test_rewriting_replaces_files_atomically(volumes: list[PhantomVolume], tmp_path: Path) -> None:
    out = tmp_path / "lits"
    write_lits_pair(volumes[1], out, 0)
    vol_path, _ = write_lits_pair(volumes[0], out, 0)
    hu = ras_to_radiological(np.asanyarray(nib.load(vol_path).dataobj))
    np.testing.assert_array_equal(hu, hu_to_int16(volumes[0].hu))
    assert len(list(out.iterdir())) == 2


def test_rejects_a_spec_too_small_for_the_anatomy() -> None:
    with pytest.raises(ValueError):
        generate_volume(0, PhantomSpec(size=32, n_slices=4))
    with pytest.raises(ValueError):
        generate_volume(0, PhantomSpec(size=128, n_slices=16, fov_mm=(500.0, 350.0)))


def test_a_narrow_fov_range_still_holds_the_body() -> None:
    spec = PhantomSpec(size=128, n_slices=16, slice_thickness_mm=9.0, fov_mm=(350.0, 350.0))
    for seed in range(4):
        vol = generate_volume(seed, spec)
        assert vol.fov_mm == pytest.approx(350.0)
        assert 300.0 <= vol.body_width_mm <= 350.0 - 20.0
        body = vol.tissue != Tissue.AIR
        assert not (body[:, :, 0].any() or body[:, :, -1].any())


@pytest.mark.slow
def test_full_size_volume() -> None:
    """The default 512 x 512 x 64 volume (its speed is measured by bench/bench_data.py)."""
    vol = generate_volume(0)
    assert vol.hu.shape == (64, 512, 512)
    assert vol.spacing_mm[2] == 2.5
    assert 350.0 <= vol.fov_mm <= 500.0
    assert 1 <= vol.n_tumours <= 3 and (vol.labels == 2).any()
