"""The recorded seeds' summaries, and the showcase README's table of them, are what
docs/scripts/seeds_collect.py makes from the recorded seed folders (a stale number is a bug)."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "docs/showcase/seeds"
SUMMARIES = ["summary.csv", "per_seed.csv", "summary.md", "claims.md", "observers.md"]
README_ROWS = {  # the README's label -> the method's name in summary.csv
    "Base U-Net": "base",
    "α = 0.1": "task_a0.1",
    "α = 0.5": "task_a0.5",
    "α = 0.1, ensemble": "task_a0.1_ensemble",
    "α = 0.5, ensemble": "task_a0.5_ensemble",
    "α = 0.1, robust segmenter": "task_a0.1_robust",
    "α = 0.5, robust segmenter": "task_a0.5_robust",
    "Full dose": "fulldose",
}
README_COLUMNS = [
    ("psnr", 2),
    ("dice_g", 3),
    ("dice_held_out", 3),
    ("gap", 3),
    ("liver_dice_held_out", 3),
]


def seeds_collect():
    path = REPO / "docs/scripts/seeds_collect.py"
    spec = importlib.util.spec_from_file_location("seeds_collect", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_recorded_summaries_are_those_of_the_recorded_seeds(tmp_path):
    copy = tmp_path / "seeds"
    shutil.copytree(SEEDS, copy)
    for name in SUMMARIES:
        (copy / name).unlink()
    seeds_collect().summarise_collected(copy)
    for name in SUMMARIES:
        # to 12 digits: a process that imported ODL (tact.physics, in another test here) writes
        # floats with 12, as ODL sets numpy's print options to legacy 1.13 on import
        if name.endswith(".csv"):
            made, recorded = (pd.read_csv(folder / name) for folder in (copy, SEEDS))
            pd.testing.assert_frame_equal(made, recorded, rtol=1e-11, atol=0, obj=name)
        else:
            assert (copy / name).read_text() == (SEEDS / name).read_text(), name


def readme_seeds_table() -> dict[str, list[str]]:
    text = (REPO / "docs/showcase/README.md").read_text()
    section = text.split("## The seeded runs")[1].split("\n## ")[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip().strip("*") for cell in line.strip("|").split("|")]
        if cells[0] in README_ROWS and len(cells) == 1 + len(README_COLUMNS):
            rows[cells[0]] = cells[1:]
    return rows


def test_the_showcase_readme_states_the_seeds_summary():
    """Written as summary.md writes them (seeds_collect's mean [min, max], "–" for none)."""
    mean_range = seeds_collect()._mean_range
    summary = {row.method: row for row in pd.read_csv(SEEDS / "summary.csv").itertuples()}
    rows = readme_seeds_table()
    assert set(rows) == set(README_ROWS)
    for label, method in README_ROWS.items():
        for cell, (key, digits) in zip(rows[label], README_COLUMNS, strict=True):
            assert cell == mean_range(summary[method], key, digits), (label, key)


def test_the_readme_names_as_many_seeds_as_were_recorded():
    n_seeds = len(list(SEEDS.glob("seed-*")))
    heading = re.search(
        r"## The seeded runs: `seeds/`, (\w+) seeds", (REPO / "docs/showcase/README.md").read_text()
    )
    assert heading and heading.group(1) == {3: "three"}.get(n_seeds, str(n_seeds))
