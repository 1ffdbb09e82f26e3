"""The data stage through the real workflow on the built-in phantom."""

import filecmp
import json

import h5py
import matplotlib.pyplot as plt
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import torch

from browser import chromium_page
from conftest import (
    TINY_PHANTOM,
    planned_jobs,
    run_workflow,
    tiny_phantom_config,
    write_config,
)
from tact.data.slices import load_stack
from tact.metrics.lesions import truth_lesions
from tact.per_slice import PER_LESION_COLUMNS, PER_SLICE_COLUMNS, SEGMENTATION_COLUMNS
from tact.roi import circular_roi
from tact.simulated_data import load_measurements, load_simulation
from tact.test_sets import load_test_set
from tact.training import load_state_dict

SIMULATED = [f"results/test/sim/volume-{vid}.h5" for vid in range(3)]


def phantom_run(workdir, first_target=None, targets=(), **phantom):
    """The shared run's config (tests/conftest.py) in another directory, from this checkout."""
    config = tiny_phantom_config(workdir / "c.yaml", phantom=phantom)
    if first_target:  # build one target alone first: job order must not matter
        run_workflow(workdir, config, first_target, check=True)
    run_workflow(workdir, config, *targets, check=True)
    return workdir / "results/test"


@pytest.mark.slow
def test_phantom_run_is_complete_and_seeded(complete_phantom_run, tmp_path):
    run = complete_phantom_run
    results, config = run.results, run.config("base")
    phantom = results / "phantom"
    names = sorted(p.name for p in phantom.iterdir())
    assert names == [f"{k}-{i}.nii" for k in ("segmentation", "volume") for i in range(3)]

    split = pd.read_csv(results / "data/split.csv")
    assert set(split["split"]) == {"train", "test"}
    assert (split.groupby("volume")["split"].nunique() == 1).all()
    for vid in range(3):
        labels = np.asanyarray(nib.load(phantom / f"segmentation-{vid}.nii").dataobj)
        stack = load_stack(results / f"data/slices/volume-{vid}.h5")
        assert len(stack) == labels.reshape(-1, labels.shape[2]).any(axis=0).sum()
        assert 0 < len(stack) < TINY_PHANTOM["n_slices"], "some slices are liver-free, most are not"
        assert stack.image.shape[1:] == (64, 64)

    # nothing left to do after a complete run
    summary = run.snakemake(config, "--summary")
    plans = {line.split("\t")[-1] for line in summary.strip().splitlines()[1:]}
    assert plans == {"no update"}

    # trainings: every model loads as plain tensors, every history has a row per epoch
    for method in ["segmentation", "held_out_1", "held_out_2", "base", "task_a0.5", "joint_c0.5"]:
        state = load_state_dict(results / f"models/{method}.pt")
        assert state and all(torch.is_tensor(v) for v in state.values())
        history = pd.read_csv(results / f"training/{method}.csv")
        assert history["epoch"].tolist() == [1, 2] and history["val_loss"].notna().all()
    assert not list((results / "checkpoints").glob("*.ckpt")), "checkpoints removed when done"

    # evaluation: the BM3D sweep's table, every method on every test slice by every segmenter
    sweep = pd.read_csv(results / "baselines/bm3d_sweep.csv")
    assert sweep["sigma_psd"].tolist() == [0.02, 0.1] and sweep["chosen"].sum() == 1
    per_slice = pd.read_csv(results / "metrics/per_slice.csv")
    assert tuple(per_slice.columns) == PER_SLICE_COLUMNS
    methods = ["lowdose", "fbp", "bm3d", "base", "joint_c0.5", "task_a0.5", "fulldose"]
    assert per_slice["method"].unique().tolist() == methods
    assert per_slice["segmenter"].unique().tolist() == ["g", "held_out_1", "held_out_2"]
    n_test = (split["split"] == "test").sum()
    assert (per_slice.groupby(["method", "segmenter"]).size() == n_test).all()
    assert len(per_slice) == len(methods) * 3 * n_test
    images = per_slice[per_slice["method"] != "fulldose"]
    assert np.isfinite(images[["psnr", "ssim", "consistency"]]).all().all()
    assert per_slice[per_slice["method"] == "fulldose"][["psnr", "ssim"]].isna().all().all()
    # image metrics do not depend on the segmenter; segmentations do
    image_columns = per_slice.pivot_table(
        index=["method", "volume", "slice"], columns="segmenter", values="consistency"
    )
    assert (image_columns.nunique(axis=1) == 1).all()
    # the full dose agrees with its own measured counts to the noise (about 1)
    fulldose = per_slice[(per_slice["method"] == "fulldose") & (per_slice["segmenter"] == "g")]
    assert fulldose["consistency"].between(0.9, 1.1).all(), fulldose["consistency"]
    # the held-out segmenters are separate networks: other weights than g's and each other's
    weights = [
        load_state_dict(results / f"models/{m}.pt")
        for m in ("segmentation", "held_out_1", "held_out_2")
    ]
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert any(not torch.equal(weights[a][k], weights[b][k]) for k in weights[a])
    assert per_slice["dice"].between(0, 1).all()
    for column in SEGMENTATION_COLUMNS[1:]:  # per class, after the paper's Dice
        values = per_slice[column]
        assert values.dropna().between(0, 1).all(), column
    # NaN only where the structure is absent from both masks: never for liver (every slice has it)
    assert per_slice["dice_liver"].notna().all()

    # the HTML report holds the data figure and table with their captions
    report = tmp_path / "report.html"
    run.snakemake(config, "--report", str(report))
    html = report.read_text()
    assert "data_overview.png" in html and "data_summary.csv" in html
    assert "abdominal window (level 40 HU" in html

    # simulation: aligned with the slice store, constant outside the ROI, a quality table
    roi = circular_roi(64)
    for vid in range(3):
        sim = load_simulation(results / f"sim/volume-{vid}.h5")
        stack = load_stack(results / f"data/slices/volume-{vid}.h5")
        assert sim.slice_index.tolist() == stack.slice_index.tolist() and sim.n_views == 200
        assert np.all(np.isfinite(sim.lowdose)) and np.all(sim.lowdose[:, ~roi] == 0.0)
        assert sim.sinogram is None
        test_slices = split.loc[(split["volume"] == vid) & (split["split"] == "test"), "slice"]
        assert sim.fbp_slice_index.tolist() == sorted(test_slices)  # FBP kept for test slices
        assert len(sim.fbp) == len(test_slices)
    tuned = json.loads((results / "physics/fbp_scaling.json").read_text())
    assert 0 < tuned["frequency_scaling"] <= 1 and tuned["n_slices"] == 3
    quality = pd.read_csv(results / "tables/simulation_quality.csv")
    by_method = quality.groupby("method")["split"]
    assert by_method.size().to_dict() == {
        "lowdose": len(split),
        "fbp": (split["split"] == "test").sum(),
    }
    assert set(by_method.get_group("fbp")) == {"test"}
    assert quality["psnr"].between(15, 60).all() and quality["ssim"].between(0, 1).all()

    # same seed in another directory, volume 2 simulated first: identical phantom, measurements,
    # trained networks and Base U-Net test images (every randomness of the chain: noise,
    # initialisation, batches; segmentation and metrics are deterministic functions of these);
    # another seed: other anatomy and other measurements (so other everything after them)
    base_images = "results/test/test/base.h5"
    g_model = "results/test/models/segmentation.pt"
    same = phantom_run(tmp_path / "b", SIMULATED[2], targets=[base_images, g_model])
    other = phantom_run(tmp_path / "c", targets=SIMULATED[:1], seed=99)
    for name in names:
        assert filecmp.cmp(phantom / name, same / "phantom" / name, shallow=False), name
    for vid in range(3):
        a = load_simulation(results / f"sim/volume-{vid}.h5")
        b = load_simulation(same / f"sim/volume-{vid}.h5")
        np.testing.assert_array_equal(a.lowdose, b.lowdose)
        np.testing.assert_array_equal(a.fbp, b.fbp)
        counts = [load_measurements(r / f"sim/volume-{vid}.counts.npz") for r in (results, same)]
        np.testing.assert_array_equal(counts[0].counts, counts[1].counts)
        assert counts[0].slice_index.tolist() == a.fbp_slice_index.tolist()  # test slices
    for model in ("segmentation", "base"):
        ours, twin = (load_state_dict(r / f"models/{model}.pt") for r in (results, same))
        assert all(torch.equal(ours[k], twin[k]) for k in ours), model
    ours, twin = (load_test_set(r.parent.parent / base_images) for r in (results, same))
    np.testing.assert_array_equal(ours.images, twin.images)
    first = np.asanyarray(nib.load(phantom / "segmentation-0.nii").dataobj)
    changed = np.asanyarray(nib.load(other / "phantom/segmentation-0.nii").dataobj)
    assert first.shape == changed.shape and not np.array_equal(first, changed)
    other_lowdose = load_simulation(other / "sim/volume-0.h5").lowdose
    ours_lowdose = load_simulation(results / "sim/volume-0.h5").lowdose
    assert other_lowdose.shape[1:] == ours_lowdose.shape[1:]
    assert not np.array_equal(other_lowdose[0], ours_lowdose[0])


