"""Overview of the extracted data: example slices with masks, and per-volume counts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tact.data.slices import SliceStack, load_stack
from tact.data.split import read_split
from tact.io import write_csv
from tact.report.style import LIVER_COLOUR, TUMOUR_COLOUR, abdominal_window, save_figure


def summarise(stacks: Sequence[SliceStack], split: pd.DataFrame) -> pd.DataFrame:
    """One row per volume: slice counts, tumour slices, geometry and split membership."""
    rows = []
    for stack in stacks:
        sets = split.loc[split["volume"] == stack.volume_id, "split"].unique()
        rows.append(
            {
                "volume": stack.volume_id,
                "split": "/".join(sorted(sets)),
                "n_slices": len(stack),
                "n_tumour_slices": int((stack.mask == 2).any(axis=(1, 2)).sum()),
                "liver_fraction": float((stack.mask > 0).mean()),
                "pixel_mm": float(stack.spacing_mm[0]),
                "slice_mm": float(stack.spacing_mm[2]),
                "image_size": int(stack.image.shape[-1]),
            }
        )
    return pd.DataFrame(rows).sort_values("volume", ignore_index=True)


def plot_examples(stacks: Sequence[SliceStack], n: int = 6) -> plt.Figure:
    """The slice with the most tumour of up to ``n`` volumes, with mask outlines."""
    chosen = []
    for stack in stacks[:n]:
        tumour = (stack.mask == 2).sum(axis=(1, 2))
        liver = (stack.mask > 0).sum(axis=(1, 2))
        k = int(np.argmax(tumour)) if tumour.max() > 0 else int(np.argmax(liver))
        chosen.append((stack, k))
    cols = min(3, len(chosen))
    rows = int(np.ceil(len(chosen) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(4 * cols, 4.3 * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (stack, k) in zip(axes.ravel(), chosen, strict=False):
        ax.imshow(abdominal_window(stack.image[k]), cmap="gray", vmin=0, vmax=1)
        ax.contour(stack.mask[k] > 0, levels=[0.5], colors=LIVER_COLOUR, linewidths=1)
        if (stack.mask[k] == 2).any():
            ax.contour(stack.mask[k] == 2, levels=[0.5], colors=TUMOUR_COLOUR, linewidths=1)
        ax.set_title(f"volume {stack.volume_id}, slice {stack.slice_index[k]}", fontsize=10)
    fig.suptitle("Full-dose slices, abdominal window (L40 W400); liver cyan, tumour yellow")
    return fig


def write_data_overview(
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    figure_path: str | Path,
    summary_path: str | Path,
) -> None:
    stacks = [load_stack(p) for p in store_paths]
    summary = summarise(stacks, read_split(split_path))
    write_csv(summary, summary_path)
    fig = plot_examples(stacks)
    save_figure(fig, figure_path)
