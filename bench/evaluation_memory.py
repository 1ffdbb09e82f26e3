"""An ``evaluate`` job's memory with its workers at once, at two volume sizes (issue 32: the
rehearsal's jobs ran one and two workers; four at once was estimated, not measured).

    .venv/bin/python bench/evaluation_memory.py [--slices 72 128] [--volumes 4] [--workers 4]

For each size, ``--volumes`` LiTS-shaped test volumes of that many labelled slices at 512 px are
written as the workflow writes them (``bench/evaluation.py``'s test run), and one ``evaluate``
job (one method over every volume, ``--workers`` worker processes, each opening the volume it
evaluates) runs in a process of its own while this one samples, every 50 ms, the resident
memory of that process and of its workers: the process tree's sum (what Snakemake's benchmark
``max_rss`` adds up; it counts shared library pages once per process), the job process's own
and the largest worker's. Then the growth per labelled slice of a test volume (a worker holds
its volume's test slices, the labelled ones), the tree's peak along that line at ``--project``
labelled slices a volume (LiTS' mean: 146 of 448 slices), and where the line reaches what the
rule asks for LiTS' mean volume (``tact.costs.job_memory_mb``, which scales by all of a
volume's slices).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
from pathlib import Path

import psutil

from tact.costs import job_memory_mb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluation import _evaluate_job, test_volume, write_test_run
from sampling import Sampler

MB = 2**20
LITS_MEAN_VOLUME_SLICES = 448  # all slices; about 146 of them labelled (docs/scale.md)


class TreePeaks(Sampler):
    """The largest resident memory, in MB, of a process and its children (summed, and the
    process and its largest child alone), sampled while a block runs."""

    def __init__(self, pid: int) -> None:
        super().__init__()
        self.process = psutil.Process(pid)
        self.peaks = {"tree_mb": 0.0, "job_mb": 0.0, "worker_mb": 0.0}

    def sample(self) -> None:
        try:
            own = self.process.memory_info().rss / MB
            workers = [self._rss(child) for child in self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        largest = max(workers, default=0.0)
        now = {"tree_mb": own + sum(workers), "job_mb": own, "worker_mb": largest}
        for key, value in now.items():
            self.peaks[key] = max(self.peaks[key], value)

    @staticmethod
    def _rss(process: psutil.Process) -> float:
        try:
            return process.memory_info().rss / MB
        except psutil.NoSuchProcess:  # a worker that ended between listing and reading
            return 0.0


def job_peaks(slices: int, volumes: int, workers: int) -> dict:
    """One evaluate job over ``volumes`` test volumes of ``slices`` labelled slices: its peaks."""
    data = test_volume(slices)
    with tempfile.TemporaryDirectory() as root:
        run = write_test_run(data, volumes, Path(root))
        job = multiprocessing.get_context("spawn").Process(
            target=_evaluate_job, args=(run, workers)
        )
        job.start()
        with TreePeaks(job.pid) as sampled:
            job.join()
        if job.exitcode != 0:
            raise RuntimeError("the evaluate job failed")
    return {"slices": len(data["slices"]), **sampled.peaks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--slices", type=int, nargs=2, default=[72, 128], help="per volume, at most 128"
    )
    parser.add_argument("--volumes", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="the rule's threads")
    parser.add_argument("--project", type=int, default=146, help="labelled slices a volume")
    args = parser.parse_args()
    small, large = (job_peaks(n, args.volumes, args.workers) for n in args.slices)
    for r in (small, large):
        print(f"{r['slices']} slices a volume: " + ", ".join(f"{k} {v:.0f}" for k, v in r.items()))
    added = large["slices"] - small["slices"]
    for key in ("tree_mb", "job_mb", "worker_mb"):
        print(f"{key}: {(large[key] - small[key]) / added:+.2f} MB per slice of a volume")
    slope = (large["tree_mb"] - small["tree_mb"]) / added
    projected = large["tree_mb"] + slope * (args.project - large["slices"])
    print(f"tree peak at {args.project} labelled slices a volume: {projected:.0f} MB")
    asked = job_memory_mb("evaluate", LITS_MEAN_VOLUME_SLICES)
    reached = large["slices"] + (asked - large["tree_mb"]) / slope
    print(
        f"the rule asks {asked} MB for LiTS' mean volume ({LITS_MEAN_VOLUME_SLICES} slices); "
        f"the line reaches it at {reached:.0f} labelled slices a test volume"
    )


if __name__ == "__main__":
    main()
