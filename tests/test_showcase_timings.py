"""The showcase's per-stage wall times come from the Snakemake log, and its docs from one run."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "docs/scripts"

LOG = """Assuming unrestricted shared filesystem usage.
[Sat Nov 21 16:00:00 2026]
localrule phantom:
    output: results/x/phantom/volume-0.nii
    jobid: 3
    wildcards: vid=0
[Sat Nov 21 16:00:01 2026]
rule phantom:
    output: results/x/phantom/volume-1.nii
    jobid: 4
[Sat Nov 21 16:00:05 2026]
Finished jobid: 3 (Rule: phantom)
1 of 3 steps (33%) done
[Sat Nov 21 16:00:09 2026]
Finished jobid: 4 (Rule: phantom)
[Sat Nov 21 16:00:09 2026]
rule train_reconstruction:
    jobid: 7
[Sat Nov 21 16:01:39 2026]
Finished jobid: 7 (Rule: train_reconstruction)
"""


def load_script(name: str = "showcase_timings"):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_table_from_a_snakemake_log(tmp_path):
    timings = load_script()
    log = tmp_path / "run.snakemake.log"
    log.write_text(LOG)
    jobs = timings.job_times(log)
    assert {j: job["rule"] for j, job in jobs.items()} == {
        3: "phantom",
        4: "phantom",
        7: "train_reconstruction",
    }
    table = timings.stage_table(jobs).splitlines()
    # phantom: 2 jobs of 5 s and 8 s, from 0:00 to 0:09; training 90 s from 0:09 to 1:39
    assert table[2] == "| phantom | 2 | 13 | 8 | 0:00 | 0:09 |"
    assert table[3] == "| train_reconstruction | 1 | 90 | 90 | 0:09 | 1:39 |"
    assert table[-1] == "Whole run: 1 min 39 s from the first job's start."


def finished_run(root: Path) -> Path:
    """A run folder holding what a finished showcase run writes (contents are placeholders)."""
    run = root / "results/showcase"
    for relative in [
        *(
            f"tables/{t}.{e}"
            for t in ("table1_pixel", "table2_dice", "table3_anatomy")
            for e in ("md", "csv")
        ),
        "tables/metric_correlation.csv",
        "tables/data_summary.csv",
        "tables/environment.json",
        "tables/table1_pixel.tex",
        "tables/table4_observers.md",
        "metrics/per_volume.csv",
        "figures/fig3_reconstructions.png",
        "figures/fig3_reconstructions.pdf",
        "training/base.csv",
        "models/base.pt",
    ]:
        (run / relative).parent.mkdir(parents=True, exist_ok=True)
        (run / relative).write_text(relative)
    (run / "tables/table4_observers.csv").write_text(
        "method,observer,setting,auc,auc_low,auc_high,vs_base\nbase,CHO,10mm_20HU,0.7,0.6,0.8,\n"
    )
    # a base network still rising: 45 epochs, its best validation PSNR 1 dB higher in the last
    # 20 epochs than in the 20 before; a segmenter stopped 2 epochs after its best
    epochs = pd.Series(range(1, 46))
    pd.DataFrame(
        {
            "epoch": epochs,
            "lr": 0.001,
            "val_loss": 1.0 / epochs,
            "val_psnr": 30 + (epochs >= 26) * 1.0 + (epochs == 3) * 5.0,
        }
    ).to_csv(run / "training/base.csv", index=False)
    pd.DataFrame({"epoch": [1, 2, 3], "lr": 5e-4, "val_loss": [0.5, 0.4, 0.45]}).to_csv(
        run / "training/segmentation.csv", index=False
    )
    # slice 0 holds no tumour, slice 1 does; the base network's images make the segmenter
    # invent a tumour on slice 0 (tumour Dice 0 instead of empty)
    (run / "metrics").mkdir(exist_ok=True)
    (run / "metrics/per_slice.csv").write_text(
        "method,segmenter,volume,slice,psnr,ssim,consistency,dice,dice_liver,nsd_liver,"
        "cldice_liver,dice_tumor,nsd_tumor,cldice_tumor\n"
        "lowdose,g,0,0,20,0.3,5,0.5,0.0,0,0,,,\n"
        "lowdose,g,0,1,20,0.3,5,0.0,0.0,0,0,0.0,0,0\n"
        "base,g,0,0,30,0.8,2,0.4,0.8,0,0,0.0,0,0\n"
        "base,g,0,1,30,0.8,2,0.6,0.9,0,0,0.3,0,0\n"
        "base,held_out_1,0,0,30,0.8,2,1.0,1.0,0,0,,,\n"
        "base,held_out_1,0,1,30,0.8,2,0.2,0.3,0,0,0.1,0,0\n"
    )
    return run


def test_collect_copies_tables_figures_curves_and_timings(tmp_path):
    collect = load_script("showcase_collect")
    run = finished_run(tmp_path)
    log = tmp_path / "run.snakemake.log"
    log.write_text(LOG)
    docs = tmp_path / "docs/showcase/scratch"
    collect.collect(run, docs, log)
    copied = sorted(str(p.relative_to(docs)) for p in docs.rglob("*") if p.is_file())
    assert copied == [
        "dice_breakdown.md",
        "figures/fig3_reconstructions.png",
        "metrics/per_slice.csv",
        "metrics/per_volume.csv",
        "tables/data_summary.csv",
        "tables/environment.json",
        "tables/metric_correlation.csv",
        "tables/table1_pixel.csv",
        "tables/table1_pixel.md",
        "tables/table2_dice.csv",
        "tables/table2_dice.md",
        "tables/table3_anatomy.csv",
        "tables/table3_anatomy.md",
        "tables/table4_observers.csv",
        "tables/table4_observers.md",
        "timings.md",
        "training.md",
        "training/base.csv",
        "training/segmentation.csv",
    ]
    assert (docs / "tables/table2_dice.md").read_text() == "tables/table2_dice.md"
    assert "Whole run: 1 min 39 s" in (docs / "timings.md").read_text()
    breakdown = (docs / "dice_breakdown.md").read_text().splitlines()
    assert breakdown[0].startswith("1 of 2 test slices hold no tumour")
    # Dice 0.5 = 0.4 on the tumour-free slice and 0.6 on the other; a tumour invented on 1 of 1
    by_g = breakdown[breakdown.index("By g (the paper's segmenter):") :]
    assert "| base | 0.500 | 0.400 | 0.600 | 0.850 | 1.000 |" in by_g[:8]
    assert "| lowdose | 0.250 | 0.500 | 0.000 | 0.000 | 0.000 |" in by_g[:8]
    # the held-out segmenter finds the liver of slice 0 and invents no tumour there
    held_out = breakdown[breakdown.index("By the held-out segmenters (their rows pooled):") :]
    assert "| base | 0.600 | 1.000 | 0.200 | 0.650 | 0.000 |" in held_out
    training = (docs / "training.md").read_text().splitlines()
    assert training[2] == "| base | 45 | 45 | 0.001 | 35.00 | +1.00 |"
    assert training[3] == "| segmentation | 3 | 2 | 0.0005 | – | – |"


def test_collect_refuses_an_unfinished_run_and_copies_nothing(tmp_path):
    collect = load_script("showcase_collect")
    run = finished_run(tmp_path)
    (run / "tables/table2_dice.md").unlink()
    log = tmp_path / "run.snakemake.log"
    log.write_text(LOG)
    docs = tmp_path / "docs/showcase/scratch"
    with pytest.raises(SystemExit, match=r"table2_dice\.md"):
        collect.collect(run, docs, log)
    assert not docs.exists()


def test_collect_refuses_a_missing_or_empty_log_and_copies_nothing(tmp_path):
    collect = load_script("showcase_collect")
    run = finished_run(tmp_path)
    docs = tmp_path / "docs/showcase/scratch"
    with pytest.raises(SystemExit, match=r"absent\.snakemake\.log: no such Snakemake log"):
        collect.collect(run, docs, tmp_path / "absent.snakemake.log")
    empty = tmp_path / "empty.snakemake.log"
    empty.write_text("Building DAG of jobs...\n")
    with pytest.raises(SystemExit, match=r"empty\.snakemake\.log: shows no finished job"):
        collect.collect(run, docs, empty)
    assert not docs.exists()


def seeded_run(root: Path, seed: int, held_out: dict[str, float], psnr: dict[str, float]) -> Path:
    """A finished run of one seed, with real Table I and II files."""
    run = finished_run(root / f"seed{seed}").rename(root / f"showcase-seeds-{seed}")
    methods = list(held_out)
    pd.DataFrame(
        {
            "method": methods,
            "psnr_mean": [psnr[m] for m in methods],
            "consistency_mean": 1.5,
        }
    ).to_csv(run / "tables/table1_pixel.csv", index=False)
    pd.DataFrame(
        {
            "method": methods,
            "dice_mean": 0.9,
            "dice_held_out_mean": [held_out[m] for m in methods],
            "gap": [0.9 - held_out[m] for m in methods],
        }
    ).to_csv(run / "tables/table2_dice.csv", index=False)
    liver = [
        (m, segmenter, "liver", "dice", 0.95 if segmenter == "g" else held_out[m] + 0.05)
        for m in methods
        for segmenter in ("g", "held_out")
    ]
    columns = ["method", "segmenter", "structure", "metric", "median"]
    tumour = [(m, "held_out", "tumor", "dice", 0.0) for m in methods]
    table3 = pd.DataFrame(liver + tumour, columns=columns)
    table3.to_csv(run / "tables/table3_anatomy.csv", index=False)
    return run


def test_seeds_collect_summarises_over_seeds_and_resolves_only_separated_ranges(tmp_path):
    seeds = load_script("seeds_collect")
    log = tmp_path / "run.snakemake.log"
    log.write_text(LOG)
    # held-out Dice: the ensemble is above the base in every seed (ranges apart), plain alpha
    # 0.5 overlaps the base; PSNR: alpha 0.5 below the base in every seed
    held_out = [
        {"base": 0.80, "task_a0.5": 0.60, "task_a0.5_ensemble": 0.90},
        {"base": 0.84, "task_a0.5": 0.83, "task_a0.5_ensemble": 0.92},
        {"base": 0.82, "task_a0.5": 0.95, "task_a0.5_ensemble": 0.91},
    ]
    psnr = {"base": 36.0, "task_a0.5": 30.0, "task_a0.5_ensemble": 33.0}
    runs = [(seeded_run(tmp_path / "results", k, held_out[k], psnr), log) for k in range(3)]
    destination = tmp_path / "docs/seeds"
    summary = seeds.collect_seeds(destination, runs).set_index("method")
    assert summary.index.tolist() == ["base", "task_a0.5", "task_a0.5_ensemble"]
    assert summary.loc["base", "dice_held_out_mean"] == pytest.approx(0.82)
    assert summary.loc["base", "dice_held_out_sd"] == pytest.approx(0.02)
    assert summary.loc["task_a0.5", "dice_held_out_min"] == pytest.approx(0.60)
    assert summary.loc["task_a0.5", "gap_max"] == pytest.approx(0.30)
    # the held-out liver Dice is Table III's held-out liver median, not g's (0.95) or the tumour's
    assert summary.loc["base", "liver_dice_held_out_mean"] == pytest.approx(0.87)
    assert summary.loc["task_a0.5", "liver_dice_held_out_max"] == pytest.approx(1.00)
    assert (summary["n_seeds"] == 3).all()
    for k in range(3):
        assert (destination / f"seed-{k}/tables/table2_dice.csv").is_file()
    verdicts = pd.DataFrame(seeds.claims(pd.read_csv(destination / "per_seed.csv")))
    verdict = verdicts.set_index(["setting", "against", "number"])["verdict"]
    assert verdict[("task_a0.5_ensemble", "base", "dice_held_out")] == "higher"
    assert verdict[("task_a0.5", "base", "dice_held_out")] == "not resolved"
    assert verdict[("task_a0.5", "base", "psnr")] == "lower"
    assert verdict[("task_a0.5_ensemble", "task_a0.5", "dice_held_out")] == "not resolved"
    assert verdict[("task_a0.5_ensemble", "task_a0.5", "psnr")] == "higher"
    claims = (destination / "claims.md").read_text()
    assert "| Task-adaptive α=0.5 | Base U-Net | Dice by the held-out segmenters" in claims
    base_row = "| Base U-Net | 3 | 36.00 [36.00, 36.00] | 1.50 [1.50, 1.50] | 0.900 [0.900, 0.900] "
    base_row += "| 0.820 [0.800, 0.840] | 0.080 [0.060, 0.100] | 0.870 [0.850, 0.890] |"
    assert base_row in (destination / "summary.md").read_text()


def test_seeds_recorded_one_at_a_time_are_summarised_together(tmp_path):
    """A seed collected later joins the ones already there; no runs: summarise what is there."""
    seeds = load_script("seeds_collect")
    log = tmp_path / "run.snakemake.log"
    log.write_text(LOG)
    held_out = [{"base": 0.80, "task_a0.5": 0.60}, {"base": 0.84, "task_a0.5": 0.70}]
    psnr = {"base": 36.0, "task_a0.5": 30.0}
    destination = tmp_path / "docs/seeds"
    runs = [seeded_run(tmp_path / "results", k, held_out[k], psnr) for k in range(2)]
    first = seeds.collect_seeds(destination, [(runs[0], log)]).set_index("method")
    assert (first["n_seeds"] == 1).all()
    second = seeds.collect_seeds(destination, [(runs[1], log)]).set_index("method")
    assert (second["n_seeds"] == 2).all()
    assert second.loc["base", "dice_held_out_mean"] == pytest.approx(0.82)
    assert pd.read_csv(destination / "per_seed.csv")["seed"].tolist() == [0, 0, 1, 1]
    # base above alpha 0.5 in both seeds, but two seeds settle nothing
    verdicts = seeds.claims(pd.read_csv(destination / "per_seed.csv"))
    assert set(verdicts["verdict"]) == {"not resolved"}
    (destination / "summary.csv").unlink()
    again = seeds.summarise_collected(destination).set_index("method")
    pd.testing.assert_frame_equal(again, second)
    with pytest.raises(SystemExit, match="no seed-<k> folder"):
        seeds.summarise_collected(tmp_path / "empty")


def test_seeds_collect_settles_an_observer_claim_only_on_the_same_side_on_every_seed(tmp_path):
    """Table IV of each seed: by the CHO, alpha 0.5's interval lies below the Base U-Net's on
    all three seeds (settled), FBP's above on two and overlapping on one (not resolved); by the
    NPWE, alpha 0.5 overlaps on one seed (not resolved: each observer is judged alone)."""
    seeds = load_script("seeds_collect")
    log = tmp_path / "run.snakemake.log"
    log.write_text(LOG)
    psnr = {"base": 36.0, "task_a0.5": 30.0, "fbp": 33.0}
    held_out = {"base": 0.8, "task_a0.5": 0.6, "fbp": 0.7}
    runs = []
    for k, fbp_side in enumerate(["above", "overlaps", "above"]):
        run = seeded_run(tmp_path / "results", k, held_out, psnr)
        pd.DataFrame(
            {
                "method": ["fbp", "base", "task_a0.5"] * 2,
                "observer": ["CHO"] * 3 + ["NPWE"] * 3,
                "setting": "10mm_20HU",
                "auc": [0.9, 0.7 + 0.01 * k, 0.55, 0.8, 0.7, 0.6],
                "auc_low": [0.85, 0.6, 0.45, 0.75, 0.6, 0.5],
                "auc_high": [0.95, 0.8, 0.58, 0.85, 0.8, 0.7],
                "vs_base": [fbp_side, None, "below", "above", None, "below" if k else "overlaps"],
            }
        ).to_csv(run / "tables/table4_observers.csv", index=False)
        runs.append((run, log))
    destination = tmp_path / "docs/seeds"
    seeds.collect_seeds(destination, runs)
    table = seeds.observer_claims(sorted(destination.glob("seed-*/tables/table4_observers.csv")))
    table = table.set_index(["observer", "method"])
    assert table["verdict"]["CHO"].to_dict() == {
        "fbp": "not resolved",
        "base": "–",
        "task_a0.5": "below",
    }
    assert table["verdict"]["NPWE"].to_dict() == {
        "fbp": "above",
        "base": "–",
        "task_a0.5": "not resolved",
    }
    assert table.loc[("CHO", "base"), "auc_max"] == pytest.approx(0.72)
    text = (destination / "observers.md").read_text()
    assert "| CHO | Base U-Net | 10mm_20HU | 3 | 0.710 [0.700, 0.720] | – |" in text
    assert "| CHO | Task-adaptive α=0.5 | 10mm_20HU | 3 | 0.550 [0.550, 0.550] | below |" in text
