"""Hounsfield units <-> the normalised attenuation of LoDoPaB-CT (Leuschner et al. 2021).

LoDoPaB stores mu / mu_max clipped to [0, 1], with mu = HU * (mu_water - mu_air) / 1000 + mu_water.
The paper's simulation follows LoDoPaB, so the whole pipeline works in these units.
"""

from __future__ import annotations

import numpy as np

MU_WATER = 20.0  # 1/m
MU_AIR = 0.02  # 1/m
MU_MAX = 3071 * (MU_WATER - MU_AIR) / 1000 + MU_WATER  # 81.35858 1/m, HU 3071 maps to 1


def hu_to_mu(hu: np.ndarray) -> np.ndarray:
    """Linear attenuation in 1/m."""
    return np.asarray(hu, dtype=np.float64) * (MU_WATER - MU_AIR) / 1000.0 + MU_WATER


def hu_to_normalised(hu: np.ndarray, dtype: np.dtype = np.float32) -> np.ndarray:
    """HU -> mu / mu_max, clipped to [0, 1] as in LoDoPaB."""
    return np.clip(hu_to_mu(hu) / MU_MAX, 0.0, 1.0).astype(dtype)


def normalised_to_hu(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hu_to_normalised` for values inside [0, 1] (HU -1000.9 .. 3071)."""
    mu = np.asarray(image, dtype=np.float64) * MU_MAX
    return (mu - MU_WATER) * 1000.0 / (MU_WATER - MU_AIR)
