"""The paper's Figures 2-4, the alpha sweep, metric correlations and training curves.

Every figure is made from a run's own files: the test images and label maps of each method,
the ground truth, per_slice.csv and the training histories. Segmentation scores are shown by
the frozen segmenter g (the paper's, which task-adaptive training sees) beside the held-out
segmenters (which no training saw): a method that learnt to steer g scores well by g only.
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
from matplotlib.ticker import FuncFormatter
from scipy.stats import ConstantInputWarning, spearmanr

from tact.errors import ConfigError
from tact.io import atomic_path, write_csv
from tact.methods import DEFENCES, method_label, paper_order, parse_method, weight_of
from tact.per_slice import HELD_OUT, IMAGE_COLUMNS, G, held_out_name, is_held_out, read_per_slice
from tact.report.data import LIVER_COLOUR, TUMOUR_COLOUR, abdominal_window
from tact.report.tables import g_rows, held_out_mean, html_table
from tact.segmenters import ENSEMBLE, G_MODEL, ROBUST, is_segmenter_model, segmenter_label
from tact.test_sets import TestSet, gather_ground_truth, load_label_sets, load_test_set

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


def example_scores(per_slice: pd.DataFrame, volume: int, slice_: int) -> pd.DataFrame:
    """Per method, one slice's PSNR, SSIM and consistency, its Dice by each segmenter
    (dice_g, dice_held_out_1, ...) and the held-out segmenters' mean Dice (dice_held_out)."""
    rows = per_slice[(per_slice["volume"] == volume) & (per_slice["slice"] == slice_)]
    scores = g_rows(rows).set_index("method")[list(IMAGE_COLUMNS)]
    dice = rows.pivot(index="method", columns="segmenter", values="dice")
    held = [s for s in dice.columns if is_held_out(s)]
    scores = scores.join(dice.add_prefix("dice_"))
    scores["dice_held_out"] = dice[held].mean(axis=1) if held else np.nan
    return scores


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


def _score(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.3f}"


def _scores_title(method: str, scores: pd.Series) -> str:
    """Method, then its image metrics and its Dice by g and by the held-out segmenters."""
    lines = [method_label(method)]
    if not pd.isna(scores["psnr"]):
        lines.append(f"PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}")
    if not pd.isna(scores["consistency"]):
        lines.append(f"consistency {scores['consistency']:.2f}")
    dice = f"Dice by g {_score(scores.get('dice_g'))}"
    if not pd.isna(scores["dice_held_out"]):
        dice += f", held-out {scores['dice_held_out']:.3f}"
    return "\n".join([*lines, dice])


def _segmenter_name(segmenter: str) -> str:
    return "g" if segmenter == G else f"held-out segmenter {segmenter.rsplit('_', 1)[1]}"


def _segmentation_title(method: str, segmenter: str, scores: pd.Series) -> str:
    """Method, whose label map it is, and that segmenter's Dice (and the held-out mean)."""
    dice = f"by {_segmenter_name(segmenter)}: Dice {_score(scores.get(f'dice_{segmenter}'))}"
    if segmenter != G:
        dice += f"\n(held-out mean {_score(scores['dice_held_out'])})"
    return f"{method_label(method)}\n{dice}"


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
    """Figure 3: the example slice by every method; PSNR, SSIM, consistency and Dice by g and
    by the held-out segmenters above each panel (scores: see example_scores)."""
    methods = paper_order(images)
    fig, axes = _panel_grid(len(methods), title_room=0.9)
    for ax, method in zip(axes, methods, strict=True):
        _show_image(ax, images[method], _scores_title(method, scores.loc[method]))
    fig.suptitle(f"Reconstructions, {where} ({WINDOW_NOTE})")
    return fig


