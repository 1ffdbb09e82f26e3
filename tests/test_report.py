"""Tables and figures: contents checked against independent computations on per_slice data."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr, wilcoxon

from tact.errors import ConfigError, InputDataError
from tact.evaluation import PER_SLICE_COLUMNS
from tact.evaluation import TestSet as Slices  # not a test class
from tact.report.figures import (
    choose_example,
    metric_correlations,
    plot_alpha_tradeoff,
    plot_metric_correlation,
    plot_reconstructions,
    plot_segmentations,
    plot_training_curves,
    write_slice_figures,
)
from tact.report.methods import PAPER_TABLE1, method_label, paper_order
from tact.report.tables import (
    anatomy_table,
    dice_table,
    paired_p_value,
    pixel_table,
    read_per_slice,
    write_tables,
)

PAPER_ROWS = [
    "lowdose",
    "fbp",
    "bm3d",
    "base",
    "joint_c0.1",
    "joint_c0.5",
    "joint_c0.9",
    "task_a0.1",
    "task_a0.5",
    "task_a0.9",
    "fulldose",
]


def fake_per_slice(methods=PAPER_ROWS, n_slices=12, seed=0) -> pd.DataFrame:
    """Random but plausible per-slice metrics; tumour absent (NaN) on every third slice."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, method in enumerate(methods):
        for s in range(n_slices):
            tumour = s % 3 != 0
            row = {
                "method": method,
                "volume": s // 6,
                "slice": 10 + s,
                "psnr": np.nan if method == "fulldose" else 20 + k + rng.normal(0, 2),
                "ssim": np.nan if method == "fulldose" else rng.uniform(0.4, 0.95),
                "dice": rng.uniform(0, 1),
            }
            for metric in ("dice", "nsd", "cldice"):
                row[f"{metric}_liver"] = rng.uniform(0.3, 1)
                row[f"{metric}_tumor"] = rng.uniform(0, 1) if tumour else np.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=list(PER_SLICE_COLUMNS))


def test_labels_and_paper_order():
    shuffled = ["fulldose", "task_a0.9", "base", "joint_c0.5", "task_a0.25", "bm3d", "lowdose"]
    shuffled += ["task_a0.1", "fbp", "joint_c0.1"]
    assert paper_order(shuffled) == [
        "lowdose",
        "fbp",
        "bm3d",
        "base",
        "joint_c0.1",
        "joint_c0.5",
        "task_a0.1",
        "task_a0.25",
        "task_a0.9",
        "fulldose",
    ]
    assert method_label("task_a0.5") == "Task-adaptive α=0.5"
    assert method_label("joint_c0.1") == "Joint Training C=0.1"
    assert method_label("base") == "Base U-Net"
    with pytest.raises(ValueError, match="unknown method"):
        method_label("unet")


def test_tables_one_and_two_equal_the_aggregates_of_per_slice():
    per_slice = fake_per_slice(methods=list(reversed(PAPER_ROWS)))
    table1 = pixel_table(per_slice)
    table2 = dice_table(per_slice)
    assert table1["method"].tolist() == PAPER_ROWS[:-1], "full dose has no PSNR row"
    assert table2["method"].tolist() == PAPER_ROWS
    assert table1["label"].tolist() == [method_label(m) for m in PAPER_ROWS[:-1]]
    for _, row in table1.iterrows():
        values = per_slice[per_slice["method"] == row["method"]]
        assert row["psnr_mean"] == pytest.approx(np.mean(values["psnr"]))
        assert row["psnr_std"] == pytest.approx(np.std(values["psnr"], ddof=1))
        assert row["ssim_mean"] == pytest.approx(np.mean(values["ssim"]))
        assert row["ssim_std"] == pytest.approx(np.std(values["ssim"], ddof=1))
        assert row["n"] == len(values)
    for _, row in table2.iterrows():
        values = per_slice[per_slice["method"] == row["method"]]["dice"]
        assert row["dice_mean"] == pytest.approx(np.mean(values))
        assert row["dice_std"] == pytest.approx(np.std(values, ddof=1))
    assert "paper_psnr_mean" not in table1


