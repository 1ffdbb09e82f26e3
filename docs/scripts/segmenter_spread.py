"""How far segmenters trained like g, with other seeds, disagree on honest images.

Reads a run's per-method rows (``results/{run}/metrics/per_method/{method}.csv``) of a run with
several held-out segmenters (``evaluation.held_out_segmenters``), and writes, per method: each
segmenter's mean Dice (Table II's) and, over every way of calling one of the segmenters g and
two others the held-out pair, the distribution of the gap (g minus the pair's mean) and the
share of choices where |gap| <= 0.05, issue 17's competence check. Every segmenter is trained
exactly like g (same data, objective, settings; its own seed), so these choices are what a
fresh run could have drawn.

    python docs/scripts/segmenter_spread.py DIR_WITH_CSVS OUT.md
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd

AGREEMENT = 0.05


def segmenter_means(rows: pd.DataFrame) -> pd.Series:
    """Mean Dice over the test slices, per segmenter."""
    return rows.groupby("segmenter")["dice"].mean()


def gaps(means: pd.Series) -> np.ndarray:
    """g minus the mean of two others, over every (g, pair) choice among the segmenters."""
    names = list(means.index)
    return np.array(
        [
            means[g] - (means[a] + means[b]) / 2
            for g in names
            for a, b in itertools.combinations([n for n in names if n != g], 2)
        ]
    )


def spread_table(per_method: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for method, table in per_method.items():
        means = segmenter_means(table)
        gap = gaps(means)
        rows.append(
            {
                "method": method,
                "segmenters": len(means),
                "dice_min": means.min(),
                "dice_max": means.max(),
                "dice_sd": means.std(ddof=1),
                "gap_median_abs": float(np.median(np.abs(gap))),
                "gap_max_abs": float(np.abs(gap).max()),
                "share_within_0.05": float(np.mean(np.abs(gap) <= AGREEMENT)),
                "per_segmenter": ", ".join(f"{s} {v:.3f}" for s, v in means.items()),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    per_method = {
        path.stem: pd.read_csv(path)
        for path in sorted(args.folder.glob("*.csv"))
        if not path.name.endswith(".volumes.csv")
    }
    table = spread_table(per_method)
    args.out.write_text(table.to_markdown(index=False, floatfmt=".3f") + "\n")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
