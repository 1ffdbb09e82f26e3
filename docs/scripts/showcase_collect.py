"""Copy one showcase run's tables, figures and training curves into docs/, with its stage times.

    python docs/scripts/showcase_collect.py results/showcase docs/showcase/scratch \
        --log .snakemake/log/<the run's>.snakemake.log

Only what the README discusses is copied: the paper's tables (Markdown and CSV) and ours where
the run made them (the 3-D table, Table IV of the observer study, Table V of lesion-wise
detection, per volume and per lesion), every PNG figure, the per-epoch training curves (CSV),
the per-slice metrics, the per-stage wall times from the Snakemake log (timings.md), where each
method's Table II Dice comes from (dice_breakdown.md) and how far each training got
(training.md). Models, images and the HTML report stay in results/ (too large for git).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from pathlib import Path

import pandas as pd

TABLES = ["table1_pixel", "table2_dice", "table3_anatomy"]
EXTRA_TABLES = ["metric_correlation.csv", "data_summary.csv", "environment.json"]
PER_SLICE = Path("metrics/per_slice.csv")
# copied where the run made them (the 3-D table, the observer study, lesion-wise detection)
OPTIONAL = [
    *(
        Path("tables") / f"{name}.{ext}"
        for name in ("table3_anatomy_3d", "table4_observers", "table5_lesions")
        for ext in ("md", "csv")
    ),
    Path("tables/simulation_quality.csv"),
    Path("metrics/per_volume.csv"),
    Path("metrics/per_lesion.csv"),
]
TIMINGS_SCRIPT = Path(__file__).with_name("showcase_timings.py")


def dice_breakdown(per_slice: pd.DataFrame) -> str:
    """Table II's Dice split by whether the slice holds a tumour, with false-tumour rates, by g
    and (when the run has them) by the held-out segmenters, pooled over them.

    Eq. 7 gives an absent class that is also not predicted a Dice of 1 (smoothing / smoothing),
    so on tumour-free slices a method scores (liver Dice + 1) / 2 unless the segmenter invents a
    tumour in its images. A slice's ground truth holds no tumour when the per-class tumour Dice
    is empty (absent in both masks) for at least one method: were there a tumour, every method's
    tumour Dice would be a number.
    """
    if "segmenter" not in per_slice:
        per_slice = per_slice.assign(segmenter="g")
    truth_free = per_slice.dice_tumor.isna().groupby([per_slice.volume, per_slice.slice]).any()
    lines = [
        f"{int(truth_free.sum())} of {len(truth_free)} test slices hold no tumour. "
        "False-tumour rate: the share of those where the segmenter predicts a tumour."
    ]
    held_out = per_slice[per_slice.segmenter != "g"]
    groups = {"By g (the paper's segmenter)": per_slice[per_slice.segmenter == "g"]}
    if not held_out.empty:
        groups["By the held-out segmenters (their rows pooled)"] = held_out
    for title, rows in groups.items():
        lines += ["", f"{title}:", "", *_breakdown_rows(rows, truth_free)]
    return "\n".join(lines)


def _breakdown_rows(per_slice: pd.DataFrame, truth_free: pd.Series) -> list[str]:
    rows = []
    for method, group in per_slice.groupby("method", sort=False):
        group = group.set_index(["volume", "slice"])
        free = truth_free.reindex(group.index).to_numpy()
        rows.append(
            {
                "method": method,
                "Dice (Table II)": group.dice.mean(),
                "on tumour-free slices": group.dice[free].mean(),
                "on tumour slices": group.dice[~free].mean(),
                "liver Dice": group.dice_liver.mean(),
                "false-tumour rate": group.dice_tumor[free].notna().mean(),
            }
        )
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    for row in rows:
        cells = [row["method"]] + [f"{value:.3f}" for value in list(row.values())[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


PLATEAU_EPOCHS = 20  # training.md: the best validation PSNR's gain over the last this many epochs


def training_summary(histories: dict[str, pd.DataFrame]) -> str:
    """Per training: epochs run, the epoch of its best validation loss, its last learning rate
    and, for reconstruction networks, the best validation PSNR and how much it still rose over
    the last PLATEAU_EPOCHS epochs against the ones before (levelled off: near 0)."""
    lines = [
        f"| training | epochs run | best epoch (validation loss) | last learning rate "
        f"| best validation PSNR (dB) | its gain over the last {PLATEAU_EPOCHS} epochs (dB) |",
        "|---|---|---|---|---|---|",
    ]
    for name, history in sorted(histories.items()):
        best = int(history.loc[history["val_loss"].idxmin(), "epoch"])
        psnr, gain = "–", "–"
        if "val_psnr" in history:
            psnr = f"{history['val_psnr'].max():.2f}"
            if len(history) >= 2 * PLATEAU_EPOCHS:
                last = history["val_psnr"].iloc[-PLATEAU_EPOCHS:].max()
                before = history["val_psnr"].iloc[-2 * PLATEAU_EPOCHS : -PLATEAU_EPOCHS].max()
                gain = f"{last - before:+.2f}"
        lr = history["lr"].iloc[-1]
        lines.append(f"| {name} | {len(history)} | {best} | {lr:.3g} | {psnr} | {gain} |")
    return "\n".join(lines)


def expected_files(results: Path) -> list[Path]:
    """The files of a finished run that the showcase keeps, relative to the run's folder."""
    tables = [Path("tables") / f"{name}.{ext}" for name in TABLES for ext in ("md", "csv")]
    tables += [Path("tables") / name for name in EXTRA_TABLES]
    tables += [PER_SLICE]
    figures = sorted(p.relative_to(results) for p in (results / "figures").glob("*.png"))
    curves = sorted(p.relative_to(results) for p in (results / "training").glob("*.csv"))
    return tables + figures + curves + [p for p in OPTIONAL if (results / p).is_file()]


def collect(results: Path, destination: Path, log: Path) -> list[Path]:
    """Copy a finished run into ``destination``; refuse (and copy nothing) if a file is missing."""
    files = expected_files(results)
    missing = [str(results / f) for f in files if not (results / f).is_file()]
    if not any(f.parts[0] == "figures" for f in files):
        missing.append(f"{results / 'figures'}/*.png")
    if missing:
        raise SystemExit(f"{results}: not a finished showcase run, missing {', '.join(missing)}")
    if not log.is_file():
        raise SystemExit(f"{log}: no such Snakemake log")
    spec = importlib.util.spec_from_file_location("showcase_timings", TIMINGS_SCRIPT)
    timings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timings)
    jobs = timings.job_times(log)
    if not jobs:
        raise SystemExit(f"{log}: shows no finished job, not the log of a workflow run")
    # everything is computed before the first file is written: a failure leaves no partial docs
    table = timings.stage_table(jobs)
    breakdown = dice_breakdown(pd.read_csv(results / PER_SLICE))
    histories = {f.stem: pd.read_csv(results / f) for f in files if f.parts[0] == "training"}
    training = training_summary(histories)
    for relative in files:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results / relative, target)
    (destination / "timings.md").write_text(table + "\n")
    (destination / "dice_breakdown.md").write_text(breakdown + "\n")
    (destination / "training.md").write_text(training + "\n")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, help="the run's folder, e.g. results/showcase")
    parser.add_argument("destination", type=Path, help="e.g. docs/showcase/scratch")
    parser.add_argument("--log", type=Path, required=True, help="the run's Snakemake log")
    args = parser.parse_args()
    files = collect(args.results, args.destination, args.log)
    written = "timings.md, dice_breakdown.md and training.md"
    print(f"{len(files)} files, {written} written to {args.destination}")


if __name__ == "__main__":
    main()
