"""Segmentation metrics on cases with known answers, and against independent implementations."""

import numpy as np
import pytest
import torch
from monai.metrics import compute_dice
from scipy import ndimage
from skimage.morphology import skeletonize

from tact.data.phantom import PhantomSpec, generate_volume
from tact.metrics.anatomy import (
    cl_dice,
    class_skeletons,
    dice,
    paper_dice,
    skeleton,
    slice_metrics,
    surface_dice,
    surface_dice_3d,
    volume_metrics,
)
from tact.per_slice import CLASS_COLUMNS, CLASSES, SEGMENTATION_COLUMNS

ROWS, COLS = np.mgrid[:64, :64]


def disc(row=32.0, col=32.0, radius=12.0):
    return (ROWS - row) ** 2 + (COLS - col) ** 2 < radius**2


def test_identical_and_disjoint_masks():
    a, b = disc(20, 20, 8), disc(45, 45, 8)
    for metric in (dice, cl_dice):
        assert metric(a, a) == 1.0 and metric(a, b) == 0.0
    assert surface_dice(a, a, (1, 1), 0.5) == 1.0
    assert surface_dice(a, b, (1, 1), 2.0) == 0.0


def test_empty_mask_rules():
    empty, a = np.zeros((64, 64), bool), disc()
    for metric in (dice, cl_dice, lambda p, t: surface_dice(p, t, (1, 1), 2.0)):
        assert metric(empty, a) == 0.0  # present in the ground truth, missed
        assert metric(a, empty) == 0.0  # predicted, absent from the ground truth
        assert np.isnan(metric(empty, empty))  # absent from both: excluded


def test_nsd_of_a_shifted_disc_against_tolerances():
    truth, shifted = disc(col=32), disc(col=35)  # shifted by 3 px = 3 mm at 1 mm spacing
    assert surface_dice(shifted, truth, (1, 1), 1.0) < 0.5
    assert surface_dice(shifted, truth, (1, 1), 3.5) == 1.0
    # the tolerance is in mm: at 2 mm pixels the same shift is 6 mm
    assert surface_dice(shifted, truth, (2, 2), 3.5) < surface_dice(shifted, truth, (1, 1), 3.5)
    assert surface_dice(shifted, truth, (2, 2), 2.0) == pytest.approx(
        surface_dice(shifted, truth, (1, 1), 1.0)
    )
    assert surface_dice(shifted, truth, (2, 2), 6.5) == 1.0


def test_cldice_of_a_line_against_a_broken_line():
    line = np.zeros((64, 64), bool)
    line[32, 5:60] = True  # 55 px, its own skeleton
    broken = line.copy()
    broken[32, 30:40] = False  # 45 px left
    precision, sensitivity = 1.0, 45 / 55
    expected = 2 * precision * sensitivity / (precision + sensitivity)
    assert cl_dice(broken, line) == pytest.approx(expected)
    thick = ndimage.binary_dilation(line, iterations=3)
    assert cl_dice(thick, line) == 1.0  # a thick tube around the line keeps its topology
    assert dice(thick, line) < 0.5  # where Dice sees a poor match


def test_paper_dice_is_eq7_over_liver_and_tumour():
    truth = np.where(disc(radius=12), 1, 0)
    truth[disc(radius=4)] = 2
    assert paper_dice(truth, truth) == pytest.approx(1.0)
    liver_only = np.where(truth > 0, 1, 0)  # tumour missed: liver Dice < 1, tumour 0
    liver_dice = 2 * (truth == 1).sum() / ((liver_only == 1).sum() + (truth == 1).sum())
    assert paper_dice(liver_only, truth) == pytest.approx((liver_dice + 0) / 2, abs=1e-6)
    # a class absent from both counts as 1 through the smoothing (the paper's eq. 7)
    assert paper_dice(np.where(disc(), 1, 0), np.where(disc(), 1, 0)) == pytest.approx(1.0)


