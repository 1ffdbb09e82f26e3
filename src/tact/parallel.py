"""Independent pieces of one workflow step in worker processes, with the plan and the progress
in the step's log."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from typing import Any

from tact.logs import ProgressLog

log = logging.getLogger(__name__)


def _one_thread_each() -> None:
    """Workers share the step's cores: libraries that start a thread per core (OpenMP, torch)
    get one each, or the processes oversubscribe the cores. Runs before a worker imports
    them."""
    os.environ["OMP_NUM_THREADS"] = "1"


def in_processes(
    function: Callable[[Any], Any], jobs: Sequence[Any], workers: int, what: str, unit: str
) -> list:
    """``function`` over ``jobs`` in order, in ``workers`` processes when there are several;
    the log says the plan (``what``: the step, ``unit``: what a job is), then the progress.
    ``function`` and the jobs must pickle (a module-level function and plain data).

    Workers are spawned, not forked: a forked worker inherits the parent's OpenMP thread pool
    once the parent has run torch, and hangs in its first torch operation (MONAI's 3-D NSD
    did, in the test suite and in bench/evaluation.py). A spawned worker imports the parent's
    main script again, so a script that calls this runs its step under
    ``if __name__ == "__main__":``."""
    workers = max(1, min(workers, len(jobs)))
    log.info("%s: %d %s, %d at a time", what, len(jobs), unit, workers)
    progress = ProgressLog(log, what, len(jobs))
    results = []
    pool = None
    if workers > 1:
        spawn = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=spawn, initializer=_one_thread_each)
    with pool or nullcontext():
        for result in pool.map(function, jobs) if pool else map(function, jobs):
            results.append(result)
            progress.step()
    return results
