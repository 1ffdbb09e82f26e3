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
# Methods drawn as lines: full dose and low dose dashed, as the bounds; the rest take tab20's
# colours without its greys (which would read as the low-dose bound), the dark shades first,
# with another marker for the light ones: 18 looks, where tab10's 10 gave the seeded
# runs' 11th method the low-dose bound's grey.
BOUND_STYLES = {
    "fulldose": {"color": "black", "linestyle": "--"},
    "lowdose": {"color": "grey", "linestyle": "--"},
}
_TAB20 = plt.get_cmap("tab20").colors
METHOD_COLOURS = [_TAB20[i] for i in (*range(0, 20, 2), *range(1, 20, 2)) if i not in (14, 15)]
LEGEND_ROOM_INCHES = 3.2  # beside the panels, for labels as long as "..., segmenter ensemble"


def abdominal_window(image: np.ndarray) -> np.ndarray:
    """Normalised attenuation -> [0, 1] grey values in the abdominal window (L40 W400)."""
    level, width = ABDOMEN_WINDOW_HU
    hu = normalised_to_hu(image)
    return np.clip((hu - (level - width / 2)) / width, 0.0, 1.0)


def method_style(k: int, method: str) -> dict:
    """Colour, marker and line style of the k-th method (in the paper's order) of a figure."""
    if method in BOUND_STYLES:
        return {"marker": "o", **BOUND_STYLES[method]}
    own = k % len(METHOD_COLOURS)
    marker = "o" if own < len(METHOD_COLOURS) // 2 else "s"
    return {"color": METHOD_COLOURS[own], "marker": marker, "linestyle": "-"}


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
