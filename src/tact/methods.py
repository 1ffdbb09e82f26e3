"""Method ids: the one home of what each row of the tables is called and how it was trained.

Ids are ``lowdose, fbp, bm3d, base, joint_c{C}, task_a{alpha}, fulldose`` (alpha and C written as
in the config). A task-adaptive model trained with one of the defences against a steerable
segmenter (``task_adaptive.defences``) has the defence appended: ``task_a0.5_ensemble``. The
workflow (its wildcard constraint and objectives), training and the report all parse ids here,
and this module imports nothing heavy, so report jobs stay light.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

FIXED_LABELS = {
    "lowdose": "Low-dose",
    "fbp": "FBP",
    "bm3d": "BM3D",
    "base": "Base U-Net",
    "fulldose": "Full-dose",
}
# Where each fixed row's test images lie (tact.test_sets): the full dose in the slice stores,
# the low-dose and FBP images in the simulations; BM3D and every network have files of their own.
IN_STORES = ("fulldose",)
IN_SIMULATIONS = ("lowdose", "fbp")
JOINT, TASK = "joint_c", "task_a"
# Defences of task-adaptive training against a segmenter it can steer (config/README.md).
DEFENCES = {
    "ensemble": "segmenter ensemble",
    "robust": "robust segmenter",
    "noise": "noise before g",
}
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
METHOD_PATTERN = rf"base|{JOINT}{_NUMBER}|{TASK}{_NUMBER}(?:_(?:{'|'.join(DEFENCES)}))?"
# Every row of the tables: the fixed ones (images and baselines) and the trained networks
EVALUATED_PATTERN = rf"{'|'.join(FIXED_LABELS)}|{METHOD_PATTERN}"
_PARSE = re.compile(
    rf"(?P<prefix>{JOINT}|{TASK})(?P<weight>{_NUMBER})(?:_(?P<defence>{'|'.join(DEFENCES)}))?"
)


@dataclass(frozen=True)
class TrainedMethod:
    """What a reconstruction network's id says about its training."""

    kind: str  # base | task_adaptive | joint
    weight: float  # alpha or C; 0 for the base U-Net
    defence: str | None = None  # task-adaptive only: one of DEFENCES, or None (the paper's)


def parse_method(method: str) -> TrainedMethod | None:
    """The training of a trained method's id; None for images no network made (lowdose, ...)."""
    if method == "base":
        return TrainedMethod("base", 0.0)
    match = _PARSE.fullmatch(method)
    if match is None:
        if method in FIXED_LABELS:
            return None
        raise ValueError(f"unknown method id {method!r}")
    kind = "joint" if match["prefix"] == JOINT else "task_adaptive"
    return TrainedMethod(kind, float(match["weight"]), match["defence"])


def weight_text(weight: float) -> str:
    """An alpha or C as the id writes it: as in the config, but never in e-notation (1e-05
    would hold a '-' and no longer be one id), so every float in [0, 1] makes a valid id."""
    text = str(weight)
    return format(Decimal(text), "f") if "e" in text.lower() else text


def task_adaptive_id(alpha: float, defence: str | None = None) -> str:
    if defence is not None and defence not in DEFENCES:
        raise ValueError(f"defence must be one of {sorted(DEFENCES)}, got {defence!r}")
    return f"{TASK}{weight_text(alpha)}" + (f"_{defence}" if defence else "")


def joint_id(c: float) -> str:
    return f"{JOINT}{weight_text(c)}"


def weight_of(method: str) -> float | None:
    """The Dice weight of a trained method (alpha or C; 0 for the base U-Net), else None."""
    trained = parse_method(method)
    return None if trained is None else trained.weight


def defence_of(method: str) -> str | None:
    trained = parse_method(method)
    return None if trained is None else trained.defence


def method_label(method: str) -> str:
    """The paper's display name: 'Joint Training C=0.1', 'Task-adaptive α=0.5', ..."""
    if method in FIXED_LABELS:
        return FIXED_LABELS[method]
    trained = parse_method(method)
    weight = method[len(JOINT if trained.kind == "joint" else TASK) :].split("_")[0]
    if trained.kind == "joint":
        return f"Joint Training C={weight}"
    label = f"Task-adaptive α={weight}"
    return f"{label}, {DEFENCES[trained.defence]}" if trained.defence else label


def _order_key(method: str) -> tuple[int, int, float]:
    groups = ["lowdose", "fbp", "bm3d", "base", "joint", "task_adaptive", "fulldose"]
    if method in FIXED_LABELS:
        return groups.index(method), 0, 0.0
    trained = parse_method(method)
    defence_rank = 0 if trained.defence is None else 1 + list(DEFENCES).index(trained.defence)
    return groups.index(trained.kind), defence_rank, trained.weight


def paper_order(methods: Iterable[str]) -> list[str]:
    """Methods in the paper's row order: Low-dose, FBP, BM3D, Base U-Net, Joint C ascending,
    Task-adaptive alpha ascending (the paper's, then each defence's), Full-dose."""
    return sorted(set(methods), key=_order_key)
