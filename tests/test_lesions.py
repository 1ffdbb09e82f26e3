"""Lesion-wise detection (tact.metrics.lesions) on hand-made masks with known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from tact.metrics.lesions import (
    FALSE_POSITIVE,
    LESION,
    DetectionCounts,
    lesion_detection,
    truth_lesions,
)

SPACING = (2.0, 1.0, 1.0)  # slice, row, col (mm)


def masks(shape=(4, 40, 40)):
    return np.zeros(shape, bool), np.zeros(shape, bool)


def counted(prediction, truth, **kwargs):
    rows = pd.DataFrame(lesion_detection(prediction, truth, SPACING, **kwargs))
    return rows, DetectionCounts.of(rows)


def test_two_lesions_one_found_one_merged_with_a_false_positive():
    """The issue's case: lesion A is drawn as it is; lesion B's prediction runs on into a
    large false region, so their IoU (27 / 200) fails: B is missed and that component is a
    false positive. Recall 1/2, precision 1/2, F1 1/2."""
    prediction, truth = masks()
    truth[1:3, 5:10, 5:10] = True  # A: 50 voxels
    truth[1:4, 20:23, 20:23] = True  # B: 27 voxels
    prediction[1:3, 5:10, 5:10] = True
    prediction[1:4, 20:23, 20:23] = True
    prediction[1:3, 23:33, 20:30] = True  # joined to B's prediction: one component
    rows, counts = counted(prediction, truth)
    lesions = rows[rows["kind"] == LESION].set_index("component")
    assert lesions["detected"].tolist() == [True, False]
    assert lesions.loc[1, "iou"] == 1.0
    assert lesions.loc[2, "iou"] == pytest.approx(27 / 227)
    assert (rows["kind"] == FALSE_POSITIVE).sum() == 1
    assert counts == DetectionCounts(lesions=2, detected=1, false_positives=1)
    assert (counts.recall, counts.precision, counts.f1) == (0.5, 0.5, 0.5)


def test_a_split_lesion_counts_once_and_its_fragments_are_no_false_positives():
    """One lesion drawn as two fragments (a column between them missed): together they pass
    (IoU 90 / 100), so one detection, no false positive, two predicted parts."""
    prediction, truth = masks()
    truth[1, 10:20, 10:20] = True
    prediction[1, 10:20, 10:15] = True
    prediction[1, 10:20, 16:20] = True
    rows, counts = counted(prediction, truth)
    assert len(rows) == 1 and rows["predicted_parts"].iloc[0] == 2
    assert rows["iou"].iloc[0] == pytest.approx(0.9)
    assert counts == DetectionCounts(1, 1, 0) and counts.f1 == 1.0


def test_two_lesions_under_one_prediction_are_a_merge_and_both_count():
    """Two lesions three pixels apart, one predicted component over both and the gap between:
    IoU 40 / 70 passes, so both are detected (LiTS counts the merged lesions each)."""
    prediction, truth = masks()
    truth[1, 10:12, 10:20] = True
    truth[1, 15:17, 10:20] = True
    prediction[1, 10:17, 10:20] = True  # 70 voxels
    rows, counts = counted(prediction, truth)
    assert rows["merged_lesions"].tolist() == [2, 2]
    assert rows["iou"].tolist() == pytest.approx([40 / 70] * 2)
    assert counts == DetectionCounts(2, 2, 0)


def test_truth_fragments_two_pixels_apart_in_a_slice_are_one_lesion_but_not_across_slices():
    """LiTS's in-plane dilation: a gap of one or two pixels joins, three does not; a lesion in
    every other slice is one lesion per slice (the dilation is in plane only)."""
    _, truth = masks()
    truth[0, 5:8, 5:8] = truth[0, 5:8, 10:13] = True  # 2 pixels apart
    truth[0, 20:23, 5:8] = truth[0, 20:23, 11:14] = True  # 3 pixels apart
    assert truth_lesions(truth)[1] == 3
    _, stacked = masks()
    stacked[0, 5:8, 5:8] = stacked[2, 5:8, 5:8] = True
    labels, n = truth_lesions(stacked)
    assert n == 2 and set(np.unique(labels[stacked])) == {1, 2}
    assert not labels[~stacked].any(), "the dilation is trimmed away"


def test_iou_at_the_threshold_is_not_a_detection_and_zero_means_any_overlap():
    """LiTS's rule is strict: detected when IoU exceeds the threshold."""
    prediction, truth = masks()
    truth[1, 10:20, 10:20] = True
    prediction[1, 10:20, 10:15] = True  # IoU exactly 0.5
    assert counted(prediction, truth)[1] == DetectionCounts(1, 0, 1)
    assert counted(prediction, truth, iou_threshold=0.49)[1].detected == 1
    prediction[:] = False
    prediction[1, 19:25, 19:25] = True  # one voxel of overlap
    assert counted(prediction, truth, iou_threshold=0.0)[1] == DetectionCounts(1, 1, 0)


