"""Run one workflow step with its log file, report bad input as one clear line, and log the
progress of long steps.

Workflow scripts call :func:`run_step`. Problems with the user's data or configuration
(:class:`tact.errors.TactError`) end the step with the message alone on stderr and in the log,
and exit status 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import math
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tact.errors import TactError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def run_step(
    log_path: str | Path, step: Callable[[], None], *, mem_mb: float | None = None
) -> None:
    """Configure logging to ``log_path`` (and stderr) and run ``step``; then log its peak
    memory (and GPU memory), with a warning when it needed more than ``mem_mb``, the memory
    its rule declares (issue 32: an estimate that turns out wrong is said, with the value)."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [
        logging.FileHandler(log_path, mode="w"),
        logging.StreamHandler(sys.stderr),
    ]
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, handlers=handlers, force=True)
    log = logging.getLogger("tact")
    try:
        step()
        log_peaks(log, mem_mb)
    except TactError as exc:
        log.error("%s", exc)
        logging.shutdown()
        sys.exit(1)
    except Exception:
        log.exception("step failed")
        logging.shutdown()
        raise


def peak_memory_mb() -> float:
    """Peak resident memory of this process, and of its largest finished worker process."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + workers) / 1024  # kB on Linux


def resident_kinds_mb() -> dict[str, float]:
    """This process's resident memory now, by kind (Linux's /proc/self/status): anonymous
    (what it holds), file-backed (mapped files' pages, which the kernel can take back) and
    shared. Which kind grows with the data tells whether a job's peak is really needed
    (issue 32: the trainings' peaks grew 4-6 MB per training slice)."""
    kinds = {}
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return kinds
    for line in lines:
        name, _, value = line.partition(":")
        if name in ("RssAnon", "RssFile", "RssShmem"):
            kinds[name] = float(value.split()[0]) / 1024  # kB
    return kinds


def log_peaks(log: logging.Logger, mem_mb: float | None) -> None:
    """One line with the step's peak memory (and GPU memory when it used a GPU), and what the
    process holds at its end by kind; a warning when the memory its rule declares was too
    little."""
    peak = peak_memory_mb()
    line = f"peak memory {peak:.0f} MB" + (f" of the {mem_mb:.0f} MB declared" if mem_mb else "")
    kinds = resident_kinds_mb()
    if kinds:
        line += " (at the end: " + ", ".join(f"{k} {v:.0f} MB" for k, v in kinds.items()) + ")"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        line += f"; peak GPU memory {torch.cuda.max_memory_reserved() / 2**20:.0f} MiB"
    log.info("%s", line)
    if mem_mb and peak > mem_mb:
        log.warning(
            "this job needed %.0f MB, more than the %.0f MB its rule declares (docs/scale.md "
            "holds what was measured): raise mem_mb for this rule with --set-resources, and "
            "tell us",
            peak,
            mem_mb,
        )


class ProgressLog:
    """Log lines that say how far a long step has got: after the first item, then every tenth
    of the way (``every``), and at the end, each with the time per item and the expected time
    left. A step's log then shows progress from its first seconds, where a progress bar on
    stderr would not reach the log file."""

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        total: int,
        every: float = 0.1,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.log, self.what, self.total, self.clock = log, what, total, clock
        self.stride = max(1, math.ceil(total * every))
        self.done, self.start = 0, clock()

    def step(self, count: int = 1) -> None:
        """``count`` more items are done."""
        before, self.done = self.done, self.done + count
        crossed = self.done // self.stride > before // self.stride
        if before == 0 or crossed or self.done >= self.total:
            elapsed = self.clock() - self.start
            each = elapsed / self.done
            self.log.info(
                "%s: %d of %d done, %.2g s each, about %.0f s left",
                self.what,
                self.done,
                self.total,
                each,
                each * max(self.total - self.done, 0),
            )
