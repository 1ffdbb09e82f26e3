"""Atomic file writing: a killed job never leaves a half-written output behind."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from tact.errors import InputDataError, TactError

REMAKE = "delete it and run again: Snakemake makes it anew"


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place only if the block succeeds.

    The temporary file lives in the same directory so that ``os.replace`` is an atomic rename.
    Its name keeps the final suffix(es) so that libraries which pick a format from the
    extension (nibabel, numpy, matplotlib) behave as for the real name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    # A job killed by SIGKILL leaves its temporary file; only one job writes an output at a time,
    # so any such file is stale.
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp{glob.escape(suffix)}"):
        stale.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as written:  # on disk before the rename, so a crash leaves no stub
            os.fsync(written.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs should read like any other file
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise TactError(f"{path}: no space left on its disk; free some and run again") from exc
        raise
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def read_npz(path: str | Path) -> Iterator[np.lib.npyio.NpzFile]:
    """An intermediate .npz file of the workflow, open for reading (no pickles). A file that is
    truncated, damaged, unreadable or lacks an array is one error naming it and the fix."""
    try:
        with np.load(path, allow_pickle=False) as data:
            yield data
    except PermissionError as exc:
        raise InputDataError(path, "permission denied: tact may not read it") from exc
    except FileNotFoundError as exc:
        raise InputDataError(
            path, f"does not exist (deleted after it was made?); {REMAKE}"
        ) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise InputDataError(path, f"truncated or damaged ({exc}); {REMAKE}") from exc
    except KeyError as exc:
        raise InputDataError(
            path, f"lacks the array {exc} (made by another version?); {REMAKE}"
        ) from exc


def write_csv(table: pd.DataFrame, path: str | Path) -> None:
    """Write a table atomically, without the index."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
