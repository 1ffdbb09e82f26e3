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

Resumable: a checkpoint (models, optimizer, scheduler, the random states of torch on the host
and the GPU, numpy and Python, early-stopping state, history) is written atomically every
``checkpoint_every`` steps and at each epoch end. Batch order is a function of (seed, epoch), so
a restarted job redoes exactly the steps after the checkpoint and ends with the same weights as
an uninterrupted run. A checkpoint is only resumed when its fingerprint (settings and input
files) matches; it is removed once the model is written.

This module is the loop (``Trainer``) and what a training rule runs (``train_from_files``). Its
parts, one thing each: ``tact.training_settings`` (Job, TrainSettings), ``tact.training_data``
(the slices), ``tact.training_networks`` (building and freezing the networks),
``tact.training_objective`` (the loss of a batch), ``tact.early_stopping`` and
``tact.checkpoints`` (with the fingerprint). Their names are importable from here as before.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from tact.checkpoints import Checkpoint, fingerprint
from tact.determinism import random_states, restore_random_states, use_training_algorithms
from tact.early_stopping import EarlyStopping
from tact.io import atomic_path, write_csv
from tact.models import NetworkSettings, choose_device, load_state_dict, load_weights
from tact.records import write_training_record
from tact.roi import circular_roi
from tact.seeding import Stream, derive_seed
from tact.training_data import (
    DeviceSlices,
    Slices,
    StoredSlices,
    TrainingSlices,
    load_training_slices,
    split_validation,
    training_data,
)
from tact.training_networks import build_networks
from tact.training_objective import Objective
from tact.training_settings import KINDS, Job, TrainSettings

__all__ = [  # what other code imports from here (the parts live in the modules named above)
    "KINDS",
    "Checkpoint",
    "DeviceSlices",
    "EarlyStopping",
    "Job",
    "NetworkSettings",
    "Slices",
    "StoredSlices",
    "TrainSettings",
    "Trainer",
    "TrainingSlices",
    "fingerprint",
    "load_state_dict",
    "load_training_slices",
    "load_weights",
    "roi_psnrs",
    "run_training",
    "split_validation",
    "train_from_files",
    "training_data",
]

log = logging.getLogger(__name__)


def roi_psnrs(output: torch.Tensor, target: torch.Tensor, roi: torch.Tensor) -> list[float]:
    """PSNR (data range 1) of every slice inside the ROI: the validation curve's numbers.

    Computed in float32 where the batch is; ``tact.metrics.pixel.psnr_in_roi`` is the same
    formula in float64 on the host, which rounds differently and would change the histories.
    """
    error = (output.float() - target)[:, 0][:, roi]
    return (-10 * torch.log10(error.pow(2).mean(dim=1))).tolist()


class EpochSums:
    """The step losses of an epoch, summed weighted by batch size for the history's means.

    The sums stay on the device (reading a value every step would stall the GPU) until
    ``fold`` moves them into ``saved``: plain floats, with ``n`` the images so far, which a
    checkpoint keeps so that a resumed epoch's means count the steps before the restart.
    """

    def __init__(self, saved: dict[str, float] | None = None) -> None:
        self.saved: dict[str, float] = dict(saved or {})
        self._on_device: dict[str, torch.Tensor] = {}

    def add(self, values: dict[str, torch.Tensor], n: int) -> None:
        for name, value in values.items():
            weighted = value.detach().float() * n
            previous = self._on_device.get(name)
            self._on_device[name] = weighted if previous is None else previous + weighted
        self.saved["n"] = self.saved.get("n", 0.0) + n

    def fold(self) -> dict[str, float]:
        for name, value in self._on_device.items():
            self.saved[name] = self.saved.get(name, 0.0) + float(value)
        self._on_device = {}
        return self.saved

    def means(self) -> tuple[float, dict[str, float]]:
        """(images, mean of every summed value) of the epoch so far."""
        sums = dict(self.fold())
        n = sums.pop("n", 1.0)
        return n, {name: value / n for name, value in sums.items()}


