"""Tables and figures: contents checked against independent computations on per_slice data."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr, wilcoxon

from tact.data.slices import SliceStack, save_stack
from tact.errors import ConfigError, InputDataError
from tact.methods import method_label, paper_order
from tact.per_slice import (
    CLASS_METRIC_COLUMNS,
    PER_SLICE_COLUMNS,
    PER_VOLUME_COLUMNS,
    read_per_slice,
)
from tact.report.correlation import metric_correlations, plot_metric_correlation
from tact.report.figures import (
    choose_example,
    example_scores,
    plot_alpha_tradeoff,
    plot_reconstructions,
    plot_segmentations,
    slice_figures_from_files,
    write_slice_figures,
)
from tact.report.methods import PAPER_TABLE1
from tact.report.tables import (
    anatomy_table,
    dice_table,
    paired_p_value,
    pixel_table,
    write_tables,
)
from tact.report.training_curves import plot_training_curves
from tact.simulated_data import SimulatedStack, save_simulation
from tact.test_sets import (
    TestImages,
    concatenate,
    gather_ground_truth,
    save_label_sets,
    save_test_set,
)
from tact.test_sets import TestSet as Slices  # not a test class

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
HELD_OUT = ["held_out_1", "held_out_2"]
SEGMENT_METRICS = [f"{m}_{s}" for s in ("liver", "tumor") for m in ("dice", "nsd", "cldice")]

# Table II's columns after the method, as the output contract names them
TABLE_TWO_COLUMNS = [
    "label",
    "dice_mean",
    "dice_std",
    "dice_held_out_mean",
    "dice_held_out_std",
    "gap",
    "n",
    "n_held_out",
]


def fake_per_slice(methods=PAPER_ROWS, n_slices=12, seed=0, held_out=HELD_OUT) -> pd.DataFrame:
    """Random but plausible per-slice metrics by g and each held-out segmenter. Tumour absent
    (NaN) on every third slice; held_out_2 also misses a value on slices 1, 5, 9 (NaN)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, method in enumerate(methods):
        for s in range(n_slices):
            image = {
                "psnr": np.nan if method == "fulldose" else 20 + k + rng.normal(0, 2),
                "ssim": np.nan if method == "fulldose" else rng.uniform(0.4, 0.95),
                "consistency": rng.uniform(0.9, 1.1) if method == "fulldose" else 1 + k * 3.0,
            }
            image["consistency"] += rng.uniform(0, 2)
            for segmenter in ["g", *held_out]:
                row = {"method": method, "segmenter": segmenter, "volume": s // 6}
                row |= {"slice": 10 + s, **image, "dice": rng.uniform(0, 1)}
                for column in SEGMENT_METRICS:
                    missing = column.endswith("tumor") and s % 3 == 0
                    missing |= segmenter == "held_out_2" and s % 4 == 1
                    row[column] = np.nan if missing else rng.uniform(0, 1)
                rows.append(row)
    return pd.DataFrame(rows, columns=list(PER_SLICE_COLUMNS))


def by_g(per_slice):
    return per_slice[per_slice["segmenter"] == "g"]


def held_out_per_slice(per_slice) -> pd.DataFrame:
    """Independent reference: per (method, slice), np.nanmean over the held-out segmenters."""
    held = per_slice[per_slice["segmenter"].str.startswith("held_out_")]
    rows = []
    for (method, volume, slice_), group in held.groupby(["method", "volume", "slice"]):
        row = {"method": method, "volume": volume, "slice": slice_}
        for column in ["dice", *SEGMENT_METRICS]:
            values = group[column].to_numpy(float)
            row[column] = np.nan if np.isnan(values).all() else np.nanmean(values)
        rows.append(row)
    return pd.DataFrame(rows)


def test_labels_and_paper_order():
    shuffled = ["fulldose", "task_a0.9", "base", "joint_c0.5", "task_a0.25", "bm3d", "lowdose"]
    shuffled += ["task_a0.1", "fbp", "joint_c0.1", "task_a0.5_robust"]
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
        "task_a0.5_robust",
        "fulldose",
    ]
    assert method_label("task_a0.5") == "Task-adaptive α=0.5"
    assert method_label("joint_c0.1") == "Joint Training C=0.1"
    assert method_label("base") == "Base U-Net"
    with pytest.raises(ValueError, match="unknown method"):
        method_label("unet")


