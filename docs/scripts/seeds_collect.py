"""Collect the seeded showcase: each seed's run into docs/, then mean and spread over seeds.

    python docs/scripts/seeds_collect.py docs/showcase/seeds \
        results/showcase-seeds-0:<its snakemake log> results/showcase-seeds-1:<log> ...

Every run is one seed of the same config (config/showcase-seeds.yaml): segmenters and
reconstruction networks trained anew per seed. Each run is copied by showcase_collect.py into
``seed-{k}/``; ``summary.csv`` and ``summary.md`` hold, per method, the mean, standard deviation,
minimum and maximum over seeds of each run's Table I and II numbers, and ``claims.md`` compares
every setting with the Base U-Net (and each defence with the plain training at the same alpha):
a difference is written as resolved only when the two settings' ranges over the seeds do not
overlap, else as not resolved. Where every seed ran the observer study, ``observers.md`` holds
its AUC over the seeds and settles a method against the Base U-Net only where its interval lies
on the same side of the Base U-Net's on every seed.

Seeds recorded one at a time (one GPU session each, `make showcase-seeds SEEDS=1`) are collected
as they come, one run per call; without runs, the summary is made again from every ``seed-{k}/``
folder already in the destination:

    python docs/scripts/seeds_collect.py docs/showcase/seeds results/showcase-seeds-1:<log>
    python docs/scripts/seeds_collect.py docs/showcase/seeds
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from tact.methods import method_label, paper_order, parse_method

COLLECT_SCRIPT = Path(__file__).with_name("showcase_collect.py")
# (table, column in the table, name in the summary)
NUMBERS = [
    ("table1_pixel", "psnr_mean", "psnr"),
    ("table1_pixel", "consistency_mean", "consistency"),
    ("table2_dice", "dice_mean", "dice_g"),
    ("table2_dice", "dice_held_out_mean", "dice_held_out"),
    ("table2_dice", "gap", "gap"),
]
# Table II's Dice pools liver and tumour (eq. 7 scores a tumour both masks lack as 1), so the
# liver alone, by the held-out segmenters, is summarised too: Table III's median per run.
LIVER_HELD_OUT = "liver_dice_held_out"
MIN_SEEDS = 3  # the "at least three seeds" before a range may settle a claim
COMPARED = {
    "dice_held_out": "Dice by the held-out segmenters",
    LIVER_HELD_OUT: "liver Dice by the held-out segmenters (median)",
    "psnr": "PSNR",
    "gap": "gap",
}


def seed_of(results: Path) -> int:
    found = re.search(r"(\d+)$", results.name)
    if not found:
        raise SystemExit(f"{results}: the run's folder should end in its seed, e.g. -2")
    return int(found[1])


def per_seed_numbers(folder: Path, seed: int) -> pd.DataFrame:
    """One row per method of one collected run: the numbers of NUMBERS and the held-out
    segmenters' median liver Dice of Table III."""
    tables = {
        name: pd.read_csv(folder / "tables" / f"{name}.csv").set_index("method")
        for name in {table for table, _, _ in NUMBERS}
    }
    numbers = pd.DataFrame(
        {key: tables[table][column] for table, column, key in NUMBERS}
    ).rename_axis("method")
    numbers[LIVER_HELD_OUT] = held_out_liver_dice(folder / "tables" / "table3_anatomy.csv")
    return numbers.reset_index().assign(seed=seed)


def held_out_liver_dice(table3: Path) -> pd.Series:
    """Per method, Table III's median liver Dice by the held-out segmenters."""
    rows = pd.read_csv(table3)
    chosen = rows.query("segmenter == 'held_out' and structure == 'liver' and metric == 'dice'")
    return chosen.set_index("method")["median"]