def test_paper_columns_beside_ours_on_lits():
    per_slice = fake_per_slice(methods=["lowdose", "base", "task_a0.3", "fulldose"])
    table1 = pixel_table(per_slice, with_paper=True).set_index("method")
    assert table1.loc["base", "paper_psnr_mean"] == 36.0490
    assert table1.loc["base", "paper_ssim_std"] == 0.0260
    assert np.isnan(table1.loc["task_a0.3", "paper_psnr_mean"]), "the paper has no alpha=0.3"
    table2 = dice_table(per_slice, with_paper=True).set_index("method")
    assert table2.loc["fulldose", "paper_dice_mean"] == 0.8740
    assert set(PAPER_TABLE1) <= set(PAPER_ROWS)


def test_anatomy_table_medians_and_paired_tests():
    per_slice = fake_per_slice()
    # a method that is better than base on every slice, and one identical to base
    base = per_slice[per_slice["method"] == "base"]
    better = base.assign(method="task_a0.5", dice_liver=base["dice_liver"] + 0.05)
    same = base.assign(method="task_a0.9")
    per_slice = pd.concat(
        [per_slice[~per_slice["method"].isin(["task_a0.5", "task_a0.9"])], better, same]
    )
    table = anatomy_table(per_slice)
    assert table["method"].unique().tolist() == PAPER_ROWS
    assert len(table) == len(PAPER_ROWS) * 2 * 3
    cells = table.set_index(["method", "structure", "metric"])
    for method in PAPER_ROWS:
        values = per_slice[per_slice["method"] == method]
        for structure in ("liver", "tumor"):
            column = values[f"nsd_{structure}"].dropna()
            cell = cells.loc[(method, structure, "nsd")]
            assert cell["n"] == len(column) == (12 if structure == "liver" else 8)
            assert cell["median"] == pytest.approx(np.median(column))
            assert cell["q1"] == pytest.approx(np.percentile(column, 25))
            assert cell["q3"] == pytest.approx(np.percentile(column, 75))
    assert np.isnan(cells.loc[("base", "liver", "dice"), "p_vs_base"])
    assert cells.loc[("task_a0.9", "liver", "dice"), "p_vs_base"] == 1.0
    assert cells.loc[("task_a0.5", "liver", "dice"), "p_vs_base"] < 0.01
    fbp = per_slice[per_slice["method"] == "fbp"]
    expected = wilcoxon(fbp["cldice_liver"].to_numpy(), base["cldice_liver"].to_numpy()).pvalue
    assert cells.loc[("fbp", "liver", "cldice"), "p_vs_base"] == pytest.approx(expected)


def test_paired_test_pairs_by_slice_and_skips_missing_values():
    index = pd.Index([1, 2, 3, 4, 5, 6, 7, 8], name="slice")
    a = pd.Series([0.5, 0.6, np.nan, 0.7, 0.8, 0.2, 0.9, 0.4], index=index)
    b = pd.Series([0.4, 0.5, 0.1, np.nan, 0.6, 0.1, 0.7, 0.3], index=index)
    keep = a.notna() & b.notna()
    assert paired_p_value(a, b) == pytest.approx(wilcoxon(a[keep], b[keep]).pvalue)
    assert np.isnan(paired_p_value(a[:0], b[:0]))


