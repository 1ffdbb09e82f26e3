"""How good are the simulated low-dose images: per-slice PSNR/SSIM and an example figure."""

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
from tact.metrics.pixel import psnr_in_roi, ssim_in_roi
from tact.report.style import abdominal_window, save_figure
from tact.roi import circular_roi
from tact.simulated_data import SimulatedStack, load_simulation

METHOD_LABELS = {"lowdose": "Low-dose (Ram-Lak FBP)", "fbp": "FBP baseline"}


def quality_table(
    pairs: Sequence[tuple[SliceStack, SimulatedStack]], split: pd.DataFrame
) -> pd.DataFrame:
    """One row per (slice, method): PSNR and SSIM inside the ROI against the full dose (the
    FBP baseline's of the slices it is kept for: the test slices)."""
    rows = []
    sides = split.set_index(["volume", "slice"])["split"]
    for stack, sim in pairs:
        if not np.array_equal(stack.slice_index, sim.slice_index):
            raise ValueError(f"volume {stack.volume_id}: simulation and slice store disagree")
        roi = circular_roi(stack.image.shape[-1])
        fbp_row = {int(s): k for k, s in enumerate(sim.fbp_slice_index)}
        for i, slice_index in enumerate(stack.slice_index):
            images = {"lowdose": sim.lowdose[i]}
            if int(slice_index) in fbp_row:
                images["fbp"] = sim.fbp[fbp_row[int(slice_index)]]
            for method, image in images.items():
                rows.append(
                    {
                        "volume": stack.volume_id,
                        "slice": int(slice_index),
                        "split": sides[(stack.volume_id, int(slice_index))],
                        "method": method,
                        "psnr": psnr_in_roi(image, stack.image[i], roi),
                        "ssim": ssim_in_roi(image, stack.image[i], roi),
                    }
                )
    return pd.DataFrame(rows)


def plot_example(stack: SliceStack, sim: SimulatedStack, index: int, table: pd.DataFrame):
    """Full dose, low dose and FBP of one slice, with their ROI PSNR/SSIM."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8), layout="constrained")
    slice_index = int(stack.slice_index[index])
    panels = [("Full dose", stack.image[index], None)]
    for method, label in METHOD_LABELS.items():
        row = table[
            (table["volume"] == stack.volume_id)
            & (table["slice"] == slice_index)
            & (table["method"] == method)
        ].iloc[0]
        rows = sim.fbp_slice_index if method == "fbp" else sim.slice_index
        image = getattr(sim, method)[int(np.flatnonzero(rows == slice_index)[0])]
        panels.append((label, image, row))
    for ax, (title, image, row) in zip(axes, panels, strict=True):
        ax.imshow(abdominal_window(image), cmap="gray", vmin=0, vmax=1)
        if row is not None:
            title += f"\nPSNR {row['psnr']:.2f} dB, SSIM {row['ssim']:.3f}"
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.suptitle(
        f"Volume {stack.volume_id}, slice {slice_index}: {sim.n_views} views, "
        f"{sim.extent_mm:.0f} mm domain; abdominal window (L40 W400)"
    )
    return fig


def _quality_of(
    store_path: str | Path, sim_path: str | Path, split: pd.DataFrame
) -> tuple[pd.DataFrame, int, int]:
    """One volume's rows of the table, its id and its tumour pixels."""
    stack, sim = load_stack(store_path), load_simulation(sim_path)
    return quality_table([(stack, sim)], split), stack.volume_id, int((stack.mask == 2).sum())


def write_simulation_quality(
    store_paths: Sequence[str | Path],
    sim_paths: Sequence[str | Path],
    split_path: str | Path,
    *,
    table_path: str | Path,
    figure_path: str | Path,
) -> pd.DataFrame:
    """The table, a volume at a time, and the figure of the test slice with the most tumour
    (as the paper's figures show one with tumour) of the test volume with the most."""
    split = read_split(split_path)
    test = set(split.loc[split["split"] == "test", "volume"])
    tables, most = [], (-1, None)
    for store_path, sim_path in zip(store_paths, sim_paths, strict=True):
        table, volume, tumour = _quality_of(store_path, sim_path, split)  # then freed
        tables.append(table)
        if volume in test and tumour > most[0]:
            most = (tumour, (store_path, sim_path))
    table = pd.concat(tables, ignore_index=True)
    write_csv(table, table_path)
    stack, sim = load_stack(most[1][0]), load_simulation(most[1][1])
    tumour = (stack.mask == 2).sum(axis=(1, 2)) * np.isin(stack.slice_index, sim.fbp_slice_index)
    index = int(np.argmax(tumour))  # among the slices with an FBP image: the test slices
    fig = plot_example(stack, sim, index, table)
    save_figure(fig, figure_path)
    return table
