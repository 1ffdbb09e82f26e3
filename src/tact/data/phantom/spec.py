"""What to generate (``PhantomSpec``) and what comes back (``PhantomVolume``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PhantomSpec:
    """Size of the generated volumes; the field of view is drawn per volume from ``fov_mm``."""

    size: int = 512
    n_slices: int = 64
    slice_thickness_mm: float = 2.5
    fov_mm: tuple[float, float] = (350.0, 500.0)


DEFAULT_SPEC = PhantomSpec()


@dataclass
class PhantomVolume:
    """One generated volume: HU image, LiTS labels and the clean tissue partition."""

    hu: np.ndarray  # float32 (Z, rows, cols), radiological slices, HU
    labels: np.ndarray  # uint8 (Z, rows, cols): 0 background, 1 liver, 2 tumour
    tissue: np.ndarray  # uint8 (Z, rows, cols): Tissue id per voxel (clean, no texture)
    spacing_mm: tuple[float, float, float]  # (row, col, slice)
    tumour_diameters_mm: list[float]
    tumour_centres_vox: list[tuple[int, int, int]]  # (slice, row, col) of each tumour centre
    tumour_contrasts_hu: list[float]  # mean clean hypodensity of each tumour (HU below liver)
    fov_mm: float
    body_width_mm: float  # widest slice, left-right
    body_depth_mm: float  # deepest slice, front-back
    liver_hu: float  # mean liver parenchyma HU before texture
    seed: int

    @property
    def n_tumours(self) -> int:
        return len(self.tumour_diameters_mm)