def random_blob(rng, size=64):
    field = ndimage.gaussian_filter(rng.standard_normal((size, size)), 4)
    mask = field > np.quantile(field, rng.uniform(0.6, 0.9))
    mask[:4], mask[-4:], mask[:, :4], mask[:, -4:] = False, False, False, False
    return mask


def contour_segments(mask, spacing):
    """Marching squares written out: for every 2 x 2 cell of pixel centres (the mask padded with
    background), the cell's centre in mm and the total length of the segments joining the
    midpoints of its edges whose two pixels differ (two segments in a saddle cell)."""
    m = np.pad(mask, 1).astype(int)
    dr, dc = spacing
    centres, lengths = [], []
    for r in range(m.shape[0] - 1):
        for c in range(m.shape[1] - 1):
            corners = {
                (0, 0): m[r, c],
                (0, 1): m[r, c + 1],
                (1, 0): m[r + 1, c],
                (1, 1): m[r + 1, c + 1],
            }
            edges = [((0, 0), (0, 1)), ((0, 1), (1, 1)), ((1, 1), (1, 0)), ((1, 0), (0, 0))]
            crossed = [
                ((a[0] + b[0]) / 2 * dr, (a[1] + b[1]) / 2 * dc)
                for a, b in edges
                if corners[a] != corners[b]
            ]
            if not crossed:
                continue
            # 2 crossings: one segment; 4 (a saddle): two, joining neighbouring edges
            pairs = (
                [(crossed[0], crossed[1])]
                if len(crossed) == 2
                else [(crossed[0], crossed[1]), (crossed[2], crossed[3])]
            )
            lengths.append(sum(np.hypot(p[0] - q[0], p[1] - q[1]) for p, q in pairs))
            centres.append(((r + 0.5) * dr, (c + 0.5) * dc))
    return np.array(centres), np.array(lengths)


def independent_nsd(a, b, spacing, tolerance):
    """Nikolov et al.'s NSD from explicit contour segments and brute-force distances."""
    ca, la = contour_segments(a, spacing)
    cb, lb = contour_segments(b, spacing)
    da = np.sqrt(((ca[:, None] - cb[None]) ** 2).sum(-1)).min(1)
    db = np.sqrt(((cb[:, None] - ca[None]) ** 2).sum(-1)).min(1)
    return (la[da <= tolerance].sum() + lb[db <= tolerance].sum()) / (la.sum() + lb.sum())


def thin_curve(rng, size=32):
    """A one-pixel-wide random walk (8-connected), sometimes touching the image border."""
    mask = np.zeros((size, size), bool)
    r, c = rng.integers(0, size, 2)
    for _ in range(int(rng.integers(1, 40))):
        mask[r, c] = True
        r = int(np.clip(r + rng.integers(-1, 2), 0, size - 1))
        c = int(np.clip(c + rng.integers(-1, 2), 0, size - 1))
    return mask


def one_pixel(rng, size=32):
    mask = np.zeros((size, size), bool)
    mask[tuple(rng.integers(0, size, 2))] = True
    return mask


def random_mask(rng, kind):
    if kind == "blob":
        return random_blob(rng, 32)
    return thin_curve(rng) if kind == "curve" else one_pixel(rng)


KINDS = [
    ("blob", "blob"),
    ("curve", "curve"),
    ("pixel", "pixel"),
    ("blob", "curve"),
    ("pixel", "curve"),
]


@pytest.mark.parametrize("seed", range(10))
def test_nsd_equals_an_independent_corner_surface_nsd(seed):
    """50 mask pairs x 2 spacings (one anisotropic) x 2 tolerances = 200 comparisons."""
    rng = np.random.default_rng(seed)
    for k in range(5):
        kind_a, kind_b = KINDS[(seed + k) % len(KINDS)]
        a, b = random_mask(rng, kind_a), random_mask(rng, kind_b)
        for spacing in ((0.8, 0.8), (0.6, 1.7)):
            for tolerance in (0.5, 2.0):
                expected = independent_nsd(a, b, spacing, tolerance)
                assert surface_dice(a, b, spacing, tolerance) == pytest.approx(expected, abs=1e-6)


