"""Independent pieces of one workflow step in worker processes, with the plan and the progress
in the step's log."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from typing import Any

from tact.logs import ProgressLog

log = logging.getLogger(__name__)


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextmanager
def _one_thread_each() -> Iterator[None]:
    """Workers share the step's cores: libraries that start a thread per core (OpenMP, BLAS,
    torch) get one each, or the processes oversubscribe the cores. A spawned worker imports
    the parent's main script, and with it torch, before any initializer runs, so the setting
    must be in the environment it starts with (measured on 16 cores: with the variable set
    only in the initializer, 16 workers ran 29 test slices/s where one process ran 5.2)."""
    before = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _torch_one_thread() -> None:
    """For a torch imported before the environment said so (it reads it once, at import)."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def in_processes(
    function: Callable[[Any], Any], jobs: Sequence[Any], *, workers: int, what: str, unit: str
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
        pool = ProcessPoolExecutor(workers, mp_context=spawn, initializer=_torch_one_thread)
    with pool or nullcontext(), _one_thread_each() if pool else nullcontext():
        for result in pool.map(function, jobs) if pool else map(function, jobs):
            results.append(result)
            progress.step()
    return results
