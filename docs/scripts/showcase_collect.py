"""Copy one showcase run's tables, figures and training curves into docs/, with its stage times.

    python docs/scripts/showcase_collect.py results/showcase docs/showcase/scratch \
        --log .snakemake/log/<the run's>.snakemake.log

Only what the README discusses is copied: the paper's tables (Markdown and CSV), every PNG
figure, the per-epoch training curves (CSV) and the per-stage wall times from the Snakemake log
(timings.md). Models, images and the HTML report stay in results/ (too large for git).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from pathlib import Path

TABLES = ["table1_pixel", "table2_dice", "table3_anatomy"]
EXTRA_TABLES = ["metric_correlation.csv", "data_summary.csv"]
TIMINGS_SCRIPT = Path(__file__).with_name("showcase_timings.py")


def expected_files(results: Path) -> list[Path]:
    """The files of a finished run that the showcase keeps, relative to the run's folder."""
    tables = [Path("tables") / f"{name}.{ext}" for name in TABLES for ext in ("md", "csv")]
    tables += [Path("tables") / name for name in EXTRA_TABLES]
    figures = sorted(p.relative_to(results) for p in (results / "figures").glob("*.png"))
    curves = sorted(p.relative_to(results) for p in (results / "training").glob("*.csv"))
    return tables + figures + curves


def collect(results: Path, destination: Path, log: Path) -> list[Path]:
    """Copy a finished run into ``destination``; refuse (and copy nothing) if a file is missing."""
    files = expected_files(results)
    missing = [str(results / f) for f in files if not (results / f).is_file()]
    if not any(f.parts[0] == "figures" for f in files):
        missing.append(f"{results / 'figures'}/*.png")
    if missing:
        raise SystemExit(f"{results}: not a finished showcase run, missing {', '.join(missing)}")
    spec = importlib.util.spec_from_file_location("showcase_timings", TIMINGS_SCRIPT)
    timings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timings)
    table = timings.stage_table(timings.job_times(log))
    for relative in files:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results / relative, target)
    (destination / "timings.md").write_text(table + "\n")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, help="the run's folder, e.g. results/showcase")
    parser.add_argument("destination", type=Path, help="e.g. docs/showcase/scratch")
    parser.add_argument("--log", type=Path, required=True, help="the run's Snakemake log")
    args = parser.parse_args()
    files = collect(args.results, args.destination, args.log)
    print(f"{len(files)} files and timings.md copied to {args.destination}")


if __name__ == "__main__":
    main()
