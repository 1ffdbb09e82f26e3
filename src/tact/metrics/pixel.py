"""PSNR and SSIM inside the circular ROI, data range 1 (the LoDoPaB normalised units)."""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

DATA_RANGE = 1.0


def psnr_in_roi(
    prediction: np.ndarray, target: np.ndarray, roi: np.ndarray, data_range: float = DATA_RANGE
) -> float:
    """10 log10(range^2 / MSE) over the ROI pixels; inf for a perfect match."""
    error = prediction[roi].astype(np.float64) - target[roi].astype(np.float64)
    mse = float(np.mean(error**2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(data_range**2 / mse))


def ssim_in_roi(
    prediction: np.ndarray, target: np.ndarray, roi: np.ndarray, data_range: float = DATA_RANGE
) -> float:
    """Mean of scikit-image's SSIM map (7x7 window, Wang et al. constants) over the ROI."""
    _, ssim_map = structural_similarity(
        target.astype(np.float64),
        prediction.astype(np.float64),
        data_range=data_range,
        full=True,
    )
    return float(ssim_map[roi].mean())
