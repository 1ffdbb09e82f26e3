"""A small, deterministic training run in its own process (the SIGKILL test kills it).

python tests/train_worker.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import torch

from tact.training import (
    Checkpoint,
    Job,
    NetworkSettings,
    Slices,
    Trainer,
    TrainSettings,
    run_training,
)

TINY_NET = NetworkSettings(base_channels=4, depth=2)


def synthetic_slices(n: int = 24, size: int = 32, seed: int = 0) -> Slices:
    """Bright discs (liver) with a brighter core (tumour) on noise: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    targets = np.zeros((n, size, size), np.float32)
    labels = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        r0, c0 = rng.uniform(10, size - 10, 2)
        radius = rng.uniform(5, 9)
        disc = (rows - r0) ** 2 + (cols - c0) ** 2 < radius**2
        core = (rows - r0) ** 2 + (cols - c0) ** 2 < (radius / 2.5) ** 2
        targets[i] = 0.2 + 0.4 * disc + 0.2 * core
        labels[i] = disc.astype(np.uint8) + core
    inputs = targets + rng.normal(0, 0.1, targets.shape).astype(np.float32)
    return Slices(
        inputs=torch.from_numpy(inputs)[:, None],
        targets=torch.from_numpy(targets)[:, None],
        labels=torch.from_numpy(labels),
        volumes=np.repeat(np.arange(6), n // 6),
    )


TRAINING_SLICES = 24  # 6 batches of 4 an epoch
SETTINGS = TrainSettings(
    epochs=6, batch_size=4, learning_rate=0.01, checkpoint_every=3, device="cpu", seed=3
)


def main(out: Path) -> None:
    torch.set_num_threads(1)
    train, val = synthetic_slices(TRAINING_SLICES), synthetic_slices(8, seed=1)
    trainer = Trainer(Job("base", network=TINY_NET), SETTINGS, train, val)
    checkpoint = Checkpoint(out / "run.ckpt", "worker")
    run_training(trainer, checkpoint, model_path=out / "model.pt", history_path=out / "history.csv")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
