"""What makes a training repeat bit for bit: the algorithms it may use, and the random states a
checkpoint carries.

On the CPU tact's trainings repeat anyway. On a GPU they do not unless asked: cuDNN picks its
convolution algorithms by timing them (``cudnn.benchmark``), several of them and cuBLAS sum in
an order that depends on scheduling, and torch.compile's Inductor autotunes its kernels by
timing too. Task-adaptive training amplifies the last-bit differences this leaves until a
network moves by 15 dB (issue 34). ``training.deterministic`` (on by default) makes
:func:`use_training_algorithms` ask for the deterministic path; its cost on the GPU is measured
by ``bench/train_throughput.py --deterministic`` (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch
from torch import nn

# cuBLAS is deterministic on a stream only with a fixed workspace; PyTorch reads this variable
# when it creates its first cuBLAS handle (and refuses matrix products in deterministic mode
# without it), so it is set before any CUDA work of the process. MONAI sets the same value when
# it is imported, unless one is set (monai/utils/misc.py), so tact's trainings, which import it
# for the Dice loss, ran with this workspace before: the setting changes nothing on the fast path.
CUBLAS_WORKSPACE = ":4096:8"


def use_training_algorithms(deterministic: bool) -> None:
    """Ask torch for the deterministic algorithms (``deterministic``) or for the fastest ones.

    Deterministic: PyTorch's deterministic algorithms (an operation without one raises, rather
    than silently differing), cuDNN without timing its algorithms and restricted to its
    deterministic ones, the cuBLAS workspace fixed. torch.compile: in torch 2.11-2.13
    ``torch.use_deterministic_algorithms`` also sets ``torch._inductor.config.deterministic``
    (torch/__init__.py), with which Inductor does no on-device benchmarking that changes
    numerics (no template autotuning, no padded matrix products, reduction kernels chosen by
    heuristics: torch/_inductor/config.py, runtime/benchmarking.py) and falls back to eager
    for accumulating index_put, whose compiled form adds atomically (lowering.py); it is set
    here as well so that a version where the two are apart does not loosen it. The random
    draws of tact's trainings (FGSM's start, the noise defence) run outside the compiled
    networks, so Inductor's random lowering (``fallback_random``) is not on their path.
    Fast: cuDNN times its algorithms once per shape and keeps the fastest (the shapes are
    fixed), as tact did before this setting.
    """
    import torch._inductor.config as inductor

    if deterministic:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
    torch.use_deterministic_algorithms(deterministic)
    inductor.deterministic = deterministic
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


def random_states(device: torch.device) -> dict[str, Any]:
    """Every random generator a training step may draw from (torch's on the host and on the
    training's GPU, numpy's and Python's global ones), as plain data a checkpoint can hold."""
    numpy_state = np.random.get_state(legacy=False)
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {**numpy_state, "state": {**numpy_state["state"]}},
        "python": random.getstate(),
    }
    states["numpy"]["state"]["key"] = torch.from_numpy(numpy_state["state"]["key"].copy())
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def restore_random_states(states: dict[str, Any], device: torch.device) -> None:
    """Put back what :func:`random_states` saved, so that a resumed training draws the same
    FGSM starts and noise as one that ran straight through."""
    torch.set_rng_state(states["torch"].cpu())
    numpy_state = {**states["numpy"], "state": {**states["numpy"]["state"]}}
    numpy_state["state"]["key"] = numpy_state["state"]["key"].cpu().numpy()
    np.random.set_state(numpy_state)
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"].cpu(), device)


class BilinearDoubling(nn.Module):
    """``nn.Upsample(scale_factor=2, mode="bilinear")`` (corners not aligned) with a backward
    pass that is deterministic on a GPU. PyTorch's bilinear upsampling adds its gradient with
    atomics on CUDA and has no deterministic form, so deterministic mode refuses it there: MONAI's
    SegResNet (``evaluation.held_out_architecture: segresnet``) upsamples with it. Here each
    axis is doubled as 3/4 of a pixel plus 1/4 of its neighbour (the edge pixel repeated), which
    is the same interpolation, rounded in another order (within float rounding of PyTorch's)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _doubled(_doubled(x, x.dim() - 2), x.dim() - 1)


def _doubled(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Linear interpolation to twice the samples along ``dim`` (pixel centres, edges clamped)."""
    n = x.shape[dim]
    before = torch.cat([x.narrow(dim, 0, 1), x.narrow(dim, 0, n - 1)], dim)
    after = torch.cat([x.narrow(dim, 1, n - 1), x.narrow(dim, n - 1, 1)], dim)
    even, odd = 0.75 * x + 0.25 * before, 0.75 * x + 0.25 * after
    return torch.stack([even, odd], dim + 1).flatten(dim, dim + 1)


def deterministic_upsampling(network: nn.Module) -> nn.Module:
    """Swap every bilinear doubling of ``network`` for :class:`BilinearDoubling` (in place; no
    weights change, so its state dict loads into the network as built)."""
    for name, module in list(network.named_modules()):
        if (
            isinstance(module, nn.Upsample)
            and module.mode == "bilinear"
            and not module.align_corners
            and module.size is None
            and tuple(np.broadcast_to(module.scale_factor, 2)) == (2.0, 2.0)
        ):
            parent, _, attribute = name.rpartition(".")
            setattr(network.get_submodule(parent), attribute, BilinearDoubling())
    return network
