"""A changed setting reruns only what depends on it: `snakemake --summary` after a complete run.

The shared tiny phantom run (tests/conftest.py) completes; then each change is made and
`--summary` says which outputs would be rebuilt (plan `update pending`). The expected set is
computed independently of Snakemake's rerun logic: the outputs of the jobs the change touches
directly (named here), plus everything downstream of them in the workflow's file graph (every
job's inputs and outputs, from a forced dry run). So the tests pin both the wiring (params
narrowly passed, library files listed as inputs) and its reach, whatever report rules hang below
the evaluation.

That run works from a copy of the checkout (Snakefile, workflow/, src/, config/, envs/), so one
test can edit a library module without touching the real tree; it restores the module's content
and time stamp, and no test here builds anything, so the run stays complete for the others.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable

import pytest

from conftest import TINY_PHANTOM, PlannedJob

pytestmark = pytest.mark.slow

Job = PlannedJob


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


@pytest.fixture
def run(complete_phantom_run):
    """The shared tiny phantom run (tests/conftest.py), complete."""
    return complete_phantom_run


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
    assert len(bm3d) == TINY_PHANTOM["n_volumes"]
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
    config = run.config("held_out", evaluation={"held_out_segmenters": 3})
    jobs = run.graph(config)
    (new,) = [j for j in jobs if "results/test/models/held_out_3.pt" in j.outputs]
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
