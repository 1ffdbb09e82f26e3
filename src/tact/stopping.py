"""A run told to stop ends promptly, with the truth on its last line.

Snakemake's own SIGTERM handling waits for every running job to finish (a training: hours),
then says that a job did not complete; a second SIGTERM or SIGINT is not heard meanwhile. Here
SIGTERM and SIGINT to the workflow's main process end the running jobs' processes at once and
then stop the scheduler as Ctrl-C does (on a cluster that cancels the submitted jobs). Every
output is written atomically and trainings checkpoint, so running the same command again
resumes: finished steps are kept.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from types import FrameType

import psutil

_stopping = False


def stop_promptly_on_signals() -> None:
    """Install the handlers in the main process (after Snakemake installed its own)."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, _stop)


def _stop(number: int, frame: FrameType | None) -> None:
    """First signal: end the jobs and stop; a later one: make sure the jobs are gone."""
    global _stopping
    first = not _stopping
    _stopping = True
    if first:
        print(
            f"tact: stopped by {signal.Signals(number).name}: the running jobs are ended; run"
            " the same command again to resume (finished steps are kept)",
            file=sys.stderr,
            flush=True,
        )
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # ended meanwhile
            child.terminate() if first else child.kill()
    if first:
        raise KeyboardInterrupt