METHODS = ["lowdose", "fbp", "bm3d", "base", "joint_c0.5", "task_a0.5", "fulldose"]
FIGURES = {
    "fig2_sample": "Figure 2: a sample",
    "fig3_reconstructions": "Figure 3: reconstructions",
    "fig4_segmentations": "Figure 4: segmentations",
    "alpha_tradeoff": "Figure S1: task weight sweep",
    "metric_correlation": "Figure S2: pixel metrics vs anatomy",
    "lesion_recall_by_size": "Figure S3: lesion recall by size",
    "detectability": "Figure S4: lesion detectability",
}
TABLES = {
    "table1_pixel": "Table I: PSNR, SSIM",
    "table2_dice": "Table II: Dice",
    "table3_anatomy_3d": "Table III (3-D): anatomy-aware metrics per volume",
    "table3_anatomy": "Table III: anatomy-aware metrics",
    "table4_observers": "Table IV: lesion detectability",
    "metric_correlation": "Table S1: Spearman correlations",
    "table5_lesions": "Table V: lesion-wise detection",
}


def example_slice(results):
    """The test slice with the most tumour, computed here from the slice stores and split."""
    split = pd.read_csv(results / "data/split.csv")
    best = (-1, None)
    for vid in split.loc[split["split"] == "test", "volume"].unique():
        stack = load_stack(results / f"data/slices/volume-{vid}.h5")
        tested = split[(split["volume"] == vid) & (split["split"] == "test")]["slice"]
        for k, slice_index in enumerate(stack.slice_index):
            tumour = int((stack.mask[k] == 2).sum())
            if slice_index in set(tested) and tumour > best[0]:
                best = (tumour, (int(vid), int(slice_index)))
    return best[1]


