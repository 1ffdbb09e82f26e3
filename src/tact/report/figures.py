"""The paper's Figures 2-4, the alpha sweep, metric correlations and training curves.

Every figure is made from a run's own files: the test images and label maps of each method,
the ground truth, per_slice.csv and the training histories.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from scipy.stats import ConstantInputWarning, spearmanr

from tact.errors import ConfigError
from tact.evaluation import TestSet, gather_ground_truth, load_test_set
from tact.io import atomic_path, write_csv
from tact.report.data import LIVER_COLOUR, TUMOUR_COLOUR, abdominal_window
from tact.report.methods import JOINT, TASK, method_label, paper_order, weight_of
from tact.report.tables import html_table, read_per_slice

BACKGROUND_COLOUR = "#440154"  # the paper's Fig. 2: purple background, cyan liver, yellow tumour
LABEL_COLOURS = ListedColormap([BACKGROUND_COLOUR, LIVER_COLOUR, TUMOUR_COLOUR])
WINDOW_NOTE = "abdominal window L40 W400"
PANEL_COLUMNS = 4


def save_figure(fig: plt.Figure, png_path: str | Path, pdf_path: str | Path | None = None) -> None:
    """Write a figure as PNG (and PDF) atomically, then close it."""
    for path in (png_path, pdf_path):
        if path is not None:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, dpi=120)
    plt.close(fig)


def _panel_grid(n: int, size: float = 3.2, title_room: float = 0.6):
    columns = min(PANEL_COLUMNS, n)
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(size * columns, (size + title_room) * rows),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.ravel():
        ax.axis("off")
    return fig, axes.ravel()[:n]


# --- The example slice: Figures 2-4 ----------------------------------------------------------


def choose_example(masks: TestSet, volume: int | None = None, slice_: int | None = None) -> int:
    """Index of the example test slice: the configured one, else the one with most tumour
    (most liver when no test slice has tumour)."""
    if (volume is None) != (slice_ is None):
        raise ConfigError("report.example_volume and report.example_slice must be set together")
    if volume is not None:
        match = np.flatnonzero((masks.volumes == volume) & (masks.slices == slice_))
        if not len(match):
            raise ConfigError(
                f"report: volume {volume}, slice {slice_} is not a test slice of this run"
            )
        return int(match[0])
    tumour = (masks.images == 2).sum(axis=(1, 2))
    if tumour.max() > 0:
        return int(np.argmax(tumour))
    return int(np.argmax((masks.images > 0).sum(axis=(1, 2))))


def _show_image(ax: plt.Axes, image: np.ndarray, title: str) -> None:
    ax.imshow(abdominal_window(image), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)


def _show_labels(ax: plt.Axes, labels: np.ndarray, title: str) -> None:
    ax.imshow(labels, cmap=LABEL_COLOURS, vmin=0, vmax=2, interpolation="nearest")
    ax.set_title(title, fontsize=9)


def _label_legend(fig: plt.Figure) -> None:
    handles = [
        Patch(color=c, label=n)
        for c, n in zip(LABEL_COLOURS.colors, ("background", "liver", "tumour"), strict=True)
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)


def _scores_title(method: str, scores: pd.Series) -> str:
    parts = []
    if not pd.isna(scores["psnr"]):
        parts.append(f"PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}")
    parts.append(f"Dice {scores['dice']:.3f}")
    return f"{method_label(method)}\n" + "\n".join(parts)


def _where(volume: int, slice_: int) -> str:
    return f"volume {volume}, slice {slice_} (test set)"


def plot_sample(lowdose: np.ndarray, fulldose: np.ndarray, mask: np.ndarray, where: str):
    """Figure 2: a simulated low-dose scan, the full-dose scan and the segmentation map."""
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 4.3), layout="constrained")
    _show_image(axes[0], lowdose, "Low-dose (simulated, Ram-Lak FBP)")
    _show_image(axes[1], fulldose, "Full-dose")
    _show_labels(axes[2], mask, "Segmentation map")
    for ax in axes:
        ax.axis("off")
    _label_legend(fig)
    fig.suptitle(f"A sample: {where} ({WINDOW_NOTE})")
    return fig


def plot_reconstructions(
    images: Mapping[str, np.ndarray], scores: pd.DataFrame, where: str
) -> plt.Figure:
    """Figure 3: the example slice by every method, PSNR, SSIM and Dice above each panel."""
    methods = paper_order(images)
    fig, axes = _panel_grid(len(methods))
    for ax, method in zip(axes, methods, strict=True):
        _show_image(ax, images[method], _scores_title(method, scores.loc[method]))
    fig.suptitle(f"Reconstructions, {where} ({WINDOW_NOTE})")
    return fig


def plot_segmentations(
    labels: Mapping[str, np.ndarray], truth: np.ndarray, scores: pd.DataFrame, where: str
) -> plt.Figure:
    """Figure 4: the frozen segmenter's maps of every method's image, and the ground truth."""
    methods = paper_order(labels)
    fig, axes = _panel_grid(len(methods) + 1)
    for ax, method in zip(axes, methods, strict=False):
        _show_labels(ax, labels[method], _scores_title(method, scores.loc[method]))
    _show_labels(axes[-1], truth, "Ground truth\n(reference)")
    _label_legend(fig)
    fig.suptitle(f"Segmentation by the frozen pre-trained network, {where}")
    return fig


def write_slice_figures(
    images: Mapping[str, TestSet],
    labels: Mapping[str, TestSet],
    truth: TestSet,
    per_slice: pd.DataFrame,
    paths: Mapping[str, str | Path],
    example: tuple[int | None, int | None] = (None, None),
) -> tuple[int, int]:
    """Figures 2, 3 and 4 of one example slice (png and pdf each); returns (volume, slice).

    ``paths`` maps fig2_sample_png, fig2_sample_pdf, fig3_reconstructions_png, ... to paths.
    """
    i = choose_example(truth, *example)
    volume, slice_ = int(truth.volumes[i]), int(truth.slices[i])
    for name, part in {**images, **labels}.items():
        if not (part.volumes[i] == volume and part.slices[i] == slice_):
            raise ValueError(f"{name}: test slices do not line up with the ground truth")
    rows = per_slice[(per_slice["volume"] == volume) & (per_slice["slice"] == slice_)]
    scores = rows.set_index("method")
    where = _where(volume, slice_)
    figures = {
        "fig2_sample": plot_sample(
            images["lowdose"].images[i], images["fulldose"].images[i], truth.images[i], where
        ),
        "fig3_reconstructions": plot_reconstructions(
            {m: s.images[i] for m, s in images.items()}, scores, where
        ),
        "fig4_segmentations": plot_segmentations(
            {m: s.images[i] for m, s in labels.items()}, truth.images[i], scores, where
        ),
    }
    for name, fig in figures.items():
        save_figure(fig, paths[f"{name}_png"], paths[f"{name}_pdf"])
    return volume, slice_


# --- The alpha sweep -------------------------------------------------------------------------


def method_summary(per_slice: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean PSNR and Dice with a 95% confidence interval half-width (1.96 SEM)."""
    grouped = per_slice.groupby("method")
    summary = pd.DataFrame(
        {
            "psnr": grouped["psnr"].mean(),
            "psnr_ci": 1.96 * grouped["psnr"].sem(),
            "dice": grouped["dice"].mean(),
            "dice_ci": 1.96 * grouped["dice"].sem(),
        }
    )
    summary["weight"] = [weight_of(m) for m in summary.index]
    return summary.loc[paper_order(summary.index)]