def plot_segmentations(
    labels: Mapping[str, Mapping[str, np.ndarray]],
    truth: np.ndarray,
    scores: pd.DataFrame,
    where: str,
) -> plt.Figure:
    """Figure 4: each method's label map by g and, side by side, by the first held-out
    segmenter (when the run has one), then the ground truth. labels: method -> segmenter ->
    label map; scores: see example_scores."""
    shown = (G, held_out_name(1))
    panels = [(m, s) for m in paper_order(labels) for s in shown if s in labels[m]]
    fig, axes = _panel_grid(len(panels) + 1, title_room=0.8)
    for ax, (method, segmenter) in zip(axes, panels, strict=False):
        title = _segmentation_title(method, segmenter, scores.loc[method])
        _show_labels(ax, labels[method][segmenter], title)
    _show_labels(axes[-1], truth, "Ground truth\n(reference)")
    _label_legend(fig)
    held_out = any(s != G for _, s in panels)
    by = "g (trained through)" + (" and held-out segmenter 1 (never seen)" if held_out else "")
    fig.suptitle(f"Segmentation by the frozen {by}, {where}")
    return fig


def _check_lines_up(name: str, part: TestSet, truth: TestSet) -> None:
    if not part.lines_up_with(truth):
        raise ValueError(f"{name}: test slices do not line up with the ground truth")


def write_slice_figures(
    images: Mapping[str, TestSet],
    labels: Mapping[str, Mapping[str, TestSet]],
    truth: TestSet,
    per_slice: pd.DataFrame,
    paths: Mapping[str, str | Path],
    example: tuple[int | None, int | None] = (None, None),
) -> tuple[int, int]:
    """Figures 2, 3 and 4 of one example slice (png and pdf each); returns (volume, slice).

    labels: method -> segmenter (g, held_out_1, ...) -> label maps, as load_label_sets reads
    them. ``paths`` maps fig2_sample_png, fig2_sample_pdf, fig3_reconstructions_png, ... to paths.
    """
    for method, part in images.items():
        _check_lines_up(method, part, truth)
    for method, sets in labels.items():
        for segmenter, part in sets.items():
            _check_lines_up(f"{method} labels by {segmenter}", part, truth)
    i = choose_example(truth, *example)
    volume, slice_ = int(truth.volumes[i]), int(truth.slices[i])
    scores = example_scores(per_slice, volume, slice_)
    where = _where(volume, slice_)
    figures = {
        "fig2_sample": plot_sample(
            images["lowdose"].images[i], images["fulldose"].images[i], truth.images[i], where
        ),
        "fig3_reconstructions": plot_reconstructions(
            {m: s.images[i] for m, s in images.items()}, scores, where
        ),
        "fig4_segmentations": plot_segmentations(
            {m: {s: part.images[i] for s, part in sets.items()} for m, sets in labels.items()},
            truth.images[i],
            scores,
            where,
        ),
    }
    for name, fig in figures.items():
        save_figure(fig, paths[f"{name}_png"], paths[f"{name}_pdf"])
    return volume, slice_


# --- The alpha sweep -------------------------------------------------------------------------

# Families of trained models, (kind, defence): display name, colour, marker.
FAMILIES = {
    ("task_adaptive", None): ("Task-adaptive (α)", "tab:red", "o"),
    **{
        ("task_adaptive", defence): (f"Task-adaptive (α), {name}", colour, marker)
        for (defence, name), colour, marker in zip(
            DEFENCES.items(), ("tab:purple", "tab:orange", "tab:brown"), "D^v", strict=True
        )
    },
    ("joint", None): ("Joint training (C)", "tab:blue", "s"),
}
REFERENCES = {"bm3d": ("BM3D", "tab:green", ":"), "fulldose": ("Full-dose", "black", "-.")}
WEIGHT_AXIS = "Dice weight (α or C; 0 = Base U-Net)"
DICE_AXIS = "Dice (liver + tumour)"


def _mean_ci(grouped, column: str) -> tuple[pd.Series, pd.Series]:
    return grouped[column].mean().astype(float), 1.96 * grouped[column].sem().astype(float)


