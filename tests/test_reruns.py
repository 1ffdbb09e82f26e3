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
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import (
    REPO,
    TINY_PHANTOM,
    PlannedJob,
    import_closure,
    planned_jobs,
    rule_scripts,
)
from tact.config import load_schema, validate_config

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


def reversed_keys(value: Any) -> Any:
    """``value`` with every mapping's keys in reverse order, recursively."""
    if isinstance(value, dict):
        return {key: reversed_keys(value[key]) for key in reversed(list(value))}
    return value


def test_reordering_the_keys_of_every_section_plans_no_job(run):
    """Every key of the schema written out (so every rule's params are in the file), each
    section's keys in reverse order: the same values, so nothing may rerun (issue 33)."""
    schema = load_schema(run.checkout / "workflow/schemas/config.schema.yaml")
    full = validate_config(yaml.safe_load(run.config("base").read_text()), schema)
    for order in (full, reversed_keys(full)):
        config = run.workdir / "reordered.yaml"
        config.write_text(yaml.safe_dump(order, sort_keys=False))
        assert "Nothing to be done" in run.snakemake(config, "--dry-run")


def test_settings_that_cannot_change_a_result_rerun_nothing(run):
    """Checkpoint spacing, and the device where the result is the same (this CPU machine, the
    tiny run's `auto`, against `cpu`), leave every finished job as it is."""
    if shutil.which("nvidia-smi"):
        pytest.skip("on a GPU machine `auto` trains on the GPU")
    config = run.config("placement", training={"checkpoint_every": 3, "device": "cpu"})
    assert run.pending(config) == set()


def test_training_deterministic_reruns_only_the_trainings_and_what_follows(run):
    """training.deterministic reaches the training rules alone (issue 34)."""
    config = run.config("fast", training={"deterministic": False})
    jobs = run.graph(config)
    trainings = [j for j in jobs if j.rule in {"train_segmentation", "train_reconstruction"}]
    assert run.pending(config) == downstream(jobs, trainings)


def test_all_makes_every_file_so_a_deleted_intermediate_is_made_again(run):
    """`all` names every file the run makes; the measured counts deleted after the run (read
    only by the consistency jobs, which were done) are made again by the next `all`."""
    jobs = run.graph(run.config("base"))
    (everything,) = [job for job in jobs if job.rule == "all"]
    assert set().union(*(job.outputs for job in jobs)) == everything.inputs
    counts = "results/test/sim/volume-1.counts.npz"
    aside = run.workdir / "counts.aside"
    shutil.move(run.workdir / counts, aside)  # a rename: its time stamp goes back with it
    try:
        plan = run.snakemake(run.config("base"), "--dry-run")
    finally:
        shutil.move(aside, run.workdir / counts)
    (simulate,) = [job for job in planned_jobs(plan) if job.rule == "simulate"]
    assert counts in simulate.outputs


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
    # the observer study's BM3D of its lesion images takes the same sigma
    (observer,) = [j for j in jobs if "results/test/observers/per_method/bm3d.csv" in j.outputs]
    pending = run.pending(config)
    assert pending == downstream(jobs, [*bm3d, observer])
    unchanged = {j.rule for j in jobs if j.outputs and not j.outputs & pending}
    assert {"simulate", "train_segmentation", "train_reconstruction", "infer"} <= unchanged
    assert "results/test/test/bm3d.labels.h5" in pending
    assert "results/test/test/base.labels.h5" not in pending


def test_an_observers_own_settings_rerun_the_observers_not_the_lesion_images(run):
    """The CHO's channels and the NPWE's display reach the observer jobs alone: the lesion
    images (their simulation) stay; the lesion grid reaches the images too."""
    own = {"channels": 2, "npwe": False, "viewing_distance_mm": 400}
    config = run.config("observers", observers=own)
    jobs = run.graph(config)
    observers = [j for j in jobs if j.rule in {"observe", "observe_network"}]
    assert run.pending(config) == downstream(jobs, observers)
    assert "results/test/observers/lesion_images.h5" not in run.pending(config)
    grid = run.config("grid", observers={"realisations": 10})
    assert "results/test/observers/lesion_images.h5" in run.pending(grid)


def pending_after_editing(run, module: Path) -> set[str]:
    """What `--summary` would rebuild after a comment is added to ``module``; the module's
    content and time stamp are restored afterwards, so the other tests see no edit."""
    backup = run.workdir / f"{module.name}.orig"
    shutil.copy2(module, backup)
    try:
        with module.open("a") as f:
            f.write("\n# edited by tests/test_reruns.py\n")
        return run.pending(run.config("base"))
    finally:
        shutil.copy2(backup, module)


@pytest.mark.parametrize("module", ["losses.py", "training.py"])
def test_editing_a_library_module_reruns_only_its_consumers_and_what_depends_on_them(run, module):
    """The loss and the training loop are inputs of the trainings alone: editing either reruns
    them and what follows, never the data, the simulation, BM3D or the test images."""
    path = run.checkout / "src/tact" / module
    jobs = run.graph(run.config("base"))
    consumers = [j for j in jobs if str(path) in j.inputs]
    assert {j.rule for j in consumers} == {"train_segmentation", "train_reconstruction"}
    pending = pending_after_editing(run, path)
    assert pending == downstream(jobs, consumers)
    untouched = {"phantom", "extract_slices", "split", "simulate", "bm3d"}
    assert not any(j.outputs & pending for j in jobs if j.rule in untouched)
    assert run.pending(run.config("base")) == set()


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


def test_every_library_module_is_an_input_of_exactly_the_rules_that_import_it(run):
    """For every module of src/tact: the jobs whose inputs list it (the forced dry run of the
    finished tiny run) are exactly the jobs whose script imports it, directly or through other
    modules (an AST walk written in tests/conftest.py). With the edit tests above, which show
    that Snakemake reruns a job whose listed module changed, this pins every module's reach."""
    jobs = run.graph(run.config("base"))
    scripts = rule_scripts()
    src = run.checkout / "src"
    closures = {
        rule: {src / p.relative_to(REPO / "src") for p in import_closure(path)}
        for rule, path in scripts.items()
    }
    ran = {job.rule for job in jobs}
    assert ran <= set(scripts) | {"all"}, "every rule but all runs a script"
    for module in sorted(src.rglob("*.py")):
        listing = {job.rule for job in jobs if str(module) in job.inputs}
        importing = {rule for rule in ran - {"all"} if module in closures[rule]}
        assert listing == importing, module.relative_to(src)