@pytest.mark.parametrize(
    ("module", "heavy"),
    [
        ("tact.report.figures", ("torch", "odl", "astra", "monai", "bm3d", "scipy.stats")),
        (
            "tact.report.tables",
            ("torch", "odl", "astra", "monai", "bm3d", "matplotlib", "scipy.stats"),
        ),
        ("tact.report.data", ("torch", "odl", "astra", "monai", "bm3d", "scipy.stats")),
        ("tact.report.simulation", ("torch", "odl", "astra", "monai", "bm3d")),
        ("tact.report.correlation", ("torch", "odl", "astra", "monai", "bm3d")),
        ("tact.report.training_curves", ("torch", "odl", "astra", "monai", "bm3d", "scipy.stats")),
    ],
)
def test_report_modules_load_only_what_they_use(module, heavy):
    """Report jobs import no deep-learning or CT stack (9.3 s once); figures leave scipy.stats
    (1.0 s) to the one figure that needs it."""
    code = f"import sys, {module}; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- tables ----------------------------------------------------------------------------------


def test_tables_one_and_two_equal_the_aggregates_of_g_rows():
    per_slice = fake_per_slice(methods=list(reversed(PAPER_ROWS)))
    table1 = pixel_table(per_slice)
    table2 = dice_table(per_slice)
    g = by_g(per_slice)
    assert table1["method"].tolist() == PAPER_ROWS[:-1], "full dose has no Table I row"
    assert table2["method"].tolist() == PAPER_ROWS
    assert table1["label"].tolist() == [method_label(m) for m in PAPER_ROWS[:-1]]
    assert table1.columns.tolist() == [
        "method",
        "label",
        "psnr_mean",
        "psnr_std",
        "ssim_mean",
        "ssim_std",
        "consistency_mean",
        "consistency_std",
        "n",
    ]
    for _, row in table1.iterrows():
        values = g[g["method"] == row["method"]]
        for metric in ("psnr", "ssim", "consistency"):
            assert row[f"{metric}_mean"] == pytest.approx(np.mean(values[metric]))
            assert row[f"{metric}_std"] == pytest.approx(np.std(values[metric], ddof=1))
        assert row["n"] == len(values) == 12, "one row per slice, not per segmenter"
    for _, row in table2.iterrows():
        values = g.loc[g["method"] == row["method"], "dice"]
        assert row["dice_mean"] == pytest.approx(np.mean(values))
        assert row["dice_std"] == pytest.approx(np.std(values, ddof=1))
        assert row["n"] == 12
    assert "paper_psnr_mean" not in table1


def test_table_two_held_out_mean_and_gap():
    per_slice = fake_per_slice()
    # task_a0.9 learnt to steer g: high Dice by g, low by the segmenters it never saw
    steered = per_slice["method"] == "task_a0.9"
    g = per_slice["segmenter"] == "g"
    per_slice.loc[steered & g, "dice"] = 0.9
    per_slice.loc[steered & ~g, "dice"] *= 0.1
    table = dice_table(per_slice).set_index("method")
    assert table.columns.tolist() == TABLE_TWO_COLUMNS
    held = held_out_per_slice(per_slice).groupby("method")["dice"]
    expected = pd.DataFrame({"mean": held.mean(), "std": held.std(ddof=1)})
    g_mean = by_g(per_slice).groupby("method")["dice"].mean()
    for method in PAPER_ROWS:
        row = table.loc[method]
        assert row["dice_held_out_mean"] == pytest.approx(expected.loc[method, "mean"])
        assert row["dice_held_out_std"] == pytest.approx(expected.loc[method, "std"])
        assert row["gap"] == pytest.approx(g_mean[method] - expected.loc[method, "mean"])
        assert row["n_held_out"] == 2
    assert table.loc["task_a0.9", "gap"] > 0.7
    assert table["gap"].drop("task_a0.9").abs().max() < 0.4


