"""Table IV and its figure: the model observers' AUC and d' per observer, method and lesion
setting (``tact.observer_study``).

A method's interval is compared with the Base U-Net's by the same observer: "above" or
"below" where the two 95 % intervals do not overlap (a conservative reading of a difference),
else "overlaps". The paper has no observer study, so no paper column stands beside ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tact.methods import method_label, paper_order
from tact.observer_study import OBSERVER_COLUMNS
from tact.report.style import LEGEND_ROOM_INCHES, method_style, save_figure
from tact.report.tables import REFERENCE, write_table

OBSERVERS = ("CHO", "NPWE")  # the table's order: the Hotelling observer first


def observer_table(per_method: Sequence[str | Path]) -> pd.DataFrame:
    """Every method's rows (by observer, then paper order, diameter and contrast), with how
    its AUC interval stands against the Base U-Net's by the same observer (``vs_base``; empty
    without a Base U-Net)."""
    table = pd.concat([pd.read_csv(p) for p in per_method], ignore_index=True)
    missing = set(OBSERVER_COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"observer results lack the columns {sorted(missing)}")
    order = {
        "method": {m: k for k, m in enumerate(paper_order(table["method"].unique()))},
        "observer": {o: k for k, o in enumerate(OBSERVERS)},
    }
    table = table.sort_values(
        ["observer", "method", "diameter_mm", "contrast_hu"],
        key=lambda c: c.map(order[c.name]) if c.name in order else c,
    ).reset_index(drop=True)
    base = table[table["method"] == REFERENCE].set_index(["observer", "setting"])
    table["vs_base"] = [_against(r, base) for r in table.itertuples()]
    return table


def _against(row, base: pd.DataFrame) -> str:
    if row.method == REFERENCE or (row.observer, row.setting) not in base.index:
        return ""
    ref = base.loc[(row.observer, row.setting)]
    if row.auc_low > ref["auc_high"]:
        return "above"
    if row.auc_high < ref["auc_low"]:
        return "below"
    return "overlaps"


MARKS = {"above": " ↑", "below": " ↓"}


def _observer_rows(table: pd.DataFrame, latex_cells: bool) -> tuple[list[str], list[list[str]]]:
    """A row per observer, method and diameter, a column per contrast: AUC (interval), d'."""
    contrasts = sorted(table["contrast_hu"].unique())
    headers = ["Observer", "Method", "Diameter", *[f"{c:g} HU below the liver" for c in contrasts]]
    rows = []
    groups = table.groupby(["observer", "method", "diameter_mm"], sort=False)
    for (observer, method, diameter), own in groups:
        cells = own.set_index("contrast_hu")
        label = method_label(method)
        rows.append(
            [
                observer,
                label.replace("α", r"$\alpha$") if latex_cells else label,
                f"{diameter:g} mm",
                *[_cell(cells.loc[c], latex_cells) if c in cells.index else "" for c in contrasts],
            ]
        )
    return headers, rows


def _cell(r: pd.Series, latex_cells: bool) -> str:
    d = "$d'$" if latex_cells else "d'"
    mark = MARKS.get(r["vs_base"], "")
    if latex_cells:
        mark = {" ↑": r" $\uparrow$", " ↓": r" $\downarrow$"}.get(mark, "")
    value = f"{r['d_prime']:.3g}"
    if np.isinf(r["d_prime"]):  # classes without noise (full dose): told apart every time
        value = ("-" if r["d_prime"] < 0 else "") + (r"$\infty$" if latex_cells else "∞")
    return f"{r['auc']:.3f} ({r['auc_low']:.2f}-{r['auc_high']:.2f}){mark}; {d} {value}"


