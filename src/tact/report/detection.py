"""Table V and Figure S3: lesion-wise detection per method and segmenter, from per_lesion.csv
(``tact.metrics.lesions``, counted as the LiTS challenge counts it).

Counts are pooled over the test volumes, as LiTS pools them; the held-out row pools them over
the held-out segmenters too (each sees every lesion once, so its recall is their mean
recall). The paper reports no lesion-wise numbers, so no paper column stands beside ours.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tact.methods import method_label, paper_order
from tact.metrics.lesions import DetectionCounts
from tact.per_slice import HELD_OUT, G, is_held_out, read_per_lesion, read_per_volume
from tact.report.style import LEGEND_ROOM_INCHES, method_style, save_figure
from tact.report.tables import (
    NO_TUMOUR_LABELS,
    SEGMENTER_GROUPS,
    held_out_phrase,
    n_held_out,
    number_cell,
    write_table,
)

DIAMETER_BINS_MM = (0.0, 10.0, 20.0, 40.0, np.inf)  # Figure S3's bins of equivalent diameter
NO_PAPER_COLUMN = "the paper reports no lesion-wise detection, so no paper column stands here"


def _group(segmenter: str) -> str:
    return HELD_OUT if is_held_out(segmenter) else G


def detection_table(per_lesion: pd.DataFrame, per_volume: pd.DataFrame) -> pd.DataFrame:
    """One row per method and segmenter group (g, then the held-out segmenters pooled):
    lesions, detected, missed, false positives, recall, precision and F1. Every method and
    group of ``per_volume`` has a row, with zero counts where it has no lesion rows."""
    groups = per_lesion.assign(group=per_lesion["segmenter"].map(_group))
    present = per_volume.assign(group=per_volume["segmenter"].map(_group))
    rows = []
    for method in paper_order(present["method"]):
        for group in (G, HELD_OUT):
            segmenters = present.loc[
                (present["method"] == method) & (present["group"] == group), "segmenter"
            ]
            if segmenters.empty:
                continue
            own = groups[(groups["method"] == method) & (groups["group"] == group)]
            counts = DetectionCounts.of(own)
            rows.append(
                {
                    "method": method,
                    "label": method_label(method),
                    "segmenter": group,
                    "n_segmenters": segmenters.nunique(),
                    "lesions": counts.lesions,
                    "detected": counts.detected,
                    "missed": counts.missed,
                    "false_positives": counts.false_positives,
                    "recall": counts.recall,
                    "precision": counts.precision,
                    "f1": counts.f1,
                }
            )
    return pd.DataFrame(rows)


def _detection_rows(table: pd.DataFrame, latex_cells: bool) -> tuple[list[str], list[list[str]]]:
    headers = ["Method", "Segmenter", "Lesions", "Detected", "False positives"]
    headers += ["Recall", "Precision", "F1"]
    rows = [
        [
            r.label.replace("α", r"$\alpha$") if latex_cells else r.label,
            SEGMENTER_GROUPS[r.segmenter],
            str(r.lesions),
            str(r.detected),
            str(r.false_positives),
            number_cell(r.recall, 3),
            number_cell(r.precision, 3),
            number_cell(r.f1, 3),
        ]
        for r in table.itertuples()
    ]
    return headers, rows


def detection_caption(per_volume: pd.DataFrame, iou: float, tumour_labels: bool) -> str:
    """Table V's caption: what is counted and why, then the run's particulars."""
    skipped = int((~per_volume.groupby("volume")["contiguous"].all()).sum())
    left_out = f"; {skipped} test volumes left out (not contiguous)" if skipped else ""
    no_labels = f"; {NO_TUMOUR_LABELS}: nothing to count" if not tumour_labels else ""
    held_out = held_out_phrase(int(n_held_out(per_volume).max()))
    return (
        "Lesion-wise detection, counted as the LiTS challenge counts it: each true lesion (a 3-D "
        "connected component of the tumour mask of a test volume) is detected when the "
        f"segmenter's components matched to it overlap it with IoU above {iou:g}, and every "
        "predicted component not part of a detection is a false positive. It complements "
        "Table II's Dice, which averages pixels over slices (a missed small tumour barely moves "
        "it, and a slice's 0 does not say which lesion was lost): here each tumour counts once, "
        "small or large"
        f" (by g and by {held_out}, their counts pooled; counts pooled over test volumes; "
        f"{NO_PAPER_COLUMN}{left_out}{no_labels})"
    )


def recall_by_diameter(
    per_lesion: pd.DataFrame, bins_mm: tuple[float, ...] = DIAMETER_BINS_MM
) -> pd.DataFrame:
    """Recall per method, segmenter group and bin of the lesions' equivalent diameter:
    columns method, segmenter, bin (its label), lesions (pooled over the group's
    segmenters), per_segmenter (the lesions each saw), detected, recall (NaN if none)."""
    lesions = per_lesion[per_lesion["kind"] == "lesion"]
    labels = _bin_labels(bins_mm)
    binned = lesions.assign(
        group=lesions["segmenter"].map(_group),
        bin=pd.cut(lesions["diameter_mm"], list(bins_mm), right=False, labels=labels),
        detected=lesions["detected"].astype(bool),
    )
    grouped = binned.groupby(["method", "group", "bin"], observed=False)
    table = grouped.agg(
        lesions=("detected", "size"),
        detected=("detected", "sum"),
        segmenters=("segmenter", "nunique"),
    ).reset_index()
    table["per_segmenter"] = table["lesions"] // table["segmenters"].clip(lower=1)
    table["recall"] = table["detected"] / table["lesions"].where(table["lesions"] > 0)
    return table.drop(columns="segmenters").rename(columns={"group": "segmenter"})


def _bin_labels(bins_mm: tuple[float, ...]) -> list[str]:
    inner = [f"{a:g}-{b:g} mm" for a, b in pairwise(bins_mm[1:-1])]
    return [f"< {bins_mm[1]:g} mm", *inner, f"≥ {bins_mm[-2]:g} mm"]


def plot_recall_by_diameter(per_lesion: pd.DataFrame, tumour_labels: bool = True) -> plt.Figure:
    """Recall over the lesions' diameter bins, each method a line; a panel per segmenter
    group, each bin's lesion count under its label; says why when there is no lesion."""
    table = recall_by_diameter(per_lesion)
    groups = [g for g in (G, HELD_OUT) if (table["segmenter"] == g).any()] or [G]
    fig, axes = plt.subplots(
        1,
        len(groups),
        figsize=(6.5 * len(groups) + LEGEND_ROOM_INCHES, 5),
        squeeze=False,
        layout="constrained",
    )
    labels = _bin_labels(DIAMETER_BINS_MM)
    for ax, group in zip(axes[0], groups, strict=True):
        own = table[table["segmenter"] == group]
        methods = paper_order(own["method"])
        for k, method in enumerate(methods):
            line = own[own["method"] == method].set_index("bin").reindex(labels)
            shown = np.flatnonzero(line["recall"].notna())  # bins with lesions, joined
            offset = 0.05 * (k - (len(methods) - 1) / 2)  # side by side where values agree
            ax.plot(
                shown + offset,
                line["recall"].iloc[shown],
                label=method_label(method),
                **method_style(k, method),
            )
        counts = own.groupby("bin", observed=False)["per_segmenter"].max()
        counts = counts.reindex(labels).fillna(0)
        ax.set_xticks(range(len(labels)), [f"{b}\nn={int(n)}" for b, n in counts.items()])
        ax.set(ylim=(-0.03, 1.03), xlabel="Lesion diameter (equivalent sphere)", ylabel="Recall")
        ax.set_title(f"by {SEGMENTER_GROUPS[group]}" + (" (pooled)" if group == HELD_OUT else ""))
        ax.grid(alpha=0.3)
    if not (per_lesion["kind"] == "lesion").any():
        why = "no lesions in the test volumes" if tumour_labels else NO_TUMOUR_LABELS
        axes[0][0].text(0.5, 0.5, why, ha="center", va="center", transform=axes[0][0].transAxes)
    handles, names = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="outside right center", fontsize=8)
    fig.suptitle("Lesion-wise recall by lesion size")
    return fig


def write_lesion_detection(
    per_lesion_path: str | Path,
    per_volume_path: str | Path,
    table_stem: str | Path,
    figure_paths: tuple[str | Path, str | Path],
    *,
    iou: float,
    tumour_labels: bool = True,
) -> pd.DataFrame:
    """Table V at ``table_stem`` (.csv, .md, .html, .tex) and Figure S3 at ``figure_paths``
    (PNG, PDF), from per_lesion.csv and per_volume.csv."""
    per_lesion = read_per_lesion(per_lesion_path)
    per_volume = read_per_volume(per_volume_path)
    table = detection_table(per_lesion, per_volume)
    caption = detection_caption(per_volume, iou, tumour_labels)
    write_table(table, _detection_rows, Path(table_stem), number="Table V", caption=caption)
    save_figure(plot_recall_by_diameter(per_lesion, tumour_labels), *figure_paths)
    return table