def test_no_held_out_segmenters_leaves_the_held_out_columns_empty(tmp_path):
    per_slice = fake_per_slice(methods=["lowdose", "base", "task_a0.5", "fulldose"], held_out=[])
    table = dice_table(per_slice)
    assert table[["dice_held_out_mean", "dice_held_out_std", "gap"]].isna().all().all()
    assert (table["n_held_out"] == 0).all()
    assert set(anatomy_table(per_slice)["segmenter"]) == {"g"}
    per_slice.to_csv(tmp_path / "per_slice.csv", index=False)
    write_tables(tmp_path / "per_slice.csv", tmp_path)
    base = next(
        line for line in (tmp_path / "table2_dice.md").read_text().splitlines() if "Base" in line
    )
    assert base.endswith("| – | – | 12 |"), "held-out Dice and gap print as a dash"


def test_paper_columns_beside_ours_on_lits():
    per_slice = fake_per_slice(methods=["lowdose", "base", "task_a0.3", "fulldose"])
    table1 = pixel_table(per_slice, with_paper=True).set_index("method")
    assert table1.loc["base", "paper_psnr_mean"] == 36.0490
    assert table1.loc["base", "paper_ssim_std"] == 0.0260
    assert np.isnan(table1.loc["task_a0.3", "paper_psnr_mean"]), "the paper has no alpha=0.3"
    table2 = dice_table(per_slice, with_paper=True).set_index("method")
    assert table2.loc["fulldose", "paper_dice_mean"] == 0.8740
    assert set(PAPER_TABLE1) <= set(PAPER_ROWS)


def test_anatomy_table_medians_by_g_and_by_the_held_out_segmenters():
    per_slice = fake_per_slice()
    table = anatomy_table(per_slice)
    assert table["method"].unique().tolist() == PAPER_ROWS
    assert len(table) == len(PAPER_ROWS) * 2 * 2 * 3, "method x segmenter group x class x metric"
    cells = table.set_index(["method", "segmenter", "structure", "metric"])
    groups = {"g": by_g(per_slice), "held_out": held_out_per_slice(per_slice)}
    for method in PAPER_ROWS:
        for name, rows in groups.items():
            for structure in ("liver", "tumor"):
                column = rows.loc[rows["method"] == method, f"nsd_{structure}"].dropna()
                cell = cells.loc[(method, name, structure, "nsd")]
                assert cell["n"] == len(column)
                assert cell["median"] == pytest.approx(np.median(column))
                assert cell["q1"] == pytest.approx(np.percentile(column, 25))
                assert cell["q3"] == pytest.approx(np.percentile(column, 75))
    assert cells.loc[("base", "held_out", "tumor", "nsd"), "n"] == 8, "NaN of one is ignored"
    held = groups["held_out"]
    fbp, base = (held[held["method"] == m]["cldice_liver"].to_numpy() for m in ("fbp", "base"))
    expected = wilcoxon(fbp, base).pvalue
    assert cells.loc[("fbp", "held_out", "liver", "cldice"), "p_vs_base"] == pytest.approx(expected)


