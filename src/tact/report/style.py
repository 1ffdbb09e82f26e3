"""How every figure of the report looks and is written: the one home of the display window,
the label colours and the resolution."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from tact.data.units import normalised_to_hu
from tact.io import atomic_path

ABDOMEN_WINDOW_HU = (40.0, 400.0)  # level, width
WINDOW_NOTE = "abdominal window L40 W400"
# the paper's Fig. 2: purple background, cyan liver, yellow tumour
BACKGROUND_COLOUR, LIVER_COLOUR, TUMOUR_COLOUR = "#440154", "#21d4d4", "#ffd21f"
LABEL_COLOURS = ListedColormap([BACKGROUND_COLOUR, LIVER_COLOUR, TUMOUR_COLOUR])
FIGURE_DPI = 120


def abdominal_window(image: np.ndarray) -> np.ndarray:
    """Normalised attenuation -> [0, 1] grey values in the abdominal window (L40 W400)."""
    level, width = ABDOMEN_WINDOW_HU
    hu = normalised_to_hu(image)
    return np.clip((hu - (level - width / 2)) / width, 0.0, 1.0)


def save_figure(fig: plt.Figure, png_path: str | Path, pdf_path: str | Path | None = None) -> None:
    """Write a figure as PNG (and PDF) atomically, then close it."""
    for path in (png_path, pdf_path):
        if path is not None:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, dpi=FIGURE_DPI)
    plt.close(fig)


PANEL_COLUMNS = 4


def panel_grid(n: int, size: float = 3.2, title_room: float = 0.6):
    """A grid of n panels, PANEL_COLUMNS wide, unused cells hidden."""
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


def dice_label(tumour_labels: bool = True) -> str:
    """What the paper's Dice averages: liver and tumour, or the liver alone when the data has
    no tumour labels (then eq. 7's tumour term, 1 where no mask holds a tumour, is left out)."""
    return "Dice (liver + tumour)" if tumour_labels else "Dice (liver alone: no tumour labels)"
