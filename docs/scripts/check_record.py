"""Does a rerun give the recorded result? Compare a rerun's results with a recorded run.

    python docs/scripts/check_record.py docs/showcase/run results/showcase

RECORDED is a recorded run (``docs/showcase/run``, ``docs/showcase/seeds/seed-0``) or any
finished ``results/{run}``; RERUN is the ``results/{run}`` of the same config run again. Every
CSV table of RECORDED's ``tables/`` and ``metrics/`` (per_slice.csv, per_volume.csv) is
compared cell by cell with the rerun's: "identical", or
the largest absolute difference over its numeric cells and how many differ in which columns
(a table whose rows, columns or text differ says so; equal infinities, as full dose's d', are
equal). Then the weight hashes of ``tables/environment.json`` (``tact.records``),
model by model, and the GPU and software each side trained on: with ``training.deterministic``
the same kind and software must give the same hashes. Prints "identical" at the end and exits 0
when everything is; else exits 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ENVIRONMENT = Path("tables/environment.json")
SOFTWARE = ("device", "driver", "torch", "cuda", "cudnn", "python", "cpu")
TABLE_FOLDERS = ("tables", "metrics")  # training/ holds wall-clock times: left out


def _numeric_cells(recorded: Path, rerun: Path) -> tuple[np.ndarray, np.ndarray, list[str]] | str:
    """Both tables' numeric cells (recorded, rerun, their columns), or why they cannot be
    compared cell by cell."""
    if not rerun.is_file():
        return "missing in the rerun"
    a, b = pd.read_csv(recorded), pd.read_csv(rerun)
    if list(a.columns) != list(b.columns) or a.shape != b.shape:
        return f"other rows or columns ({a.shape} recorded, {b.shape} rerun)"
    numeric = [c for c in a.columns if pd.api.types.is_numeric_dtype(a[c])]
    text = [c for c in a.columns if c not in numeric]
    if not a[text].fillna("").astype(str).equals(b[text].fillna("").astype(str)):
        return "other text cells (method, label, ...)"
    x = a[numeric].to_numpy(float)
    try:
        y = b[numeric].to_numpy(float)
    except ValueError:
        return "text where the record has numbers"
    if not np.array_equal(np.isnan(x), np.isnan(y)):
        return "empty cells differ"
    return x, y, numeric


def _differing(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cells that differ; equal infinities (full dose's d') and two empty cells do not."""
    return ~((x == y) | (np.isnan(x) & np.isnan(y)))


def table_difference(recorded: Path, rerun: Path) -> float | str:
    """0.0 for identical tables, the largest absolute difference of their numeric cells, or
    what differs when they cannot be compared cell by cell."""
    cells = _numeric_cells(recorded, rerun)
    if isinstance(cells, str):
        return cells
    x, y, _ = cells
    differ = _differing(x, y)
    return float(np.abs(x[differ] - y[differ]).max()) if differ.any() else 0.0


def where_tables_differ(recorded: Path, rerun: Path) -> str:
    """How many numeric cells differ, and in which columns (for a table that does)."""
    x, y, columns = _numeric_cells(recorded, rerun)
    per_column = _differing(x, y).sum(axis=0)
    where = ", ".join(f"{c} {n}" for c, n in zip(columns, per_column, strict=True) if n)
    return f"in {per_column.sum()} of {x.size} numeric cells: {where}"


def table_differences(recorded: Path, rerun: Path) -> dict[str, float | str]:
    """Every CSV table of the record (``tables/``, and ``metrics/``: per slice and per volume),
    by its path in the run, against the rerun's."""
    paths = [p for folder in TABLE_FOLDERS for p in sorted((recorded / folder).glob("*.csv"))]
    names = [str(p.relative_to(recorded)) for p in paths]
    return {name: table_difference(recorded / name, rerun / name) for name in names}


def models(results: Path) -> dict[str, dict]:
    """The trainings' records of a run, by model (empty for a run recorded before issue 34)."""
    path = results / ENVIRONMENT
    return json.loads(path.read_text())["models"] if path.is_file() else {}


def weight_checks(recorded: Path, rerun: Path) -> dict[str, str]:
    """Per model of the record: "match", "mismatch" or "missing in the rerun"; a side without
    a record of its trainings says so (made by the run_record step since issue 34)."""
    ours, theirs = models(recorded), models(rerun)
    unrecorded = [str(r / ENVIRONMENT) for r, m in ((recorded, ours), (rerun, theirs)) if not m]
    if unrecorded:
        return {"(all)": f"not compared, no record of the trainings in {', '.join(unrecorded)}"}
    checks = {}
    for name, record in sorted(ours.items()):
        if name not in theirs:
            checks[name] = "missing in the rerun"
        elif record["weights_sha256"] == theirs[name]["weights_sha256"]:
            checks[name] = "match"
        else:
            checks[name] = "mismatch"
    return checks


def software_lines(recorded: Path, rerun: Path) -> list[str]:
    """Where each side trained, when it is not the same everywhere (device, versions)."""
    ours, theirs = models(recorded), models(rerun)
    lines = []
    for name in sorted(set(ours) & set(theirs)):
        # older records lack some keys (the cpu before 2026-12-08): compare what both have
        keys = [k for k in SOFTWARE if k in ours[name] and k in theirs[name]]
        a = {key: ours[name][key] for key in keys}
        b = {key: theirs[name][key] for key in keys}
        if a != b:
            changed = ", ".join(f"{k} {a[k]} -> {b[k]}" for k in keys if a[k] != b[k])
            lines.append(f"{name}: trained elsewhere ({changed})")
    return lines


def _said(diff: float | str, recorded: Path, rerun: Path) -> str:
    if not isinstance(diff, float):
        return diff
    if diff == 0.0:
        return "identical"
    return f"largest difference {diff:.3g}, {where_tables_differ(recorded, rerun)}"


def report(recorded: Path, rerun: Path) -> tuple[list[str], bool]:
    """The lines to print, and whether everything is identical."""
    tables = table_differences(recorded, rerun)
    weights = weight_checks(recorded, rerun)
    lines = [
        f"table {name}: {_said(diff, recorded / name, rerun / name)}"
        for name, diff in tables.items()
    ]
    lines += [f"weights {name}: {check}" for name, check in weights.items()]
    lines += software_lines(recorded, rerun)
    same = all(d == 0.0 for d in tables.values()) and set(weights.values()) <= {"match"}
    lines.append("identical" if same else "not identical")
    return lines, same


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    recorded, rerun = Path(argv[0]), Path(argv[1])
    lines, same = report(recorded, rerun)
    print("\n".join(lines))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