def test_anatomy_table_paired_tests_against_base():
    per_slice = fake_per_slice()
    # a method that is better than base on every slice, and one identical to base
    base = per_slice[per_slice["method"] == "base"]
    better = base.assign(method="task_a0.5", dice_liver=base["dice_liver"] + 0.05)
    same = base.assign(method="task_a0.9")
    per_slice = pd.concat(
        [per_slice[~per_slice["method"].isin(["task_a0.5", "task_a0.9"])], better, same]
    )
    cells = anatomy_table(per_slice).set_index(["method", "segmenter", "structure", "metric"])
    for group in ("g", "held_out"):
        assert np.isnan(cells.loc[("base", group, "liver", "dice"), "p_vs_base"])
        assert cells.loc[("task_a0.9", group, "liver", "dice"), "p_vs_base"] == 1.0
        assert cells.loc[("task_a0.5", group, "liver", "dice"), "p_vs_base"] < 0.01
    fbp, g_base = by_g(per_slice[per_slice["method"] == "fbp"]), by_g(base)
    expected = wilcoxon(fbp["cldice_liver"].to_numpy(), g_base["cldice_liver"].to_numpy()).pvalue
    assert cells.loc[("fbp", "g", "liver", "cldice"), "p_vs_base"] == pytest.approx(expected)


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
    assert written.columns[:9].tolist() == tables["table1_pixel"].columns[:9].tolist()
    assert "consistency_mean" in written
    pd.testing.assert_frame_equal(written, tables["table1_pixel"], check_dtype=False)
    written_two = pd.read_csv(tmp_path / "tables/table2_dice.csv")
    assert written_two.columns[:9].tolist() == ["method", *TABLE_TWO_COLUMNS]
    markdown = (tmp_path / "tables/table2_dice.md").read_text().splitlines()
    assert (
        markdown[0].startswith("**Table II.") and "2 held-out segmenters, which no" in markdown[0]
    )
    assert markdown[2] == "| Method | Dice by g | Dice by g, paper | Dice by held-out | Gap | n |"
    body = [line.split(" | ")[0].lstrip("| ") for line in markdown[4:]]
    assert body == [method_label(m) for m in PAPER_ROWS]
    base = tables["table2_dice"].set_index("method").loc["base"]
    assert (
        f"| Base U-Net | {base['dice_mean']:.3f} ± {base['dice_std']:.3f} | 0.280 ± 0.229 | "
        f"{base['dice_held_out_mean']:.3f} ± {base['dice_held_out_std']:.3f} | "
        f"{base['gap']:.3f} | 12 |" in markdown
    )
    table1 = (tmp_path / "tables/table1_pixel.md").read_text()
    fulldose = by_g(per_slice).query("method == 'fulldose'")["consistency"].mean()
    assert f"full dose: {fulldose:.2f}" in table1.splitlines()[0]
    assert f"full dose: {fulldose:.2f}" in (tmp_path / "tables/table1_pixel.html").read_text()
    fbp = tables["table1_pixel"].set_index("method").loc["fbp"]
    assert f"| {fbp['consistency_mean']:.2f} ± {fbp['consistency_std']:.2f} | 12 |" in table1
    latex = (tmp_path / "tables/table1_pixel.tex").read_text()
    assert f"full dose: {fulldose:.2f}" in latex
    assert r"Task-adaptive $\alpha=0.5$" in latex and r"\begin{tabular}{lrrrrrr}" in latex
    assert latex.count(r" \\") == 1 + len(PAPER_ROWS) - 1, "header and one line per method"
    table3 = (tmp_path / "tables/table3_anatomy.md").read_text().splitlines()
    assert table3[2].startswith("| Method | Segmenter | Liver Dice | p | Liver NSD | p |")
    assert len(table3) == 4 + 2 * len(PAPER_ROWS)
    assert table3[4].startswith("| Low-dose | g |")
    assert table3[5].startswith("| Low-dose | held-out |")


def test_latex_label_of_a_defence_variant(tmp_path):
    per_slice = fake_per_slice(methods=["lowdose", "base", "task_a0.5_ensemble", "fulldose"])
    per_slice.to_csv(tmp_path / "per_slice.csv", index=False)
    write_tables(tmp_path / "per_slice.csv", tmp_path)
    latex = (tmp_path / "table2_dice.tex").read_text()
    assert r"Task-adaptive $\alpha=0.5$, segmenter ensemble" in latex


def test_bad_per_slice_is_named(tmp_path):
    path = tmp_path / "per_slice.csv"
    fake_per_slice().drop(columns=["nsd_tumor"]).to_csv(path, index=False)
    with pytest.raises(InputDataError, match=r"per_slice\.csv: missing columns nsd_tumor"):
        read_per_slice(path)


def test_bad_per_volume_is_named_and_writes_no_table(tmp_path):
    per_slice = fake_per_slice()
    per_slice.to_csv(tmp_path / "per_slice.csv", index=False)
    path = tmp_path / "per_volume.csv"
    fake_per_volume(per_slice).drop(columns=["contiguous"]).to_csv(path, index=False)
    with pytest.raises(InputDataError, match=r"per_volume\.csv: missing columns contiguous"):
        write_tables(tmp_path / "per_slice.csv", tmp_path / "tables", per_volume_path=path)
    assert not (tmp_path / "tables").exists()


# --- figures ---------------------------------------------------------------------------------


