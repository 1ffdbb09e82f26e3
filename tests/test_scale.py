"""The scale rehearsal's measurements (issue 32): every job logs its peak memory against what
its rule declares, and bench/scale.py collects a finished run's benchmarks per rule."""

from __future__ import annotations

import logging
import subprocess
import sys

import h5py
import pytest

from conftest import (
    REPO,
    copy_checkout,
    snakemake_command,
    tiny_phantom_config,
    workflow_environment,
)
from tact.costs import job_memory_mb
from tact.logs import log_peaks

sys.path.insert(0, str(REPO / "bench"))
import scale


def test_a_job_that_needed_more_memory_than_declared_says_so(caplog):
    with caplog.at_level(logging.INFO, logger="tact.test"):
        log_peaks(logging.getLogger("tact.test"), mem_mb=1)
        log_peaks(logging.getLogger("tact.test"), mem_mb=10**7)
    first, warning, second = (r.getMessage() for r in caplog.records)
    peak = float(first.split()[2])
    assert first.startswith("peak memory ") and first.endswith("of the 1 MB declared")
    assert peak > 10  # an interpreter with numpy, in MB
    assert f"needed {peak:.0f} MB, more than the 1 MB its rule declares" in warning
    assert caplog.records[1].levelno == logging.WARNING
    assert second.endswith("of the 10000000 MB declared")  # enough: no warning after it


def test_benchmark_files_are_read_as_their_rules():
    assert scale.rule_of_benchmark(scale.Path("train/segmentation.tsv")) == "train_segmentation"
    assert scale.rule_of_benchmark(scale.Path("train/held_out_2.tsv")) == "train_segmentation"
    assert scale.rule_of_benchmark(scale.Path("train/task_a0.5.tsv")) == "train_reconstruction"
    assert scale.rule_of_benchmark(scale.Path("report/tables.tsv")) == "tables"
    assert scale.rule_of_benchmark(scale.Path("simulate/volume-3.tsv")) == "simulate"
    assert scale.rule_of_benchmark(scale.Path("tune_fbp.tsv")) == "tune_fbp"


def test_a_finished_run_is_collected_rule_by_rule(complete_phantom_run, tmp_path):
    run = complete_phantom_run
    summary = tmp_path / "summary.tsv"
    summary.write_text(run.snakemake(run.config("base"), "--summary"))
    collected = scale.collect(run.results, summary)
    rules = collected["rules"]
    planned = {job.rule for job in run.graph(run.config("base"))} - {"all"}
    assert set(rules) == planned  # every rule has a benchmark file
    stores = sorted((run.results / "data/slices").glob("volume-*.h5"))
    assert rules["extract_slices"]["jobs"] == len(stores) == collected["volumes"]
    assert rules["extract_slices"]["bytes"] == sum(p.stat().st_size for p in stores)
    slices = 0
    for store in stores:
        with h5py.File(store) as file:
            slices += len(file["slice_index"])
    assert collected["slices"] == slices
    assert all(r["max_rss_mb"] > 0 and r["wall_s"] > 0 for r in rules.values())
    assert set(collected["training_images_per_s"]) == {
        p.stem for p in (run.results / "training").glob("*.csv")
    }
    for log in (run.results / "logs").rglob("*.log"):  # every job logs its peak
        assert "peak memory" in log.read_text(), log
    for bench in (run.results / "benchmarks").rglob("*.tsv"):  # the larger of sample and log
        relative = bench.relative_to(run.results / "benchmarks")
        logged = scale.PEAK.findall(
            (run.results / "logs" / relative.with_suffix(".log")).read_text()
        )
        assert rules[scale.rule_of_benchmark(relative)]["max_rss_mb"] >= float(logged[-1])
    table = scale.report([collected, collected])
    row = next(line for line in table.splitlines() if line.startswith("| simulate |"))
    assert "| 1.00 |" in row  # the same run twice: its peak does not grow
    cells = [cell.strip() for cell in row.split("|")]
    peak, asks = float(cells[9]), cells[10]  # at paper scale: what the job asks, from costs.json
    assert asks == "declared" or float(asks) >= peak


@pytest.mark.slow
def test_a_retried_job_asks_for_more_memory(tmp_path):
    """A job killed for memory must not ask for the same again: the split's script, edited in a
    copy of the checkout, fails while its request is below twice the rule's; one retry runs."""
    first = job_memory_mb("split")  # from the rehearsal's measurement
    checkout = copy_checkout(tmp_path / "checkout")
    script = checkout / "workflow/scripts/split.py"
    script.write_text(
        f"if snakemake.resources.mem_mb < 2 * {first}:\n"
        "    raise MemoryError(f'asked {snakemake.resources.mem_mb} MB')\n" + script.read_text()
    )
    config = tiny_phantom_config(tmp_path / "c.yaml")
    target = "results/test/data/split.csv"

    def run(*args: str) -> subprocess.CompletedProcess:
        command = snakemake_command(
            tmp_path, config, target, *args, snakefile=checkout / "Snakefile"
        )
        return subprocess.run(command, capture_output=True, text=True, env=workflow_environment())

    once = run()
    assert once.returncode != 0 and f"asked {first} MB" in once.stdout + once.stderr
    again = run("--retries", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert (tmp_path / target).exists()
