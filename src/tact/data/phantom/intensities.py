"""Intensities: per-volume tissue HU inside the design ranges, and organ texture."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from tact.data.phantom.ranges import INTENSITY
from tact.data.phantom.tissues import TISSUE_HU, TISSUE_IDS, Tissue


def texture(
    rng: np.random.Generator, shape: tuple[int, ...], pixel_mm: float, thickness_mm: float
) -> np.ndarray:
    """Unit-variance, spatially correlated 3-D noise (grain of about 1 mm).

    Why: real organs show 10-20 HU of texture that low-dose noise then buries; white noise
    would be too easy to tell from it.
    """
    field = rng.standard_normal(shape, dtype=np.float32)
    sigma = (max(0.3, 1.0 / thickness_mm), max(0.6, 1.0 / pixel_mm), max(0.6, 1.0 / pixel_mm))
    field = ndimage.gaussian_filter(field, sigma, truncate=3.0, output=np.float32)
    field /= np.float32(field.ravel()[::101].std())
    return field


def tissue_tables(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-volume base HU (inside the design range) and texture SD for every tissue."""
    base = np.zeros(len(Tissue), dtype=np.float32)
    for name, (lo, hi) in TISSUE_HU.items():
        base[TISSUE_IDS[name]] = lo + (hi - lo) * rng.uniform(*INTENSITY.position_in_range)
    base[Tissue.AIR] = base[Tissue.BOWEL_GAS] = -1000.0
    soft = rng.uniform(*INTENSITY.texture_sd_hu)
    sd = np.full(len(Tissue), soft, dtype=np.float32)
    sd[[Tissue.AIR, Tissue.BOWEL_GAS]] = 0.0
    sd[Tissue.LUNG] = INTENSITY.lung_texture_factor * soft
    sd[Tissue.SPONGY_BONE] = INTENSITY.spongy_bone_texture_factor * soft
    sd[Tissue.CORTICAL_BONE] = INTENSITY.cortical_bone_texture_factor * soft
    return base, sd