@pytest.mark.slow
def test_tables_and_figures_are_made_from_per_slice(complete_phantom_run):
    results = complete_phantom_run.results
    per_slice = pd.read_csv(results / "metrics/per_slice.csv")
    by_g = per_slice[per_slice["segmenter"] == "g"]
    grouped = by_g.groupby("method")
    images = METHODS[:-1]  # the full dose has no PSNR row

    table1 = pd.read_csv(results / "tables/table1_pixel.csv")
    assert table1["method"].tolist() == images
    assert "paper_psnr_mean" not in table1, "the paper's numbers only beside a LiTS run"
    np.testing.assert_allclose(table1["psnr_mean"], grouped["psnr"].mean()[images])
    np.testing.assert_allclose(table1["psnr_std"], grouped["psnr"].std()[images])
    np.testing.assert_allclose(table1["ssim_mean"], grouped["ssim"].mean()[images])
    np.testing.assert_allclose(table1["consistency_mean"], grouped["consistency"].mean()[images])
    assert table1["n"].tolist() == grouped.size()[images].tolist()
    table2 = pd.read_csv(results / "tables/table2_dice.csv")
    assert table2["method"].tolist() == METHODS
    np.testing.assert_allclose(table2["dice_mean"], grouped["dice"].mean()[METHODS])
    np.testing.assert_allclose(table2["dice_std"], grouped["dice"].std()[METHODS])
    held_out = per_slice[per_slice["segmenter"] != "g"]
    per_slice_mean = held_out.groupby(["method", "volume", "slice"])["dice"].mean()
    held_out_mean = per_slice_mean.groupby("method").mean()[METHODS]
    np.testing.assert_allclose(table2["dice_held_out_mean"], held_out_mean)
    np.testing.assert_allclose(table2["gap"], table2["dice_mean"] - held_out_mean.to_numpy())
    assert (table2["n_held_out"] == 2).all()
    table3 = pd.read_csv(results / "tables/table3_anatomy.csv")
    assert set(table3["segmenter"]) == {"g", "held_out"}
    nsd = table3[
        (table3["structure"] == "liver")
        & (table3["metric"] == "nsd")
        & (table3["segmenter"] == "g")
    ]
    assert nsd["method"].tolist() == METHODS
    np.testing.assert_allclose(nsd["median"], grouped["nsd_liver"].median()[METHODS])
    assert nsd["p_vs_base"].isna().tolist() == [m == "base" for m in METHODS]
    per_volume = pd.read_csv(results / "metrics/per_volume.csv")
    test_slices = per_slice.groupby(["method", "segmenter", "volume"]).size()
    counted = per_volume.set_index(["method", "segmenter", "volume"])["n_slices"]
    pd.testing.assert_series_equal(
        counted.sort_index(), test_slices.sort_index(), check_names=False
    )
    assert per_volume["contiguous"].all(), "a volume-level split keeps each volume's slices"
    table3d = pd.read_csv(results / "tables/table3_anatomy_3d.csv")
    dice3d = table3d.query("structure == 'liver' and metric == 'dice' and segmenter == 'g'")
    g_volumes = per_volume[per_volume["segmenter"] == "g"].groupby("method")["dice_liver"]
    np.testing.assert_allclose(dice3d["median"], g_volumes.median()[METHODS])

    check_lesion_detection(results, per_volume)

    # the captions of Tables I and II say how the baselines' rows were made, from the run's files
    sigma = json.loads((results / "baselines/bm3d_sigma.json").read_text())["sigma_psd"]
    fbp = json.loads((results / "physics/fbp_scaling.json").read_text())
    readings = (
        f"FBP: {fbp['filter']} filter, frequency scaling {fbp['frequency_scaling']:.3g} (tuned "
        f"for PSNR on training slices); BM3D: sigma_psd {sigma:.3g} (the paper's sweep on "
        "training slices)"
    )
    for name in ("table1_pixel", "table2_dice"):
        assert readings in (results / f"tables/{name}.md").read_text().splitlines()[0], name
    markdown = (results / "tables/table1_pixel.md").read_text().splitlines()
    rows = [line for line in markdown if line.startswith("| ") and not line.startswith("| Method")]
    assert [line.split(" | ")[0].lstrip("| ") for line in rows] == table1["label"].tolist()
    latex = (results / "tables/table2_dice.tex").read_text()
    assert r"Task-adaptive $\alpha=0.5$" in latex and latex.count(r" \\") == 1 + len(METHODS)

    for name in [*FIGURES, "training_curves"]:
        png = plt.imread(results / f"figures/{name}.png")
        assert png.ndim == 3 and min(png.shape[:2]) > 300, name
        assert (results / f"figures/{name}.pdf").read_bytes().startswith(b"%PDF"), name
        assert png[..., :3].std() > 0.05, f"{name} is not blank"
    volume, slice_ = example_slice(results)
    log = (results / "logs/report/slice_figures.log").read_text()
    assert f"example slice: volume {volume}, slice {slice_}" in log