def test_written_tables_csv_markdown_latex(tmp_path):
    per_slice = fake_per_slice()
    per_slice.to_csv(tmp_path / "per_slice.csv", index=False)
    tables = write_tables(tmp_path / "per_slice.csv", tmp_path / "tables", with_paper=True)
    written = pd.read_csv(tmp_path / "tables/table1_pixel.csv")
    assert written.columns[:7].tolist() == [
        "method",
        "label",
        "psnr_mean",
        "psnr_std",
        "ssim_mean",
        "ssim_std",
        "n",
    ]
    pd.testing.assert_frame_equal(written, tables["table1_pixel"], check_dtype=False)
    assert pd.read_csv(tmp_path / "tables/table2_dice.csv").columns[:5].tolist() == [
        "method",
        "label",
        "dice_mean",
        "dice_std",
        "n",
    ]
    markdown = (tmp_path / "tables/table2_dice.md").read_text().splitlines()
    assert markdown[0] == "| Method | Dice | Dice, paper | n |"
    body = [line.split(" | ")[0].lstrip("| ") for line in markdown[2:]]
    assert body == [method_label(m) for m in PAPER_ROWS]
    base = tables["table2_dice"].set_index("method").loc["base"]
    assert (
        f"| Base U-Net | {base['dice_mean']:.3f} ± {base['dice_std']:.3f} | 0.280 ± 0.229"
        in (tmp_path / "tables/table2_dice.md").read_text()
    )
    latex = (tmp_path / "tables/table1_pixel.tex").read_text()
    assert r"Task-adaptive $\alpha=0.5$" in latex and r"\begin{tabular}{lrrrrr}" in latex
    assert latex.count(r" \\") == 1 + len(PAPER_ROWS) - 1, "header and one line per method"
    table3 = (tmp_path / "tables/table3_anatomy.md").read_text().splitlines()
    assert table3[0].startswith("| Method | Liver Dice | p | Liver NSD | p |")
    assert len(table3) == 2 + len(PAPER_ROWS)


def test_bad_per_slice_is_named(tmp_path):
    path = tmp_path / "per_slice.csv"
    fake_per_slice().drop(columns=["nsd_tumor"]).to_csv(path, index=False)
    with pytest.raises(InputDataError, match=r"per_slice\.csv: missing columns nsd_tumor"):
        read_per_slice(path)


# --- figures ---------------------------------------------------------------------------------


def example_data(methods=PAPER_ROWS, n=4, size=32):
    rng = np.random.default_rng(1)
    volumes, slices = np.array([0, 0, 1, 1]), np.array([10, 11, 10, 11])
    truth = np.zeros((n, size, size), np.uint8)
    truth[:, 8:24, 8:24] = 1
    truth[2, 12:20, 12:20] = 2  # the most tumour: index 2
    truth[1, 14:16, 14:16] = 2
    images = {m: Slices(rng.uniform(0, 0.5, (n, size, size)), volumes, slices) for m in methods}
    labels = {m: Slices(rng.integers(0, 3, (n, size, size)), volumes, slices) for m in methods}
    return images, labels, Slices(truth, volumes, slices)


def image_panels(fig):
    return [ax for ax in fig.axes if ax.images]


def test_example_slice_choice():
    _, _, truth = example_data()
    assert choose_example(truth) == 2, "the test slice with most tumour"
    no_tumour = Slices(np.where(truth.images == 2, 1, truth.images), truth.volumes, truth.slices)
    no_tumour.images[3, :, :] = 1
    assert choose_example(no_tumour) == 3, "else the one with most liver"
    assert choose_example(truth, 1, 11) == 3
    with pytest.raises(ConfigError, match="volume 5, slice 11 is not a test slice"):
        choose_example(truth, 5, 11)
    with pytest.raises(ConfigError, match="set together"):
        choose_example(truth, 1, None)


