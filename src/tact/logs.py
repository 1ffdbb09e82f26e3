"""Run one workflow step with its log file, and report bad input as one clear line.

Workflow scripts call :func:`run_step`. Problems with the user's data or configuration
(:class:`tact.errors.TactError`) end the step with the message alone on stderr and in the log,
and exit status 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from tact.errors import TactError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def run_step(log_path: str | Path, step: Callable[[], None]) -> None:
    """Configure logging to ``log_path`` (and stderr) and run ``step``."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [
        logging.FileHandler(log_path, mode="w"),
        logging.StreamHandler(sys.stderr),
    ]
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, handlers=handlers, force=True)
    log = logging.getLogger("tact")
    try:
        step()
    except TactError as exc:
        log.error("%s", exc)
        logging.shutdown()
        sys.exit(1)
    except Exception:
        log.exception("step failed")
        logging.shutdown()
        raise
