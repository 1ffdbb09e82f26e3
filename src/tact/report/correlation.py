"""Per-slice pixel metrics against anatomy metrics: Spearman correlations, table and figure.

Does a better PSNR or SSIM mean a better segmentation? Per method and overall, over the test
slices, by g's rows (image metrics repeat on every segmenter's row).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tact.io import atomic_path, write_csv
from tact.methods import method_label, paper_order
from tact.report.style import dice_label, save_figure
from tact.report.tables import g_rows, html_table

PIXEL_METRICS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "consistency": "Consistency"}
SCATTER_PIXEL_METRICS = ("psnr", "ssim")
ANATOMY_METRICS = {"dice": dice_label(), "nsd_liver": "NSD, liver"}
EXTRA_ANATOMY = {"nsd_tumor": "NSD, tumour", "cldice_liver": "clDice, liver"}


def _spearman(x: pd.Series, y: pd.Series) -> tuple[float, float, int]:
    pairs = pd.concat([x, y], axis=1).dropna()
    if len(pairs) < 3:
        return float("nan"), float("nan"), len(pairs)
    # imported here: scipy.stats takes 1.0 s to import (2-core machine, 2026-12-03), and of the
    # five report jobs that import this module only the metric correlation uses it
    from scipy.stats import ConstantInputWarning, spearmanr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        result = spearmanr(pairs.iloc[:, 0], pairs.iloc[:, 1])
    return float(result.statistic), float(result.pvalue), len(pairs)


def _correlated_slices(per_slice: pd.DataFrame) -> pd.DataFrame:
    """g's rows (one per slice: image metrics repeat on every segmenter's row) of the methods
    with pixel metrics (the full dose has none)."""
    return g_rows(per_slice).dropna(subset=["psnr"])


def metric_correlations(per_slice: pd.DataFrame) -> pd.DataFrame:
    """Spearman rho of each pixel-side metric (PSNR, SSIM, consistency) against each anatomy
    metric by g, per method and overall, one pair per test slice."""
    table = _correlated_slices(per_slice)
    groups = [("all", table)] + [
        (m, table[table["method"] == m]) for m in paper_order(table["method"])
    ]
    rows = []
    for method, part in groups:
        for pixel in PIXEL_METRICS:
            for anatomy in {**ANATOMY_METRICS, **EXTRA_ANATOMY}:
                rho, p, n = _spearman(part[pixel], part[anatomy])
                rows.append(
                    {
                        "method": method,
                        "label": "All methods" if method == "all" else method_label(method),
                        "pixel_metric": pixel,
                        "anatomy_metric": anatomy,
                        "spearman_rho": rho,
                        "p": p,
                        "n": n,
                    }
                )
    return pd.DataFrame(rows)


def _draw_heat(fig: plt.Figure, heat: plt.Axes, rho: pd.Series, methods: list[str]) -> None:
    """Spearman rho per method (rows) and metric pair (columns)."""
    pairs = [(p, a) for p in PIXEL_METRICS for a in ANATOMY_METRICS]
    columns = [f"{PIXEL_METRICS[p].split()[0]} vs {ANATOMY_METRICS[a]}" for p, a in pairs]
    names = ["all", *methods]
    values = np.array([[rho[(m, p, a)] for p, a in pairs] for m in names])
    image = heat.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    for (r, c), value in np.ndenumerate(values):
        text = "–" if np.isnan(value) else f"{value:.2f}"
        heat.text(c, r, text, ha="center", va="center", fontsize=8)
    heat.set_xticks(range(len(columns)), columns, rotation=30, ha="right", fontsize=8)
    heat.set_yticks(range(len(names)), ["All methods", *map(method_label, methods)], fontsize=8)
    heat.set_title("Spearman ρ per method (per-slice)", fontsize=10)
    fig.colorbar(image, ax=heat, shrink=0.6)


def _anatomy_names(tumour_labels: bool) -> dict[str, str]:
    return {**ANATOMY_METRICS, "dice": dice_label(tumour_labels)}


def plot_metric_correlation(
    per_slice: pd.DataFrame, correlations: pd.DataFrame, tumour_labels: bool = True
) -> plt.Figure:
    """Per-slice scatter of PSNR/SSIM against Dice/NSD by g, and Spearman rho per method."""
    names = _anatomy_names(tumour_labels)
    table = _correlated_slices(per_slice)
    methods = paper_order(table["method"])
    palette = plt.get_cmap("tab10").colors
    styles = {m: (palette[k % 10], "os^D"[k // 10 % 4]) for k, m in enumerate(methods)}
    fig = plt.figure(figsize=(17, 8.5), layout="constrained")
    grid = fig.add_gridspec(2, 3, width_ratios=[1, 1, 1.3])
    rho = correlations.set_index(["method", "pixel_metric", "anatomy_metric"])["spearman_rho"]
    pairs = [(p, a) for p in SCATTER_PIXEL_METRICS for a in ANATOMY_METRICS]
    for k, (pixel, anatomy) in enumerate(pairs):
        ax = fig.add_subplot(grid[k // 2, k % 2])
        for method in methods:
            part = table[table["method"] == method]
            colour, marker = styles[method]
            ax.scatter(
                part[pixel],
                part[anatomy],
                s=12,
                alpha=0.7,
                color=colour,
                marker=marker,
                label=method_label(method),
            )
        ax.set(xlabel=PIXEL_METRICS[pixel], ylabel=names[anatomy])
        ax.set_title(f"all methods: Spearman ρ = {rho[('all', pixel, anatomy)]:.2f}", fontsize=10)
        ax.grid(alpha=0.3)
    _draw_heat(fig, fig.add_subplot(grid[:, 2]), rho, methods)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=6, fontsize=8, markerscale=2)
    fig.suptitle("Do pixel metrics track anatomy? Per test slice, Dice by g, all but full dose")
    return fig


def write_metric_correlation(
    per_slice: pd.DataFrame,
    *,
    table_path: str | Path,
    html_path: str | Path,
    png_path: str | Path,
    pdf_path: str | Path,
    tumour_labels: bool = True,
) -> pd.DataFrame:
    """The Spearman table (CSV, and HTML for the report) and the figure; without
    ``tumour_labels`` they say that Dice is the liver's and the tumour's NSD has no values."""
    correlations = metric_correlations(per_slice)
    write_csv(correlations, table_path)
    headers = ["Method", "Pixel metric", "Anatomy metric", "Spearman ρ", "p", "n"]
    rows = [
        [
            r.label,
            PIXEL_METRICS[r.pixel_metric],
            {**_anatomy_names(tumour_labels), **EXTRA_ANATOMY}[r.anatomy_metric],
            "–" if np.isnan(r.spearman_rho) else f"{r.spearman_rho:.3f}",
            "–" if np.isnan(r.p) else f"{r.p:.3g}",
            str(r.n),
        ]
        for r in correlations.itertuples()
    ]
    caption = (
        "Table S1. Spearman rank correlation of image metrics (PSNR, SSIM, and data "
        "consistency, which grows as an image contradicts the data) with anatomy metrics by g, "
        f"per test slice{'' if tumour_labels else '; no tumour labels: Dice is the liver alone'}"
    )
    with atomic_path(html_path) as tmp:
        tmp.write_text(html_table(headers, rows, caption), encoding="utf-8")
    figure = plot_metric_correlation(per_slice, correlations, tumour_labels)
    save_figure(figure, png_path, pdf_path)
    return correlations