def test_nsd_of_two_lines_one_row_apart():
    """Half of each contour lies on the cells the two lines share: 0.5 (the edge-pixel NSD
    that tact used before gave 0 here)."""
    a, b = np.zeros((20, 20), bool), np.zeros((20, 20), bool)
    a[10, 3:17], b[11, 3:17] = True, True
    assert surface_dice(a, b, (1.0, 1.0), 0.5) == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(6))
def test_dice_equals_monais(seed):
    rng = np.random.default_rng(seed)
    a, b = random_blob(rng), random_blob(rng)
    monai = compute_dice(
        torch.from_numpy(a[None, None].astype(np.float32)),
        torch.from_numpy(b[None, None].astype(np.float32)),
    )
    assert dice(a, b) == pytest.approx(float(monai.item()), rel=1e-6)


def test_slice_metrics_columns_and_ranges():
    truth = np.where(disc(radius=12), 1, 0)
    truth[disc(radius=4)] = 2
    prediction = np.where(disc(col=34, radius=12), 1, 0)
    row = slice_metrics(prediction, truth, (0.8, 0.8), tolerance_mm=2.0)
    assert tuple(row) == SEGMENTATION_COLUMNS
    # the design's contract for per_slice.csv
    assert SEGMENTATION_COLUMNS == (
        "dice",
        "dice_liver",
        "nsd_liver",
        "cldice_liver",
        "dice_tumor",
        "nsd_tumor",
        "cldice_tumor",
    )
    assert row["dice_tumor"] == row["nsd_tumor"] == row["cldice_tumor"] == 0.0  # tumour missed
    assert all(0 <= v <= 1 for v in row.values())


def test_method_tables_refuse_misaligned_methods():
    from tact.evaluation import method_tables
    from tact.test_sets import TestSet

    images = np.zeros((2, 64, 64), np.float32)
    masks = np.stack([np.where(disc(), 1, 0)] * 2).astype(np.uint8)
    truth = TestSet(images, np.array([0, 0]), np.array([3, 4]))
    labels = TestSet(masks, truth.volumes, truth.slices)
    missed = TestSet(np.zeros_like(masks), truth.volumes, truth.slices)
    shifted = TestSet(images, np.array([0, 0]), np.array([4, 5]))
    by_segmenter = {"g": labels, "held_out_1": missed}
    spacing = {0: (1.0, 1.0, 2.0)}
    table, volumes, _ = method_tables(
        "fulldose", truth, labels, spacing, images=truth, labels=by_segmenter
    )
    assert table["segmenter"].tolist() == ["g", "g", "held_out_1", "held_out_1"]
    assert table["dice_liver"].tolist() == [1.0, 1.0, 0.0, 0.0]  # liver missed: 0
    assert volumes["dice_liver"].tolist() == [1.0, 0.0]  # in 3-D too
    with pytest.raises(ValueError, match="do not line up"):
        method_tables("bm3d", truth, labels, spacing, images=shifted, labels=by_segmenter)
    with pytest.raises(ValueError, match=r"held_out_1.*do not line up"):
        method_tables("bm3d", truth, labels, spacing, images=truth, labels={"held_out_1": shifted})


