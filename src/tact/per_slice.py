"""``per_slice.csv``: its columns, row order and reading, light to import (report jobs use it).

One row per (method, segmenter, test slice). ``segmenter`` says which frozen network made the
segmentation metrics: ``g`` (the pre-trained segmenter the paper evaluates with, and the one
task-adaptive training sees) or ``held_out_{k}`` (segmenters no training ever saw). PSNR, SSIM
and the data consistency do not depend on the segmenter: every segmenter's row repeats them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tact.errors import InputDataError
from tact.methods import paper_order

CLASSES = {"liver": 1, "tumour": 2}
CLASS_COLUMNS = {"liver": "liver", "tumour": "tumor"}  # the column names of per_slice.csv
SEGMENTATION_COLUMNS = (
    "dice",
    *(
        f"{metric}_{CLASS_COLUMNS[name]}"
        for name in CLASSES
        for metric in ("dice", "nsd", "cldice")
    ),
)
IMAGE_COLUMNS = ("psnr", "ssim", "consistency")
PER_SLICE_COLUMNS = (
    "method",
    "segmenter",
    "volume",
    "slice",
    *IMAGE_COLUMNS,
    *SEGMENTATION_COLUMNS,
)
G = "g"
HELD_OUT = "held_out"


def held_out_name(k: int) -> str:
    """The k-th held-out segmenter (k = 1, 2, ...)."""
    return f"{HELD_OUT}_{k}"


def is_held_out(segmenter: str) -> bool:
    return segmenter.startswith(f"{HELD_OUT}_")


def segmenter_rank(segmenter: str) -> int:
    """g first, then the held-out segmenters by number."""
    return 0 if segmenter == G else int(segmenter.rsplit("_", 1)[1])


def order_per_slice(table: pd.DataFrame) -> pd.DataFrame:
    """Rows in the paper's method order, then segmenter (g first), volume and slice."""
    method_rank = {m: i for i, m in enumerate(paper_order(table["method"]))}
    keys = pd.DataFrame(
        {
            "method": table["method"].map(method_rank),
            "segmenter": table["segmenter"].map(segmenter_rank),
            "volume": table["volume"],
            "slice": table["slice"],
        }
    )
    order = keys.sort_values(["method", "segmenter", "volume", "slice"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def read_per_slice(path: str | Path) -> pd.DataFrame:
    """per_slice.csv, checked for the columns the tables need."""
    table = pd.read_csv(path)
    missing = [c for c in PER_SLICE_COLUMNS if c not in table.columns]
    if missing:
        raise InputDataError(path, f"missing columns {', '.join(missing)}")
    if table.empty:
        raise InputDataError(path, "has no rows")
    return table