def test_empty_cases_have_defined_values():
    """No lesion and no prediction: no rows, every ratio NaN (nothing to find, nothing
    claimed). A prediction alone: precision and F1 0, recall NaN. A lesion alone: recall and
    F1 0, precision NaN."""
    prediction, truth = masks()
    rows, counts = counted(prediction, truth)
    assert rows.empty and counts == DetectionCounts(0, 0, 0)
    assert all(math.isnan(v) for v in (counts.recall, counts.precision, counts.f1))
    prediction[2, 3:6, 3:6] = True
    rows, counts = counted(prediction, truth)
    assert rows["kind"].tolist() == [FALSE_POSITIVE] and rows["merged_lesions"].tolist() == [0]
    assert math.isnan(counts.recall) and counts.precision == 0.0 and counts.f1 == 0.0
    rows, counts = counted(np.zeros_like(prediction), prediction)
    assert rows["detected"].tolist() == [False] and rows["predicted_parts"].tolist() == [0]
    assert counts.recall == 0.0 and math.isnan(counts.precision) and counts.f1 == 0.0


def test_sizes_are_from_the_voxel_spacing_and_lesions_on_the_volumes_edge_count():
    """A 4 x 10 x 10 lesion at the volume's corner: 400 voxels of 2 mm^3, 0.8 ml, the sphere
    of that volume is cbrt(6 * 800 / pi) mm across."""
    prediction, truth = masks()
    truth[:, :10, :10] = True
    prediction[:, :10, :10] = True
    rows, _ = counted(prediction, truth)
    assert rows["volume_ml"].iloc[0] == pytest.approx(0.8)
    assert rows["diameter_mm"].iloc[0] == pytest.approx((6 * 800 / math.pi) ** (1 / 3))
    assert rows["detected"].iloc[0]


def test_evaluation_writes_a_row_per_lesion_and_false_positive_of_contiguous_volumes():
    """Through tact.evaluation: volume 0 (slices 3-5, contiguous) has one lesion, found by g
    and missed by held_out_1, which draws a false positive instead; volume 1 skips a slice, so
    it has no 3-D lesions; without tumour labels there are none at all."""
    from tact.evaluation import method_tables
    from tact.per_slice import PER_LESION_COLUMNS
    from tact.test_sets import TestSet

    volumes, slices = np.array([0, 0, 0, 1, 1]), np.array([3, 4, 5, 7, 9])
    truth_maps = np.ones((5, 32, 32), np.uint8)
    truth_maps[:, 10:20, 10:20] = 2
    missed = truth_maps.copy()
    missed[:, 10:20, 10:20] = 1
    missed[:3, 25:28, 25:28] = 2
    images = TestSet(np.zeros((5, 32, 32), np.float32), volumes, slices)
    truth = TestSet(truth_maps, volumes, slices)
    segmented = {"g": truth, "held_out_1": TestSet(missed, volumes, slices)}
    spacing = {0: (0.8, 0.8, 5.0), 1: (0.8, 0.8, 5.0)}
    tables = method_tables("fulldose", images, truth, spacing, images=images, labels=segmented)
    lesions = tables[2]
    assert tuple(lesions.columns) == PER_LESION_COLUMNS
    assert set(lesions["volume"]) == {0}
    assert lesions[["segmenter", "kind"]].values.tolist() == [
        ["g", "lesion"],
        ["held_out_1", "lesion"],
        ["held_out_1", "false_positive"],
    ]
    assert lesions["detected"].tolist()[:2] == [True, False]
    assert lesions["diameter_mm"].iloc[0] == pytest.approx(np.cbrt(6 * 300 * 3.2 / np.pi))
    no_tumour = method_tables(
        "fulldose", images, truth, spacing, images=images, labels=segmented, tumour_labels=False
    )
    assert no_tumour[2].empty


def test_the_box_lesions_are_found_in_is_the_masks_box_one_voxel_wider():
    from scipy import ndimage

    from tact.metrics.lesions import _padded_box

    rng = np.random.default_rng(3)
    for _ in range(20):
        mask = rng.random((6, 30, 30)) > 0.9985
        found = ndimage.find_objects(mask.astype(np.uint8))
        expected = found and tuple(
            slice(max(s.start - 1, 0), min(s.stop + 1, n))
            for s, n in zip(found[0], mask.shape, strict=True)
        )
        assert _padded_box(mask) == (expected or None)