def summarise(numbers: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd, min and max over seeds of every number, per method, in the paper's order."""
    keys = [key for _, _, key in NUMBERS] + [LIVER_HELD_OUT]
    grouped = numbers.groupby("method")[keys]
    summary = pd.concat(
        {
            "mean": grouped.mean(),
            "sd": grouped.std(ddof=1),
            "min": grouped.min(),
            "max": grouped.max(),
        },
        axis=1,
    )
    summary.columns = [f"{key}_{stat}" for stat, key in summary.columns]
    summary["n_seeds"] = grouped.size()
    order = paper_order(summary.index)
    return summary.loc[order].rename_axis("method").reset_index()


def verdict(ours: pd.Series, reference: pd.Series) -> str:
    """'higher' or 'lower' when the ranges over seeds do not overlap, else 'not resolved'; also
    'not resolved' with fewer than MIN_SEEDS seeds on a side, whose range says nothing yet."""
    if min(ours.count(), reference.count()) < MIN_SEEDS:
        return "not resolved"
    if ours.min() > reference.max():
        return "higher"
    if ours.max() < reference.min():
        return "lower"
    return "not resolved"


def claims(numbers: pd.DataFrame) -> pd.DataFrame:
    """Every trained setting against the Base U-Net, and each defence against the plain training
    of the same alpha, for the numbers of COMPARED."""
    by_method = {m: rows.set_index("seed") for m, rows in numbers.groupby("method")}
    pairs = []
    for method in paper_order(by_method):
        trained = parse_method(method)
        if trained is None or method == "base":
            continue
        pairs.append((method, "base"))
        if trained.defence is not None:
            plain = method.rsplit("_", 1)[0]
            if plain in by_method:
                pairs.append((method, plain))
    rows = []
    for method, reference in pairs:
        for key, name in COMPARED.items():
            ours, theirs = by_method[method][key], by_method[reference][key]
            rows.append(
                {
                    "setting": method,
                    "against": reference,
                    "number": key,
                    "mean_difference": float((ours - theirs).mean()),
                    "verdict": verdict(ours, theirs),
                    "sentence": f"{method_label(method)}: {name} "
                    f"{verdict(ours, theirs)} than {method_label(reference)}",
                }
            )
    return pd.DataFrame(rows)


def markdown_summary(summary: pd.DataFrame) -> str:
    headers = ["Method", "seeds", "PSNR", "Consistency", "Dice by g", "Dice by held-out", "Gap"]
    headers.append("Liver Dice by held-out (median)")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in summary.itertuples():
        cells = [method_label(row.method), str(row.n_seeds)]
        for key, digits in (("psnr", 2), ("consistency", 2), ("dice_g", 3)):
            cells.append(_mean_range(row, key, digits))
        cells += [_mean_range(row, key, 3) for key in ("dice_held_out", "gap", LIVER_HELD_OUT)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _mean_range(row, key: str, digits: int) -> str:
    mean, low, high = (getattr(row, f"{key}_{stat}") for stat in ("mean", "min", "max"))
    if pd.isna(mean):
        return "–"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def markdown_claims(table: pd.DataFrame) -> str:
    lines = ["| Setting | against | number | mean difference | verdict over the seeds |"]
    lines.append("|---|---|---|---|---|")
    for r in table.itertuples():
        lines.append(
            f"| {method_label(r.setting)} | {method_label(r.against)} | {COMPARED[r.number]} "
            f"| {r.mean_difference:+.3f} | {r.verdict} |"
        )
    return "\n".join(lines) + "\n"


def load_collector():
    spec = importlib.util.spec_from_file_location("showcase_collect", COLLECT_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def collect_seeds(destination: Path, runs: list[tuple[Path, Path]]) -> pd.DataFrame:
    """Copy every seed's run, then summarise every seed collected in ``destination``."""
    collector = load_collector()
    seeds = [seed_of(results) for results, _ in runs]
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"two runs of the same seed: {sorted(seeds)}")
    for (results, log), seed in zip(runs, seeds, strict=True):
        collector.collect(results, destination / f"seed-{seed}", log)
    return summarise_collected(destination)


def summarise_collected(destination: Path) -> pd.DataFrame:
    """summary.csv, per_seed.csv, summary.md and claims.md from the seed-{k} folders there."""
    folders = sorted(destination.glob("seed-*"), key=seed_of)
    if not folders:
        raise SystemExit(f"{destination}: no seed-<k> folder to summarise")
    numbers = pd.concat(
        [per_seed_numbers(folder, seed_of(folder)) for folder in folders], ignore_index=True
    )
    summary = summarise(numbers)
    summary.to_csv(destination / "summary.csv", index=False)
    numbers.to_csv(destination / "per_seed.csv", index=False)
    heading = (
        "Mean [min, max] over seeds of each run's Table I and II numbers, and of the held-out"
        " segmenters' median liver Dice (Table III).\n\n"
    )
    (destination / "summary.md").write_text(heading + markdown_summary(summary))
    (destination / "claims.md").write_text(markdown_claims(claims(numbers)))
    observers = [folder / OBSERVER_TABLE for folder in folders]
    if all(path.is_file() for path in observers):
        table = observer_claims(observers)
        (destination / "observers.md").write_text(markdown_observers(table))
    return summary


OBSERVER_TABLE = Path("tables/table4_observers.csv")


def observer_claims(tables: list[Path]) -> pd.DataFrame:
    """Per observer, method and lesion setting: the AUC over the seeds (mean, min, max) and
    whether its interval lies above or below the Base U-Net's on every seed (Table IV's
    ``vs_base``); anything else, or fewer than MIN_SEEDS seeds, is not resolved."""
    rows = pd.concat([pd.read_csv(path) for path in tables], ignore_index=True)
    out = []
    for (observer, method, setting), group in rows.groupby(
        ["observer", "method", "setting"], sort=False
    ):
        sides = set(group["vs_base"].astype(object).fillna(""))
        settled = len(group) >= MIN_SEEDS and len(sides) == 1 and sides <= {"above", "below"}
        out.append(
            {
                "observer": observer,
                "method": method,
                "setting": setting,
                "seeds": len(group),
                "auc_mean": group["auc"].mean(),
                "auc_min": group["auc"].min(),
                "auc_max": group["auc"].max(),
                "verdict": "–" if method == "base" else sides.pop() if settled else "not resolved",
            }
        )
    return pd.DataFrame(out)


def markdown_observers(table: pd.DataFrame) -> str:
    lines = [
        "Each observer's AUC, mean [min, max] over the seeds, and whether its 95 % interval"
        " lies above or below the Base U-Net's by the same observer on every seed (Table IV of"
        " each seed).",
        "",
        "| Observer | Method | lesion | seeds | AUC | against the Base U-Net |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.observer} | {method_label(r.method)} | {r.setting} | {r.seeds} "
            f"| {r.auc_mean:.3f} [{r.auc_min:.3f}, {r.auc_max:.3f}] | {r.verdict} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("destination", type=Path, help="e.g. docs/showcase/seeds")
    parser.add_argument(
        "runs", nargs="*", help="results/<run>:<its snakemake log>, one per seed (none: summarise)"
    )
    args = parser.parse_args()
    runs = []
    for item in args.runs:
        results, _, log = item.partition(":")
        if not log:
            raise SystemExit(f"{item}: give the run as <folder>:<snakemake log>")
        runs.append((Path(results), Path(log)))
    summary = collect_seeds(args.destination, runs)
    n_seeds = int(summary["n_seeds"].max())
    print(f"{n_seeds} seeds, {len(summary)} methods: {args.destination}/summary.md, claims.md")


if __name__ == "__main__":
    main()