def check_lesion_detection(results, per_volume):
    """per_lesion.csv holds the same true lesions, as many as the test volumes' masks hold, for
    every method and segmenter; the IoU decides each detection; Table V's counts are the
    CSV's, g's and the held-out segmenters' pooled."""
    per_lesion = pd.read_csv(results / "metrics/per_lesion.csv")
    assert tuple(per_lesion.columns) == PER_LESION_COLUMNS
    split = pd.read_csv(results / "data/split.csv")
    expected = {}
    for vid in split.loc[split["split"] == "test", "volume"].unique():
        stack = load_stack(results / f"data/slices/volume-{vid}.h5")
        expected[int(vid)] = truth_lesions(stack.mask[np.argsort(stack.slice_index)] == 2)[1]
    assert sum(expected.values()) > 0, "the phantom's test volumes hold tumours"
    lesions = per_lesion[per_lesion["kind"] == "lesion"]
    counted = lesions.groupby(["method", "segmenter", "volume"]).size()
    with_tumour = per_volume["volume"].map(expected) > 0
    assert len(counted) == with_tumour.sum()  # each method and segmenter, each such volume
    assert (counted == counted.index.get_level_values("volume").map(expected)).all()
    sizes = lesions.groupby(["method", "segmenter"])["diameter_mm"].apply(sorted)
    assert sizes.map(tuple).nunique() == 1 and min(sizes.iloc[0]) > 0
    detected = lesions["detected"].astype(bool)
    assert (lesions.loc[detected, "iou"] > 0.5).all()
    assert (lesions.loc[~detected, "iou"] <= 0.5).all()
    assert (per_lesion.loc[per_lesion["kind"] == "false_positive", "iou"] <= 0.5).all()
    table = pd.read_csv(results / "tables/table5_lesions.csv")
    assert table["method"].tolist() == [m for m in METHODS for _ in (0, 1)]
    assert table["segmenter"].tolist() == ["g", "held_out"] * len(METHODS)
    group = np.where(per_lesion["segmenter"] == "g", "g", "held_out")
    by_group = per_lesion.assign(segmenter=group, detected=per_lesion["detected"].eq(True))
    found = by_group.groupby(["method", "segmenter"]).agg(
        lesions=("kind", lambda k: (k == "lesion").sum()),
        detected=("detected", "sum"),
        false_positives=("kind", lambda k: (k == "false_positive").sum()),
    )
    ours = table.set_index(["method", "segmenter"])
    for column in ("lesions", "detected", "false_positives"):
        assert ours[column].to_dict() == found[column].to_dict(), column
    np.testing.assert_allclose(ours["recall"], ours["detected"] / ours["lesions"])
    for column in ("recall", "precision", "f1"):
        assert ours[column].dropna().between(0, 1).all(), column
    markdown = (results / "tables/table5_lesions.md").read_text()
    assert "IoU above 0.5" in markdown and "no paper column" in markdown


