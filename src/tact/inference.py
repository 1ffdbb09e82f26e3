"""Networks applied to test images: a reconstruction network to the low-dose images, a frozen
segmenter to any method's images. Batched, on the GPU when there is one (bf16 autocast)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from tact.models import NetworkSettings, choose_device
from tact.test_sets import TestSet


@torch.no_grad()
def apply_network(
    network: torch.nn.Module, images: np.ndarray, batch_size: int = 16, device: str = "auto"
) -> np.ndarray:
    """Run a network over (n, H, W) images in batches (GPU when present); returns its outputs."""
    target = choose_device(device)
    network = network.to(target).eval()
    outputs = []
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size]))
        with torch.autocast("cuda", torch.bfloat16, enabled=target.type == "cuda"):
            outputs.append(network(x[:, None].float().to(target)).float().cpu().numpy())
    return np.concatenate(outputs)


def reconstruct(
    state: Mapping[str, torch.Tensor],
    network: NetworkSettings,
    inputs: TestSet,
    device: str = "auto",
) -> TestSet:
    """A trained reconstruction network applied to the low-dose test images."""
    net = network.reconstruction()
    net.load_state_dict(state)
    images = apply_network(net, inputs.images, device=device)[:, 0]
    return TestSet(images.astype(np.float32), inputs.volumes, inputs.slices)


def segment(
    state: Mapping[str, torch.Tensor],
    network: NetworkSettings,
    images: TestSet,
    device: str = "auto",
) -> TestSet:
    """A frozen segmenter's label maps (argmax over background, liver, tumour)."""
    net = network.segmenter()
    net.load_state_dict(state)
    labels = apply_network(net, images.images, device=device).argmax(axis=1).astype(np.uint8)
    return TestSet(labels, images.volumes, images.slices)
