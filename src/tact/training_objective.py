"""The loss of one batch, as a training step and validation compute it.

The objectives themselves are ``tact.losses``; this adds how a training runs them: bf16
autocast on a GPU, the compiled networks when the settings ask for torch.compile, and the
defences that act in training steps only (noise before the frozen segmenters; FGSM inputs for
the robust segmenter), so that validation losses stay comparable between epochs and methods.
"""

from __future__ import annotations

import torch
from torch import nn

from tact.losses import reconstruction_objective, segmentation_objective
from tact.training_networks import TrainingNetworks
from tact.training_settings import Job, TrainSettings

LossTerms = tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]


class Objective:
    """A job's loss on a batch: ``loss(x, target, labels)`` -> (loss, its terms, output).

    ``network`` and ``segmenters`` are the modules the loss calls (compiled or not); they and
    ``loss`` itself may be replaced by modules or functions computing the same thing
    (bench/step_variants.py times such variants through ``Trainer.train_step``).
    """

    def __init__(
        self, job: Job, settings: TrainSettings, networks: TrainingNetworks, device: torch.device
    ) -> None:
        self.job, self.settings = job, settings
        self.networks = networks
        self.autocast = device.type == "cuda"
        self.network: nn.Module = networks.model
        self.segmenters: list[nn.Module] = list(networks.segmenters)
        if settings.compile and device.type == "cuda":
            self.network = torch.compile(networks.model)
            self.segmenters = [torch.compile(net) for net in networks.segmenters]

    def loss(self, x: torch.Tensor, target: torch.Tensor, labels: torch.Tensor) -> LossTerms:
        """The job's objective on one batch (Dice for g; MSE, + alpha Dice through g for f)."""
        with torch.autocast("cuda", torch.bfloat16, enabled=self.autocast):
            output = self.network(x)
            if self.job.kind == "segmentation":
                loss, terms = segmentation_objective(output, labels, self.settings.cross_entropy)
            else:
                loss, terms = reconstruction_objective(
                    self.job.weight,
                    output,
                    target,
                    labels=labels,
                    segmenters=self.segmenters,
                    segmenter_noise=self.segmenter_noise(),
                )
        return loss, terms, output

    def segmenter_noise(self) -> float:
        """The noise defence acts in training steps only: validation losses stay comparable."""
        if self.job.kind != "task_adaptive" or not self.networks.model.training:
            return 0.0
        return self.settings.segmenter_noise

    def adversarial_inputs(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """FGSM with a random start (Wong et al. 2020): the input perturbed within +-epsilon in
        the direction that raises the segmentation loss most, to train a segmenter on."""
        epsilon = self.settings.adversarial_epsilon
        delta = ((torch.rand_like(x) * 2 - 1) * epsilon).requires_grad_(True)
        loss, _, _ = self.loss(x + delta, x, labels)
        (gradient,) = torch.autograd.grad(loss, delta)
        delta = (delta + 1.25 * epsilon * gradient.sign()).clamp(-epsilon, epsilon)
        return (x + delta).detach()

    def training_inputs(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """What a training step feeds the network: FGSM inputs for the robust segmenter."""
        if self.job.kind == "segmentation" and self.settings.adversarial_epsilon > 0:
            return self.adversarial_inputs(x, labels)
        return x