@pytest.mark.slow
def test_table_iv_scores_every_method_on_the_lesion_study(complete_phantom_run):
    """Table IV holds each method's observer results for every lesion setting (AUC inside
    its interval, full dose at least low dose's AUC), compared with the Base U-Net's; the
    lesion images are kept, compressed."""
    results = complete_phantom_run.results
    table = pd.read_csv(results / "tables/table4_observers.csv")
    observers, settings = ["CHO", "NPWE"], ["12mm_20HU", "12mm_60HU"]
    assert table["observer"].tolist() == [o for o in observers for _ in METHODS for _ in settings]
    assert table["method"].tolist() == [m for _ in observers for m in METHODS for _ in settings]
    assert table["setting"].tolist() == settings * len(METHODS) * len(observers)
    keys = ["observer", "setting"]
    for method in METHODS:
        own = pd.read_csv(results / f"observers/per_method/{method}.csv")
        mine = table[table["method"] == method].drop(columns="vs_base")
        pd.testing.assert_frame_equal(
            own.sort_values(keys).reset_index(drop=True),
            mine.sort_values(keys).reset_index(drop=True),
        )
    assert (table["realisations"] == 12).all()
    assert (table["auc_low"] <= table["auc"]).all() and (table["auc"] <= table["auc_high"]).all()
    auc = table.set_index(["observer", "method", "setting"])["auc"].sort_index()
    for observer in observers:
        assert (auc[observer, "fulldose"] >= auc[observer, "lowdose"]).all()
    vs_base = table.set_index("method")["vs_base"].fillna("")
    assert set(vs_base.drop("base")) <= {"above", "below", "overlaps"}
    assert (vs_base["base"] == "").all()
    with h5py.File(results / "observers/lesion_images.h5") as images:
        assert images["12mm_20HU/lowdose"].shape == (2, 12, 64, 64)
        assert images["12mm_20HU/lowdose"].compression == "gzip"  # lossless, and kept
    markdown = (results / "tables/table4_observers.md").read_text()
    assert "channelized Hotelling observer" in markdown and "d'" in markdown
    assert "non-prewhitening observer with an eye filter" in markdown


