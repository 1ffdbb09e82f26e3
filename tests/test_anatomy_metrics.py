"""Segmentation metrics on cases with known answers, and against independent implementations."""

import numpy as np
import pytest
import torch
from monai.metrics import compute_dice
from scipy import ndimage
from scipy.spatial import cKDTree

from tact.metrics.anatomy import (
    cl_dice,
    dice,
    paper_dice,
    slice_metrics,
    surface_dice,
)
from tact.per_slice import SEGMENTATION_COLUMNS

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
    assert surface_dice(shifted, truth, (2, 2), 3.5) < 0.5
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


def independent_nsd(a, b, spacing, tolerance):
    """NSD from surface pixels (mask minus its erosion) and KD-tree distances in mm."""

    def surface(mask):
        return np.argwhere(mask & ~ndimage.binary_erosion(mask)) * np.asarray(spacing)

    sa, sb = surface(a), surface(b)
    da, _ = cKDTree(sb).query(sa)
    db, _ = cKDTree(sa).query(sb)
    return ((da <= tolerance).sum() + (db <= tolerance).sum()) / (len(sa) + len(sb))


@pytest.mark.parametrize("seed", range(6))
def test_agreement_with_independent_implementations(seed):
    rng = np.random.default_rng(seed)
    a, b = random_blob(rng), random_blob(rng)
    spacing, tolerance = (0.7, 0.7), float(rng.uniform(0.5, 4))
    assert surface_dice(a, b, spacing, tolerance) == pytest.approx(
        independent_nsd(a, b, spacing, tolerance), abs=1e-6
    )
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


def test_per_slice_table_refuses_misaligned_methods():
    from tact.evaluation import per_slice_table
    from tact.test_sets import TestSet

    images = np.zeros((2, 64, 64), np.float32)
    masks = np.stack([np.where(disc(), 1, 0)] * 2).astype(np.uint8)
    truth = TestSet(images, np.array([0, 0]), np.array([3, 4]))
    labels = TestSet(masks, truth.volumes, truth.slices)
    missed = TestSet(np.zeros_like(masks), truth.volumes, truth.slices)
    shifted = TestSet(images, np.array([0, 0]), np.array([4, 5]))
    by_segmenter = {"g": labels, "held_out_1": missed}
    table = per_slice_table(truth, labels, {0: (1.0, 1.0)}, {"fulldose": (truth, by_segmenter)})
    assert table["segmenter"].tolist() == ["g", "g", "held_out_1", "held_out_1"]
    assert table["dice_liver"].tolist() == [1.0, 1.0, 0.0, 0.0]  # liver missed: 0
    with pytest.raises(ValueError, match="do not line up"):
        per_slice_table(truth, labels, {0: (1.0, 1.0)}, {"bm3d": (shifted, by_segmenter)})
    with pytest.raises(ValueError, match=r"held_out_1.*do not line up"):
        per_slice_table(truth, labels, {0: (1.0, 1.0)}, {"bm3d": (truth, {"held_out_1": shifted})})


@pytest.mark.parametrize("seed", range(8))
def test_nsd_equals_monais(seed):
    """tact computes NSD without MONAI (its import took seconds per job): the same numbers."""
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
    )
    # MONAI returns float32: equal to its 7 digits
    assert surface_dice(a, b, spacing, tolerance) == pytest.approx(float(expected), rel=1e-6)
