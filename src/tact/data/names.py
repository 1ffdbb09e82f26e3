"""The one mapping between volume ids and file names.

LiTS names a case's files ``volume-N.nii[.gz]`` and ``segmentation-N.nii[.gz]``; the phantom
writes the same names, and every per-volume file the workflow makes is ``volume-N.<kind>``
(``volume-N.npz``, ``volume-N.counts.npz``); the phantom's DICOM cases are folders ``case-N``.
The reader, the phantom writer, the workflow and the
stages that gather per-volume files all name and parse them here.
"""

from __future__ import annotations

import re
from pathlib import Path

IMAGE, MASK = "volume", "segmentation"
# A LiTS-layout file in any letter case (Volume-3.nii), gzipped or not.
LITS_FILE = re.compile(rf"^({IMAGE}|{MASK})-(\d+)\.nii(\.gz)?$", re.IGNORECASE)
_PER_VOLUME_FILE = re.compile(rf"^{IMAGE}-(\d+)\.", re.IGNORECASE)


def lits_names(volume_id: int | str) -> tuple[str, str]:
    """The (image, mask) file names of one case, as the phantom writes them (``"{vid}"``: the
    workflow's wildcard pattern)."""
    return f"{IMAGE}-{volume_id}.nii", f"{MASK}-{volume_id}.nii"


def dicom_case_name(volume_id: int | str) -> str:
    """The folder of one case in the DICOM layout, as the phantom writes it."""
    return f"case-{volume_id}"


def volume_id_of(path: str | Path) -> int:
    """The N of a per-volume file ``volume-N.<anything>`` (a slice store, a simulation, ...)."""
    match = _PER_VOLUME_FILE.match(Path(path).name)
    if match is None:
        raise ValueError(f"{path}: not a per-volume file (volume-N.<kind>)")
    return int(match[1])


def volume_ids(paths: list[str] | list[Path]) -> list[int]:
    return [volume_id_of(p) for p in paths]