def test_figures_three_and_four_one_panel_per_method(tmp_path):
    images, labels, truth = example_data()
    per_slice = fake_per_slice(n_slices=4)
    per_slice["volume"], per_slice["slice"] = np.tile(truth.volumes, 11), np.tile(truth.slices, 11)
    scores = per_slice[(per_slice["volume"] == 1) & (per_slice["slice"] == 10)].set_index("method")

    fig3 = plot_reconstructions({m: s.images[2] for m, s in images.items()}, scores, "here")
    panels = image_panels(fig3)
    assert [ax.get_title().splitlines()[0] for ax in panels] == [
        method_label(m) for m in PAPER_ROWS
    ]
    psnr = scores.loc["task_a0.5", "psnr"]
    assert f"PSNR {psnr:.2f} dB" in panels[PAPER_ROWS.index("task_a0.5")].get_title()
    assert "PSNR" not in panels[-1].get_title(), "full dose: Dice only"

    fig4 = plot_segmentations(
        {m: s.images[2] for m, s in labels.items()}, truth.images[2], scores, ""
    )
    panels = image_panels(fig4)
    assert len(panels) == len(PAPER_ROWS) + 1
    assert panels[-1].get_title().startswith("Ground truth")
    np.testing.assert_array_equal(panels[-1].images[0].get_array(), truth.images[2])
    np.testing.assert_array_equal(panels[3].images[0].get_array(), labels["base"].images[2])

    paths = {
        f"{name}_{ext}": tmp_path / f"{name}.{ext}"
        for name in ("fig2_sample", "fig3_reconstructions", "fig4_segmentations")
        for ext in ("png", "pdf")
    }
    assert write_slice_figures(images, labels, truth, per_slice, paths) == (1, 10)
    for path in paths.values():
        head = path.read_bytes()[:8]
        assert head.startswith(b"\x89PNG" if path.suffix == ".png" else b"%PDF")


def test_alpha_tradeoff_plots_the_means_over_alpha():
    per_slice = fake_per_slice()
    fig = plot_alpha_tradeoff(per_slice)
    psnr_axis, dice_axis = fig.axes[:2]
    task = next(c for c in dice_axis.containers if c.get_label() == "Task-adaptive (α)").lines[0]
    assert np.asarray(task.get_xdata(), float).tolist() == [0.0, 0.1, 0.5, 0.9]
    means = per_slice.groupby("method")["dice"].mean()
    expected = [means[m] for m in ("base", "task_a0.1", "task_a0.5", "task_a0.9")]
    np.testing.assert_allclose(np.asarray(task.get_ydata(), float), expected)
    joint = next(c for c in psnr_axis.containers if c.get_label() == "Joint training (C)").lines[0]
    psnr = per_slice.groupby("method")["psnr"].mean()
    expected = [psnr[m] for m in ("base", "joint_c0.1", "joint_c0.5", "joint_c0.9")]
    np.testing.assert_allclose(np.asarray(joint.get_ydata(), float), expected)
    bm3d = [line for line in psnr_axis.lines if line.get_label() == "BM3D"]
    assert bm3d and bm3d[0].get_ydata()[0] == pytest.approx(psnr["bm3d"])


def test_metric_correlations_are_spearman_per_method_and_overall():
    per_slice = fake_per_slice()
    table = metric_correlations(per_slice)
    assert "fulldose" not in set(table["method"]), "no PSNR for the full dose"
    images = per_slice[per_slice["method"] != "fulldose"]
    rows = table.set_index(["method", "pixel_metric", "anatomy_metric"])
    overall = spearmanr(images["psnr"], images["dice"]).statistic
    assert rows.loc[("all", "psnr", "dice"), "spearman_rho"] == pytest.approx(overall)
    fbp = images[images["method"] == "fbp"].dropna(subset=["nsd_tumor"])
    expected = spearmanr(fbp["ssim"], fbp["nsd_tumor"]).statistic
    assert rows.loc[("fbp", "ssim", "nsd_tumor"), "spearman_rho"] == pytest.approx(expected)
    assert rows.loc[("fbp", "ssim", "nsd_tumor"), "n"] == 8
    fig = plot_metric_correlation(per_slice, table)
    scatter = [ax for ax in fig.axes if ax.get_title().startswith("all methods")]
    assert len(scatter) == 4 and all(len(ax.collections) == 10 for ax in scatter)


def test_training_curves_one_panel_per_model():
    history = pd.DataFrame(
        {"epoch": [1, 2, 3], "train_loss": [1, 0.5, 0.3], "val_loss": [1, 0.6, 0.5]}
    )
    histories = {"segmentation": history, "task_a0.5": history.assign(val_psnr=[20, 25, 27])}
    histories["base"] = histories["task_a0.5"]
    fig = plot_training_curves(histories)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["Segmentation U-Net (pre-training)", "Base U-Net", "Task-adaptive α=0.5"]
