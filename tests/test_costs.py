"""The cost said before anything runs, and the memory each job asks for (issue 32): both come
from the scale rehearsal's constants (src/tact/costs.json) through tact.costs."""

from __future__ import annotations

import re
import subprocess

import h5py
import pytest

from conftest import (
    REPO,
    TINY_PHANTOM,
    snakemake_command,
    tiny_phantom_config,
    workflow_environment,
)
from tact.costs import TRAININGS, RunSize, cost_lines, job_memory_mb, measured, project

COST = re.compile(
    r"tact: cost of this run.*?: (\d+) volumes, ([\d,]+) slices, (about )?([\d,]+) labelled"
    r".*?(\d+) trainings of (\d+) epochs(?:, [\d,]+ observer-study images)?\n"
    r"tact: cost: disk for results/ ([\d.]+) GB; largest job"
    r" (\w+) ([\d.]+) GB of memory; ([\d.]+) GPU-hours; ([\d.]+) CPU core-hours"
)


def dry_run(tmp_path, config, *targets: str) -> re.Match:
    command = snakemake_command(tmp_path, config, "--dry-run", *targets)
    done = subprocess.run(command, capture_output=True, text=True, env=workflow_environment())
    assert done.returncode == 0, done.stderr
    found = COST.search(done.stderr)
    assert found, done.stderr
    assert done.stderr.count("tact: cost of this run") == 1  # once, before anything runs
    return found


def test_the_dry_run_says_the_cost_of_the_tiny_phantom(tmp_path):
    """The lines name the run's size as configured (3 volumes, their slices, its trainings)
    and the cost tact.costs projects for exactly that size; once the slices are extracted,
    the labelled slices are counted, not estimated."""
    config = tiny_phantom_config(tmp_path / "c.yaml")
    found = dry_run(tmp_path, config)
    volumes, slices = (
        TINY_PHANTOM["n_volumes"],
        TINY_PHANTOM["n_volumes"] * TINY_PHANTOM["n_slices"],
    )
    assert (int(found[1]), int(found[2].replace(",", ""))) == (volumes, slices)
    assert found[3] == "about "
    # g, two held-out segmenters; base, one joint, one task-adaptive network
    assert (int(found[5]), int(found[6])) == (6, 2)
    size = RunSize(
        volumes=volumes,
        slices=slices,
        largest_volume=TINY_PHANTOM["n_slices"],
        labelled=int(found[4].replace(",", "")),
        labelled_from="estimated",
        image_size=64,
        phantom=True,
        trainings=6,
        epochs=2,
        train_fraction=0.8,
        base_channels=4,
        observer_images=48,  # 2 classes x 2 settings x 12 (TINY_PHANTOM_RUN's study)
        networks=3,
    )
    assert ", 48 observer-study images\n" in found[0] + "\n"
    cost = project(size)
    assert float(found[7]) == pytest.approx(cost.disk_gb, abs=0.051)
    assert (found[8], float(found[9])) == (
        cost.largest_job[0],
        round(cost.largest_job[1] / 1000, 1),
    )
    assert float(found[10]) == pytest.approx(cost.gpu_hours, abs=0.051)
    assert float(found[11]) == pytest.approx(cost.cpu_core_hours, abs=0.051)

    subprocess.run(
        snakemake_command(tmp_path, config, "results/test/data/split.csv"),
        check=True,
        capture_output=True,
        env=workflow_environment(),
    )
    counted = dry_run(tmp_path, config)
    stored = 0
    for store in (tmp_path / "results/test/data/slices").glob("volume-*.h5"):
        with h5py.File(store) as file:
            stored += len(file["slice_index"])
    assert counted[3] is None and int(counted[4].replace(",", "")) == stored


