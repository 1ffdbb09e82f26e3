"""What defines a training: the job (which network, which objective) and its settings.

Every random draw of a training derives from ``TrainSettings.seed`` and one of the streams of
``tact.seeding.Stream``, so that a training's weights never depend on what else ran before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tact.models import NetworkSettings

KINDS = ("segmentation", "base", "task_adaptive", "joint")


@dataclass(frozen=True)
class TrainSettings:
    """Everything that defines a training run (all from the config)."""

    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 1e-3
    lr_factor: float = 0.5
    lr_patience: int = 2
    early_stopping_patience: int = 5
    val_fraction: float = 0.1
    checkpoint_every: int = 1000
    seed: int = 0
    device: str = "auto"
    compile: bool = False
    deterministic: bool = True  # tact.determinism: the same weights on the same GPU kind
    cross_entropy: bool = False
    joint_segmenter_init: str = "scratch"
    adversarial_epsilon: float = 0.0  # segmentation: FGSM training within +-epsilon (image units)
    segmenter_noise: float = 0.0  # task-adaptive: std of the noise added before the segmenters


@dataclass
class Job:
    """One training: what is trained, with which objective weight, on which data."""

    kind: str
    weight: float = 0.0
    network: NetworkSettings = field(default_factory=NetworkSettings)
    segmenter_network: NetworkSettings = field(default_factory=NetworkSettings)
    lowdose_copies: bool = False  # segmentation: also train on the low-dose input of each slice

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
