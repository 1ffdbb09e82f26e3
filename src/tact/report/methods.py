"""The paper's published numbers, by method id (ids, labels and order: ``tact.methods``)."""

from __future__ import annotations

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
