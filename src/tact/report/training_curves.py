"""Training curves: loss and validation PSNR per epoch of every model the run trained."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from tact.methods import method_label, paper_order
from tact.per_slice import HELD_OUT
from tact.report.style import panel_grid
from tact.segmenters import ENSEMBLE, G_MODEL, ROBUST, is_segmenter_model, segmenter_label

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
    fig, axes = panel_grid(len(names), size=3.6, title_room=0.2)
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