def example_data(methods=PAPER_ROWS, n=4, size=32, segmenters=("g", *HELD_OUT)):
    """Images, label sets by every segmenter and the truth of 4 test slices (2 volumes)."""
    rng = np.random.default_rng(1)
    volumes, slices = np.array([0, 0, 1, 1]), np.array([10, 11, 10, 11])
    truth = np.zeros((n, size, size), np.uint8)
    truth[:, 8:24, 8:24] = 1
    truth[2, 12:20, 12:20] = 2  # the most tumour: index 2
    truth[1, 14:16, 14:16] = 2
    images = {m: Slices(rng.uniform(0, 0.5, (n, size, size)), volumes, slices) for m in methods}
    labels = {
        m: {
            s: Slices(rng.integers(0, 3, (n, size, size)).astype(np.uint8), volumes, slices)
            for s in segmenters
        }
        for m in methods
    }
    return images, labels, Slices(truth, volumes, slices)


def example_per_slice(truth, held_out=HELD_OUT):
    """per_slice rows of example_data's slices."""
    per_slice = fake_per_slice(n_slices=4, held_out=held_out)
    per_slice["volume"] = np.repeat(np.tile(truth.volumes, 11), 1 + len(held_out))
    per_slice["slice"] = np.repeat(np.tile(truth.slices, 11), 1 + len(held_out))
    return per_slice


def example_scores_of(per_slice, volume, slice_):
    rows = per_slice[(per_slice["volume"] == volume) & (per_slice["slice"] == slice_)]
    return rows.set_index(["method", "segmenter"])


def image_panels(fig):
    return [ax for ax in fig.axes if ax.images]


def figure_paths(tmp_path):
    return {
        f"{name}_{ext}": tmp_path / f"{name}.{ext}"
        for name in ("fig2_sample", "fig3_reconstructions", "fig4_segmentations")
        for ext in ("png", "pdf")
    }


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


def test_figure_three_titles_give_image_metrics_and_dice_by_g_and_held_out():
    images, _, truth = example_data()
    per_slice = example_per_slice(truth)
    scores = example_scores(per_slice, 1, 10)
    fig3 = plot_reconstructions({m: s.images[2] for m, s in images.items()}, scores, "here")
    panels = image_panels(fig3)
    assert [ax.get_title().splitlines()[0] for ax in panels] == [
        method_label(m) for m in PAPER_ROWS
    ]
    rows = example_scores_of(per_slice, 1, 10)
    title = panels[PAPER_ROWS.index("task_a0.5")].get_title()
    g = rows.loc[("task_a0.5", "g")]
    held_out = np.mean([rows.loc[("task_a0.5", s), "dice"] for s in HELD_OUT])
    assert f"PSNR {g['psnr']:.2f} dB, SSIM {g['ssim']:.3f}" in title
    assert f"consistency {g['consistency']:.2f}" in title
    assert f"Dice by g {g['dice']:.3f}, held-out {held_out:.3f}" in title
    assert "PSNR" not in panels[-1].get_title(), "full dose: no PSNR"
    assert "consistency" in panels[-1].get_title()


def test_figure_four_shows_the_maps_by_g_and_by_a_held_out_segmenter():
    _, labels, truth = example_data()
    per_slice = example_per_slice(truth)
    fig4 = plot_segmentations(
        {m: {s: t.images[2] for s, t in sets.items()} for m, sets in labels.items()},
        truth.images[2],
        example_scores(per_slice, 1, 10),
        "",
    )
    panels = image_panels(fig4)
    assert len(panels) == 2 * len(PAPER_ROWS) + 1, "g and held_out_1 per method, and the truth"
    assert panels[-1].get_title().startswith("Ground truth")
    np.testing.assert_array_equal(panels[-1].images[0].get_array(), truth.images[2])
    base = 2 * PAPER_ROWS.index("base")
    np.testing.assert_array_equal(panels[base].images[0].get_array(), labels["base"]["g"].images[2])
    by_held_out = labels["base"]["held_out_1"].images[2]
    np.testing.assert_array_equal(panels[base + 1].images[0].get_array(), by_held_out)
    dice = example_scores_of(per_slice, 1, 10).loc[("base", "held_out_1"), "dice"]
    assert f"by held-out segmenter 1: Dice {dice:.3f}" in panels[base + 1].get_title()
    assert "by g: Dice" in panels[base].get_title()
    assert "held-out segmenter 1" in fig4.get_suptitle()


