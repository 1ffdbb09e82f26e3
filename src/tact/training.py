"""Training: the segmentation pre-training and the reconstruction trainings, fast and resumable.

One loop serves every model. What differs is the objective (`tact.losses`):

- ``segmentation``: g on full-dose slices, Dice loss (optionally + cross-entropy);
- ``base``: f on low-dose -> full-dose pairs, MSE;
- ``task_adaptive``: f with (1 - alpha) MSE + alpha Dice through the frozen pre-trained g
  (or, as a defence against steering g, averaged over several frozen segmenters, through a
  robust segmenter, or with noise added before them: ``tact.segmenters``);
- ``joint``: f and a segmenter h trained together with (1 - C) MSE + C Dice (Adler et al.).

A segmentation pre-training can also train on the low-dose reconstructions of its slices and
on adversarial (FGSM) perturbations of its inputs: the robust segmenter of that defence.

Speed on a GPU: the training split lives in GPU memory (16-bit) when it fits, bf16 autocast,
channels_last, fused Adam, optional torch.compile. On the CPU the same code runs in float32.

Resumable: a checkpoint (models, optimizer, scheduler, RNG state, early-stopping state, history)
is written atomically every ``checkpoint_every`` steps and at each epoch end. Batch order is a
function of (seed, epoch), so a restarted job redoes exactly the steps after the checkpoint and
ends with the same weights as an uninterrupted run. A checkpoint is only resumed when its
fingerprint (settings and input files) matches; it is removed once the model is written.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from tact.data.slices import load_stack
from tact.data.split import read_split
from tact.io import atomic_path, write_csv
from tact.losses import reconstruction_objective, segmentation_objective
from tact.models import (
    NetworkSettings,
    choose_device,
    load_state_dict,
    load_weights,
)
from tact.roi import circular_roi
from tact.seeding import derive_seed
from tact.simulated_data import load_simulation

log = logging.getLogger(__name__)

KINDS = ("segmentation", "base", "task_adaptive", "joint")
_INIT_STREAM, _ORDER_STREAM, _VAL_STREAM, _JOINT_INIT_STREAM = 10, 11, 12, 13


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
    cross_entropy: bool = False
    joint_segmenter_init: str = "scratch"
    adversarial_epsilon: float = 0.0  # segmentation: FGSM training within +-epsilon (image units)
    segmenter_noise: float = 0.0  # task-adaptive: std of the noise added before the segmenters


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
    """The training split as a job learns from it (see :func:`train_from_files`)."""
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
    rng = np.random.default_rng(derive_seed(seed, _VAL_STREAM))
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


def fingerprint(job: Job, settings: TrainSettings, inputs: Sequence[str | Path]) -> str:
    """Identity of a training: settings plus the size and time of every input file."""
    files = [(str(p), Path(p).stat().st_size, Path(p).stat().st_mtime_ns) for p in inputs]
    record = json.dumps([asdict(job), asdict(settings), files], sort_keys=True, default=str)
    return hashlib.sha256(record.encode()).hexdigest()


class Trainer:
    """Builds the networks and optimizer of a job and runs (or resumes) its training."""

    def __init__(
        self,
        job: Job,
        settings: TrainSettings,
        train: Slices,
        val: Slices,
        frozen_segmenters: Sequence[dict[str, torch.Tensor]] = (),
        initial_weights: dict[str, torch.Tensor] | None = None,
    ) -> None:
        self.job, self.settings = job, settings
        self.device = choose_device(settings.device)
        torch.manual_seed(derive_seed(settings.seed, _INIT_STREAM))
        if job.kind == "segmentation":
            self.model = job.network.segmenter()
        else:
            self.model = job.network.reconstruction()
        if initial_weights is not None:  # e.g. task-adaptive training from the base U-Net
            self.model.load_state_dict(initial_weights)
        # task-adaptive: the frozen segmenters of the Dice term; joint: the one trained alongside
        self.segmenters = self._segmenters(job, settings, frozen_segmenters)
        trained = [self.model, *(self.segmenters if job.kind == "joint" else [])]
        cuda = self.device.type == "cuda"
        if cuda:  # fixed shapes: let cuDNN time its algorithms once and keep the fastest
            torch.backends.cudnn.benchmark = True
        for net in [self.model, *self.segmenters]:
            net.to(self.device, memory_format=torch.channels_last if cuda else None)
        self.trained = trained
        parameters = [p for net in trained for p in net.parameters()]
        self.optimizer = torch.optim.Adam(parameters, lr=settings.learning_rate, fused=cuda)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=settings.lr_factor, patience=settings.lr_patience
        )
        self.train_data = DeviceSlices(train, self.device)
        self.val_data = DeviceSlices(val, self.device)
        self.forward_model = self.model
        self.forward_segmenters = list(self.segmenters)
        if settings.compile and cuda:
            self.forward_model = torch.compile(self.model)
            self.forward_segmenters = [torch.compile(net) for net in self.segmenters]
        self.roi = torch.as_tensor(circular_roi(train.inputs.shape[-1]), device=self.device)
        # training state, saved in checkpoints
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.best_loss = math.inf
        self.best_state: dict[str, dict[str, torch.Tensor]] | None = None
        self.bad_epochs = 0
        self.history: list[dict[str, float]] = []
        self.running: dict[str, float] = {}
        self._sums: dict[str, torch.Tensor] = {}

    @staticmethod
    def _segmenters(
        job: Job, settings: TrainSettings, frozen: Sequence[dict[str, torch.Tensor]]
    ) -> list[nn.Module]:
        """The task-adaptive job's frozen segmenters, or the joint job's trained one."""
        if job.kind == "task_adaptive":
            if not frozen:
                raise ValueError("task-adaptive training needs the pre-trained segmenter")
            networks = []
            for state in frozen:  # frozen: eval mode, no parameter updates
                network = job.segmenter_network.segmenter()
                network.load_state_dict(state)
                networks.append(network.eval().requires_grad_(False))
            return networks
        if job.kind != "joint":
            return []
        torch.manual_seed(derive_seed(settings.seed, _JOINT_INIT_STREAM))
        network = job.segmenter_network.segmenter()
        if settings.joint_segmenter_init == "pretrained":
            if not frozen:
                raise ValueError("joint training from a pre-trained segmenter needs its weights")
            network.load_state_dict(frozen[0])
        return [network]

    @property
    def segmenter(self) -> nn.Module | None:
        """The first (or only) segmenter of a task-adaptive or joint job."""
        return self.segmenters[0] if self.segmenters else None

    # ---- objective ----------------------------------------------------------------------

    def _loss(
        self, x: torch.Tensor, target: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        with torch.autocast("cuda", torch.bfloat16, enabled=self.device.type == "cuda"):
            output = self.forward_model(x)
            if self.job.kind == "segmentation":
                loss, terms = segmentation_objective(output, labels, self.settings.cross_entropy)
            else:
                loss, terms = reconstruction_objective(
                    self.job.weight,
                    output,
                    target,
                    labels,
                    self.forward_segmenters,
                    self._segmenter_noise(),
                )
        return loss, terms, output

    def _segmenter_noise(self) -> float:
        """The noise defence acts in training steps only: validation losses stay comparable."""
        if self.job.kind != "task_adaptive" or not self.model.training:
            return 0.0
        return self.settings.segmenter_noise

    def _adversarial_inputs(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """FGSM with a random start (Wong et al. 2020): the input perturbed within +-epsilon in
        the direction that raises the segmentation loss most, to train a segmenter on."""
        epsilon = self.settings.adversarial_epsilon
        delta = ((torch.rand_like(x) * 2 - 1) * epsilon).requires_grad_(True)
        loss, _, _ = self._loss(x + delta, x, labels)
        (gradient,) = torch.autograd.grad(loss, delta)
        delta = (delta + 1.25 * epsilon * gradient.sign()).clamp(-epsilon, epsilon)
        return (x + delta).detach()

    def _order(self, epoch: int, n: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(
            derive_seed(self.settings.seed, _ORDER_STREAM, epoch)
        )
        return torch.randperm(n, generator=generator)

    def _batches(self, epoch: int) -> list[torch.Tensor]:
        order = self._order(epoch, self.train_data.n)
        size = self.settings.batch_size
        if self.train_data.n <= size:
            return [order]
        return [order[i : i + size] for i in range(0, self.train_data.n - size + 1, size)]

    # ---- one epoch ----------------------------------------------------------------------

    def train_step(
        self, x: torch.Tensor, target: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One optimisation step on one batch (what the loop does, and what bench/ times)."""
        if self.job.kind == "segmentation" and self.settings.adversarial_epsilon > 0:
            x = self._adversarial_inputs(x, labels)
        loss, terms, _ = self._loss(x, target, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss, terms

    def _set_train_mode(self) -> None:
        for net in self.trained:
            net.train()

    def _train_epoch(self, checkpoint: Path | None) -> None:
        batches = self._batches(self.epoch)
        self._set_train_mode()
        progress = tqdm(
            batches[self.step_in_epoch :],
            desc=f"epoch {self.epoch + 1}/{self.settings.epochs}",
            unit="batch",
        )
        for index in progress:
            loss, terms = self.train_step(*self.train_data.batch(index))
            self.step_in_epoch += 1
            self.global_step += 1
            # sums stay on the device: reading a value every step would stall the GPU
            for name, value in {"loss": loss, **terms}.items():
                weighted = value.detach().float() * len(index)
                self._sums[name] = self._sums[name] + weighted if name in self._sums else weighted
            self.running["n"] = self.running.get("n", 0.0) + len(index)
            if self.step_in_epoch % 25 == 0:
                progress.set_postfix(loss=f"{float(loss):.4f}")
            if checkpoint and self.global_step % self.settings.checkpoint_every == 0:
                self.save_checkpoint(checkpoint)
        self._fold_sums()

    def _fold_sums(self) -> None:
        """Move the device-side sums into ``running`` (plain floats, saved in checkpoints)."""
        for name, value in self._sums.items():
            self.running[name] = self.running.get(name, 0.0) + float(value)
        self._sums = {}

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        for net in [self.model, *self.segmenters]:
            net.eval()
        totals: dict[str, float] = {}
        psnrs, n = [], 0
        order = torch.arange(self.val_data.n)
        for start in range(0, self.val_data.n, self.settings.batch_size):
            index = order[start : start + self.settings.batch_size]
            x, target, labels = self.val_data.batch(index)
            loss, terms, output = self._loss(x, target, labels)
            for name, value in {"loss": loss, **terms}.items():
                totals[name] = totals.get(name, 0.0) + float(value) * len(index)
            n += len(index)
            if self.job.kind != "segmentation":
                error = (output.float() - target)[:, 0][:, self.roi]
                psnrs.extend((-10 * torch.log10(error.pow(2).mean(dim=1))).tolist())
        metrics = {f"val_{k}": v / n for k, v in totals.items()}
        if psnrs:
            metrics["val_psnr"] = float(np.mean(psnrs))
        return metrics

    def _end_epoch(self, seconds: float) -> bool:
        """Validate, log, step the scheduler and early stopping; True when training stops."""
        n = self.running.pop("n", 1.0)
        row = {"epoch": self.epoch + 1, "lr": self.optimizer.param_groups[0]["lr"]}
        row.update({f"train_{k}": v / n for k, v in self.running.items()})
        row.update(self.validate())
        row.update({"seconds": seconds, "images_per_s": n / seconds if seconds > 0 else 0.0})
        self.history.append(row)
        val_loss = row["val_loss"]
        self.scheduler.step(val_loss)
        if val_loss < self.best_loss:
            self.best_loss, self.bad_epochs = val_loss, 0
            self.best_state = {
                "model": copy.deepcopy(self.model.state_dict()),
                **(
                    {"segmenter": copy.deepcopy(self.segmenter.state_dict())}
                    if self.job.kind == "joint"
                    else {}
                ),
            }
        else:
            self.bad_epochs += 1
        log.info(
            "epoch %d: %s",
            self.epoch + 1,
            ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"),
        )
        self.epoch += 1
        self.step_in_epoch = 0
        self.running = {}
        return self.bad_epochs >= self.settings.early_stopping_patience

    def fit(self, checkpoint: Path | None = None) -> None:
        """Train until the epoch budget or early stopping; checkpoints if a path is given."""
        if self.epoch >= self.settings.epochs:
            return
        while self.epoch < self.settings.epochs:
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            self._train_epoch(checkpoint)
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            stop = self._end_epoch(time.perf_counter() - start)
            if stop:
                log.info(
                    "early stopping after epoch %d (best val loss %.5g)", self.epoch, self.best_loss
                )
                self.epoch = self.settings.epochs
            if checkpoint:
                self.save_checkpoint(checkpoint)

    def best_model_state(self) -> dict[str, torch.Tensor]:
        state = self.best_state["model"] if self.best_state else self.model.state_dict()
        return {k: v.detach().cpu() for k, v in state.items()}

    # ---- checkpoints --------------------------------------------------------------------

    def state(self, fingerprint_value: str) -> dict:
        return {
            "fingerprint": fingerprint_value,
            "model": self.model.state_dict(),
            "segmenter": self.segmenter.state_dict() if self.segmenter is not None else {},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "best_loss": self.best_loss,
            "best_state": self.best_state or {},
            "bad_epochs": self.bad_epochs,
            "history": self.history,
            "running": self.running,
            "torch_rng": torch.get_rng_state(),
        }

    fingerprint_value = ""

    def save_checkpoint(self, path: Path) -> None:
        self._fold_sums()
        with atomic_path(path) as tmp:
            torch.save(self.state(self.fingerprint_value), tmp)

    def load_checkpoint(self, path: Path) -> bool:
        """Resume from ``path`` if it exists and belongs to this training; True if resumed."""
        if not path.exists():
            return False
        state = load_weights(path, map_location=self.device)
        if state["fingerprint"] != self.fingerprint_value:
            log.warning(
                "%s belongs to another training (settings or inputs changed): ignored", path
            )
            return False
        self.model.load_state_dict(state["model"])
        if self.segmenter is not None:
            self.segmenter.load_state_dict(state["segmenter"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.step_in_epoch = state["epoch"], state["step_in_epoch"]
        self.global_step, self.best_loss = state["global_step"], state["best_loss"]
        self.best_state = state["best_state"] or None
        self.bad_epochs, self.history = state["bad_epochs"], state["history"]
        self.running = state["running"]
        torch.set_rng_state(state["torch_rng"].cpu())
        log.info("resumed from %s at epoch %d, step %d", path, self.epoch + 1, self.step_in_epoch)
        return True


def run_training(
    trainer: Trainer,
    model_path: str | Path,
    history_path: str | Path,
    checkpoint_path: str | Path,
    fingerprint_value: str,
) -> None:
    """Resume if possible, train, write the best weights and the history, drop the checkpoint."""
    checkpoint = Path(checkpoint_path)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    trainer.fingerprint_value = fingerprint_value
    trainer.load_checkpoint(checkpoint)
    trainer.fit(checkpoint)
    write_csv(pd.DataFrame(trainer.history), history_path)
    with atomic_path(model_path) as tmp:
        torch.save(trainer.best_model_state(), tmp)
    checkpoint.unlink(missing_ok=True)


def train_from_files(
    job: Job,
    settings: TrainSettings,
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    model_path: str | Path,
    history_path: str | Path,
    checkpoint_path: str | Path,
    sim_paths: Sequence[str | Path] | None = None,
    segmenter_paths: Sequence[str | Path] = (),
    initial_weights_path: str | Path | None = None,
) -> None:
    """What a training rule does: load the split, build the trainer, train or resume, write.

    Reconstruction jobs learn from the low-dose input of ``sim_paths``; a segmentation job
    learns from full-dose slices, plus their low-dose input when ``job.lowdose_copies``.
    """
    log.info("training on %s", choose_device(settings.device))  # no GPU: said before the data
    data = training_data(job, store_paths, split_path, sim_paths)
    train, val = split_validation(data, settings.val_fraction, settings.seed)
    log.info("%s: %d training and %d validation slices", job.kind, len(train), len(val))
    segmenters = [load_state_dict(path) for path in segmenter_paths]
    if segmenters:
        log.info("segmenters: %s", ", ".join(map(str, segmenter_paths)))
    initial = load_state_dict(initial_weights_path) if initial_weights_path else None
    if initial is not None:
        log.info("starting from the weights of %s", initial_weights_path)
    trainer = Trainer(
        job, settings, train, val, frozen_segmenters=segmenters, initial_weights=initial
    )
    optional = [*segmenter_paths, *([initial_weights_path] if initial_weights_path else [])]
    inputs = [*store_paths, split_path, *(sim_paths or []), *optional]
    run_training(
        trainer, model_path, history_path, checkpoint_path, fingerprint(job, settings, inputs)
    )
