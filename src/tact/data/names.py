"""The one mapping between volume ids and file names.

LiTS names a case's files ``volume-N.nii[.gz]`` and ``segmentation-N.nii[.gz]``; the phantom
writes the same names, and every per-volume file the workflow makes is ``volume-N.<kind>``
(``volume-N.npz``, ``volume-N.counts.npz``); the phantom's DICOM cases are folders ``case-N``.
The Decathlon's and DICOM folders' names (``liver_17.nii.gz``, ``3Dircadb1.17``) give their id as
the last number in the name. The reader, the phantom writer, the workflow and the stages that
gather per-volume files all name and parse them here.
"""

from __future__ import annotations

import re
from pathlib import Path

IMAGE, MASK = "volume", "segmentation"
# A LiTS-layout file in any letter case (Volume-3.nii), gzipped or not.
LITS_FILE = re.compile(rf"^({IMAGE}|{MASK})-(\d+)\.nii(\.gz)?$", re.IGNORECASE)
_PER_VOLUME_FILE = re.compile(rf"^{IMAGE}-(\d+)\.", re.IGNORECASE)
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
NIFTI_SUFFIXES = (".nii", ".nii.gz")


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


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def nifti_stem(path: Path) -> str:
    """``liver_3.nii.gz`` -> ``liver_3``."""
    name = path.name
    return name[: -len(".nii.gz")] if name.lower().endswith(".nii.gz") else name[: -len(".nii")]


def last_number_in(path: str | Path) -> int | None:
    """The id of a Decathlon file or a DICOM case folder: the last number in its name (without
    the NIfTI suffix), or None where the name holds none."""
    path = Path(path)
    name = nifti_stem(path) if is_nifti(path) else path.name
    match = _LAST_NUMBER.search(name)
    return None if match is None else int(match[1])
