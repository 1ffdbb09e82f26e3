"""A changed setting reruns only what depends on it: `snakemake --summary` after a complete run.

One tiny phantom run completes; then each change is made and `--summary` says which outputs
would be rebuilt (plan `update pending`). The expected set is computed independently of
Snakemake's rerun logic: the outputs of the jobs the change touches directly (named here), plus
everything downstream of them in the workflow's file graph (every job's inputs and outputs, from a
forced dry run). So the tests pin both the wiring (params narrowly passed, library files listed as
inputs) and its reach, whatever report rules hang below the evaluation.

The workflow runs from a copy of the checkout (Snakefile, workflow/, src/, config/, envs/), so one
test can edit a library module without touching the real tree.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import (
    REPO,
    PlannedJob,
    planned_jobs,
    snakemake_command,
    workflow_environment,
    write_config,
)

pytestmark = pytest.mark.slow

TINY = {
    "data": {"source": "phantom", "image_size": 64},
    "phantom": {"n_volumes": 2, "size": 96, "n_slices": 8, "slice_thickness_mm": 5.0},
    "simulation": {"n_angles": 100},
    "fbp": {"frequency_scaling": 0.641},
    "bm3d": {"sigma_psd": 0.075},
    "training": {"epochs": 2, "batch_size": 4},
    "task_adaptive": {"alphas": [0.5]},
    "joint": {"cs": []},
    "evaluation": {"held_out_segmenters": 1},
}


Job = PlannedJob


@dataclass
class Run:
    """A completed tiny run: the checkout copy it ran from and its working directory."""

    checkout: Path
    workdir: Path

    def snakemake(self, configfile: Path, *args: str) -> str:
        env = workflow_environment()
        command = snakemake_command(
            self.workdir, configfile, *args, snakefile=self.checkout / "Snakefile"
        )
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def config(self, name: str, **changes: dict) -> Path:
        sections = {key: {**value, **changes.get(key, {})} for key, value in TINY.items()}
        return write_config(self.workdir / f"{name}.yaml", **sections)

    def pending(self, configfile: Path) -> set[str]:
        """Outputs `--summary` would rebuild."""
        rows = [line.split("\t") for line in self.snakemake(configfile, "--summary").splitlines()]
        header, *rows = rows
        assert header[0] == "output_file" and header[-1] == "plan"
        assert {row[-1] for row in rows} <= {"no update", "update pending"}
        return {row[0] for row in rows if row[-1] == "update pending"}

    def graph(self, configfile: Path) -> list[Job]:
        """Every job of the config's full workflow with its inputs and outputs (forced dry run)."""
        return planned_jobs(self.snakemake(configfile, "--dry-run", "--forceall"))


def downstream(jobs: list[Job], touched: Iterable[Job]) -> set[str]:
    """The outputs of the touched jobs and of every job that consumes them, transitively."""
    stale = set().union(*(job.outputs for job in touched))
    grown = True
    while grown:
        grown = False
        for job in jobs:
            if job.inputs & stale and not job.outputs <= stale:
                stale |= job.outputs
                grown = True
    return stale


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    """The tiny run, complete, from a copy of the checkout."""
    root = tmp_path_factory.mktemp("reruns")
    checkout = root / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("workflow", "src", "config", "envs"):
        shutil.copytree(REPO / name, checkout / name, ignore=ignore)
    shutil.copy2(REPO / "Snakefile", checkout / "Snakefile")
    complete = Run(checkout, root / "work")
    complete.workdir.mkdir()
    complete.snakemake(complete.config("base"), "all")
    return complete


def test_nothing_is_pending_after_a_complete_run(run):
    assert run.pending(run.config("base")) == set()
    assert "Nothing to be done" in run.snakemake(run.config("base"), "--dry-run")


def test_adding_an_alpha_adds_one_training_and_what_depends_on_it(run):
    config = run.config("alphas", task_adaptive={"alphas": [0.5, 0.9]})
    jobs = run.graph(config)
    (new,) = [j for j in jobs if "results/test/models/task_a0.9.pt" in j.outputs]
    pending = run.pending(config)
    assert pending == downstream(jobs, [new])
    trainings = {j for j in jobs if j.rule.startswith("train_") and j.outputs & pending}
    assert trainings == {new}, "exactly one training"
    assert "results/test/metrics/per_slice.csv" in pending


def test_changing_the_bm3d_sigma_reruns_only_bm3d_and_what_depends_on_it(run):
    config = run.config("sigma", bm3d={"sigma_psd": 0.05})
    jobs = run.graph(config)
    bm3d = [j for j in jobs if j.rule == "bm3d"]
    assert len(bm3d) == TINY["phantom"]["n_volumes"]
    pending = run.pending(config)
    assert pending == downstream(jobs, bm3d)
    unchanged = {j.rule for j in jobs if j.outputs and not j.outputs & pending}
    assert {"simulate", "train_segmentation", "train_reconstruction", "infer"} <= unchanged
    assert "results/test/test/bm3d.labels.npz" in pending
    assert "results/test/test/base.labels.npz" not in pending


def test_editing_a_library_module_reruns_only_its_consumers_and_what_depends_on_them(run):
    module = run.checkout / "src/tact/losses.py"
    backup = run.workdir / "losses.py.orig"
    shutil.copy2(module, backup)
    config = run.config("base")
    jobs = run.graph(config)
    consumers = [j for j in jobs if str(module) in j.inputs]
    assert {j.rule for j in consumers} == {"train_segmentation", "train_reconstruction"}
    try:
        with module.open("a") as f:
            f.write("\n# edited by tests/test_reruns.py\n")
        pending = run.pending(config)
    finally:
        shutil.copy2(backup, module)  # content and time stamp: the other tests see no edit
    assert pending == downstream(jobs, consumers)
    unchanged = {j.rule for j in jobs if j.outputs and not j.outputs & pending}
    assert {"phantom", "extract_slices", "split", "simulate", "bm3d", "test_images"} <= unchanged
    assert run.pending(config) == set()


def test_changing_the_phantom_seed_reruns_everything(run):
    config = run.config("seed", phantom={"seed": 7})
    jobs = run.graph(config)
    pending = run.pending(config)
    assert pending == set().union(*(j.outputs for j in jobs))
    phantoms = [j for j in jobs if j.rule == "phantom"]
    assert pending == downstream(jobs, phantoms)


def test_adding_a_held_out_segmenter_trains_it_and_reevaluates_but_retrains_no_network(run):
    config = run.config("held_out", evaluation={"held_out_segmenters": 2})
    jobs = run.graph(config)
    (new,) = [j for j in jobs if "results/test/models/held_out_2.pt" in j.outputs]
    pending = run.pending(config)
    segmenting = [j for j in jobs if j.rule == "segment"]
    assert pending == downstream(jobs, [new, *segmenting])
    trainings = {j for j in jobs if j.rule.startswith("train_") and j.outputs & pending}
    assert trainings == {new}, "no reconstruction network and no other segmenter retrains"
    assert not any(j.outputs & pending for j in jobs if j.rule in ("infer", "consistency"))


def test_editing_the_training_loop_leaves_the_baselines_alone(run):
    """BM3D, the simulation and the test images do not import the training code."""
    module = run.checkout / "src/tact/training.py"
    config = run.config("base")
    jobs = run.graph(config)
    consumers = {j.rule for j in jobs if str(module) in j.inputs}
    assert consumers == {"train_segmentation", "train_reconstruction"}
