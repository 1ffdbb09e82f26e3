"""Built-in LiTS-like abdominal CT phantom (portal-venous phase).

Why: LiTS cannot be downloaded on every machine, yet the workflow must run end to end. This
package draws seeded, deterministic abdominal volumes and writes them as real NIfTI files in the
LiTS layout (``volume-N.nii`` int16 HU, ``segmentation-N.nii`` uint8 with 0 background,
1 liver, 2 tumour), so the very same reader handles the phantom and LiTS.

The phantom has to be hard enough for the paper's effect to show: hypodense, uneven tumours of
realistic sizes, a liver whose outline changes from slice to slice, hypodense look-alikes
(gallbladder, bowel, stomach contents), bright vessels inside the liver, and organ texture
of 10-20 HU that low-dose noise then buries.

Geometry. Every axial slice is built as a 2-D array in the radiological display convention:
row 0 is anterior, column 0 is the patient's right (the liver appears on the image's left),
and slices are stacked from inferior to superior. In-plane positions are in mm from the body
centre: ``u`` grows towards the patient's left (with the column index), ``v`` grows towards
posterior (with the row index). Heights are either physical (``z`` in mm from the lowest slice
centre: vertebrae, ribs, vessels, tumours) or normalised (``t`` in [0, 1] over the volume:
organ extents, so that every volume covers the liver with liver-free slices at both ends).

Modules, in the order a volume is made (``volume.generate_volume``):

- ``ranges``: every random range (mm, HU, fractions), as named, documented tables;
- ``geometry``: waves, the voxel grid, ellipses, ellipsoids, star-shaped lobes;
- ``structures`` and ``anatomy`` / ``organs``: the sampled anatomy of one volume;
- ``painting``: each axial slice of the clean tissue partition (``tissues.Tissue``);
- ``vessels``: portal and hepatic veins inside the liver; ``lesions``: the tumours;
- ``intensities``: tissue HU and texture; ``writing``: the LiTS NIfTI pair.
"""

from __future__ import annotations

# Module constants of the former single-file module, kept importable (not in __all__).
from tact.data.phantom.lesions import TUMOUR_DIAMETER_RANGE_MM as TUMOUR_DIAMETER_RANGE_MM
from tact.data.phantom.lesions import TUMOUR_LOG_SIGMA as TUMOUR_LOG_SIGMA
from tact.data.phantom.lesions import TUMOUR_MEDIAN_DIAMETER_MM as TUMOUR_MEDIAN_DIAMETER_MM
from tact.data.phantom.lesions import sample_tumour_diameters
from tact.data.phantom.spec import DEFAULT_SPEC, PhantomSpec, PhantomVolume
from tact.data.phantom.tissues import LIVER_TISSUES, TISSUE_HU, TISSUE_IDS, Tissue
from tact.data.phantom.volume import generate_volume
from tact.data.phantom.writing import HU_INT16_RANGE as HU_INT16_RANGE
from tact.data.phantom.writing import hu_to_int16, lits_affine, write_dicom_case, write_lits_pair

__all__ = [
    "DEFAULT_SPEC",
    "LIVER_TISSUES",
    "TISSUE_HU",
    "TISSUE_IDS",
    "PhantomSpec",
    "PhantomVolume",
    "Tissue",
    "generate_volume",
    "hu_to_int16",
    "lits_affine",
    "sample_tumour_diameters",
    "write_dicom_case",
    "write_lits_pair",
]
