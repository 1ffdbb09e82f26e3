"""Make docs/simulation_slice.png: one 512 px phantom slice through the simulation.

    .venv/bin/python docs/scripts/simulation_figure.py [--scaling 0.44]

LoDoPaB-CT noise with the slice's physical extent as the domain (the default until
2026-12-02). Panels: full dose; low dose (Ram-Lak FBP, the networks' input); the tuned Hann
FBP (scaling from results/phantom512/physics/fbp_scaling.json unless given); a sparse-view
scan (100 views, no noise, Ram-Lak). Second row: the same, zoomed on the tumour.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tact.data.phantom import PhantomSpec, generate_volume
from tact.data.units import hu_to_normalised
from tact.metrics.pixel import psnr_in_roi, ssim_in_roi
from tact.physics import Scanner, ScanProtocol
from tact.report.style import abdominal_window
from tact.roi import circular_roi, fill_outside_roi
from tact.seeding import derive_seed

DOCS = Path(__file__).resolve().parents[1]
TUNED = DOCS.parent / "results/phantom512/physics/fbp_scaling.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scaling", type=float, default=None)
    args = parser.parse_args()
    scaling = args.scaling or json.loads(TUNED.read_text())["frequency_scaling"]
    volume = generate_volume(
        derive_seed(0, 0), PhantomSpec(size=512, n_slices=32, slice_thickness_mm=5.0)
    )
    k = int(np.argmax((volume.labels == 2).sum(axis=(1, 2))))
    truth = hu_to_normalised(volume.hu[k])
    rng = np.random.default_rng(0)
    extent = volume.spacing_mm[1] * 512
    low = Scanner(512, extent, ScanProtocol())
    sparse = Scanner(512, extent, ScanProtocol(n_angles=100, noise=False))
    sinogram = low.measure(truth, rng)
    panels = {
        "Full dose": truth,
        "Low dose (Ram-Lak FBP)": low.fbp(sinogram, "Ram-Lak"),
        f"FBP (Hann, scaling {scaling:.3f})": low.fbp(sinogram, "Hann", scaling),
        "Sparse view (100 views, Ram-Lak)": sparse.fbp(sparse.measure(truth, rng), "Ram-Lak"),
    }
    roi = circular_roi(512)
    rows, cols = np.nonzero(volume.labels[k] == 2)
    r0 = int(np.clip(rows.mean() - 80, 0, 352))
    c0 = int(np.clip(cols.mean() - 80, 0, 352))
    fig, axes = plt.subplots(2, 4, figsize=(17, 9.2), layout="constrained")
    for col, (title, image) in enumerate(panels.items()):
        if col > 0:
            fill_outside_roi(image, 0.0)
            title += (
                f"\nPSNR {psnr_in_roi(image, truth, roi):.2f} dB, "
                f"SSIM {ssim_in_roi(image, truth, roi):.3f}"
            )
        shown = abdominal_window(image)
        axes[0, col].imshow(shown, cmap="gray", vmin=0, vmax=1)
        axes[0, col].add_patch(plt.Rectangle((c0, r0), 160, 160, fill=False, color="yellow"))
        axes[0, col].set_title(title, fontsize=11)
        axes[1, col].imshow(shown[r0 : r0 + 160, c0 : c0 + 160], cmap="gray", vmin=0, vmax=1)
        axes[1, col].contour(
            volume.labels[k][r0 : r0 + 160, c0 : c0 + 160] == 2, levels=[0.5], colors="yellow"
        )
        axes[1, col].set_title("zoom on the tumour (outline: ground truth)", fontsize=10)
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle(
        f"Phantom volume 0, slice {k} at 512 x 512, {extent / 10:.1f} cm domain, 4096 photons per "
        "detector pixel, 1000 views; abdominal window (L40 W400); PSNR/SSIM in the circular ROI",
        fontsize=12,
    )
    fig.savefig(DOCS / "simulation_slice.png", dpi=75)
    print(f"wrote {DOCS / 'simulation_slice.png'}")


if __name__ == "__main__":
    main()
