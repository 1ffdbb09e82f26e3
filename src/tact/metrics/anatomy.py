"""Segmentation metrics per slice: the paper's Dice (eq. 7), per-class Dice, NSD and clDice.

Labels are LiTS': 0 background, 1 liver, 2 tumour. The paper's Dice averages liver and tumour
(background excluded) with the smoothing of eq. 7, so a class absent from both masks counts as 1.
The per-class metrics follow explicit rules instead, because a tumour-free slice says nothing
about tumour segmentation:

- structure present in the ground truth but not predicted: 0;
- structure predicted but absent from the ground truth: 0 (a false positive);
- structure absent from both: NaN (excluded from means; the count of such slices is reported).

NSD (normalised surface Dice, Nikolov et al. 2021) is computed as MONAI's implementation computes
it (boundary pixels, not DeepMind's corner-based surface), with the pixel spacing and a tolerance
in mm; clDice (Shit et al. 2021) uses scikit-image's skeletonize.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

from tact.per_slice import CLASS_COLUMNS, CLASSES

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


def _edges(mask: np.ndarray) -> np.ndarray:
    """The mask's boundary pixels: the mask minus its erosion (4-connected), as MONAI does."""
    return mask & ~ndimage.binary_erosion(mask)


def surface_dice(
    predicted: np.ndarray, true: np.ndarray, spacing_mm: tuple[float, float], tolerance_mm: float
) -> float:
    """NSD of two binary masks at ``tolerance_mm``, with the empty-mask rules.

    The boundary pixels of each mask, and for each the distance in mm (Euclidean, with the pixel
    spacing) to the nearest boundary pixel of the other; NSD is the share of both boundaries
    within the tolerance. This is MONAI's ``compute_surface_dice`` (``use_subvoxels=False``),
    to float rounding (tests/test_anatomy_metrics.py checks it); written out with scipy because
    importing MONAI took 5 to 8 s in every evaluation job, longer than its metrics.
    """
    fixed = _empty_rule(predicted, true)
    if fixed is not None:
        return fixed
    edges_p, edges_t = _edges(predicted.astype(bool)), _edges(true.astype(bool))
    to_true = ndimage.distance_transform_edt(~edges_t, sampling=spacing_mm)[edges_p]
    to_predicted = ndimage.distance_transform_edt(~edges_p, sampling=spacing_mm)[edges_t]
    within = np.sum(to_true <= tolerance_mm) + np.sum(to_predicted <= tolerance_mm)
    return float(within / (len(to_true) + len(to_predicted)))


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
