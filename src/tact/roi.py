"""The circular region of interest of the paper: radius 256 px on 512 x 512, scaled with size.

The simulation only has data inside this circle (the low-dose images are constant outside), so
PSNR and SSIM are computed inside it. Simulation and evaluation share this one definition.
"""

from __future__ import annotations

import numpy as np


def circular_roi(size: int) -> np.ndarray:
    """Boolean (size, size) mask: pixel centres within size/2 of the image centre."""
    centre = (size - 1) / 2.0
    radius = size / 2.0
    rows, cols = np.ogrid[:size, :size]
    return (rows - centre) ** 2 + (cols - centre) ** 2 <= radius**2


def fill_outside_roi(images: np.ndarray, value: float) -> np.ndarray:
    """Set every pixel outside the ROI to ``value`` (in place) and return the images."""
    images[..., ~circular_roi(images.shape[-1])] = value
    return images