def test_costs_grow_with_the_run():
    """Twice the labelled slices: twice the disk (but the models) and the CPU hours (but
    the sweeps'); a request for a
    volume twice the rehearsal's is twice its measured peak (with the same headroom); a job
    bounded by a batch asks the same whatever the volume."""
    constants = measured()
    small = RunSize(4, 800, 200, 574, None, 512, True, 10, 2, 0.8)
    large = RunSize(8, 1600, 200, 1148, None, 512, True, 10, 2, 0.8)
    models = sum(constants["rules"][r]["bytes"] for r in TRAININGS) / 1e9  # fixed: the models
    assert project(large).disk_gb - models == pytest.approx(2 * (project(small).disk_gb - models))
    sweeps = sum(c["cpu_s"] for c in constants["rules"].values() if c["fixed"]) / 3600
    hours = [project(run).cpu_core_hours - sweeps for run in (small, large)]
    assert hours[1] == pytest.approx(2 * hours[0])
    volume = constants["volume_slices"]
    simulate = job_memory_mb("simulate", volume)
    assert simulate >= 1.5 * constants["rules"]["simulate"]["peak_mb"]
    assert job_memory_mb("simulate", 2 * volume) == pytest.approx(2 * simulate, rel=0.02)
    assert job_memory_mb("simulate", volume // 2) == simulate  # never below the measured peak
    assert job_memory_mb("train_reconstruction", 10 * volume) == job_memory_mb(
        "train_reconstruction", volume
    )
    assert len(cost_lines(small)) == 2


def test_time_limits_grow_with_what_the_job_does():
    """A job that goes through every test volume asks more time for a run of more labelled
    slices, a per-volume job for a longer volume, a training for more epochs; never less than
    the floor."""
    from tact.costs import MIN_RUNTIME_MIN, job_runtime_min

    small = RunSize(4, 800, 200, 574, None, 512, False, 10, 30, 0.8)
    large = RunSize(131, 58_638, 448, 19_163, None, 512, False, 10, 30, 0.8)
    for rule in ("evaluate", "consistency"):
        assert job_runtime_min(rule, large) > job_runtime_min(rule, small) >= MIN_RUNTIME_MIN
    assert job_runtime_min("simulate", large, 2000) > job_runtime_min("simulate", large, 200)
    fewer = RunSize(131, 58_638, 448, 19_163, None, 512, False, 10, 3, 0.8)
    assert job_runtime_min("train_reconstruction", large) > job_runtime_min(
        "train_reconstruction", fewer
    )


def test_a_case_is_counted_from_its_header_and_a_broken_one_is_left_to_its_job(tmp_path):
    """The slices of a case come from the NIfTI header or the DICOM folder's files without
    reading voxels; a file that cannot be read counts as unknown (None), so that the job that
    reads it names the file and the problem, not the dry run's arithmetic."""
    import nibabel as nib
    import numpy as np

    from tact.costs import case_slices, stored_slices

    nib.save(nib.Nifti1Image(np.zeros((8, 8, 37), np.int16), np.eye(4)), tmp_path / "v.nii.gz")
    assert case_slices(tmp_path / "v.nii.gz") == 37
    series = tmp_path / "series"
    series.mkdir()
    for k in range(5):
        (series / f"{k}.dcm").write_bytes(b"")
    (series / ".DS_Store").write_bytes(b"")
    assert case_slices(series) == 5
    (tmp_path / "broken.nii").write_bytes(b"not a nifti")
    assert case_slices(tmp_path / "broken.nii") is None
    (tmp_path / "store.h5").write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    assert stored_slices(tmp_path / "store.h5") is None


def test_a_dry_run_with_an_unreadable_case_plans_the_run(tmp_path):
    """A case whose header cannot be read does not break the dry run (its size is unknown:
    the cost counts the readable cases, and a job not bound to a volume asks for the largest
    readable one); the extraction job is the one that names the file."""
    import nibabel as nib
    import numpy as np

    from conftest import write_config

    lits = tmp_path / "LiTS"
    lits.mkdir()
    for vid in range(3):
        labels = np.zeros((32, 32, 6), np.uint8)
        labels[8:20, 8:20, 1:5] = 1
        affine = np.diag([1.0, 1.0, 2.5, 1.0])
        image = nib.Nifti1Image(np.full((32, 32, 6), -1000, np.int16), affine)
        nib.save(image, lits / f"volume-{vid}.nii")
        nib.save(nib.Nifti1Image(labels, affine), lits / f"segmentation-{vid}.nii")
    (lits / "volume-2.nii").write_bytes(b"not a NIfTI file")
    config = write_config(tmp_path / "c.yaml", data={"source": "lits", "lits_dir": str(lits)})
    found = dry_run(tmp_path, config)
    assert (int(found[1]), int(found[2])) == (3, 12)  # two readable cases of 6 slices


def test_the_readmes_cost_line_is_the_paper_configs_projection():
    """The README's cost line for the paper's config on LiTS is what tact.costs projects from
    the constants in the repository (a refit that forgets the README fails here)."""
    import yaml

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    study = {k: v["default"] for k, v in schema["properties"]["observers"]["properties"].items()}
    networks = 1 + len(config["task_adaptive"]["alphas"]) + len(config["joint"]["cs"])
    # g, two held-out segmenters (the default), the base U-Net, the task-adaptive and joint ones
    trainings = 1 + 2 + networks
    images = 2 * len(study["diameters_mm"]) * len(study["contrasts_hu"]) * study["realisations"]
    lits = RunSize(
        131, 58_638, 448, 19_163, None, 512, False, trainings, 30, 0.8, 64, images, networks
    )
    assert study["enabled"] and images == 3200
    assert config["training"]["epochs"] == lits.epochs
    readme = (REPO / "README.md").read_text().splitlines()
    assert f"tact: {cost_lines(lits)[1]}" in readme
