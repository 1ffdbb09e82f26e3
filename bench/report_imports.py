"""How long a report job takes to import what it needs, before it reads a single file.

    .venv/bin/python bench/report_imports.py [--repeats 5] [--write-docs]

Each figure and table script's top-level imports (read from the script with ``ast``) run in a
fresh interpreter under ``python -X importtime``; the time is the sum of the top-level modules'
cumulative import times, the median of the repeats. Beside them, in the same run, the import of
the stack that the report jobs no longer load (torch, ODL, ASTRA, MONAI, bm3d: before issue 21
``report/tables.py`` loaded it through ``tact.evaluation`` for one tuple of column names). Issue
21's target: every report job under 2 s on the 2-core CI machine.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_section import machine, replace_section, today

REPO = Path(__file__).resolve().parents[1]
# the scripts of workflow/rules/report.smk and the two figure jobs of the data and simulation stages
REPORT_SCRIPTS = (
    "tables.py",
    "slice_figures.py",
    "alpha_tradeoff.py",
    "metric_correlation.py",
    "training_curves.py",
    "data_overview.py",
    "simulation_quality.py",
)
WHOLE_STACK = "import torch, odl, astra, monai, bm3d"
TOP_LEVEL = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| (\S.*)$")


def import_lines(script: Path) -> str:
    """The script's module-level import statements, as source."""
    tree = ast.parse(script.read_text())
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return "\n".join(ast.unparse(n) for n in imports)


def import_seconds(source: str) -> float:
    """Seconds of module imports that ``source`` costs a fresh interpreter (-X importtime)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", source],
        capture_output=True,
        text=True,
        check=True,
    )
    found = (TOP_LEVEL.match(line) for line in result.stderr.splitlines())
    return sum(int(m[1]) for m in found if m) / 1e6


def median_seconds(source: str, repeats: int) -> float:
    return statistics.median(import_seconds(source) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    whole = median_seconds(WHOLE_STACK, args.repeats)
    rows = {
        name: median_seconds(import_lines(REPO / "workflow/scripts" / name), args.repeats)
        for name in REPORT_SCRIPTS
    }
    lines = [
        "### Report jobs: library import",
        "",
        f"`python bench/report_imports.py --repeats {args.repeats}`; {machine()}; {today()}. "
        "Each script's module-level imports in a fresh interpreter (`python -X importtime`, sum "
        f"of the top-level modules), median of {args.repeats}. Target (issue 21): under 2 s on "
        "the 2-core CI machine.",
        "",
        "| script | import (s) | share of that stack's |",
        "|---|---|---|",
        *(f"| `{n}` | {s:.2f} | {s / whole:.2f} |" for n, s in rows.items()),
        f"| `{WHOLE_STACK}` (not loaded by any report job; for scale) | {whole:.2f} | 1.00 |",
    ]
    print("\n".join(lines))
    if args.write_docs:
        replace_section("report-imports", "\n".join(lines))
        path = REPO / "docs/benchmarks.json"
        merged = json.loads(path.read_text())
        merged["report_import_seconds"] = {
            "machine": machine(),
            "date": today(),
            "scripts": {n: round(s, 3) for n, s in rows.items()},
            "whole_stack": round(whole, 3),
        }
        path.write_text(json.dumps(merged, indent=1) + "\n")


if __name__ == "__main__":
    main()