@pytest.mark.slow
def test_html_report_renders_in_chromium(complete_phantom_run, tmp_path):
    """The report opens in a real browser, with every table and figure in it."""
    run = complete_phantom_run
    results = run.results
    report = tmp_path / "report.html"
    run.snakemake(run.config("base"), "--report", str(report))
    tables = {name: pd.read_csv(results / f"tables/{name}.csv") for name in TABLES}

    with chromium_page() as page:
        page.goto(report.as_uri())
        page.get_by_text("Tables", exact=True).click()
        listed = [entry.strip() for entry in page.locator("nav tr").all_inner_texts()[1:]]
        assert listed == list(TABLES.values())
        shown = {}
        for name, label in TABLES.items():
            page.locator("tr", has_text=label).locator("a[iconname=eye]").click()
            rows = page.frame_locator("iframe").locator("tbody tr")
            rows.first.wait_for()
            shown[name] = [row.split("\t") for row in rows.all_inner_texts()]
        assert [row[0] for row in shown["table1_pixel"]] == tables["table1_pixel"]["label"].tolist()
        base = tables["table1_pixel"].set_index("method").loc["base"]
        assert shown["table1_pixel"][3][1] == f"{base['psnr_mean']:.2f} ± {base['psnr_std']:.2f}"
        assert [row[0] for row in shown["table2_dice"]] == tables["table2_dice"]["label"].tolist()
        assert len(shown["table3_anatomy"]) == 2 * len(METHODS)  # by g and by the held-out
        assert len(shown["table3_anatomy_3d"]) == 2 * len(METHODS)
        assert len(shown["table5_lesions"]) == 2 * len(METHODS)
        assert len(shown["table4_observers"]) == 2 * len(METHODS)  # CHO, NPWE; one diameter
        assert len(shown["metric_correlation"]) == len(tables["metric_correlation"])

        page.get_by_text("Results", exact=True).click()
        page.get_by_text("Figures", exact=True).click()
        for name, label in FIGURES.items():
            page.locator("tr", has_text=label).locator("a[iconname=eye]").click()
            width = page.wait_for_function(
                """name => {
                    const img = document.querySelector(`img[src*="filename=${name}.png"]`);
                    return img && img.complete && img.naturalWidth;
                }""",
                arg=name,
            ).json_value()
            assert width == plt.imread(results / f"figures/{name}.png").shape[1], name
        page.screenshot(path=tmp_path / "report.png")
    assert plt.imread(tmp_path / "report.png").shape[:2] == (950, 1500)


def test_no_training_reads_a_held_out_segmenter(tmp_path):
    """Checked on the planned DAG: the held-out models feed the segmentation of the test
    images and nothing else, whatever defences and joint settings the run has."""
    config = write_config(
        tmp_path / "c.yaml",
        data={"source": "phantom", "image_size": 64},
        phantom={**TINY_PHANTOM},
        task_adaptive={"alphas": [0.1, 0.5], "defences": ["none", "ensemble", "robust", "noise"]},
        joint={"cs": [0.5], "segmenter_init": "pretrained"},
        evaluation={"held_out_segmenters": 2},
    )
    plan = run_workflow(tmp_path, config, "--dry-run", "--forceall", "all", check=True)
    jobs = planned_jobs(plan.stdout)
    models = "results/test/models"
    held_out = {f"{models}/held_out_1.pt", f"{models}/held_out_2.pt"}
    assert {j.rule for j in jobs if j.outputs & held_out} == {"train_segmentation"}
    assert {j.rule for j in jobs if j.inputs & held_out} == {"segment", "all"}
    trainings = [j for j in jobs if j.rule.startswith("train_")]
    assert len(trainings) == 3 + 2 + 1 + 1 + 1 + 8  # g, held-out, ensemble, robust; networks
    assert not any(j.inputs & held_out for j in trainings)
    # the check sees model inputs where they exist: the defences' segmenters reach their trainings
    ensemble = next(j for j in jobs if f"{models}/task_a0.5_ensemble.pt" in j.outputs)
    members = {f"{models}/{m}.pt" for m in ("segmentation", "ensemble_1", "ensemble_2")}
    assert {p for p in ensemble.inputs if p.startswith(models)} == members
    robust = next(j for j in jobs if f"{models}/task_a0.5_robust.pt" in j.outputs)
    assert {p for p in robust.inputs if p.startswith(models)} == {f"{models}/robust.pt"}
    segment = next(j for j in jobs if "results/test/test/base.labels.h5" in j.outputs)
    assert {p for p in segment.inputs if p.startswith(models)} == {
        f"{models}/segmentation.pt",
        *held_out,
    }
