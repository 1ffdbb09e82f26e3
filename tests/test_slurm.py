"""The workflow through profiles/slurm on a real one-node SLURM cluster (tests/slurm_cluster.py).

One tiny phantom run goes through `snakemake --profile profiles/slurm all`, as a user runs it.
Only what a CI machine needs differs, and it is passed on the command line, not baked into the
profile: the tiny config, squeue as status command (no accounting daemon here), short polling
intervals, at most 2 threads per job (the machine has 2 cores) and a few jobs at a time. SLURM is
then asked what it ran: every non-local rule as a job with its CPUs, memory, time limit,
partition and GPU request. While it runs, the segmentation training is requeued with
`scontrol requeue` (what a preemption does) and must resume from its checkpoint.

A dry run of the paper's config through the profile shows the full DAG and where each job goes.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import GPU_RULES, REPO, snakemake_command, workflow_environment, write_config
from slurm_cluster import SlurmCluster, missing_requirements
from tact.training import load_state_dict

PROFILE = REPO / "profiles/slurm"
TIME_LIMIT_S = 900  # the whole run; a hung snakemake is killed (TERM, then KILL 30 s later)
MAX_THREADS = 2
G_TRAINING = "rule_train_segmentation_wildcards_segmentation"  # g's job, as the plugin names it
LOCAL_RULES = {"all"}  # the Snakefile's localrules: run by snakemake itself, not submitted
EPOCHS = 8  # long enough for the requeue to land between the first checkpoint and the end
TINY = {
    "data": {"source": "phantom", "image_size": 64},
    "phantom": {"n_volumes": 2, "size": 96, "n_slices": 8, "slice_thickness_mm": 5.0},
    "simulation": {"n_angles": 100},
    "fbp": {"frequency_scaling": 0.641},  # fixed: no tuning job
    "bm3d": {"sigma_psd": 0.075},  # fixed: no sweep job
    "training": {"epochs": EPOCHS, "batch_size": 4, "early_stopping_patience": EPOCHS},
    "task_adaptive": {"alphas": [0.5]},
    "joint": {"cs": []},
    "evaluation": {"held_out_segmenters": 0},  # the held-out path is the phantom run's subject
}
CI_SETTINGS = (
    "--slurm-status-command=squeue",
    "--slurm-init-seconds-before-status-checks=1",
    "--seconds-between-status-checks=1",
    f"--max-threads={MAX_THREADS}",
    "--jobs=6",
)
SQUEUE_FIELDS = (
    "JobID",
    "Comment",
    "State",
    "NumCPUs",
    "MinMemory",
    "TimeLimit",
    "Partition",
    "tres-per-job",
    "Requeue",
)


@pytest.fixture(scope="module")
def cluster():
    missing = missing_requirements()
    if missing:
        pytest.fail(
            "the SLURM test needs a real SLURM and root; missing: "
            f"{', '.join(missing)}. Install with tools/install-system-deps (make test does)."
        )
    with SlurmCluster() as running:
        yield running


def snakemake(workdir: Path, configfile: Path, *args: str) -> list[str]:
    """The command line; the profile sets cores and jobs."""
    return snakemake_command(workdir, configfile, *args, cores=None)


def dry_run(workdir: Path, configfile: Path, *args: str) -> list[dict]:
    """The jobs of a dry run: rule, threads, outputs and resources of each."""
    out = subprocess.run(
        snakemake(workdir, configfile, "--dry-run", *args),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs = []
    for block in re.split(r"^rule ", out, flags=re.MULTILINE)[1:]:
        threads = re.search(r"^    threads: (\d+)$", block, re.MULTILINE)
        outputs = re.search(r"^    output: (.*)$", block, re.MULTILINE)
        resources = re.search(r"^    resources: (.*)$", block, re.MULTILINE)
        jobs.append(
            {
                "rule": block.split(":")[0],
                "threads": int(threads[1]) if threads else 1,
                "outputs": outputs[1].split(", ") if outputs else [],
                "resources": dict(re.findall(r"(\w+)=([^,\s]+)", resources[1])),
            }
        )
    return jobs


def planned_jobs(workdir: Path, configfile: Path, defaults: dict) -> list[dict]:
    """Every cluster job of a full run as Snakemake plans it: rule, threads, mem_mb, runtime.

    Planned locally (a local dry run shows threads); ``defaults``: the profile's
    default-resources, for a rule that declares none.
    """
    jobs = dry_run(workdir, configfile, "--cores=64", f"--max-threads={MAX_THREADS}")
    return [
        {
            "rule": job["rule"],
            "threads": job["threads"],
            "mem_mb": int({**defaults, **job["resources"]}["mem_mb"]),
            "runtime": int({**defaults, **job["resources"]}["runtime"]),
        }
        for job in jobs
        if job["rule"] not in LOCAL_RULES
    ]


def megabytes(memory: str) -> int:
    """squeue's MinMemory (e.g. 62.50G, 4000M) in MB as sbatch --mem takes it."""
    value, unit = float(memory[:-1]), memory[-1]
    return round(value * {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}[unit])


