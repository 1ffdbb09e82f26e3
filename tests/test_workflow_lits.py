"""The data stage through the real workflow on a small LiTS-layout directory."""

import re

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import (
    REPO,
    make_case,
    ras_affine,
    run_workflow,
    write_case,
    write_config,
    write_nifti,
)
from tact.data.slices import load_stack
from tact.simulated_data import load_simulation


def paper_config(tmp_path, lits_dir):
    """config/config.yaml as shipped, pointed at a test directory."""
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["data"]["lits_dir"] = str(lits_dir)
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def planned_jobs(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_dry_run_of_paper_config_has_one_extraction_job_per_volume(tmp_path, lits_dir):
    result = run_workflow(tmp_path, paper_config(tmp_path, lits_dir), "--dry-run", check=True)
    jobs = planned_jobs(result.stdout)
    assert jobs["extract_slices"] == 5 and jobs["simulate"] == 5
    assert jobs["split"] == 1 and jobs["tune_fbp"] == 1
    assert jobs["train_segmentation"] == 3 and jobs["train_reconstruction"] == 7  # g, 2 held-out
    for method in ["base", "task_a0.1", "task_a0.5", "task_a0.9", "joint_c0.1", "joint_c0.9"]:
        assert f"results/lits/models/{method}.pt" in result.stdout
    for vid in range(5):
        assert f"results/lits/data/slices/volume-{vid}.h5" in result.stdout


def test_adding_an_alpha_adds_one_training(tmp_path, lits_dir):
    def trainings(alphas):
        config = write_config(
            tmp_path / "c.yaml",
            data={"source": "lits", "lits_dir": str(lits_dir)},
            task_adaptive={"alphas": alphas},
        )
        return planned_jobs(run_workflow(tmp_path, config, "--dry-run", check=True).stdout)

    before, after = trainings([0.1, 0.5, 0.9]), trainings([0.1, 0.3, 0.5, 0.9])
    assert after["train_reconstruction"] == before["train_reconstruction"] + 1 == 8
    assert after["train_segmentation"] == before["train_segmentation"] == 2  # g, one held-out


def test_fixed_fbp_scaling_skips_the_tuning(tmp_path, lits_dir):
    config = write_config(
        tmp_path / "c.yaml",
        data={"source": "lits", "lits_dir": str(lits_dir)},
        fbp={"frequency_scaling": 0.641},
    )
    jobs = planned_jobs(run_workflow(tmp_path, config, "--dry-run", check=True).stdout)
    assert "tune_fbp" not in jobs and jobs["simulate"] == 5
    # a filter left to the tuning brings the tuning back, whatever the scaling
    config = write_config(
        tmp_path / "f.yaml",
        data={"source": "lits", "lits_dir": str(lits_dir)},
        fbp={"filter_type": "auto", "frequency_scaling": 0.641},
    )
    jobs = planned_jobs(run_workflow(tmp_path, config, "--dry-run", check=True).stdout)
    assert jobs["tune_fbp"] == 1 and jobs["simulate"] == 5


def non_empty_slices(mask_path) -> int:
    labels = np.asanyarray(nib.load(mask_path).dataobj)
    return int(labels.reshape(-1, labels.shape[2]).any(axis=0).sum())


@pytest.mark.slow
def test_lits_run_extracts_and_splits(tmp_path, lits_dir):
    config = write_config(
        tmp_path / "c.yaml",
        data={"source": "lits", "lits_dir": str(lits_dir), "image_size": 32},
        task_adaptive={"alphas": [0.9]},  # one of the paper's models is enough to check its
        joint={"cs": []},  # numbers stand beside ours; fewer trainings keep CI short
        evaluation={"held_out_segmenters": 0},  # the held-out columns stay, empty
    )
    # up to the tables and the data figure: the other figures are the phantom test's subject
    built = ("tables/table1_pixel.csv", "tables/table2_dice.md", "figures/data_overview.png")
    targets = [f"results/test/{name}" for name in built]
    run_workflow(tmp_path, config, *targets, check=True)
    results = tmp_path / "results/test"
    split = pd.read_csv(results / "data/split.csv")
    for vid in range(5):
        stack = load_stack(results / f"data/slices/volume-{vid}.h5")
        mask_path = next(lits_dir.rglob(f"segmentation-{vid}.nii*"))
        assert len(stack) == non_empty_slices(mask_path)
        assert stack.image.shape[1:] == (32, 32)
        in_split = split.loc[split["volume"] == vid, "slice"].tolist()
        assert sorted(in_split) == stack.slice_index.tolist()
    sides = split.groupby("volume")["split"].nunique()
    assert (sides == 1).all(), "splitting by volume: no volume on both sides"
    assert (split.groupby("split")["volume"].nunique()).to_dict() == {"test": 1, "train": 4}
    summary = pd.read_csv(results / "tables/data_summary.csv")
    assert summary["n_slices"].sum() == len(split)
    assert (results / "figures/data_overview.png").stat().st_size > 10_000

    # on LiTS, the paper's numbers stand beside ours in Tables I and II
    table1 = pd.read_csv(results / "tables/table1_pixel.csv").set_index("method")
    assert table1.loc["base", "paper_psnr_mean"] == 36.0490
    assert table1.loc["task_a0.9", "paper_ssim_mean"] == 0.8698
    assert np.isfinite(table1["psnr_mean"]).all()
    lines = (results / "tables/table2_dice.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| Method"))
    assert header == "| Method | Dice by g | Dice by g, paper | Dice by held-out | Gap | n |"
    fulldose = (results / "tables/table2_dice.md").read_text().splitlines()[-1]
    assert fulldose.startswith("| Full-dose |") and "| 0.874 ± 0.186 |" in fulldose

    # once built, nothing is left to do for these targets
    summary_run = run_workflow(tmp_path, config, "--summary", *targets, check=True)
    plans = [line.split("\t")[-1] for line in summary_run.stdout.strip().splitlines()[1:]]
    assert plans and set(plans) == {"no update"}, summary_run.stdout