@pytest.mark.parametrize("seed", range(8))
def test_nsd_equals_monais(seed):
    """MONAI's corner-surface NSD (``use_subvoxels=True``), which agrees with DeepMind's."""
    from monai.metrics import compute_surface_dice

    rng = np.random.default_rng(100 + seed)
    a, b = random_blob(rng), random_blob(rng)
    if seed % 2:  # masks touching the image border too
        a[:, :10] = a[:, 10:11]
    spacing = (float(rng.uniform(0.5, 1.5)), float(rng.uniform(0.5, 1.5)))
    tolerance = float(rng.uniform(0.5, 4))

    def one_hot(mask):
        m = torch.from_numpy(mask.astype(np.float32))
        return torch.stack([1 - m, m])[None]

    expected = compute_surface_dice(
        one_hot(a),
        one_hot(b),
        class_thresholds=[tolerance],
        include_background=False,
        spacing=list(spacing),
        use_subvoxels=True,
    )
    # MONAI returns float32: equal to its 7 digits
    assert surface_dice(a, b, spacing, tolerance) == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_nsd_3d_equals_monais(seed):
    """The 3-D NSD is MONAI's ``compute_surface_dice(use_subvoxels=True)`` (computed our way
    for speed): the same value on blobs with anisotropic voxels, one touching the border."""
    from monai.metrics import compute_surface_dice

    rng = np.random.default_rng(200 + seed)

    def blob() -> np.ndarray:
        field = ndimage.gaussian_filter(rng.standard_normal((14, 40, 40)), (1.5, 4, 4))
        return field > np.quantile(field, rng.uniform(0.6, 0.9))

    a, b = blob(), blob()
    if seed % 2:
        a[:, :, :6] = a[:, :, 6:7]
    spacing = (float(rng.uniform(1, 3)), *(float(rng.uniform(0.5, 1.2)),) * 2)
    tolerance = float(rng.uniform(0.5, 4))

    def one_hot(mask):
        m = torch.from_numpy(mask.astype(np.float32))
        return torch.stack([1 - m, m])[None]

    expected = compute_surface_dice(
        one_hot(a), one_hot(b), [tolerance], spacing=list(spacing), use_subvoxels=True
    )
    # MONAI sums its float32 areas in another order: equal to its 7 digits
    assert surface_dice_3d(a, b, spacing, tolerance) == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize("shift", [1, 2, 3])
def test_nsd_3d_counts_surface_exactly_at_the_tolerance_as_monai(shift):
    """Surface elements exactly one tolerance away count as within, as in MONAI's (the
    nearest-neighbour search stops just beyond the tolerance): a box moved by ``shift``
    voxels of 1 mm, scored at 2 mm, lies partly at exactly 2 mm."""
    from monai.metrics import compute_surface_dice

    a = np.zeros((12, 20, 20), bool)
    a[3:9, 5:14, 5:14] = True
    b = np.roll(a, shift, axis=2)

    def one_hot(mask):
        m = torch.from_numpy(mask.astype(np.float32))
        return torch.stack([1 - m, m])[None]

    spacing = (1.0, 1.0, 1.0)
    expected = compute_surface_dice(
        one_hot(a), one_hot(b), [2.0], spacing=list(spacing), use_subvoxels=True
    )
    value = surface_dice_3d(a, b, spacing, 2.0)
    assert value == pytest.approx(float(expected), rel=1e-6)
    assert (value == 1.0) == (shift <= 2)


def whole_slice_cl_dice(predicted, true):
    """clDice with skeletons of the whole slice (what the cropped computation must equal)."""
    if not predicted.any() or not true.any():
        return np.nan if not predicted.any() and not true.any() else 0.0
    sp, st = skeletonize(predicted), skeletonize(true)
    precision, sensitivity = (sp & true).sum() / sp.sum(), (st & predicted).sum() / st.sum()
    total = precision + sensitivity
    return 0.0 if total == 0 else 2 * precision * sensitivity / total


def test_cropped_metrics_equal_whole_slice_ones_on_phantom_masks():
    """NSD and clDice are computed in the masks' bounding box; on phantom label maps and
    predictions moved about (some wrapped round the image edge, some far from the truth) they
    equal the whole-slice computations, so the box never cuts a surface or a skeleton."""
    volume = generate_volume(3, PhantomSpec(size=96, n_slices=8, slice_thickness_mm=9.0))
    spacing = volume.spacing_mm[:2]
    compared = 0
    for truth in volume.labels[volume.labels.reshape(8, -1).any(1)]:
        for shift in ((0, 0), (3, -2), (40, 0), (0, -60)):
            prediction = np.roll(truth, shift, axis=(0, 1))
            row = slice_metrics(prediction, truth, spacing, tolerance_mm=2.0)
            for name, label in CLASSES.items():
                p, t = prediction == label, truth == label
                if not (p.any() and t.any()):
                    continue
                column = CLASS_COLUMNS[name]
                nsd = independent_nsd(p, t, spacing, 2.0)
                assert row[f"nsd_{column}"] == pytest.approx(nsd, abs=1e-9)
                assert row[f"cldice_{column}"] == pytest.approx(whole_slice_cl_dice(p, t))
                # the truth's skeleton computed once for every segmenter: the same clDice
                assert cl_dice(p, t, skeleton(t)) == row[f"cldice_{column}"]
                compared += 1
    assert compared >= 20


