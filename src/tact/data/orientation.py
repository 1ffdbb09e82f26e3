"""One canonical view for every axial slice, whatever the file's orientation.

Volumes are first brought to RAS+ voxel order (``nibabel.as_closest_canonical``): the first
array axis increases towards the patient's Right, the second towards Anterior, the third
towards Superior. Slices are then shown in the radiological convention used by CT viewers and
by the paper's figures: row 0 is anterior, column 0 is the patient's right (so the liver
appears on the left of the image), and slices are ordered from inferior to superior.
"""

from __future__ import annotations

import numpy as np

# Slices are read along the nearest axes, not resampled: a few degrees (a tilted gantry's
# reconstruction, a rotated export) move a voxel by under a voxel per few dozen; 20 degrees by
# a third of the way across the slice, which is no longer the scanner's slice. The NIfTI reader
# (tact.data.volumes) and the DICOM reader (tact.data.dicom, gantry tilt) share the limit.
MAX_OBLIQUE_DEGREES = 20.0


def ras_to_radiological(volume_ras: np.ndarray) -> np.ndarray:
    """(X, Y, Z) array in RAS+ order -> (Z, rows, cols) stack of radiological slices."""
    if volume_ras.ndim != 3:
        raise ValueError(f"expected a 3-D array, got shape {volume_ras.shape}")
    # [x, y, z] -> [z, y, x], then flip rows (anterior on top) and columns (right on the left).
    return np.ascontiguousarray(np.transpose(volume_ras, (2, 1, 0))[:, ::-1, ::-1])


def radiological_to_ras(slices: np.ndarray) -> np.ndarray:
    """Inverse of :func:`ras_to_radiological`: (Z, rows, cols) -> (X, Y, Z) in RAS+ order."""
    if slices.ndim != 3:
        raise ValueError(f"expected a 3-D array, got shape {slices.shape}")
    return np.ascontiguousarray(np.transpose(slices[:, ::-1, ::-1], (2, 1, 0)))
