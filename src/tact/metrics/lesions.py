"""Lesion-wise detection: which tumours a segmenter finds, counted as the LiTS challenge counts
them (Bilic et al., Med. Image Anal. 84:102680, 2023; the challenge's scoring code,
``detect_lesions`` of its ``helpers/calc_metric.py``, by E. Vorontsov).

A Dice over a slice cannot tell a missed 5 mm lesion from a 40 mm lesion drawn a little too
small. Counting lesions can. The rule, in one volume's stacked test slices (slice, row, col):

- **Lesions** are the 3-D connected components (face connectivity, scipy's default, as LiTS's)
  of the true tumour mask, found after a one-pixel in-plane dilation that is then trimmed away,
  so that fragments one or two pixels apart in a slice count as one lesion (LiTS: "spurious
  extra lesions that are just artefacts or noise about a reference lesion"). **Predicted
  components** are those of the segmenter's tumour mask, undilated.
- **Merges.** Each lesion goes to the predicted component that overlaps it most; lesions that
  go to the same component form one merged lesion.
- **Splits.** Each predicted component that overlaps a lesion goes to the (merged) lesion it
  overlaps most; components that go to the same lesion are taken together.
- **Detected.** A (merged) lesion is detected when the IoU of it and its components, taken
  together, exceeds ``iou_threshold`` (LiTS's scoring code: 0.5 by default, 0 for "any
  overlap"); then every lesion of the merge counts as detected. Ties go to the lower label.
- **False positives.** Every predicted component that is not part of a detection: one that
  touches no lesion, or one whose match falls at or below the threshold. A lesion split into
  fragments that together pass counts once, and its fragments are no false positives.

Counts pooled over volumes (as LiTS pools them) give recall = detected / lesions, precision =
detected / (detected + false positives) and F1 = 2 detected / (2 detected + false positives +
missed). Empty cases are defined, not errors: with no lesion, recall is NaN (nothing to find);
with no predicted component, precision is NaN (nothing claimed); F1 is NaN only when there is
neither, and 0 when there is one of them but no detection. A lesion's size is its equivalent
diameter: that of the sphere of its volume, from the voxel spacing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

LITS_IOU = 0.5  # LiTS's scoring code's default threshold
LESION, FALSE_POSITIVE = "lesion", "false_positive"  # the two kinds of per_lesion.csv's rows
_FACES = ndimage.generate_binary_structure(3, 1)
_IN_PLANE = np.zeros((3, 3, 3), bool)  # the 4 in-plane neighbours, not the slices' above/below
_IN_PLANE[1] = ndimage.generate_binary_structure(2, 1)


def truth_lesions(tumour: np.ndarray) -> tuple[np.ndarray, int]:
    """The true tumour mask's lesions as a label map (1..n) and their number n: components
    of the mask dilated by one pixel in plane, the dilation trimmed away again (LiTS's)."""
    joined = ndimage.binary_dilation(tumour, structure=_IN_PLANE)
    labels, n = ndimage.label(joined, structure=_FACES)
    labels[~tumour] = 0
    return labels, n


def predicted_components(tumour: np.ndarray) -> tuple[np.ndarray, int]:
    """The predicted tumour mask's 3-D connected components (1..n) and their number n."""
    return ndimage.label(tumour, structure=_FACES)


def equivalent_diameter_mm(voxels: np.ndarray, spacing_mm: tuple[float, ...]) -> np.ndarray:
    """The diameter of the sphere whose volume is that of ``voxels`` voxels of this spacing."""
    volume_mm3 = np.asarray(voxels, float) * float(np.prod(spacing_mm))
    return np.cbrt(6 * volume_mm3 / np.pi)


@dataclass
class Matching:
    """The LiTS matching of one volume's lesions and predicted components (0-based)."""

    group: np.ndarray  # per lesion: its merged lesion, -1 when no component touches it
    target: np.ndarray  # per component: the merged lesion it went to, -1 when none
    iou: np.ndarray  # per merged lesion: IoU of its lesions and its components together
    detected: np.ndarray  # per merged lesion: IoU above the threshold

    def lesions_in(self) -> np.ndarray:
        """Per merged lesion, how many lesions it merges."""
        return np.bincount(self.group[self.group >= 0], minlength=len(self.iou))

    def parts_of(self) -> np.ndarray:
        """Per merged lesion, how many predicted components went to it."""
        return np.bincount(self.target[self.target >= 0], minlength=len(self.iou))


def match(
    overlap: np.ndarray, lesion_voxels: np.ndarray, component_voxels: np.ndarray, threshold: float
) -> Matching:
    """Merges, splits and detections from ``overlap`` (lesions x components, voxels in both)
    and the voxels of each lesion and component."""
    owner = _largest(overlap)  # per lesion: the component that overlaps it most
    touched = owner >= 0
    _, merged = np.unique(owner[touched], return_inverse=True)
    group = np.full(len(owner), -1)
    group[touched] = merged
    members = np.zeros((len(owner), merged.max(initial=-1) + 1), np.int64)
    members[np.flatnonzero(touched), merged] = 1
    by_group = overlap.T @ members  # components x merged lesions: voxels in both
    target = _largest(by_group)
    went = np.flatnonzero(target >= 0)
    n = members.shape[1]
    inside = np.bincount(target[went], weights=by_group[went, target[went]], minlength=n)
    union = (
        np.bincount(group[touched], weights=lesion_voxels[touched], minlength=n)
        + np.bincount(target[went], weights=component_voxels[went], minlength=n)
        - inside
    )
    iou = inside / union
    return Matching(group, target, iou, iou > threshold)


def _largest(overlap: np.ndarray) -> np.ndarray:
    """Per row, the column it overlaps most (the lower on ties), -1 where it overlaps none."""
    if overlap.shape[1] == 0:
        return np.full(overlap.shape[0], -1)
    return np.where(overlap.sum(axis=1) > 0, overlap.argmax(axis=1), -1)


def lesion_detection(
    prediction: np.ndarray,
    truth: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    iou_threshold: float = LITS_IOU,
) -> list[dict]:
    """One row per lesion of ``truth`` and per false-positive component of ``prediction``
    (boolean tumour masks, slice x row x col; spacing in that order, mm): the columns of
    ``per_lesion.csv`` after method, segmenter and volume (``tact.per_slice``)."""
    box = _padded_box(prediction | truth)
    if box is None:
        return []
    lesions, n_lesions = truth_lesions(truth[box])
    components, n_components = predicted_components(prediction[box])
    both = (lesions > 0) & (components > 0)
    codes = (lesions[both] - 1) * n_components + components[both] - 1
    overlap = np.bincount(codes, minlength=n_lesions * n_components)
    overlap = overlap.reshape(n_lesions, n_components)
    lesion_voxels = np.bincount(lesions.ravel(), minlength=n_lesions + 1)[1:]
    component_voxels = np.bincount(components.ravel(), minlength=n_components + 1)[1:]
    found = match(overlap, lesion_voxels, component_voxels, iou_threshold)
    rows = _lesion_rows(found, lesion_voxels, spacing_mm)
    return rows + _false_positive_rows(found, component_voxels, spacing_mm)


def _lesion_rows(found: Matching, voxels: np.ndarray, spacing_mm) -> list[dict]:
    diameters = equivalent_diameter_mm(voxels, spacing_mm)
    merged, parts = found.lesions_in(), found.parts_of()
    rows = []
    for k, g in enumerate(found.group):
        rows.append(
            _row(LESION, k + 1, diameters[k], voxels[k], spacing_mm)
            | {"detected": bool(g >= 0 and found.detected[g])}
            | _match(found, g, merged, parts, alone=(1, 0))
        )
    return rows


def _false_positive_rows(found: Matching, voxels: np.ndarray, spacing_mm) -> list[dict]:
    diameters = equivalent_diameter_mm(voxels, spacing_mm)
    merged, parts = found.lesions_in(), found.parts_of()
    rows = []
    for k, g in enumerate(found.target):
        if g >= 0 and found.detected[g]:
            continue
        rows.append(
            _row(FALSE_POSITIVE, k + 1, diameters[k], voxels[k], spacing_mm)
            | {"detected": None}
            | _match(found, g, merged, parts, alone=(0, 1))
        )
    return rows


def _match(
    found: Matching, g: int, merged: np.ndarray, parts: np.ndarray, *, alone: tuple[int, int]
) -> dict:
    """The IoU, lesions and predicted parts of merged lesion ``g``; without one (-1), IoU 0
    and ``alone`` (the row's own lesion or component)."""
    if g < 0:
        return {"iou": 0.0, "merged_lesions": alone[0], "predicted_parts": alone[1]}
    return {
        "iou": float(found.iou[g]),
        "merged_lesions": int(merged[g]),
        "predicted_parts": int(parts[g]),
    }


def _row(kind: str, component: int, diameter: float, voxels: int, spacing_mm) -> dict:
    volume_ml = float(voxels * np.prod(spacing_mm)) / 1000.0
    return {
        "kind": kind,
        "component": component,
        "diameter_mm": float(diameter),
        "volume_ml": volume_ml,
    }


def _padded_box(mask: np.ndarray) -> tuple[slice, ...] | None:
    """The bounding box of ``mask``, one voxel wider each way (the in-plane dilation's room),
    or None when it is empty: components are found in it alone (the volume is mostly not
    tumour). Each axis is narrowed inside the previous ones' box: 5 ms on a 128-slice 512 px
    volume, where scipy's find_objects took 70 (2-core machine, 2026-12-06)."""
    box = [slice(None)] * mask.ndim
    for axis in range(mask.ndim):
        others = tuple(a for a in range(mask.ndim) if a != axis)
        present = np.flatnonzero(mask[tuple(box)].any(axis=others))
        if not len(present):
            return None
        start = (box[axis].start or 0) + present[0]
        stop = (box[axis].start or 0) + present[-1] + 1
        box[axis] = slice(max(start - 1, 0), min(stop + 1, mask.shape[axis]))
    return tuple(box)


@dataclass(frozen=True)
class DetectionCounts:
    """Lesions, detected lesions and false positives, pooled over whatever rows were given."""

    lesions: int
    detected: int
    false_positives: int

    @classmethod
    def of(cls, rows: pd.DataFrame) -> DetectionCounts:
        """From rows of ``per_lesion.csv`` (any number, none included)."""
        if rows.empty:
            return cls(0, 0, 0)
        lesions = rows[rows["kind"] == LESION]
        detected = int(lesions["detected"].astype(bool).sum())
        return cls(len(lesions), detected, int((rows["kind"] == FALSE_POSITIVE).sum()))

    @property
    def missed(self) -> int:
        return self.lesions - self.detected

    @property
    def recall(self) -> float:
        """Detected over lesions; NaN with no lesion (nothing to find)."""
        return self.detected / self.lesions if self.lesions else float("nan")

    @property
    def precision(self) -> float:
        """Detected over detected plus false positives; NaN when nothing was claimed."""
        claimed = self.detected + self.false_positives
        return self.detected / claimed if claimed else float("nan")

    @property
    def f1(self) -> float:
        """2 TP / (2 TP + FP + FN); NaN only with neither a lesion nor a prediction."""
        total = 2 * self.detected + self.false_positives + self.missed
        return 2 * self.detected / total if total else float("nan")