def test_slice_figures_without_held_out_segmenters(tmp_path):
    images, labels, truth = example_data(segmenters=("g",))
    per_slice = example_per_slice(truth, held_out=[])
    assert write_slice_figures(images, labels, truth, per_slice, paths=figure_paths(tmp_path)) == (
        1,
        10,
    )


def test_slice_figures_from_the_run_files(tmp_path):
    """Each method's images read where the workflow keeps them (full dose in the stores,
    low-dose and FBP in the simulations, BM3D per volume, a network in its test file)."""
    images, labels, truth = example_data()
    methods = list(images)
    files = {m: [] for m in methods}
    for volume in (0, 1):
        rows = truth.volumes == volume

        def with_first_slice(part, rows=rows):  # slice 9 is a training slice: in no test set
            return np.concatenate([np.zeros((1, 32, 32), part.dtype), part[rows]])

        stack = SliceStack(
            volume_id=volume,
            image=with_first_slice(images["fulldose"].images.astype(np.float32)),
            mask=with_first_slice(truth.images),
            slice_index=np.array([9, 10, 11], np.int32),
            spacing_mm=np.array([1.0, 1.0, 2.0]),
        )
        save_stack(stack, tmp_path / f"volume-{volume}.h5")
        files["fulldose"].append(tmp_path / f"volume-{volume}.h5")
        sim = SimulatedStack(
            volume,
            stack.slice_index,
            with_first_slice(images["lowdose"].images.astype(np.float32)),
            with_first_slice(images["fbp"].images.astype(np.float32)),
            n_views=10,
            extent_mm=100.0,
            frequency_scaling=1.0,
        )
        save_simulation(sim, tmp_path / f"sim/volume-{volume}.h5")
        files["lowdose"].append(tmp_path / f"sim/volume-{volume}.h5")
        files["fbp"].append(tmp_path / f"sim/volume-{volume}.h5")
        save_test_set(images["bm3d"].of_volume(volume), tmp_path / f"bm3d/volume-{volume}.h5")
        files["bm3d"].append(tmp_path / f"bm3d/volume-{volume}.h5")
    split = pd.DataFrame({"volume": [0, 0, 0, 1, 1, 1], "slice": [9, 10, 11] * 2})
    split["split"] = ["train", "test", "test"] * 2
    split.to_csv(tmp_path / "split.csv", index=False)
    stores = [tmp_path / "volume-1.h5", tmp_path / "volume-0.h5"]
    _, read_truth, _ = gather_ground_truth(stores, tmp_path / "split.csv")
    np.testing.assert_array_equal(read_truth.images, truth.images)
    assert read_truth.lines_up_with(truth)
    for method in methods:
        if not files[method]:
            save_test_set(images[method], tmp_path / f"{method}.h5")
            files[method].append(tmp_path / f"{method}.h5")
        save_label_sets(labels[method], tmp_path / f"{method}.labels.h5")
        shown = TestImages(method, tuple(map(str, files[method])), str(tmp_path / "split.csv"))
        np.testing.assert_allclose(
            concatenate(list(shown)).images, images[method].images, rtol=1e-6, atol=0
        )
    example_per_slice(truth).to_csv(tmp_path / "per_slice.csv", index=False)
    paths = figure_paths(tmp_path)
    for example, expected in [((0, 11), (0, 11)), ((None, None), (1, 10))]:  # most tumour
        where = slice_figures_from_files(
            methods,
            image_files=files,
            label_paths=[tmp_path / f"{m}.labels.h5" for m in methods],
            store_paths=stores,
            split_path=tmp_path / "split.csv",
            per_slice_path=tmp_path / "per_slice.csv",
            paths=paths,
            example=example,
        )
        assert where == expected
    for path in paths.values():
        head = path.read_bytes()[:8]
        assert head.startswith(b"\x89PNG" if path.suffix == ".png" else b"%PDF")


def test_slice_figures_refuse_label_maps_of_other_slices(tmp_path):
    images, labels, truth = example_data()
    other = labels["fbp"]["held_out_1"]
    labels["fbp"]["held_out_1"] = Slices(other.images, other.volumes, other.slices[::-1])
    with pytest.raises(ValueError, match="fbp labels by held_out_1: test slices do not line up"):
        write_slice_figures(
            images, labels, truth, example_per_slice(truth), paths=figure_paths(tmp_path)
        )


