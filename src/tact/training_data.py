"""The slices a training learns from: loaded from the stores, split for validation, placed.

Reconstruction jobs learn low-dose -> full-dose; a segmentation job learns from full-dose
slices, plus their low-dose input when it trains on low-dose copies (the robust segmenter).
Validation holds out whole volumes, so that early stopping is not judged on neighbouring
slices of the ones trained on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tact.data.slices import load_stack
from tact.data.split import read_split
from tact.seeding import Stream, derive_seed
from tact.simulated_data import load_simulation
from tact.training_settings import Job

log = logging.getLogger(__name__)


@dataclass
class Slices:
    """Training arrays: network input, reconstruction target, labels (CPU tensors)."""

    inputs: torch.Tensor  # (N, 1, H, W) float32
    targets: torch.Tensor  # (N, 1, H, W) float32
    labels: torch.Tensor  # (N, H, W) uint8
    volumes: np.ndarray  # (N,) volume id of every slice

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> Slices:
        rows = torch.as_tensor(index, dtype=torch.long)
        return Slices(self.inputs[rows], self.targets[rows], self.labels[rows], self.volumes[index])


def load_training_slices(
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    sim_paths: Sequence[str | Path] | None = None,
) -> Slices:
    """The training split: full-dose input (segmentation) or low-dose input (reconstruction)."""
    split = read_split(split_path)
    train = split[split["split"] == "train"]
    sims = {}
    for path in sim_paths or []:
        sim = load_simulation(path)
        sims[sim.volume_id] = sim
    inputs, targets, labels, volumes = [], [], [], []
    for path in store_paths:
        stack = load_stack(path)
        wanted = set(train.loc[train["volume"] == stack.volume_id, "slice"])
        rows = np.array([i for i, s in enumerate(stack.slice_index) if int(s) in wanted], int)
        if len(rows) == 0:
            continue
        targets.append(stack.image[rows])
        labels.append(stack.mask[rows])
        volumes.append(np.full(len(rows), stack.volume_id))
        if sim_paths is None:
            inputs.append(stack.image[rows])
        else:
            sim = sims[stack.volume_id]
            if not np.array_equal(sim.slice_index, stack.slice_index):
                raise ValueError(f"volume {stack.volume_id}: simulation and slice store disagree")
            inputs.append(sim.lowdose[rows])
    if not labels:
        raise ValueError(f"{split_path}: the training split is empty")

    def stack_images(parts: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(parts).astype(np.float32))[:, None]

    return Slices(
        inputs=stack_images(inputs),
        targets=stack_images(targets),
        labels=torch.from_numpy(np.concatenate(labels).astype(np.uint8)),
        volumes=np.concatenate(volumes),
    )


def training_data(
    job: Job,
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    sim_paths: Sequence[str | Path] | None,
) -> Slices:
    """The training split as a job learns from it (see :func:`tact.training.train_from_files`)."""
    if job.kind != "segmentation":
        if not sim_paths:
            raise ValueError(f"{job.kind} training needs the simulated low-dose images")
        return load_training_slices(store_paths, split_path, sim_paths)
    fulldose = load_training_slices(store_paths, split_path)
    if not job.lowdose_copies:
        return fulldose
    if not sim_paths:
        raise ValueError("a segmenter trained on low-dose copies needs the simulations")
    lowdose = load_training_slices(store_paths, split_path, sim_paths)
    return Slices(
        inputs=torch.cat([fulldose.inputs, lowdose.inputs]),
        targets=torch.cat([fulldose.targets, lowdose.targets]),
        labels=torch.cat([fulldose.labels, lowdose.labels]),
        volumes=np.concatenate([fulldose.volumes, lowdose.volumes]),
    )


def split_validation(data: Slices, fraction: float, seed: int) -> tuple[Slices, Slices]:
    """Hold out whole volumes for early stopping (slices when there is only one volume)."""
    rng = np.random.default_rng(derive_seed(seed, Stream.VALIDATION_SPLIT))
    volumes = np.unique(data.volumes)
    if len(volumes) >= 2:
        n_val = min(max(1, round(fraction * len(volumes))), len(volumes) - 1)
        held_out = rng.permutation(volumes)[:n_val]
        is_val = np.isin(data.volumes, held_out)
    else:
        n_val = min(max(1, round(fraction * len(data))), len(data) - 1)
        is_val = np.isin(np.arange(len(data)), rng.permutation(len(data))[:n_val])
    return data.subset(np.flatnonzero(~is_val)), data.subset(np.flatnonzero(is_val))


class DeviceSlices:
    """The slices where the steps run: on the GPU (16-bit) when they fit, else on the host."""

    def __init__(self, data: Slices, device: torch.device) -> None:
        self.device = device
        self.n = len(data)
        on_gpu = device.type == "cuda" and self._fits(data, device)
        storage = device if on_gpu else torch.device("cpu")
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        self.inputs = data.inputs.to(storage, dtype)
        self.targets = data.targets.to(storage, dtype)
        self.labels = data.labels.to(storage)
        if device.type == "cuda" and not on_gpu:
            self.inputs, self.targets = self.inputs.pin_memory(), self.targets.pin_memory()
            self.labels = self.labels.pin_memory()
        log.info("%d slices held on %s", self.n, storage)

    @staticmethod
    def _fits(data: Slices, device: torch.device) -> bool:
        needed = 2 * (data.inputs.numel() + data.targets.numel()) + data.labels.numel()
        free, _ = torch.cuda.mem_get_info(device)
        return needed < 0.4 * free

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(input, target, labels) of the rows ``index``, as float32 / int64 on the device."""
        index = index.to(self.inputs.device)
        channels_last = torch.channels_last if self.device.type == "cuda" else None

        def images(t: torch.Tensor) -> torch.Tensor:
            out = t[index].to(self.device, torch.float32, non_blocking=True)
            return out.contiguous(memory_format=channels_last) if channels_last else out

        labels = self.labels[index].to(self.device, torch.long, non_blocking=True)
        return images(self.inputs), images(self.targets), labels