# ---- bad input through the workflow: one clear message naming the file, no partial output --


def corrupt(root, name, data=None, shape=None, affine=None):
    path = root / name
    if data is None:
        path.write_bytes(b"garbage" * 100)
    else:
        write_nifti(path, data, ras_affine() if affine is None else affine)
    return path


def _nan_volume(root):
    hu, _ = make_case(2)
    hu[1, 1, 1] = np.nan
    return corrupt(root, "volume-2.nii", hu)


def _labels(root):
    _, labels = make_case(2)
    labels[1, 1, 1] = 7
    return corrupt(root, "segmentation-2.nii", labels)


def _truncated_gz(root):
    (root / "volume-2.nii").unlink()
    write_nifti(root / "volume-2.nii.gz", make_case(2)[0], ras_affine())
    data = (root / "volume-2.nii.gz").read_bytes()
    (root / "volume-2.nii.gz").write_bytes(data[: len(data) // 2])
    return root / "volume-2.nii.gz"


BAD_DATA = {
    "not_a_nifti": (lambda r: corrupt(r, "volume-2.nii"), "not a readable NIfTI"),
    "truncated_gz": (_truncated_gz, "truncated"),
    "shape_mismatch": (
        lambda r: corrupt(r, "segmentation-2.nii", make_case(2)[1][:, :, :-2]),
        "does not match",
    ),
    "affine_mismatch": (
        lambda r: corrupt(r, "segmentation-2.nii", make_case(2)[1], affine=ras_affine((1, 1, 1))),
        "affine does not match",
    ),
    "labels": (_labels, "labels outside {0, 1, 2}: 7"),
    "nan": (_nan_volume, "NaN or infinite"),
    "four_d": (
        lambda r: corrupt(r, "volume-2.nii", np.stack([make_case(2)[0]] * 3, axis=-1)),
        "4-D",
    ),
    "no_liver": (
        lambda r: corrupt(r, "segmentation-2.nii", np.zeros_like(make_case(2)[1])),
        "no liver",
    ),
}


def leftovers(workdir):
    results = workdir / "results"
    return (
        sorted(p.name for p in results.rglob("*") if ".tmp" in p.name) if results.exists() else []
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_file_fails_cleanly(tmp_path, case):
    root = tmp_path / "LiTS"
    for vid in range(3):
        write_case(root, vid)
    make_bad, fragment = BAD_DATA[case]
    culprit = make_bad(root)
    config = write_config(tmp_path / "c.yaml", data={"source": "lits", "lits_dir": str(root)})
    result = run_workflow(tmp_path, config)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"{culprit}: " in output and fragment in output, output
    assert not (tmp_path / "results/test/data/slices/volume-2.h5").exists()
    assert not (tmp_path / "results/test/data/split.csv").exists()
    assert leftovers(tmp_path) == []


BAD_LAYOUT = {
    "image_without_mask": ("segmentation-1.nii", "volume-1.nii", "has no matching segmentation-1"),
    "mask_without_image": ("volume-1.nii", "segmentation-1.nii", "has no matching volume-1"),
}


@pytest.mark.parametrize("case", sorted(BAD_LAYOUT))
def test_incomplete_pair_fails_before_any_job(tmp_path, case):
    removed, culprit, fragment = BAD_LAYOUT[case]
    root = tmp_path / "LiTS"
    for vid in range(3):
        write_case(root, vid)
    (root / removed).unlink()
    config = write_config(tmp_path / "c.yaml", data={"source": "lits", "lits_dir": str(root)})
    result = run_workflow(tmp_path, config)
    assert result.returncode != 0
    assert f"tact: error: {root / culprit}: {fragment}" in result.stderr, result.stderr
    assert not (tmp_path / "results").exists()


def test_duplicate_id_and_empty_directory(tmp_path):
    root = tmp_path / "LiTS"
    write_case(root / "batch1", 0)
    write_case(root / "batch2", 0, suffix=".nii.gz")
    config = write_config(tmp_path / "c.yaml", data={"source": "lits", "lits_dir": str(root)})
    result = run_workflow(tmp_path, config)
    assert result.returncode != 0 and "duplicate volume id 0" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    config = write_config(tmp_path / "e.yaml", data={"source": "lits", "lits_dir": str(empty)})
    result = run_workflow(tmp_path, config)
    assert result.returncode != 0 and f"{empty}: holds none of the layouts" in result.stderr
    lits = {"source": "lits", "lits_dir": str(empty), "layout": "lits"}
    result = run_workflow(tmp_path, write_config(tmp_path / "l.yaml", data=lits))
    assert result.returncode != 0 and f"{empty}: no volume-N.nii" in result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"data": {"imagesize": 32}}, "data.imagesize: unknown key"),
        ({"data": {"image_size": "large"}}, "data.image_size: 'large' is not of type 'integer'"),
        ({"simulation": {"photons_per_pixel": 0}}, "simulation.photons_per_pixel: 0 is less than"),
        ({"simulation": {"n_angles": -3}}, "simulation.n_angles: -3 is less than"),
    ],
)
def test_config_errors_stop_the_workflow(tmp_path, section, message):
    config = write_config(tmp_path / "c.yaml", **section)
    result = run_workflow(tmp_path, config)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_sparse_view_mode(tmp_path, lits_dir):
    config = write_config(
        tmp_path / "c.yaml",
        data={"source": "lits", "lits_dir": str(lits_dir)},
        simulation={"mode": "sparse", "sparse_views": 30, "noise": False},
        fbp={"filter_type": "Shepp-Logan", "frequency_scaling": 0.8},
    )
    target = "results/test/sim/volume-0.h5"
    run_workflow(tmp_path, config, target, check=True)
    sim = load_simulation(tmp_path / target)
    assert sim.n_views == 30 and sim.frequency_scaling == 0.8 and sim.fbp_filter == "Shepp-Logan"
    log = (tmp_path / "results/test/logs/simulate/volume-0.log").read_text()
    assert "30 views" in log and "projector backend: astra_" in log


def test_a_split_the_data_cannot_give_stops_the_dry_run(tmp_path):
    """One volume cannot be split by volume: the dry run says so, naming the setting."""
    root = tmp_path / "LiTS"
    write_case(root, 0)
    config = write_config(tmp_path / "c.yaml", data={"source": "lits", "lits_dir": str(root)})
    result = run_workflow(tmp_path, config, "--dry-run")
    assert result.returncode != 0
    message = f"tact: error: data.split.by: volume needs at least 2 volumes, {root} holds 1"
    assert message in result.stderr, result.stderr
    assert not (tmp_path / "results").exists()
    by_slice = {"source": "lits", "lits_dir": str(root), "split": {"by": "slice"}}
    config = write_config(tmp_path / "s.yaml", data=by_slice)
    assert run_workflow(tmp_path, config, "--dry-run").returncode == 0