def errorbar_line(ax, label):
    container = next(c for c in ax.containers if c.get_label() == label)
    line = container.lines[0]
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def test_alpha_tradeoff_draws_dice_by_g_and_by_the_held_out_segmenters():
    methods = [*PAPER_ROWS[:-1], "task_a0.5_ensemble", "fulldose"]
    per_slice = fake_per_slice(methods=methods)
    fig = plot_alpha_tradeoff(per_slice)
    psnr_axis, dice_axis, consistency_axis = fig.axes[:3]
    g_means = by_g(per_slice).groupby("method")[["psnr", "dice", "consistency"]].mean()
    held_out = held_out_per_slice(per_slice).groupby("method")["dice"].mean()
    task = ["base", "task_a0.1", "task_a0.5", "task_a0.9"]

    x, y = errorbar_line(dice_axis, "Task-adaptive (α), by g")
    assert x.tolist() == [0.0, 0.1, 0.5, 0.9]
    np.testing.assert_allclose(y, g_means.loc[task, "dice"])
    x, y = errorbar_line(dice_axis, "Task-adaptive (α), held-out")
    assert x.tolist() == [0.0, 0.1, 0.5, 0.9]
    np.testing.assert_allclose(y, held_out[task])
    assert container_style(dice_axis, "Task-adaptive (α), held-out") == "--"
    assert container_style(dice_axis, "Task-adaptive (α), by g") == "-"

    x, y = errorbar_line(dice_axis, "Task-adaptive (α), segmenter ensemble, held-out")
    assert x.tolist() == [0.0, 0.5], "the base U-Net is weight 0 of every family"
    np.testing.assert_allclose(y, held_out[["base", "task_a0.5_ensemble"]])
    assert not [c for c in dice_axis.containers if "robust" in c.get_label()], "absent variant"

    joint = ["base", "joint_c0.1", "joint_c0.5", "joint_c0.9"]
    _, y = errorbar_line(psnr_axis, "Joint training (C)")
    np.testing.assert_allclose(y, g_means.loc[joint, "psnr"])
    _, y = errorbar_line(consistency_axis, "Joint training (C)")
    np.testing.assert_allclose(y, g_means.loc[joint, "consistency"])
    assert consistency_axis.get_yscale() == "log"
    bm3d = [line for line in psnr_axis.lines if line.get_label() == "BM3D"]
    assert bm3d and bm3d[0].get_ydata()[0] == pytest.approx(g_means.loc["bm3d", "psnr"])
    fulldose = [line for line in consistency_axis.lines if line.get_label() == "Full-dose"]
    assert fulldose[0].get_ydata()[0] == pytest.approx(g_means.loc["fulldose", "consistency"])


def container_style(ax, label):
    container = next(c for c in ax.containers if c.get_label() == label)
    return container.lines[0].get_linestyle()


def test_alpha_tradeoff_without_held_out_segmenters_draws_g_only():
    fig = plot_alpha_tradeoff(fake_per_slice(held_out=[]))
    labels = [c.get_label() for c in fig.axes[1].containers]
    assert "Task-adaptive (α), by g" in labels and not any("held-out" in n for n in labels)


def test_metric_correlations_count_each_slice_once():
    per_slice = fake_per_slice()
    table = metric_correlations(per_slice)
    assert "fulldose" not in set(table["method"]), "no PSNR for the full dose"
    assert set(table["pixel_metric"]) == {"psnr", "ssim", "consistency"}
    images = by_g(per_slice).query("method != 'fulldose'")
    rows = table.set_index(["method", "pixel_metric", "anatomy_metric"])
    assert rows.loc[("all", "psnr", "dice"), "n"] == 10 * 12, "one pair per slice"
    overall = spearmanr(images["psnr"], images["dice"]).statistic
    assert rows.loc[("all", "psnr", "dice"), "spearman_rho"] == pytest.approx(overall)
    overall = spearmanr(images["consistency"], images["nsd_liver"]).statistic
    assert rows.loc[("all", "consistency", "nsd_liver"), "spearman_rho"] == pytest.approx(overall)
    fbp = images[images["method"] == "fbp"].dropna(subset=["nsd_tumor"])
    expected = spearmanr(fbp["ssim"], fbp["nsd_tumor"]).statistic
    assert rows.loc[("fbp", "ssim", "nsd_tumor"), "spearman_rho"] == pytest.approx(expected)
    assert rows.loc[("fbp", "ssim", "nsd_tumor"), "n"] == 8
    fig = plot_metric_correlation(per_slice, table)
    scatter = [ax for ax in fig.axes if ax.get_title().startswith("all methods")]
    assert len(scatter) == 4 and all(len(ax.collections) == 10 for ax in scatter)
    assert all(len(c.get_offsets()) == 12 for c in scatter[0].collections)


