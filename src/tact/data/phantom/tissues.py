"""Tissue classes of the phantom and their portal-venous HU ranges."""

from __future__ import annotations

from enum import IntEnum


class Tissue(IntEnum):
    """Tissue classes of the clean partition (``PhantomVolume.tissue``)."""

    AIR = 0
    SUBCUTANEOUS_FAT = 1
    VISCERAL_FAT = 2
    MUSCLE = 3
    LIVER = 4
    TUMOUR = 5
    PORTAL_VEIN = 6
    HEPATIC_VEIN = 7
    IVC = 8
    AORTA = 9
    SPLEEN = 10
    KIDNEY_CORTEX = 11
    KIDNEY_MEDULLA = 12
    SPONGY_BONE = 13
    CORTICAL_BONE = 14
    DISC = 15
    CSF = 16
    LUNG = 17
    MYOCARDIUM = 18
    BLOOD_POOL = 19
    BOWEL_WALL = 20
    BOWEL_CONTENTS = 21
    BOWEL_GAS = 22
    GALLBLADDER = 23


TISSUE_IDS: dict[str, int] = {t.name.lower(): int(t) for t in Tissue}

# Portal-venous HU ranges from the design notes (the tumour range is the liver range minus the
# 25-50 HU hypodensity; tissues the design does not name get typical literature values).
TISSUE_HU: dict[str, tuple[float, float]] = {
    "air": (-1000.0, -1000.0),
    "subcutaneous_fat": (-110.0, -90.0),
    "visceral_fat": (-100.0, -80.0),
    "muscle": (50.0, 65.0),
    "liver": (100.0, 115.0),
    "tumour": (50.0, 90.0),
    "portal_vein": (160.0, 190.0),
    "hepatic_vein": (130.0, 160.0),
    "ivc": (130.0, 160.0),
    "aorta": (150.0, 200.0),
    "spleen": (100.0, 120.0),
    "kidney_cortex": (150.0, 200.0),
    "kidney_medulla": (100.0, 140.0),
    "spongy_bone": (150.0, 230.0),
    "cortical_bone": (800.0, 1900.0),
    "disc": (70.0, 110.0),
    "csf": (0.0, 20.0),
    "lung": (-950.0, -850.0),
    "myocardium": (90.0, 120.0),
    "blood_pool": (140.0, 180.0),
    "bowel_wall": (40.0, 80.0),
    "bowel_contents": (0.0, 40.0),
    "bowel_gas": (-1010.0, -990.0),
    "gallbladder": (0.0, 20.0),
}

# Tissues that make up LiTS label 1 (vessels inside the liver belong to the liver mask there).
LIVER_TISSUES: tuple[int, ...] = (Tissue.LIVER, Tissue.PORTAL_VEIN, Tissue.HEPATIC_VEIN)
BOWEL: tuple[int, ...] = (Tissue.BOWEL_WALL, Tissue.BOWEL_CONTENTS, Tissue.BOWEL_GAS)
# What organs may overwrite inside the abdomen: fat between them and the bowel.
SOFT_FILL: tuple[int, ...] = (Tissue.VISCERAL_FAT, *BOWEL)
