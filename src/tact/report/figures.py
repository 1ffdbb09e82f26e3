"""The paper's Figures 2-4 and the alpha sweep (metric correlations and training curves have
modules of their own).

Every figure is made from a run's own files: the test images and label maps of each method,
the ground truth, per_slice.csv and the training histories. Segmentation scores are shown by
the frozen segmenter g (the paper's, which task-adaptive training sees) beside the held-out
segmenters (which no training saw): a method that learnt to steer g scores well by g only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from tact.errors import ConfigError
from tact.methods import DEFENCES, method_label, paper_order, parse_method, weight_of
from tact.per_slice import IMAGE_COLUMNS, G, held_out_name, is_held_out, read_per_slice
from tact.report.style import (
    LABEL_COLOURS,
    WINDOW_NOTE,
    abdominal_window,
    dice_label,
    panel_grid,
    save_figure,
)
from tact.report.tables import g_rows, held_out_mean
from tact.test_sets import GroundTruth, TestImages, TestSet, load_label_sets

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
    fig, axes = panel_grid(len(methods), title_room=0.9)
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
    fig, axes = panel_grid(len(panels) + 1, title_room=0.8)
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
    *,
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


def plot_alpha_tradeoff(per_slice: pd.DataFrame, *, tumour_labels: bool = True) -> plt.Figure:
    """PSNR, Dice (by g solid, by the held-out segmenters dashed) and data consistency over
    the Dice weight (alpha; C for joint training), and Dice against PSNR; the Dice axes say
    when the data has no tumour labels."""
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
    ax_dice.set(xlabel=WEIGHT_AXIS, ylabel=dice_label(tumour_labels))
    ax_dice.set_title("Dice by g (solid) and by held-out segmenters (dashed)")
    ax_consistency.set(xlabel=WEIGHT_AXIS, ylabel="Data consistency (about 1 = consistent)")
    ax_consistency.set_title("Agreement with the measured counts")
    ax_pair.set(xlabel="PSNR in the ROI (dB)", ylabel=dice_label(tumour_labels))
    ax_pair.set_title("Trade-off (labels: weight; dashed: held-out)")
    for ax in grid.ravel():
        ax.grid(alpha=0.3)
    handles, labels = ax_dice.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8)
    fig.suptitle("Task weight sweep: mean over test slices, bars 95% CI")
    return fig


def find_example(
    truth: GroundTruth, volume: int | None = None, slice_: int | None = None
) -> tuple[int, int]:
    """(volume, slice) of the example test slice, as :func:`choose_example` picks it, reading
    the test label maps a volume at a time."""
    if volume is not None and slice_ is not None:
        rows = truth.rows
        if not ((rows["volume"] == volume) & (rows["slice"] == slice_)).any():
            raise ConfigError(
                f"report: volume {volume}, slice {slice_} is not a test slice of this run"
            )
        return volume, slice_
    if (volume is None) != (slice_ is None):
        raise ConfigError("report.example_volume and report.example_slice must be set together")
    most = {2: (0, None), 1: (0, None)}  # label -> (pixels, (volume, slice)); first one wins
    for vid in truth.volumes:
        _, masks, _ = truth.of_volume(vid, images=False)
        for label, counts in ((2, masks.images == 2), (1, masks.images > 0)):
            pixels = counts.sum(axis=(1, 2))
            k = int(np.argmax(pixels))
            if pixels[k] > most[label][0]:
                most[label] = (int(pixels[k]), (vid, int(masks.slices[k])))
    chosen = most[2][1] or most[1][1]
    if chosen is None:  # no liver in any test slice: the first one
        chosen = (truth.volumes[0], int(truth.rows["slice"].iloc[0]))
    return chosen


def _one_slice(part: TestSet, slice_: int) -> TestSet:
    at = np.flatnonzero(part.slices == slice_)
    return TestSet(np.asarray(part.images[at]), part.volumes[at], part.slices[at])


def slice_figures_from_files(
    methods: Sequence[str],
    *,
    image_files: Mapping[str, Sequence[str | Path]],
    label_paths: Sequence[str | Path],
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    per_slice_path: str | Path,
    paths: Mapping[str, str | Path],
    example: tuple[int | None, int | None] = (None, None),
) -> tuple[int, int]:
    """Figures 2-4 from the run's files (the workflow's entry point), reading only the slice
    they show; ``image_files``: where each method's test images lie (tact.test_sets),
    ``label_paths``: the methods' label files, each with the maps of every segmenter."""
    truth = GroundTruth(tuple(map(str, store_paths)), str(split_path))
    volume, slice_ = find_example(truth, *example)
    masks = _one_slice(truth.of_volume(volume, images=False)[1], slice_)
    images = {
        m: _one_slice(
            TestImages(m, tuple(map(str, image_files[m])), truth.split).of_volume(volume), slice_
        )
        for m in methods
    }
    labels = {
        m: {s: _one_slice(part, slice_) for s, part in load_label_sets(p, volume).items()}
        for m, p in zip(methods, label_paths, strict=True)
    }
    return write_slice_figures(
        images, labels, masks, read_per_slice(per_slice_path), paths=paths, example=(volume, slice_)
    )
