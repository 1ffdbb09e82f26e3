"""Method ids, the paper's display names and row order, and the paper's published numbers."""

from __future__ import annotations

from collections.abc import Iterable

FIXED_LABELS = {
    "lowdose": "Low-dose",
    "fbp": "FBP",
    "bm3d": "BM3D",
    "base": "Base U-Net",
    "fulldose": "Full-dose",
}
JOINT, TASK = "joint_c", "task_a"

# The paper's Table I (PSNR mean, std; SSIM mean, std) and Table II (Dice mean, std), LiTS test set.
PAPER_TABLE1 = {
    "lowdose": (24.8596, 2.2471, 0.4547, 0.0760),
    "fbp": (28.0596, 2.0881, 0.5722, 0.0859),
    "bm3d": (34.2072, 3.1110, 0.8760, 0.0803),
    "base": (36.0490, 1.3215, 0.9096, 0.0260),
    "joint_c0.1": (30.8751, 2.1918, 0.8750, 0.0250),
    "joint_c0.5": (31.6969, 1.0815, 0.8331, 0.0386),
    "joint_c0.9": (21.9782, 2.9886, 0.6071, 0.0321),
    "task_a0.1": (32.1841, 1.3017, 0.8616, 0.0243),
    "task_a0.5": (30.7086, 1.1228, 0.8616, 0.0287),
    "task_a0.9": (31.2182, 1.3942, 0.8698, 0.0258),
}
PAPER_TABLE2 = {
    "lowdose": (0.0259, 0.1085),
    "fbp": (0.3065, 0.2935),
    "bm3d": (0.6258, 0.2785),
    "base": (0.2797, 0.2289),
    "joint_c0.1": (0.3306, 0.2553),
    "joint_c0.5": (0.0129, 0.0493),
    "joint_c0.9": (0.0004, 0.0108),
    "task_a0.1": (0.6300, 0.2724),
    "task_a0.5": (0.7065, 0.2519),
    "task_a0.9": (0.7065, 0.2485),
    "fulldose": (0.8740, 0.1856),
}


def weight_of(method: str) -> float | None:
    """The Dice weight of a trained method (alpha or C; 0 for the base U-Net), else None."""
    if method == "base":
        return 0.0
    for prefix in (JOINT, TASK):
        if method.startswith(prefix):
            return float(method[len(prefix) :])
    return None


def method_label(method: str) -> str:
    """The paper's display name: 'Joint Training C=0.1', 'Task-adaptive α=0.5', ..."""
    if method in FIXED_LABELS:
        return FIXED_LABELS[method]
    if method.startswith(JOINT):
        return f"Joint Training C={method[len(JOINT) :]}"
    if method.startswith(TASK):
        return f"Task-adaptive α={method[len(TASK) :]}"
    raise ValueError(f"unknown method id {method!r}")


def _order_key(method: str) -> tuple[int, float]:
    groups = ["lowdose", "fbp", "bm3d", "base", JOINT, TASK, "fulldose"]
    for rank, group in enumerate(groups):
        if method == group or (group in (JOINT, TASK) and method.startswith(group)):
            return rank, weight_of(method) or 0.0
    raise ValueError(f"unknown method id {method!r}")


def paper_order(methods: Iterable[str]) -> list[str]:
    """Methods in the paper's row order: Low-dose, FBP, BM3D, Base U-Net, Joint C ascending,
    Task-adaptive alpha ascending, Full-dose."""
    return sorted(set(methods), key=_order_key)