def test_slice_metrics_equal_each_metric_on_the_whole_slice():
    """slice_metrics computes on the box of the slice's labelled pixels: every column equals
    its metric on the whole slice, with the truth's skeletons given or not, for slices where
    both maps, one of them or neither hold labels."""
    volume = generate_volume(5, PhantomSpec(size=96, n_slices=8, slice_thickness_mm=9.0))
    spacing = volume.spacing_mm[:2]
    empty = np.zeros_like(volume.labels[0])
    labelled = volume.labels[volume.labels.reshape(8, -1).any(1)]
    pairs = [(np.roll(t, (5, -7), axis=(0, 1)), t) for t in labelled]
    pairs += [(empty, labelled[0]), (labelled[0], empty), (empty, empty)]
    for prediction, truth in pairs:
        rows = [
            slice_metrics(prediction, truth, spacing, tolerance_mm=2.0),
            slice_metrics(
                prediction, truth, spacing, tolerance_mm=2.0, truth_skeletons=class_skeletons(truth)
            ),
        ]
        expected = {"dice": paper_dice(prediction, truth)}
        for name, label in CLASSES.items():
            p, t, column = prediction == label, truth == label, CLASS_COLUMNS[name]
            expected[f"dice_{column}"] = dice(p, t)
            expected[f"nsd_{column}"] = surface_dice(p, t, spacing, 2.0)
            expected[f"cldice_{column}"] = whole_slice_cl_dice(p, t)
        for row in rows:
            assert row.keys() == expected.keys()
            for key, value in expected.items():
                assert row[key] == pytest.approx(value, nan_ok=True), key


def ball(spacing, centre_mm=(20.0, 16.0, 16.0), radius_mm=8.0, shape=(16, 32, 32)):
    """A ball in a (slice, row, col) grid with the given spacing in mm."""
    z, r, c = (np.indices(shape).T * np.asarray(spacing)).T
    centre = np.asarray(centre_mm)
    return (z - centre[0]) ** 2 + (r - centre[1]) ** 2 + (c - centre[2]) ** 2 < radius_mm**2


def test_volume_metrics_of_a_ball_shifted_by_one_slice():
    """Shifted by one 2.5 mm slice, no surface point is farther than 2.5 mm from the other
    surface, and the poles are: NSD is 1 at a tolerance above the slice spacing, below 1 just
    under it, and lower still at a tolerance below the in-plane spacing."""
    spacing = (2.5, 1.0, 1.0)
    truth = ball(spacing)
    shifted = np.roll(truth, 1, axis=0)
    assert surface_dice_3d(shifted, truth, spacing, 2.6) == 1.0
    just_under = surface_dice_3d(shifted, truth, spacing, 2.4)
    assert 0.5 < just_under < 1.0
    assert surface_dice_3d(shifted, truth, spacing, 0.5) < just_under
    # the tolerance reads in mm along the slice axis: at 1 mm slices the same shift is 1 mm
    assert surface_dice_3d(shifted, truth, (1.0, 1.0, 1.0), 1.1) == 1.0
    labels, moved = truth.astype(np.uint8), shifted.astype(np.uint8)
    row = volume_metrics(moved, labels, spacing, tolerance_mm=2.4)
    overlap = (truth & shifted).sum()
    assert row["dice_liver"] == pytest.approx(2 * overlap / (truth.sum() + shifted.sum()))
    assert row["nsd_liver"] == pytest.approx(just_under)
    assert row["cldice_liver"] == 1.0  # each ball's 3-D skeleton lies inside the other ball
    cached = volume_metrics(
        moved, labels, spacing, tolerance_mm=2.4, truth_skeletons=class_skeletons(labels)
    )
    assert cached == pytest.approx(row, nan_ok=True)
    assert np.isnan(row["dice_tumor"]) and np.isnan(row["nsd_tumor"])  # no tumour in either


