"""Did a code change alter a result? Compare two finished runs of the same config, file by file.

    python docs/scripts/compare_runs.py results/test /elsewhere/results/test

Networks (.pt) are compared tensor by tensor, arrays (.npz, .h5) array by array, tables (.csv) cell
by cell without the columns that hold wall-clock times, other text byte for byte. Logs,
benchmarks, figures and the HTML report are left out: they hold times and renderer metadata.
Prints one line per differing file and exits 1 if any differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch

SKIPPED_FOLDERS = {"logs", "benchmarks", "figures"}
TIME_COLUMNS = {"seconds", "images_per_s", "wall_s", "duration_s"}


def same_objects(a: object, b: object) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(same_objects(a[k], b[k]) for k in a)
        )
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_objects(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a):
        return np.isnan(b)
    return a == b


def same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal shape, dtype and values (NaN equal to NaN where the dtype has NaN)."""
    nan_able = a.dtype.kind in "fc"
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=nan_able)


def same_file(a: Path, b: Path) -> bool:
    if a.suffix == ".pt":
        load = dict(map_location="cpu", weights_only=False)
        return same_objects(torch.load(a, **load), torch.load(b, **load))
    if a.suffix == ".npz":
        with np.load(a) as x, np.load(b) as y:
            return x.files == y.files and all(same_array(x[k], y[k]) for k in x.files)
    if a.suffix == ".h5":
        with h5py.File(a, "r") as x, h5py.File(b, "r") as y:
            same_attrs = dict(x.attrs).keys() == dict(y.attrs).keys() and all(
                np.array_equal(x.attrs[k], y.attrs[k]) for k in x.attrs
            )
            return (
                same_attrs and list(x) == list(y) and all(same_array(x[k][()], y[k][()]) for k in x)
            )
    if a.suffix == ".csv":
        x, y = pd.read_csv(a), pd.read_csv(b)
        x, y = (t.drop(columns=[c for c in t.columns if c in TIME_COLUMNS]) for t in (x, y))
        return x.equals(y)
    return a.read_bytes() == b.read_bytes()


def compare(before: Path, after: Path) -> list[str]:
    """Lines naming every file that differs, is missing from one run, or is new in the other."""

    def files(root: Path) -> set[Path]:
        return {
            p.relative_to(root)
            for p in root.rglob("*")
            if p.is_file()
            and not SKIPPED_FOLDERS & set(p.relative_to(root).parts)
            and p.suffix != ".html"
        }

    old, new = files(before), files(after)
    lines = [f"only in {before}: {p}" for p in sorted(old - new)]
    lines += [f"only in {after}: {p}" for p in sorted(new - old)]
    lines += [f"differs: {p}" for p in sorted(old & new) if not same_file(before / p, after / p)]
    return lines


if __name__ == "__main__":
    before, after = map(Path, sys.argv[1:3])
    found = compare(before, after)
    print("\n".join(found) or f"identical: every compared file of {before} and {after}")
    sys.exit(1 if found else 0)
