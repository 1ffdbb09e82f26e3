"""The networks of one training, built from its job and placed on its device.

- ``segmentation``: the segmenter being trained (g, a held-out, ensemble or robust one);
- ``base``: the reconstruction network f;
- ``task_adaptive``: f, plus the frozen pre-trained segmenters its Dice term goes through (g;
  g and the ensemble's others; or the robust segmenter: ``tact.segmenters``);
- ``joint``: f and the segmenter h trained alongside it.

Initial weights come from the training's seed (``Stream.NETWORK_INIT``; h from
``Stream.JOINT_SEGMENTER_INIT``), so a training starts from the same weights whatever ran before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from tact.determinism import deterministic_upsampling
from tact.models import NetworkSettings
from tact.seeding import Stream, derive_seed
from tact.training_settings import Job, TrainSettings

StateDict = dict[str, torch.Tensor]


@dataclass
class TrainingNetworks:
    """The network trained, its segmenters, and which of them the optimizer updates."""

    model: nn.Module  # f, or the segmenter of a segmentation job
    segmenters: list[nn.Module]  # task-adaptive: frozen; joint: the one trained with f
    trained: list[nn.Module]  # what the optimizer updates and train mode switches

    @property
    def segmenter(self) -> nn.Module | None:
        """The first (or only) segmenter of a task-adaptive or joint job."""
        return self.segmenters[0] if self.segmenters else None

    def parameters(self) -> Iterator[nn.Parameter]:
        """The parameters the optimizer updates (frozen segmenters have none of theirs here)."""
        return (p for net in self.trained for p in net.parameters())

    def train_mode(self) -> None:
        """Batch norm of the trained networks learns; frozen segmenters stay in eval mode."""
        for net in self.trained:
            net.train()

    def eval_mode(self) -> None:
        for net in [self.model, *self.segmenters]:
            net.eval()


def frozen_segmenters(network: NetworkSettings, states: Sequence[StateDict]) -> list[nn.Module]:
    """Pre-trained segmenters in eval mode without gradients: the Dice term cannot change them."""
    networks = []
    for state in states:
        segmenter = network.segmenter()
        segmenter.load_state_dict(state)
        networks.append(segmenter.eval().requires_grad_(False))
    return networks


def joint_segmenter(
    job: Job, settings: TrainSettings, pretrained: Sequence[StateDict]
) -> nn.Module:
    """The joint job's segmenter h: from its own seed, or from g (``joint_segmenter_init``)."""
    torch.manual_seed(derive_seed(settings.seed, Stream.JOINT_SEGMENTER_INIT))
    network = job.segmenter_network.segmenter()
    if settings.joint_segmenter_init == "pretrained":
        if not pretrained:
            raise ValueError("joint training from a pre-trained segmenter needs its weights")
        network.load_state_dict(pretrained[0])
    return network


def build_networks(
    job: Job,
    settings: TrainSettings,
    device: torch.device,
    *,
    segmenter_states: Sequence[StateDict] = (),
    initial_weights: StateDict | None = None,
) -> TrainingNetworks:
    """A job's networks on ``device`` (channels-last on a GPU), with their initial weights.

    ``segmenter_states``: the pre-trained segmenters (task-adaptive: frozen; joint: h's start
    when ``joint_segmenter_init`` is ``pretrained``). ``initial_weights``: f's start instead of
    random weights (task-adaptive training from the base U-Net).
    """
    torch.manual_seed(derive_seed(settings.seed, Stream.NETWORK_INIT))
    model = job.network.segmenter() if job.kind == "segmentation" else job.network.reconstruction()
    if initial_weights is not None:
        model.load_state_dict(initial_weights)
    segmenters: list[nn.Module] = []
    if job.kind == "task_adaptive":
        if not segmenter_states:
            raise ValueError("task-adaptive training needs the pre-trained segmenter")
        segmenters = frozen_segmenters(job.segmenter_network, segmenter_states)
    elif job.kind == "joint":
        segmenters = [joint_segmenter(job, settings, segmenter_states)]
    cuda = device.type == "cuda"
    for net in [model, *segmenters]:
        if cuda and settings.deterministic:  # no deterministic CUDA kernel for PyTorch's
            deterministic_upsampling(net)
        net.to(device, memory_format=torch.channels_last if cuda else None)
    trained = [model, *(segmenters if job.kind == "joint" else [])]
    return TrainingNetworks(model, segmenters, trained)