def test_volume_metrics_need_contiguous_test_slices():
    """A volume whose test slices skip one (a slice-level split) is not stacked: its 3-D
    metrics are empty and marked not contiguous, the per-slice rows are still there."""
    from tact.evaluation import method_tables
    from tact.test_sets import TestSet

    masks = np.stack([np.where(disc(), 1, 0)] * 4).astype(np.uint8)
    volumes, slices = np.array([0, 0, 1, 1]), np.array([3, 4, 7, 9])
    truth = TestSet(np.zeros((4, 64, 64), np.float32), volumes, slices)
    labels = TestSet(masks, volumes, slices)
    spacing = {0: (1.0, 1.0, 2.0), 1: (1.0, 1.0, 2.0)}
    per_slice, per_volume, _ = method_tables(
        "fulldose", truth, labels, spacing, images=truth, labels={"g": labels}, workers=2
    )
    assert len(per_slice) == 4
    assert per_volume["contiguous"].tolist() == [True, False]
    assert per_volume["n_slices"].tolist() == [2, 2]
    assert per_volume["dice_liver"].iloc[0] == 1.0 and np.isnan(per_volume["dice_liver"].iloc[1])


def test_nsd_is_exactly_zero_or_one_at_the_extremes():
    """Float sums in another order must not give 1 + 2e-16 or -2e-16 (seen on phantom tumours)."""
    rng = np.random.default_rng(7)
    for _ in range(50):
        a = random_blob(rng, 32)
        far = np.zeros((96, 96), bool)
        far[:32, :32], far[-32:, -32:] = a, random_blob(rng, 32)
        near = far.copy()
        assert surface_dice(far, near, (0.7, 0.9), 2.0) == 1.0
        apart = np.zeros_like(far)
        apart[-32:, -32:] = far[-32:, -32:]
        only_a = np.zeros_like(far)
        only_a[:32, :32] = a
        assert surface_dice(only_a, apart, (0.7, 0.9), 2.0) == 0.0


@pytest.mark.parametrize("ndim", [2, 3])
def test_skeleton_component_by_component_is_the_whole_images_skeleton(ndim):
    """Scattered components (specks far apart, blobs touching at a corner only, flat disks one
    slice thick) are thinned each in its own box: the skeleton is scikit-image's of the whole
    image, pixel for pixel."""
    rng = np.random.default_rng(ndim)
    shape = (60, 60) if ndim == 2 else (24, 40, 40)
    for trial in range(4):
        mask = np.zeros(shape, bool)
        for _ in range(6):  # blobs of a few pixels' radius, anywhere
            centre = rng.integers(0, shape)
            grid = np.indices(shape) - centre.reshape(-1, *[1] * ndim)
            mask |= (grid**2).sum(axis=0) <= rng.integers(2, 12)
        mask[tuple(rng.integers(0, shape, size=(10, ndim)).T)] = True  # specks
        if ndim == 3:  # a flat disk, one slice thick (thinned as 2-D if cut out alone)
            y, x = np.indices(shape[1:]) - rng.integers(8, 32, size=(2, 1, 1))
            mask[rng.integers(0, shape[0]), : y.shape[0], : x.shape[1]] |= y**2 + x**2 <= 30
        corner = tuple(s // 2 for s in shape)
        mask[corner] = mask[tuple(c + 1 for c in corner)] = True  # two pixels touching diagonally
        assert np.array_equal(skeleton(mask), skeletonize(mask)), trial