def observer_caption(table: pd.DataFrame, design: dict) -> str:
    """Table IV's caption: what the observers are and why they complement Dice, then the
    run's particulars."""
    per_class = int(table["realisations"].iloc[0])
    npwe = (
        " The non-prewhitening observer with an eye filter (NPWE, LCD-CT's model of a human "
        "reader: its template is the mean signal, seen as a reader at "
        f"{design['viewing_distance_mm']:g} mm from a display showing a pixel "
        f"{design['display_pixel_mm']:g} mm wide) does not whiten the noise, as a reader does "
        "not."
        if "NPWE" in set(table["observer"])
        else ""
    )
    return (
        "Lesion detectability by a channelized Hotelling observer (CHO; Laguerre-Gauss "
        "channels, as the FDA's LCD-CT toolbox): it decides lesion or no lesion from a square "
        "around a known site whose background it knows, learning its template on one half of "
        "the realisations and scored on the other, so "
        "it measures whether the lesion is still in the image rather than whether one segmenter "
        "finds it. Dice cannot tell a lesion lost from the image from one a network misses; "
        f"the observer can, and it needs no segmenter.{npwe} Disks of each diameter and "
        "contrast (HU "
        f"below the liver) in the livers of a few test slices; {per_class} lesion-absent and "
        f"{per_class} lesion-present images a setting, each its own noise through the run's "
        f"scanner; {design['channels']} channels of width {design['channel_width']:g} "
        f"diameters, a square of {design['patch']:g} diameters. AUC with its bootstrap 95 % "
        "interval, and the detectability index d'; ↑ / ↓: the interval lies above / below the "
        "Base U-Net's by the same observer (the paper has no observer study, so no paper "
        "column stands here)"
    )


def plot_detectability(table: pd.DataFrame) -> plt.Figure:
    """AUC over contrast, a panel per observer and diameter, each method a line with its
    interval; full dose and low dose dashed, as the bounds."""
    diameters = sorted(table["diameter_mm"].unique())
    observers = [o for o in OBSERVERS if o in set(table["observer"])]
    fig, axes = plt.subplots(
        len(observers),
        len(diameters),
        figsize=(4.2 * len(diameters) + LEGEND_ROOM_INCHES, 4.0 * len(observers) + 0.4),
        squeeze=False,
        layout="constrained",
    )
    for row, observer in zip(axes, observers, strict=True):
        for ax, diameter in zip(row, diameters, strict=True):
            own = table[(table["observer"] == observer) & (table["diameter_mm"] == diameter)]
            _plot_panel(ax, own)
            ax.set_title(f"{observer}, {diameter:g} mm lesion")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside right center", fontsize=8)
    fig.suptitle("Lesion detectability (model observers)")
    return fig


def _plot_panel(ax: plt.Axes, panel: pd.DataFrame) -> None:
    """One observer's AUC over contrast for one diameter, a line per method."""
    for k, method in enumerate(paper_order(panel["method"].unique())):
        own = panel[panel["method"] == method].sort_values("contrast_hu")
        ax.errorbar(
            own["contrast_hu"],
            own["auc"],
            yerr=[own["auc"] - own["auc_low"], own["auc_high"] - own["auc"]],
            capsize=2,
            label=method_label(method),
            **method_style(k, method),
        )
    ax.set_xscale("log")
    contrasts = sorted(panel["contrast_hu"].unique())
    ax.set_xticks(contrasts, [f"{c:g}" for c in contrasts])
    ax.minorticks_off()
    ax.axhline(0.5, color="0.8", linewidth=0.8)
    # from 0.4, or lower where an interval reaches below it (the showcase's reach 0.28)
    bottom = max(0.0, min(0.4, float(panel["auc_low"].min()) - 0.02))
    ax.set(ylim=(bottom, 1.02), xlabel="Contrast (HU below the liver)", ylabel="AUC")
    ax.grid(alpha=0.3)


def write_observer_report(
    per_method: Sequence[str | Path],
    table_stem: str | Path,
    figure_paths: tuple[str | Path, str | Path],
    design: dict,
) -> pd.DataFrame:
    """Table IV at ``table_stem`` (.csv, .md, .html, .tex) and its figure at
    ``figure_paths`` (PNG, PDF), from every method's observer results."""
    table = observer_table(per_method)
    caption = observer_caption(table, design)
    write_table(table, _observer_rows, Path(table_stem), number="Table IV", caption=caption)
    save_figure(plot_detectability(table), *figure_paths)
    return table