def method_summary(per_slice: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean PSNR, consistency and Dice by g, and the held-out segmenters' mean
    Dice (dice_held_out), each with a 95% confidence interval half-width (1.96 SEM)."""
    by_g = g_rows(per_slice).groupby("method")
    by_held_out = held_out_mean(per_slice).groupby("method")
    summary = pd.DataFrame(index=paper_order(per_slice["method"]))
    for name, grouped, column in (
        ("psnr", by_g, "psnr"),
        ("consistency", by_g, "consistency"),
        ("dice", by_g, "dice"),
        ("dice_held_out", by_held_out, "dice"),
    ):
        summary[name], summary[f"{name}_ci"] = _mean_ci(grouped, column)
    summary["weight"] = [weight_of(m) for m in summary.index]
    return summary


def sweeps(summary: pd.DataFrame) -> dict[tuple[str, str | None], pd.DataFrame]:
    """Each family's models by weight, the Base U-Net as weight 0 of every family. A family
    is drawn when it has a model besides the base (the paper's task-adaptive one always)."""
    families: dict[tuple[str, str | None], list[str]] = {("task_adaptive", None): []}
    for method in summary.index:
        trained = parse_method(method)
        if trained is not None and trained.kind != "base":
            families.setdefault((trained.kind, trained.defence), []).append(method)
    base = ["base"] if "base" in summary.index else []
    return {
        family: summary.loc[base + members].sort_values("weight")
        for family, members in sorted(families.items(), key=lambda f: list(FAMILIES).index(f[0]))
    }


def _errorbar(ax: plt.Axes, sweep: pd.DataFrame, metric: str, style: dict, **kwargs) -> None:
    ax.errorbar(sweep["weight"], sweep[metric], yerr=sweep[f"{metric}_ci"], **style, **kwargs)


def _draw_pair(ax: plt.Axes, sweep: pd.DataFrame, colour: str, marker: str, held_out: bool):
    """Dice against PSNR: by g solid, labelled with the weights; held-out dashed."""
    ax.plot(sweep["psnr"], sweep["dice"], color=colour, marker=marker, linestyle="-")
    if held_out:
        ax.plot(sweep["psnr"], sweep["dice_held_out"], color=colour, marker=marker, ls="--")
    for _, row in sweep.iterrows():
        ax.annotate(
            f"{row['weight']:g}",
            (row["psnr"], row["dice"]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
            color=colour,
        )


def _draw_references(axes: Mapping[str, plt.Axes], pair: plt.Axes, summary: pd.DataFrame):
    """BM3D and full dose as horizontal lines (and BM3D as a star on the trade-off)."""
    for method, (name, colour, style) in REFERENCES.items():
        if method not in summary.index:
            continue
        row = summary.loc[method]
        for metric, ax in axes.items():
            if not pd.isna(row[metric]):
                ax.axhline(row[metric], color=colour, linestyle=style, label=name)
        if not pd.isna(row["psnr"]):
            pair.plot(row["psnr"], row["dice"], marker="*", markersize=12, color=colour)
            pair.annotate(
                name,
                (row["psnr"], row["dice"]),
                xytext=(4, -10),
                textcoords="offset points",
                fontsize=8,
                color=colour,
            )


def _log_if_positive(ax: plt.Axes, values: pd.Series) -> None:
    """Consistency spans decades (about 1 to hundreds); log scale unless a value is <= 0."""
    finite = values.dropna()
    if len(finite) and (finite > 0).all():
        ax.set_yscale("log")
        plain = FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)


def plot_alpha_tradeoff(per_slice: pd.DataFrame) -> plt.Figure:
    """PSNR, Dice (by g solid, by the held-out segmenters dashed) and data consistency over
    the Dice weight (alpha; C for joint training), and Dice against PSNR."""
    summary = method_summary(per_slice)
    held_out = bool(summary["dice_held_out"].notna().any())
    fig, grid = plt.subplots(2, 2, figsize=(13, 10), layout="constrained")
    (ax_psnr, ax_dice), (ax_consistency, ax_pair) = grid
    for family, sweep in sweeps(summary).items():
        name, colour, marker = FAMILIES[family]
        style = {"color": colour, "marker": marker, "capsize": 3}
        _errorbar(ax_psnr, sweep, "psnr", style, linestyle="-", label=name)
        _errorbar(ax_consistency, sweep, "consistency", style, linestyle="-", label=name)
        _errorbar(ax_dice, sweep, "dice", style, linestyle="-", label=f"{name}, by g")
        if held_out:
            _errorbar(ax_dice, sweep, "dice_held_out", style, ls="--", label=f"{name}, held-out")
        _draw_pair(ax_pair, sweep, colour, marker, held_out)
    axes = {"psnr": ax_psnr, "dice": ax_dice, "consistency": ax_consistency}
    _draw_references(axes, ax_pair, summary)
    _log_if_positive(ax_consistency, summary["consistency"])
    ax_psnr.set(xlabel=WEIGHT_AXIS, ylabel="PSNR in the ROI (dB)", title="Image fidelity")
    ax_dice.set(xlabel=WEIGHT_AXIS, ylabel=DICE_AXIS)
    ax_dice.set_title("Dice by g (solid) and by held-out segmenters (dashed)")
    ax_consistency.set(xlabel=WEIGHT_AXIS, ylabel="Data consistency (about 1 = consistent)")
    ax_consistency.set_title("Agreement with the measured counts")
    ax_pair.set(xlabel="PSNR in the ROI (dB)", ylabel=DICE_AXIS)
    ax_pair.set_title("Trade-off (labels: weight; dashed: held-out)")
    for ax in grid.ravel():
        ax.grid(alpha=0.3)
    handles, labels = ax_dice.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8)
    fig.suptitle("Task weight sweep: mean over test slices, bars 95% CI")
    return fig


# --- Pixel metrics against anatomy metrics ---------------------------------------------------

PIXEL_METRICS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "consistency": "Consistency"}
SCATTER_PIXEL_METRICS = ("psnr", "ssim")
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


