"""``per_slice.csv``: its columns, row order and reading, light to import (report jobs use it).

One row per (method, segmenter, test slice). ``segmenter`` says which frozen network made the
segmentation metrics: ``g`` (the pre-trained segmenter the paper evaluates with, and the one
task-adaptive training sees) or ``held_out_{k}`` (segmenters no training ever saw). PSNR, SSIM
and the data consistency do not depend on the segmenter: every segmenter's row repeats them.

``per_volume.csv``: one row per (method, segmenter, test volume): the per-class metrics of the
volume's stacked test slices in 3-D (``tact.metrics.anatomy.volume_metrics``), empty where the
test slices are not contiguous (``contiguous`` False, as a slice-level split leaves them).

``per_lesion.csv``: lesion-wise detection in each test volume's stacked test slices
(``tact.metrics.lesions``, as LiTS counts it), one row per (method, segmenter, volume) and per
true lesion (``kind`` lesion: ``detected`` True or False) or false-positive predicted component
(``kind`` false_positive: ``detected`` empty). ``component``: its number among the volume's
lesions, or among the prediction's components; ``diameter_mm``: the equivalent sphere's;
``iou``: that of its match (0 without one); ``merged_lesions`` and ``predicted_parts``: how many
lesions and predicted components its match joins. No rows for a volume whose test slices are
not contiguous, nor for data without tumour labels.
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
CLASS_METRIC_COLUMNS = SEGMENTATION_COLUMNS[1:]  # per class, without the paper's Dice
IMAGE_COLUMNS = ("psnr", "ssim", "consistency")
PER_SLICE_COLUMNS = (
    "method",
    "segmenter",
    "volume",
    "slice",
    *IMAGE_COLUMNS,
    *SEGMENTATION_COLUMNS,
)
PER_VOLUME_COLUMNS = (
    "method",
    "segmenter",
    "volume",
    "n_slices",
    "contiguous",
    *CLASS_METRIC_COLUMNS,
)
PER_LESION_COLUMNS = (
    "method",
    "segmenter",
    "volume",
    "kind",
    "component",
    "diameter_mm",
    "volume_ml",
    "detected",
    "iou",
    "merged_lesions",
    "predicted_parts",
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


def order_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows in the paper's method order, then segmenter (g first), volume and (in
    ``per_slice.csv``) slice."""
    method_rank = {m: i for i, m in enumerate(paper_order(table["method"]))}
    keys = pd.DataFrame(
        {
            "method": table["method"].map(method_rank),
            "segmenter": table["segmenter"].map(segmenter_rank),
            "volume": table["volume"],
            **({"slice": table["slice"]} if "slice" in table else {}),
        }
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return table.loc[order].reset_index(drop=True)


def _read_checked(
    path: str | Path, columns: tuple[str, ...], *, may_be_empty: bool = False
) -> pd.DataFrame:
    table = pd.read_csv(path)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputDataError(path, f"missing columns {', '.join(missing)}")
    if table.empty and not may_be_empty:
        raise InputDataError(path, "has no rows")
    return table


def read_per_slice(path: str | Path) -> pd.DataFrame:
    """per_slice.csv, checked for the columns the tables need."""
    return _read_checked(path, PER_SLICE_COLUMNS)


def read_per_volume(path: str | Path) -> pd.DataFrame:
    """per_volume.csv, checked for the columns the 3-D table needs."""
    return _read_checked(path, PER_VOLUME_COLUMNS)


def read_per_lesion(path: str | Path) -> pd.DataFrame:
    """per_lesion.csv, checked for its columns; it may have no rows (no lesion, no tumour
    predicted, or no tumour labels)."""
    return _read_checked(path, PER_LESION_COLUMNS, may_be_empty=True)