def per_lesion_rows():
    """Two methods, g and two held-out segmenters, one volume with a 6 mm and a 30 mm lesion."""
    rows = []
    found = {  # (method, segmenter) -> (6 mm found, 30 mm found, false positives)
        ("base", "g"): (False, True, 1),
        ("base", "held_out_1"): (False, True, 0),
        ("base", "held_out_2"): (True, True, 2),
        ("fulldose", "g"): (True, True, 0),
        ("fulldose", "held_out_1"): (True, False, 0),
        ("fulldose", "held_out_2"): (True, True, 0),
    }
    for (method, segmenter), (small, large, false_positives) in found.items():
        head = {"method": method, "segmenter": segmenter, "volume": 0}
        for k, (diameter, detected) in enumerate([(6.0, small), (30.0, large)]):
            rows.append(head | {"kind": LESION, "diameter_mm": diameter, "detected": detected})
            rows[-1]["component"] = k + 1
        for k in range(false_positives):
            rows.append(head | {"kind": FALSE_POSITIVE, "diameter_mm": 3.0, "component": k + 1})
    per_volume = pd.DataFrame(
        [{"method": m, "segmenter": s, "volume": 0, "contiguous": True} for m, s in found]
    )
    return pd.DataFrame(rows), per_volume


def test_table_v_pools_counts_over_volumes_and_held_out_segmenters(tmp_path):
    """Recall, precision and F1 from pooled counts, g beside the held-out segmenters; the files
    the report shows; with no lesion rows at all every method still has a row, its ratios
    empty."""
    from tact.per_slice import PER_LESION_COLUMNS, PER_VOLUME_COLUMNS
    from tact.report.detection import detection_table, write_lesion_detection

    per_lesion, per_volume = per_lesion_rows()
    table = detection_table(per_lesion, per_volume).set_index(["method", "segmenter"])
    assert table.index.tolist() == [
        ("base", "g"),
        ("base", "held_out"),
        ("fulldose", "g"),
        ("fulldose", "held_out"),
    ]
    base_g = table.loc[("base", "g")]
    assert (base_g["lesions"], base_g["detected"], base_g["false_positives"]) == (2, 1, 1)
    assert (base_g["recall"], base_g["precision"], base_g["f1"]) == (0.5, 0.5, 0.5)
    held = table.loc[("base", "held_out")]  # 3 of 4 found, 2 false positives
    assert (held["n_segmenters"], held["recall"], held["precision"]) == (2, 0.75, 0.6)
    assert held["f1"] == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    lesion_file = tmp_path / "per_lesion.csv"
    volume_file = tmp_path / "per_volume.csv"
    per_lesion.reindex(columns=PER_LESION_COLUMNS).to_csv(lesion_file, index=False)
    per_volume.reindex(columns=PER_VOLUME_COLUMNS).to_csv(volume_file, index=False)
    figure = (tmp_path / "fig.png", tmp_path / "fig.pdf")
    write_lesion_detection(lesion_file, volume_file, tmp_path / "t5", figure, iou=0.5)
    markdown = (tmp_path / "t5.md").read_text()
    assert "IoU above 0.5" in markdown and "no paper column" in markdown
    assert "| Base U-Net | held-out | 4 | 3 | 2 | 0.750 | 0.600 |" in markdown
    assert (tmp_path / "fig.pdf").read_bytes().startswith(b"%PDF")
    per_lesion.iloc[:0].reindex(columns=PER_LESION_COLUMNS).to_csv(lesion_file, index=False)
    empty = write_lesion_detection(lesion_file, volume_file, tmp_path / "t5", figure, iou=0.5)
    assert (empty["lesions"] == 0).all() and empty["recall"].isna().all()
    assert "| Full-dose | g | 0 | 0 | 0 | – | – | – |" in (tmp_path / "t5.md").read_text()


def test_recall_by_diameter_bins_the_true_lesions():
    from tact.report.detection import recall_by_diameter

    per_lesion, _ = per_lesion_rows()
    table = recall_by_diameter(per_lesion).set_index(["method", "segmenter", "bin"])
    small = table.loc[("base", "held_out", "< 10 mm")]
    assert small[["lesions", "per_segmenter", "detected"]].tolist() == [2, 1, 1]
    assert table.loc[("fulldose", "held_out", "20-40 mm"), "recall"] == 0.5
    assert table.loc[("fulldose", "g", "< 10 mm"), "recall"] == 1.0
    assert np.isnan(table.loc[("base", "g", "10-20 mm"), "recall"])  # no lesion that size
