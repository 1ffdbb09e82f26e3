"""The scale rehearsal's measurements (issue 32): every job logs its peak memory against what
its rule declares, and bench/scale.py collects a finished run's benchmarks per rule."""

from __future__ import annotations

import logging
import re
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
    assert first.startswith("peak memory ") and "of the 1 MB declared" in first
    assert peak > 10  # an interpreter with numpy, in MB
    kinds = dict(re.findall(r"(Rss\w+) (\d+) MB", first))  # what it holds at its end
    assert set(kinds) == {"RssAnon", "RssFile", "RssShmem"}
    assert 0 < float(kinds["RssAnon"]) + float(kinds["RssFile"]) <= peak
    assert f"needed {peak:.0f} MB, more than the 1 MB its rule declares" in warning
    assert caplog.records[1].levelno == logging.WARNING
    assert "of the 10000000 MB declared" in second  # enough: no warning after it


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


def collected_run(volumes: int, slices: int, rules: dict) -> dict:
    """A collected run (bench/scale.py collect's shape) with the given rules' numbers."""
    empty = scale._empty()
    return {
        "run": f"rehearsal-{volumes}",
        "machine": "test",
        "date": "today",
        "volumes": volumes,
        "slices": slices,
        "rules": {name: empty | numbers for name, numbers in rules.items()},
        "training_images_per_s": {"base": 100.0},
        "training_epoch_s": {"base": 10.0},
    }


def test_the_fit_completes_bm3d_and_keeps_what_the_runs_lack():
    """BM3D measured on one of two test volumes counts for both (a run to its end, with a
    BM3D job for every volume, counts as it is); the networks' test images take BM3D's bytes
    per test volume; a rule the runs lack keeps an earlier fit's constants, what grows with
    the run brought to the new run's labelled slices."""
    rules = {
        "bm3d": {"jobs": 1, "bytes": 100, "cpu_s": 50.0, "job_s": 40.0, "max_rss_mb": 9.0},
        "infer": {"jobs": 7, "bytes": 7, "max_rss_mb": 5.0, "wall_s": 3.0},
        "train_reconstruction": {"jobs": 1, "job_s": 30.0, "max_rss_mb": 8.0},
    }
    runs = [collected_run(4, 500, rules), collected_run(8, 1000, rules)]
    constants = scale.fit(runs, volume_slices=200)
    scale.images_like_bm3d(constants, runs[-1], ("infer",))
    assert constants["rules"]["bm3d"]["bytes"] == 200  # 8 volumes: 2 test volumes
    assert constants["rules"]["bm3d"]["cpu_s"] == 100.0
    assert constants["rules"]["infer"]["bytes"] == 7 * 100 * 2
    # a run to its end: a BM3D job for every volume, its bytes those of both test volumes
    rules["bm3d"] |= {"jobs": 8, "bytes": 200, "cpu_s": 100.0, "job_s": 80.0}
    runs = [collected_run(4, 500, rules), collected_run(8, 1000, rules)]
    constants = scale.fit(runs, volume_slices=200)
    scale.images_like_bm3d(constants, runs[-1], ("infer",))
    assert (constants["rules"]["bm3d"]["bytes"], constants["rules"]["bm3d"]["cpu_s"]) == (200, 100)
    assert constants["rules"]["infer"]["bytes"] == 7 * 200
    earlier = {
        "measured": "earlier",
        "labelled_slices": 250,
        "rules": {"evaluate": {"wall_s": 10.0, "cpu_s": 20.0, "job_s": 20.0, "bytes": 4,
                               "peak_mb": 3.0, "gpu": False, "fixed": False}},
    }  # fmt: skip
    kept = scale.kept_rules(earlier, constants["labelled_slices"])["evaluate"]
    assert (kept["wall_s"], kept["cpu_s"], kept["bytes"], kept["peak_mb"]) == (40.0, 80.0, 16, 3.0)
    assert kept["measured"] == "earlier" and kept["measured_labelled_slices"] == 250
    again = scale.kept_rules({**earlier, "rules": {"evaluate": kept}}, 2000)["evaluate"]
    assert again["wall_s"] == 40.0  # brought once: the kept numbers are already the new run's


def test_a_bounded_rule_is_projected_by_its_volume_and_a_growing_one_along_its_line():
    """The paper-scale peak: a per-volume rule within 1.25 from one size to the other scales
    with LiTS' mean volume; one that grew more is extrapolated; one measured at one size only
    is taken as bounded."""
    flat = {
        "evaluate": {"jobs": 1, "max_rss_mb": 1000.0},
        "split": {"jobs": 1, "max_rss_mb": 100.0},
    }
    grows = {
        "evaluate": {"jobs": 1, "max_rss_mb": 2000.0},
        "split": {"jobs": 1, "max_rss_mb": 110.0},
    }
    runs = [collected_run(4, 500, flat), collected_run(8, 1000, grows | {"split": flat["split"]})]
    volume = scale.PAPER_VOLUME_SLICES / scale.rehearsal_volume_slices()
    assert scale.paper_peak_mb(runs, "split") == 100.0  # fixed: not by volume
    runs[-1]["rules"]["evaluate"]["max_rss_mb"] = 1100.0
    assert scale.paper_peak_mb(runs, "evaluate") == pytest.approx(1100.0 * volume)
    runs[-1]["rules"]["evaluate"]["max_rss_mb"] = 2000.0
    assert scale.paper_peak_mb(runs, "evaluate") == pytest.approx(
        2000.0 + 1000.0 / 500 * (scale.PAPER_SLICES - 1000)
    )
    runs[0]["rules"]["evaluate"]["jobs"] = 0  # the smaller run never got to it
    assert scale.paper_peak_mb(runs, "evaluate") == pytest.approx(2000.0 * volume)