def plot_metric_correlation(per_slice: pd.DataFrame, correlations: pd.DataFrame) -> plt.Figure:
    """Per-slice scatter of PSNR/SSIM against Dice/NSD by g, and Spearman rho per method."""
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
        ax.set(xlabel=PIXEL_METRICS[pixel], ylabel=ANATOMY_METRICS[anatomy])
        ax.set_title(f"all methods: Spearman ρ = {rho[('all', pixel, anatomy)]:.2f}", fontsize=10)
        ax.grid(alpha=0.3)
    _draw_heat(fig, fig.add_subplot(grid[:, 2]), rho, methods)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=6, fontsize=8, markerscale=2)
    fig.suptitle("Do pixel metrics track anatomy? Per test slice, Dice by g, all but full dose")
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
    caption = (
        "Table S1. Spearman rank correlation of image metrics (PSNR, SSIM, and data "
        "consistency, which grows as an image contradicts the data) with anatomy metrics by g, "
        "per test slice"
    )
    with atomic_path(html_path) as tmp:
        tmp.write_text(html_table(headers, rows, caption), encoding="utf-8")
    save_figure(plot_metric_correlation(per_slice, correlations), png_path, pdf_path)
    return correlations


# --- Training curves -------------------------------------------------------------------------

SEGMENTER_ROLES = (G_MODEL, HELD_OUT, ENSEMBLE, ROBUST)


def _segmenter_key(model: str) -> tuple[int, int]:
    role, _, index = model.rpartition("_")
    if not index.isdigit():
        role, index = model, "0"
    return SEGMENTER_ROLES.index(role), int(index)


def history_order(models: Sequence[str]) -> list[str]:
    """Segmenters first (g, held-out, ensemble, robust), then reconstructions in paper order."""
    segmenters = sorted((m for m in models if is_segmenter_model(m)), key=_segmenter_key)
    return segmenters + paper_order(m for m in models if not is_segmenter_model(m))


def _model_label(model: str) -> str:
    return segmenter_label(model) if is_segmenter_model(model) else method_label(model)


def plot_training_curves(histories: Mapping[str, pd.DataFrame]) -> plt.Figure:
    """Per model: training and validation loss per epoch (log scale), validation PSNR."""
    names = history_order(list(histories))
    fig, axes = _panel_grid(len(names), size=3.6, title_room=0.2)
    for ax, name in zip(axes, names, strict=True):
        history = histories[name]
        ax.axis("on")
        ax.plot(history["epoch"], history["train_loss"], color="tab:blue", label="training loss")
        ax.plot(history["epoch"], history["val_loss"], color="tab:orange", label="validation loss")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.set_title(_model_label(name), fontsize=10)
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
    """Figures 2-4 from the run's files (the workflow's entry point); label_paths are the
    methods' label files, each with the maps of every evaluating segmenter."""
    _, truth, _ = gather_ground_truth(store_paths, split_path)
    images = {m: load_test_set(p) for m, p in zip(methods, image_paths, strict=True)}
    labels = {m: load_label_sets(p) for m, p in zip(methods, label_paths, strict=True)}
    return write_slice_figures(
        images, labels, truth, read_per_slice(per_slice_path), paths, example
    )