def _sweep(summary: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Base U-Net (weight 0) and the models of one family, by weight."""
    members = [m for m in summary.index if m == "base" or m.startswith(prefix)]
    return summary.loc[members].sort_values("weight")


def plot_alpha_tradeoff(per_slice: pd.DataFrame) -> plt.Figure:
    """PSNR and Dice over the Dice weight (alpha; C for joint training), and Dice vs PSNR."""
    summary = method_summary(per_slice)
    fig, (ax_psnr, ax_dice, ax_pair) = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    families = {
        TASK: ("Task-adaptive (α)", "tab:red", "o", "-"),
        JOINT: ("Joint training (C)", "tab:blue", "s", "--"),
    }
    for prefix, (name, colour, marker, style) in families.items():
        sweep = _sweep(summary, prefix)
        if len(sweep) < 2 and prefix == JOINT:
            continue
        for ax, metric in ((ax_psnr, "psnr"), (ax_dice, "dice")):
            ax.errorbar(
                sweep["weight"],
                sweep[metric],
                yerr=sweep[f"{metric}_ci"],
                color=colour,
                marker=marker,
                linestyle=style,
                capsize=3,
                label=name,
            )
        ax_pair.plot(sweep["psnr"], sweep["dice"], color=colour, marker=marker, linestyle=style)
        for _, row in sweep.iterrows():
            ax_pair.annotate(
                f"{row['weight']:g}",
                (row["psnr"], row["dice"]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=8,
                color=colour,
            )
    references = {"bm3d": ("BM3D", "tab:green", ":"), "fulldose": ("Full-dose", "black", "-.")}
    for method, (name, colour, style) in references.items():
        if method not in summary.index:
            continue
        row = summary.loc[method]
        for ax, metric in ((ax_psnr, "psnr"), (ax_dice, "dice")):
            if not pd.isna(row[metric]):
                ax.axhline(row[metric], color=colour, linestyle=style, label=name)
        if not pd.isna(row["psnr"]):
            ax_pair.plot(row["psnr"], row["dice"], marker="*", markersize=12, color=colour)
            ax_pair.annotate(
                name,
                (row["psnr"], row["dice"]),
                xytext=(4, -10),
                textcoords="offset points",
                fontsize=8,
                color=colour,
            )
    ax_psnr.set(xlabel="Dice weight (α or C; 0 = Base U-Net)", ylabel="PSNR in the ROI (dB)")
    ax_dice.set(xlabel="Dice weight (α or C; 0 = Base U-Net)", ylabel="Dice (liver + tumour)")
    ax_pair.set(xlabel="PSNR in the ROI (dB)", ylabel="Dice (liver + tumour)")
    ax_psnr.set_title("Image fidelity")
    ax_dice.set_title("Segmentation by the frozen network")
    ax_pair.set_title("Trade-off (labels: weight)")
    ax_dice.legend(fontsize=8, loc="best")
    for ax in (ax_psnr, ax_dice, ax_pair):
        ax.grid(alpha=0.3)
    fig.suptitle("Task weight sweep: mean over test slices, bars 95% CI")
    return fig


# --- Pixel metrics against anatomy metrics ---------------------------------------------------

PIXEL_METRICS = {"psnr": "PSNR (dB)", "ssim": "SSIM"}
ANATOMY_METRICS = {"dice": "Dice (liver + tumour)", "nsd_liver": "NSD, liver"}
EXTRA_ANATOMY = {"nsd_tumor": "NSD, tumour", "cldice_liver": "clDice, liver"}


def _spearman(x: pd.Series, y: pd.Series) -> tuple[float, float, int]:
    pairs = pd.concat([x, y], axis=1).dropna()
    if len(pairs) < 3:
        return float("nan"), float("nan"), len(pairs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        result = spearmanr(pairs.iloc[:, 0], pairs.iloc[:, 1])
    return float(result.statistic), float(result.pvalue), len(pairs)


def metric_correlations(per_slice: pd.DataFrame) -> pd.DataFrame:
    """Spearman rho of each pixel metric against each anatomy metric, per method and overall
    (methods with pixel metrics only: the full dose has none)."""
    table = per_slice.dropna(subset=["psnr"])
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


def plot_metric_correlation(per_slice: pd.DataFrame, correlations: pd.DataFrame) -> plt.Figure:
    """Per-slice scatter of PSNR/SSIM against Dice/NSD, and Spearman rho per method."""
    table = per_slice.dropna(subset=["psnr"])
    methods = paper_order(table["method"])
    palette = plt.get_cmap("tab10").colors
    styles = {m: (palette[k % 10], "os^D"[k // 10 % 4]) for k, m in enumerate(methods)}
    fig = plt.figure(figsize=(16, 8.5), layout="constrained")
    grid = fig.add_gridspec(2, 3, width_ratios=[1, 1, 1.1])
    pairs = [(p, a) for p in PIXEL_METRICS for a in ANATOMY_METRICS]
    rho = correlations.set_index(["method", "pixel_metric", "anatomy_metric"])["spearman_rho"]
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
        ax.set(xlabel=PIXEL_METRICS[pixel], ylabel=ANATOMY_METRICS[anatomy])
        ax.set_title(f"all methods: Spearman ρ = {rho[('all', pixel, anatomy)]:.2f}", fontsize=10)
        ax.grid(alpha=0.3)
    heat = fig.add_subplot(grid[:, 2])
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
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=6, fontsize=8, markerscale=2)
    fig.suptitle("Do pixel metrics track anatomy? Per test slice, every method but full dose")
    return fig


def write_metric_correlation(
    per_slice: pd.DataFrame,
    table_path: str | Path,
    html_path: str | Path,
    png_path: str | Path,
    pdf_path: str | Path,
) -> pd.DataFrame:
    """The Spearman table (CSV, and HTML for the report) and the figure."""
    correlations = metric_correlations(per_slice)
    write_csv(correlations, table_path)
    headers = ["Method", "Pixel metric", "Anatomy metric", "Spearman ρ", "p", "n"]
    rows = [
        [
            r.label,
            PIXEL_METRICS[r.pixel_metric],
            {**ANATOMY_METRICS, **EXTRA_ANATOMY}[r.anatomy_metric],
            "–" if np.isnan(r.spearman_rho) else f"{r.spearman_rho:.3f}",
            "–" if np.isnan(r.p) else f"{r.p:.3g}",
            str(r.n),
        ]
        for r in correlations.itertuples()
    ]
    caption = "Table S1. Spearman rank correlation of pixel and anatomy metrics, per test slice"
    with atomic_path(html_path) as tmp:
        tmp.write_text(html_table(headers, rows, caption), encoding="utf-8")
    save_figure(plot_metric_correlation(per_slice, correlations), png_path, pdf_path)
    return correlations


# --- Training curves -------------------------------------------------------------------------


def plot_training_curves(histories: Mapping[str, pd.DataFrame]) -> plt.Figure:
    """Per model: training and validation loss per epoch (log scale), validation PSNR."""
    names = ["segmentation", *paper_order(m for m in histories if m != "segmentation")]
    names = [n for n in names if n in histories]
    fig, axes = _panel_grid(len(names), size=3.6, title_room=0.2)
    for ax, name in zip(axes, names, strict=True):
        history = histories[name]
        ax.axis("on")
        ax.plot(history["epoch"], history["train_loss"], color="tab:blue", label="training loss")
        ax.plot(history["epoch"], history["val_loss"], color="tab:orange", label="validation loss")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        title = (
            "Segmentation U-Net (pre-training)" if name == "segmentation" else method_label(name)
        )
        ax.set_title(title, fontsize=10)
        if "val_psnr" in history:
            twin = ax.twinx()
            twin.plot(
                history["epoch"],
                history["val_psnr"],
                color="tab:green",
                linestyle="--",
                label="validation PSNR (dB)",
            )
            twin.tick_params(axis="y", labelcolor="tab:green", labelsize=8)
    handles = [
        plt.Line2D([], [], color="tab:blue", label="training loss (log)"),
        plt.Line2D([], [], color="tab:orange", label="validation loss (log)"),
        plt.Line2D([], [], color="tab:green", linestyle="--", label="validation PSNR (dB, right)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle("Training curves")
    return fig


def read_histories(paths: Sequence[str | Path]) -> dict[str, pd.DataFrame]:
    """Training histories keyed by model name (the file's stem)."""
    return {Path(p).stem: pd.read_csv(p) for p in paths}


def slice_figures_from_files(
    methods: Sequence[str],
    image_paths: Sequence[str | Path],
    label_paths: Sequence[str | Path],
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    per_slice_path: str | Path,
    paths: Mapping[str, str | Path],
    example: tuple[int | None, int | None] = (None, None),
) -> tuple[int, int]:
    """Figures 2-4 from the run's files (the workflow's entry point)."""
    _, truth, _ = gather_ground_truth(store_paths, split_path)
    images = {m: load_test_set(p) for m, p in zip(methods, image_paths, strict=True)}
    labels = {m: load_test_set(p) for m, p in zip(methods, label_paths, strict=True)}
    return write_slice_figures(
        images, labels, truth, read_per_slice(per_slice_path), paths, example
    )
