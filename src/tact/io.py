"""Atomic file writing (a killed job never leaves a half-written output behind), and the
workflow's array files.

Why HDF5 (h5py) for the slice stores, simulations and test images: one self-describing file per
volume (what Snakemake tracks), each array stored its own way in it. Images lie contiguous and
uncompressed, so a job memory-maps them and reads only the slices it uses (`mapped`): a job's
memory is then bounded by what it touches, not by the dataset. Label maps are compressed in
chunks of one slice (they shrink about 50-fold and a slice still reads alone), and so are the
images that only evaluation reads whole, a volume at a time (the networks' and BM3D's test
images): losslessly, byte-shuffled then gzip level 1, which keeps 0.76 of their bytes (a 512 px
phantom slice with the noise of a network's output, measured 2026-12-06: gzip level 4 kept 0.75
at slower writes, lzf 0.81). LoDoPaB-CT itself
is distributed as HDF5, so CT researchers' tools read these files. numpy's ``.npz`` can neither
memory-map a member nor compress one member and not another; zarr would mean a folder per
volume, which Snakemake tracks by its timestamp only.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import mmap
import os
import tempfile
import zipfile
import zlib
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
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
def _read_errors_named(path: str | Path, damaged: tuple[type[Exception], ...]) -> Iterator[None]:
    """A file that is missing, unreadable, damaged (``damaged``: what its reader raises then)
    or lacks an array becomes one error naming it and the fix."""
    try:
        yield
    except PermissionError as exc:
        raise InputDataError(path, "permission denied: tact may not read it") from exc
    except FileNotFoundError as exc:
        raise InputDataError(
            path, f"does not exist (deleted after it was made?); {REMAKE}"
        ) from exc
    except KeyError as exc:
        raise InputDataError(
            path, f"lacks the array {exc} (made by another version?); {REMAKE}"
        ) from exc
    except damaged as exc:
        if not Path(path).exists():  # h5py says OSError for a missing file
            raise InputDataError(
                path, f"does not exist (deleted after it was made?); {REMAKE}"
            ) from exc
        if not os.access(path, os.R_OK):
            raise InputDataError(path, "permission denied: tact may not read it") from exc
        raise InputDataError(path, f"truncated or damaged ({exc}); {REMAKE}") from exc


@contextlib.contextmanager
def read_npz(path: str | Path) -> Iterator[np.lib.npyio.NpzFile]:
    """An intermediate .npz file of the workflow (the counts), open for reading (no pickles)."""
    damaged = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)
    with _read_errors_named(path, damaged), np.load(path, allow_pickle=False) as data:
        yield data


def write_csv(table: pd.DataFrame, path: str | Path) -> None:
    """Write a table atomically, without the index."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


@contextlib.contextmanager
def array_file(path: str | Path, *, attrs: Mapping[str, Any] | None = None) -> Iterator[h5py.File]:
    """An HDF5 file being written, moved into place only when the block succeeds: a job that
    writes its arrays part by part (a volume at a time) never holds them all."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as file:
        file.attrs.update(dict(attrs or {}))
        yield file


def add_array(
    file: h5py.File,
    name: str,
    shape: tuple[int, ...],
    dtype: Any,
    *,
    compress: bool = False,
    data: np.ndarray | None = None,
) -> h5py.Dataset:
    """An array of the file: compressed (``compress``: label maps, and images read only a
    volume at a time) in chunks of one slice, lossless; else contiguous and uncompressed, so
    that :func:`mapped` can map it."""
    if compress and len(shape) >= 2 and all(shape):
        chunks = (1,) * (len(shape) - 2) + tuple(shape[-2:])
        return file.create_dataset(
            name,
            shape,
            dtype,
            data=data,
            chunks=chunks,
            compression="gzip",
            compression_opts=1,
            shuffle=True,
        )
    return file.create_dataset(name, shape, dtype, data=data)


def write_arrays(
    path: str | Path,
    arrays: Mapping[str, np.ndarray],
    *,
    compress: Collection[str] = (),
    attrs: Mapping[str, Any] | None = None,
) -> None:
    """One HDF5 file of whole arrays, atomically (``compress``: the label maps' names)."""
    with array_file(path, attrs=attrs) as file:
        for name, array in arrays.items():
            array = np.asarray(array)
            add_array(file, name, array.shape, array.dtype, compress=name in compress, data=array)


@contextlib.contextmanager
def read_arrays(path: str | Path) -> Iterator[h5py.File]:
    """An array file of the workflow, open for reading."""
    with _read_errors_named(path, (OSError,)), h5py.File(path, "r") as file:
        yield file


def mapped(dataset: h5py.Dataset) -> np.ndarray:
    """A dataset as a read-only memory map: rows are read from disk (or the page cache) when
    touched, so holding it costs no memory. Chunked or empty datasets are read whole."""
    offset = dataset.id.get_offset()
    if dataset.chunks is not None or offset is None:
        return dataset[()]
    return np.memmap(
        dataset.file.filename, dtype=dataset.dtype, mode="r", offset=offset, shape=dataset.shape
    )


def release_pages(array: Any) -> None:
    """Let go of the pages a read touched in a memory map from :func:`mapped` (other arrays are
    left alone). They stay in the page cache, so reading them again costs no disk access, but
    they no longer count in this process's memory: a job that streams a dataset through its
    maps then holds what it reads now, not everything it has read. (Issue 32: a training's
    file-backed memory grew 1.5 MB a training slice, H100 and CPU, 2026-12-07.)"""
    mapping = getattr(array, "_mmap", None)  # numpy.memmap's own map of the file
    if isinstance(mapping, mmap.mmap):
        mapping.madvise(mmap.MADV_DONTNEED)