def minutes(limit: str) -> int:
    """squeue's TimeLimit ([D-]HH:MM:SS or MM:SS) in minutes."""
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    hours, mins, secs = parts
    return int(days or 0) * 1440 + hours * 60 + mins + secs // 60


def requeue_when_checkpointed(
    cluster: SlurmCluster, checkpoint: Path, run: subprocess.Popen
) -> str | None:
    """Requeue the segmentation training's job as soon as it has written its first checkpoint.

    Returns its job id, or None if the run ended first.
    """
    job = None
    while run.poll() is None:
        if job is None:
            running = [
                j["JobID"]
                for j in cluster.jobs(("JobID", "Comment", "State"))
                if j["Comment"] == G_TRAINING and j["State"] == "RUNNING"
            ]
            job = running[0] if running else None
        if job and checkpoint.exists():
            cluster.run("scontrol", "requeue", job)
            return job
        time.sleep(0.02 if job else 0.2)
    return None


def test_profile_dry_run_of_the_paper_config_lists_the_full_dag(tmp_path, lits_dir):
    """`snakemake --profile profiles/slurm -n` on config/config.yaml (LiTS, five test volumes)."""
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["data"]["lits_dir"] = str(lits_dir)
    configfile = tmp_path / "paper.yaml"
    configfile.write_text(yaml.safe_dump(config))
    jobs = dry_run(tmp_path, configfile, "--profile", str(PROFILE))

    count = Counter(job["rule"] for job in jobs)
    n_volumes, n_models = 5, 7
    n_segmenters = 3  # g and the two held-out segmenters (evaluation.held_out_segmenters)
    assert count["train_segmentation"] == n_segmenters
    assert count["train_reconstruction"] == n_models
    for per_volume in ("extract_slices", "simulate", "bm3d"):
        assert count[per_volume] == n_volumes, per_volume
    assert count["infer"] == n_models
    n_images = n_models + 4  # lowdose, fbp, bm3d, full dose
    for per_method in ("segment", "consistency", "evaluate"):
        assert count[per_method] == n_images, per_method
    assert count["gather_metrics"] == 1 and count["tune_fbp"] == 1
    outputs = {path for job in jobs for path in job["outputs"]}
    models = ["segmentation", "held_out_1", "held_out_2", "base", "joint_c0.1", "joint_c0.5"]
    models += ["joint_c0.9"]
    models += ["task_a0.1", "task_a0.5", "task_a0.9"]
    tables = ["table1_pixel", "table2_dice", "table3_anatomy", "table3_anatomy_3d"]
    figures = ["fig2_sample", "fig3_reconstructions", "fig4_segmentations"]
    figures += ["alpha_tradeoff", "metric_correlation"]
    contract = [
        *(f"models/{m}.pt" for m in models),
        "metrics/per_slice.csv",
        "metrics/per_volume.csv",
        *(f"tables/{t}.csv" for t in tables),
        *(f"figures/{f}.png" for f in figures),
    ]
    missing = [path for path in contract if f"results/lits/{path}" not in outputs]
    assert not missing, f"not in the plan: {missing}"

    # the profile's placement: network and projection rules on the GPU partition, one A100 each
    for job in jobs:
        resources, gpu = job["resources"], job["rule"] in GPU_RULES
        placement = (resources["slurm_partition"], resources.get("gpu"), resources.get("gpu_model"))
        assert placement == (("gpu", "1", "a100") if gpu else ("cpu", None, None)), job["rule"]


