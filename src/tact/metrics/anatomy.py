"""Segmentation metrics per slice: the paper's Dice (eq. 7), per-class Dice, NSD and clDice.

Labels are LiTS': 0 background, 1 liver, 2 tumour. The paper's Dice averages liver and tumour
(background excluded) with the smoothing of eq. 7, so a class absent from both masks counts as 1.
The per-class metrics follow explicit rules instead, because a tumour-free slice says nothing
about tumour segmentation:

- structure present in the ground truth but not predicted: 0;
- structure predicted but absent from the ground truth: 0 (a false positive);
- structure absent from both: NaN (excluded from means; the count of such slices is reported).

NSD (normalised surface Dice, Nikolov et al. 2021) uses MONAI's implementation with the pixel
spacing in mm and a tolerance in mm; clDice (Shit et al. 2021) uses scikit-image's skeletonize.
"""

from __future__ import annotations

import warnings

import numpy as np
from skimage.morphology import skeletonize

from tact.per_slice import CLASS_COLUMNS, CLASSES

# MONAI 1.5+ warns from inside its own surface-distance code on every call.
warnings.filterwarnings("ignore", message="monai.metrics.utils get_mask_edges")

PAPER_SMOOTHING = 1e-6


def paper_dice(
    prediction: np.ndarray, truth: np.ndarray, smoothing: float = PAPER_SMOOTHING
) -> float:
    """Eq. 7 on hard labels, averaged over liver and tumour (Table II's "Dice")."""
    scores = []
    for label in CLASSES.values():
        p, g = prediction == label, truth == label
        scores.append((2 * np.sum(p & g) + smoothing) / (p.sum() + g.sum() + smoothing))
    return float(np.mean(scores))


def _empty_rule(predicted: np.ndarray, true: np.ndarray) -> float | None:
    """The value the empty-mask rules fix, or None when both masks hold the structure."""
    if not true.any() and not predicted.any():
        return float("nan")
    if not true.any() or not predicted.any():
        return 0.0
    return None


def dice(predicted: np.ndarray, true: np.ndarray) -> float:
    """Binary Dice with the empty-mask rules."""
    fixed = _empty_rule(predicted, true)
    if fixed is not None:
        return fixed
    return float(2 * np.sum(predicted & true) / (predicted.sum() + true.sum()))


def surface_dice(
    predicted: np.ndarray, true: np.ndarray, spacing_mm: tuple[float, float], tolerance_mm: float
) -> float:
    """NSD of two binary masks at ``tolerance_mm`` (MONAI), with the empty-mask rules."""
    fixed = _empty_rule(predicted, true)
    if fixed is not None:
        return fixed
    import torch  # imported here: MONAI takes seconds to load, and only NSD needs it
    from monai.metrics import compute_surface_dice

    def one_hot(mask: np.ndarray) -> torch.Tensor:
        m = torch.from_numpy(mask.astype(np.float32))
        return torch.stack([1 - m, m])[None]  # (batch, classes: background + structure, H, W)

    value = compute_surface_dice(
        one_hot(predicted),
        one_hot(true),
        class_thresholds=[tolerance_mm],
        include_background=False,
        spacing=list(spacing_mm),
    )
    return float(value.item())


def cl_dice(predicted: np.ndarray, true: np.ndarray) -> float:
    """clDice: harmonic mean of topology precision and sensitivity, with the empty-mask rules."""
    fixed = _empty_rule(predicted, true)
    if fixed is not None:
        return fixed
    skeleton_p, skeleton_t = skeletonize(predicted), skeletonize(true)
    precision = np.sum(skeleton_p & true) / max(skeleton_p.sum(), 1)
    sensitivity = np.sum(skeleton_t & predicted) / max(skeleton_t.sum(), 1)
    if precision + sensitivity == 0:
        return 0.0
    return float(2 * precision * sensitivity / (precision + sensitivity))


def slice_metrics(
    prediction: np.ndarray,
    truth: np.ndarray,
    spacing_mm: tuple[float, float],
    tolerance_mm: float = 2.0,
) -> dict[str, float]:
    """Every segmentation metric of one slice, as the columns of ``per_slice.csv``."""
    row = {"dice": paper_dice(prediction, truth)}
    for name, label in CLASSES.items():
        p, g = prediction == label, truth == label
        suffix = CLASS_COLUMNS[name]
        row[f"dice_{suffix}"] = dice(p, g)
        row[f"nsd_{suffix}"] = surface_dice(p, g, spacing_mm, tolerance_mm)
        row[f"cldice_{suffix}"] = cl_dice(p, g)
    return row