class Trainer:
    """The loop of one training: epochs of steps, validation, the learning-rate schedule, early
    stopping, checkpoints. Its parts: ``networks`` (tact.training_networks), ``objective``
    (tact.training_objective), ``stopping`` (tact.early_stopping), checkpoints
    (tact.checkpoints).

    ``train_step`` is one optimisation step on one batch: what the loop repeats and the unit
    bench/ times; ``train_epoch`` is the rest of the current epoch; ``fit`` the whole training.
    """

    def __init__(
        self,
        job: Job,
        settings: TrainSettings,
        train: TrainingSlices,
        val: TrainingSlices,
        *,
        frozen_segmenters: Sequence[dict[str, torch.Tensor]] = (),
        initial_weights: dict[str, torch.Tensor] | None = None,
    ) -> None:
        self.job, self.settings = job, settings
        use_training_algorithms(settings.deterministic)  # before any CUDA work: cuBLAS reads it
        self.device = choose_device(settings.device)
        self.networks = build_networks(
            job,
            settings,
            self.device,
            segmenter_states=frozen_segmenters,
            initial_weights=initial_weights,
        )
        cuda = self.device.type == "cuda"
        parameters = list(self.networks.parameters())
        self.optimizer = torch.optim.Adam(parameters, lr=settings.learning_rate, fused=cuda)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=settings.lr_factor, patience=settings.lr_patience
        )
        self.train_data = DeviceSlices(train, self.device)
        self.val_data = DeviceSlices(val, self.device)
        self.objective = Objective(job, settings, self.networks, self.device)
        self.roi = torch.as_tensor(circular_roi(train.image_size), device=self.device)
        self.stopping = EarlyStopping(settings.early_stopping_patience)
        # where the training is: saved in checkpoints
        self.epoch = 0  # epochs done
        self.step_in_epoch = 0
        self.global_step = 0
        self.best_state: dict[str, dict[str, torch.Tensor]] | None = None
        self.history: list[dict[str, float]] = []
        self.sums = EpochSums()

    @property
    def model(self) -> nn.Module:
        """The network trained: f, or the segmenter of a segmentation job."""
        return self.networks.model

    @property
    def segmenters(self) -> list[nn.Module]:
        return self.networks.segmenters

    @property
    def segmenter(self) -> nn.Module | None:
        """The first (or only) segmenter of a task-adaptive or joint job."""
        return self.networks.segmenter

    # ---- steps and epochs ---------------------------------------------------------------

    def train_step(
        self, x: torch.Tensor, target: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One optimisation step on one batch, in training mode: what the loop repeats, and the
        unit bench/ times (a batch from ``train_data.batch``, or any tensors of its shapes)."""
        if not self.model.training:  # validation left the networks in eval mode
            self.networks.train_mode()
        x = self.objective.training_inputs(x, labels)
        loss, terms, _ = self.objective.loss(x, target, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss, terms

    def batches(self, epoch: int) -> list[torch.Tensor]:
        """The batches of an epoch: a shuffle drawn from (seed, epoch) alone, so a resumed
        training redoes exactly the steps after its checkpoint; a last partial batch is dropped."""
        seed = derive_seed(self.settings.seed, Stream.BATCH_ORDER, epoch)
        order = torch.randperm(self.train_data.n, generator=torch.Generator().manual_seed(seed))
        size = self.settings.batch_size
        if self.train_data.n <= size:
            return [order]
        return [order[i : i + size] for i in range(0, self.train_data.n - size + 1, size)]

    def train_epoch(self, checkpoint: Checkpoint | None = None) -> None:
        """The rest of the current epoch (all of it unless resumed in the middle), saving a
        checkpoint every ``checkpoint_every`` steps when one is given."""
        todo = self.batches(self.epoch)[self.step_in_epoch :]
        log.debug("epoch %d: %d batches", self.epoch + 1, len(todo))
        self.networks.train_mode()
        desc = f"epoch {self.epoch + 1}/{self.settings.epochs}"
        progress = tqdm(total=len(todo), desc=desc, unit="batch")
        for index, batch in zip(todo, self.train_data.batches(todo), strict=True):
            loss, terms = self.train_step(*batch)
            progress.update()
            self.step_in_epoch += 1
            self.global_step += 1
            self.sums.add({"loss": loss, **terms}, len(index))
            if self.step_in_epoch % 25 == 0:
                progress.set_postfix(loss=f"{float(loss):.4f}")
            if checkpoint is not None and self.global_step % self.settings.checkpoint_every == 0:
                self.save(checkpoint)
        progress.close()
        self.sums.fold()

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean losses on the validation slices in eval mode, and the mean PSNR of f's output."""
        log.debug("validating on %d slices", self.val_data.n)
        self.networks.eval_mode()
        totals: dict[str, float] = {}
        psnrs, n = [], 0
        order = torch.arange(self.val_data.n)
        for start in range(0, self.val_data.n, self.settings.batch_size):
            index = order[start : start + self.settings.batch_size]
            x, target, labels = self.val_data.batch(index)
            loss, terms, output = self.objective.loss(x, target, labels)
            for name, value in {"loss": loss, **terms}.items():
                totals[name] = totals.get(name, 0.0) + float(value) * len(index)
            n += len(index)
            if self.job.kind != "segmentation":
                psnrs.extend(roi_psnrs(output, target, self.roi))
        metrics = {f"val_{k}": v / n for k, v in totals.items()}
        if psnrs:
            metrics["val_psnr"] = float(np.mean(psnrs))
        return metrics

    def _end_epoch(self, seconds: float) -> None:
        """Validate, log, step the learning-rate schedule and early stopping."""
        images, means = self.sums.means()
        row = {"epoch": self.epoch + 1, "lr": self.optimizer.param_groups[0]["lr"]}
        row.update({f"train_{name}": value for name, value in means.items()})
        row.update(self.validate())
        row.update({"seconds": seconds, "images_per_s": images / seconds if seconds > 0 else 0.0})
        self.history.append(row)
        self.scheduler.step(row["val_loss"])
        if self.stopping.update(self.epoch + 1, row["val_loss"]):
            self.best_state = self._weights_copy()
        log.info(
            "epoch %d: %s",
            self.epoch + 1,
            ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"),
        )
        self.epoch += 1
        self.step_in_epoch = 0
        self.sums = EpochSums()

    def _weights_copy(self) -> dict[str, dict[str, torch.Tensor]]:
        """The weights trained (f, and h of a joint job), kept as the best epoch's."""
        state = {"model": copy.deepcopy(self.model.state_dict())}
        if self.job.kind == "joint":
            state["segmenter"] = copy.deepcopy(self.segmenter.state_dict())
        return state

    def fit(self, checkpoint: Checkpoint | None = None) -> None:
        """Train until the epoch budget or early stopping; checkpoints if one is given."""
        cuda = self.device.type == "cuda"
        while self.epoch < self.settings.epochs and not self.stopping.should_stop:
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            self.train_epoch(checkpoint)
            if cuda:
                torch.cuda.synchronize()
            self._end_epoch(time.perf_counter() - start)
            if self.stopping.should_stop:
                log.info(
                    "early stopping after epoch %d (best: epoch %d, val loss %.5g)",
                    self.epoch,
                    self.stopping.best_epoch or 0,
                    self.stopping.best_loss,
                )
            if checkpoint is not None:
                self.save(checkpoint)

    def best_model_state(self) -> dict[str, torch.Tensor]:
        """The best epoch's weights of the network trained (the last ones if none was best)."""
        state = self.best_state["model"] if self.best_state else self.model.state_dict()
        return {k: v.detach().cpu() for k, v in state.items()}

    # ---- checkpoints --------------------------------------------------------------------

    def state(self) -> dict:
        """Everything a resumed training needs: the checkpoint's content (laid out as ever)."""
        return {
            "model": self.model.state_dict(),
            "segmenter": self.segmenter.state_dict() if self.segmenter is not None else {},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            # a stopped training is saved with its whole epoch budget done, as checkpoints
            # always were, so that every version of this code resumes it as finished
            "epoch": self.settings.epochs if self.stopping.should_stop else self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "best_loss": self.stopping.best_loss,
            "best_state": self.best_state or {},
            "bad_epochs": self.stopping.bad_epochs,
            "history": self.history,
            "running": self.sums.saved,
            "random_states": random_states(self.device),
        }

    def save(self, checkpoint: Checkpoint) -> None:
        self.sums.fold()
        checkpoint.save(self.state())

    def resume(self, checkpoint: Checkpoint) -> bool:
        """Continue from ``checkpoint`` if it holds this training's state; True if resumed."""
        state = checkpoint.load(self.device)
        if state is None:
            return False
        self.model.load_state_dict(state["model"])
        if self.segmenter is not None:
            self.segmenter.load_state_dict(state["segmenter"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.history = state["history"]
        self.epoch = len(self.history)  # a row per epoch done ("epoch" says the budget if stopped)
        self.step_in_epoch, self.global_step = state["step_in_epoch"], state["global_step"]
        self.stopping.restore(state["best_loss"], state["bad_epochs"], epochs_done=self.epoch)
        self.best_state = state["best_state"] or None
        self.sums = EpochSums(state["running"])
        restore_random_states(state["random_states"], self.device)
        log.info(
            "resumed from %s at epoch %d, step %d",
            checkpoint.path,
            self.epoch + 1,
            self.step_in_epoch,
        )
        return True


def run_training(
    trainer: Trainer,
    checkpoint: Checkpoint,
    *,
    model_path: str | Path,
    history_path: str | Path,
    record_path: str | Path | None = None,
) -> None:
    """Resume if possible, train, write the best weights, the history and the record of where
    they were computed (``tact.records``), drop the checkpoint."""
    checkpoint.path.parent.mkdir(parents=True, exist_ok=True)
    trainer.resume(checkpoint)
    trainer.fit(checkpoint)
    write_csv(pd.DataFrame(trainer.history), history_path)
    weights = trainer.best_model_state()
    with atomic_path(model_path) as tmp:
        torch.save(weights, tmp)
    if record_path is not None:
        deterministic = trainer.settings.deterministic
        write_training_record(record_path, trainer.device, weights, deterministic=deterministic)
    checkpoint.remove()


def train_from_files(
    job: Job,
    settings: TrainSettings,
    *,
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    model_path: str | Path,
    history_path: str | Path,
    checkpoint_path: str | Path,
    record_path: str | Path | None = None,
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
    checkpoint = Checkpoint(Path(checkpoint_path), fingerprint(job, settings, inputs))
    run_training(
        trainer,
        checkpoint,
        model_path=model_path,
        history_path=history_path,
        record_path=record_path,
    )