def test_training_curves_one_panel_per_model_segmenters_first():
    history = pd.DataFrame(
        {"epoch": [1, 2, 3], "train_loss": [1, 0.5, 0.3], "val_loss": [1, 0.6, 0.5]}
    )
    reconstruction = history.assign(val_psnr=[20, 25, 27])
    histories = {"task_a0.5": reconstruction, "robust": history, "base": reconstruction}
    histories |= {"held_out_2": history, "ensemble_1": history, "segmentation": history}
    histories |= {"held_out_1": history, "task_a0.5_noise": reconstruction}
    fig = plot_training_curves(histories)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [
        "Segmenter g (pre-trained, frozen)",
        "Held-out segmenter 1",
        "Held-out segmenter 2",
        "Ensemble segmenter 1",
        "Robust segmenter",
        "Base U-Net",
        "Task-adaptive α=0.5",
        "Task-adaptive α=0.5, noise before g",
    ]


def fake_per_volume(per_slice: pd.DataFrame, not_contiguous=(1,)) -> pd.DataFrame:
    """per_volume.csv rows from the fake per-slice rows: each volume's mean as its 3-D value,
    empty for the volumes in ``not_contiguous``."""
    keys = ["method", "segmenter", "volume"]
    rows = per_slice.groupby(keys, sort=False)[list(CLASS_METRIC_COLUMNS)].mean().reset_index()
    rows.insert(3, "n_slices", per_slice.groupby(keys, sort=False).size().to_numpy())
    rows.insert(4, "contiguous", ~rows["volume"].isin(not_contiguous))
    rows.loc[~rows["contiguous"], list(CLASS_METRIC_COLUMNS)] = np.nan
    return rows[list(PER_VOLUME_COLUMNS)]


def test_volume_table_medians_over_volumes_and_skipped_volumes_said(tmp_path):
    per_slice = fake_per_slice(n_slices=30)  # volumes 0-4, six slices each
    per_volume = fake_per_volume(per_slice)
    per_slice.to_csv(tmp_path / "per_slice.csv", index=False)
    per_volume.to_csv(tmp_path / "per_volume.csv", index=False)
    tables = write_tables(
        tmp_path / "per_slice.csv", tmp_path, per_volume_path=tmp_path / "per_volume.csv"
    )
    cells = tables["table3_anatomy_3d"].set_index(["method", "segmenter", "structure", "metric"])
    g = by_g(per_volume).query("method == 'fbp'")["nsd_liver"].dropna()
    assert len(g) == 4, "volume 1 is left out"
    assert cells.loc[("fbp", "g", "liver", "nsd"), "n"] == 4
    assert cells.loc[("fbp", "g", "liver", "nsd"), "median"] == pytest.approx(np.median(g))
    held = per_volume[per_volume["segmenter"] != "g"].query("method == 'fbp'")
    held_mean = held.groupby("volume")["cldice_liver"].mean().dropna()
    cell = cells.loc[("fbp", "held_out", "liver", "cldice")]
    assert cell["median"] == pytest.approx(np.median(held_mean))
    caption = (tmp_path / "table3_anatomy_3d.md").read_text().splitlines()[0]
    assert caption.startswith("**Table III (3-D).")
    assert "1 of 5 test volumes left out: their test slices are not contiguous" in caption
    assert len((tmp_path / "table3_anatomy_3d.md").read_text().splitlines()) == 4 + 2 * len(
        PAPER_ROWS
    )