@pytest.mark.slow
def test_workflow_runs_through_the_slurm_profile(cluster, tmp_path):
    """The tiny run through profiles/slurm, checked from SLURM's side, with one requeue."""
    config = write_config(tmp_path / "tiny.yaml", **TINY)
    profile = yaml.safe_load((PROFILE / "config.v8+.yaml").read_text())
    expected = planned_jobs(tmp_path, config, profile["default-resources"])
    gpu_rules = {r for r, res in profile["set-resources"].items() if res.get("gpu")}
    assert gpu_rules == GPU_RULES

    env = {**cluster.env, "PATH": workflow_environment()["PATH"]}
    command = [
        "timeout",
        "-k",
        "30",
        str(TIME_LIMIT_S),
        *snakemake(tmp_path, config, "--profile", str(PROFILE), *CI_SETTINGS, "all"),
    ]
    log = tmp_path / "snakemake.out"
    with log.open("w") as out:
        run = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
        try:
            checkpoint = tmp_path / "results/test/checkpoints/segmentation.ckpt"
            requeued = requeue_when_checkpointed(cluster, checkpoint, run)
        finally:
            returncode = run.wait()
    output = log.read_text()
    assert returncode == 0, f"snakemake exit {returncode} (124/137: hung, killed):\n{output}"

    # SLURM ran one job per planned non-local job, each with the resources it should have
    jobs = cluster.jobs(SQUEUE_FIELDS)
    ran = Counter(j["Comment"].removeprefix("rule_").split("_wildcards_")[0] for j in jobs)
    planned = Counter(j["rule"] for j in expected)
    assert ran == planned, f"SLURM ran {dict(ran)}, the plan has {dict(planned)}"
    by_rule = {j["rule"]: j for j in expected}
    for job in jobs:
        rule = job["Comment"].removeprefix("rule_").split("_wildcards_")[0]
        want, gpu = by_rule[rule], rule in gpu_rules
        got = (
            job["State"],
            int(job["NumCPUs"]),
            megabytes(job["MinMemory"]),
            minutes(job["TimeLimit"]),
            job["Partition"],
            job["tres-per-job"],
            job["Requeue"],
        )
        assert got == (
            "COMPLETED",
            want["threads"],
            want["mem_mb"],
            want["runtime"],
            "gpu" if gpu else "cpu",
            "gres:gpu:a100:1" if gpu else "N/A",
            "1",
        ), f"{job['Comment']} (job {job['JobID']})"
    assert {j["rule"] for j in expected if j["threads"] > 1}, "some job must use 2 CPUs"

    # the requeued training ran twice in the same SLURM job and went on from its checkpoint
    assert requeued, "the run ended before the segmentation training wrote a checkpoint"
    show = cluster.run("scontrol", "show", "job", "--oneliner", requeued).stdout
    assert "Restarts=1" in show and "JobState=COMPLETED" in show, show
    train_log = (tmp_path / "results/test/logs/train/segmentation.log").read_text()
    resumed = re.search(r"resumed from \S+ at epoch (\d+), step \d+", train_log)
    assert resumed and int(resumed[1]) >= 2, train_log
    history = pd.read_csv(tmp_path / "results/test/training/segmentation.csv")
    assert history["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert load_state_dict(tmp_path / "results/test/models/segmentation.pt")
    assert not checkpoint.exists()

    # the run is complete: nothing left to do
    summary = subprocess.run(
        snakemake(tmp_path, config, "--profile", str(PROFILE), "--summary"),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    plans = {line.split("\t")[-1] for line in summary.strip().splitlines()[1:]}
    assert plans == {"no update"}, summary
