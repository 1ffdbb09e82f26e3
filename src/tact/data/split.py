"""Train/test split, written once as a table that every later stage reads.

The paper splits 80/20 without saying how. By default we split by volume (patient), so no
patient contributes slices to both sets; slice-level splitting is offered for comparison
(it leaks anatomy between the sets and flatters every method).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tact.errors import ConfigError
from tact.io import write_csv

SPLIT_COLUMNS = ["volume", "slice", "split"]


def test_count(n: int, test_fraction: float, what: str) -> int:
    """How many of ``n`` volumes (or slices) the split puts on the test side: at least one on
    each side, whatever the fraction."""
    if n < 2:
        raise ConfigError(f"data.split.by: {what} needs at least 2 {what}s, the data holds {n}")
    return int(min(max(round(test_fraction * n), 1), n - 1))


def check_split_possible(
    n_volumes: int, by: str, where: str, most_slices: int | None = None
) -> None:
    """Refuse, before any job runs, a split the data cannot give: splitting by volume needs two
    volumes, by slice two slices (``most_slices``: an upper bound when known before extraction,
    as for the phantom; otherwise the split step refuses it with the same words).

    ``where`` names the data, e.g. the LiTS folder.
    """
    if by == "volume" and n_volumes < 2:
        raise ConfigError(
            f"data.split.by: volume needs at least 2 volumes, {where} holds {n_volumes}; "
            "add volumes or split by slice (data.split.by: slice)"
        )
    if by == "slice" and most_slices is not None and most_slices < 2:
        raise ConfigError(
            f"data.split.by: slice needs at least 2 slices, {where} holds at most {most_slices}"
        )


def make_split(
    slices_per_volume: Mapping[int, Sequence[int]],
    by: str = "volume",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> pd.DataFrame:
    """Assign every (volume, slice) to ``train`` or ``test``; deterministic for a seed.

    At least one item goes to each side whatever the fraction, so tiny runs still work.
    """
    rows = [(v, s) for v in sorted(slices_per_volume) for s in sorted(slices_per_volume[v])]
    table = pd.DataFrame(rows, columns=["volume", "slice"], dtype="int64")
    rng = np.random.default_rng(seed)
    if by == "volume":
        volumes = np.array(sorted(slices_per_volume))
        test = rng.permutation(volumes)[: test_count(len(volumes), test_fraction, "volume")]
        is_test = table["volume"].isin(test)
    elif by == "slice":
        chosen = rng.permutation(len(table))[: test_count(len(table), test_fraction, "slice")]
        is_test = pd.Series(np.isin(np.arange(len(table)), chosen))
    else:
        raise ConfigError(f"data.split.by must be 'volume' or 'slice', got {by!r}")
    table["split"] = np.where(is_test, "test", "train")
    return table[SPLIT_COLUMNS]


def write_split(table: pd.DataFrame, path: str | Path) -> None:
    write_csv(table, path)


def read_split(path: str | Path) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"volume": "int64", "slice": "int64", "split": "string"})
    if list(table.columns) != SPLIT_COLUMNS:
        raise ValueError(f"{path}: expected columns {SPLIT_COLUMNS}, got {list(table.columns)}")
    return table


def pick_tuning_slices(
    split: pd.DataFrame, n_slices: int, rng: np.random.Generator
) -> pd.DataFrame:
    """A random subset of training slices (the paper tuned its baselines on a small subset)."""
    train = split.loc[split["split"] == "train", ["volume", "slice"]]
    chosen = rng.choice(len(train), size=min(n_slices, len(train)), replace=False)
    return train.iloc[np.sort(chosen)].reset_index(drop=True)
