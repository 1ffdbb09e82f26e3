"""Make docs/phantom_slices.png: built-in phantom slices at 512 px, abdominal window.

    .venv/bin/python docs/scripts/phantom_figure.py

The volumes are the demo's first three (master seed 0, volume i seeded from (0, i)) at the
default 512 x 512 x 64, written as NIfTI and read back through the LiTS reader, so the figure
shows exactly what the workflow sees.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from tact.data.layouts import Case
from tact.data.phantom import PhantomSpec, generate_volume, write_lits_pair
from tact.data.units import hu_to_normalised
from tact.data.volumes import read_case
from tact.report.data import LIVER_COLOUR, TUMOUR_COLOUR, abdominal_window
from tact.seeding import derive_seed

OUT = Path(__file__).resolve().parents[1] / "phantom_slices.png"
LABEL_COLOURS = ListedColormap(["#3b0f70", LIVER_COLOUR, TUMOUR_COLOUR])  # as the paper's Fig. 2


def main() -> None:
    spec = PhantomSpec()
    fig, axes = plt.subplots(3, 4, figsize=(16, 12.6), layout="constrained")
    with tempfile.TemporaryDirectory() as tmp:
        for row, vid in enumerate(range(3)):
            write_lits_pair(generate_volume(derive_seed(0, vid), spec), Path(tmp), vid)
            volume = read_case(
                Case(vid, Path(tmp) / f"volume-{vid}.nii", Path(tmp) / f"segmentation-{vid}.nii")
            )
            liver = np.flatnonzero(volume.labels.reshape(len(volume.labels), -1).any(axis=1))
            tumour_area = (volume.labels == 2).sum(axis=(1, 2))
            k_tumour = int(np.argmax(tumour_area))
            picks = [liver[len(liver) // 5], k_tumour, liver[-1] + 3]
            for col, k in enumerate(picks):
                ax = axes[row, col]
                ax.imshow(abdominal_window(hu_to_normalised(volume.hu[k])), cmap="gray")
                ax.set_title(f"volume {vid}, slice {k} of {len(volume.hu)}")
            axes[row, 3].imshow(volume.labels[k_tumour], cmap=LABEL_COLOURS, vmin=0, vmax=2)
            axes[row, 3].set_title(f"volume {vid}, slice {k_tumour}: mask")
            for ax in axes[row]:
                ax.axis("off")
            mm = volume.spacing_mm
            axes[row, 0].text(5, 25, f"{mm[0]:.2f} mm/px", color="white", fontsize=9, va="top")
    fig.suptitle(
        "Built-in phantom at 512 x 512, abdominal window (L40 W400): lower liver, the slice "
        "with most tumour, above the liver; mask: background / liver / tumour",
        fontsize=12,
    )
    fig.savefig(OUT, dpi=80)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
