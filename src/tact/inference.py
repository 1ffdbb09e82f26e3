"""Networks applied to test images: a reconstruction network to the low-dose images, a frozen
segmenter to any method's images. Batched, on the GPU when there is one (bf16 autocast); the
workflow's jobs go a test volume at a time and write as they go, so they hold one volume."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from tact.models import NetworkSettings, choose_device
from tact.test_sets import TestImages, TestSet, label_file, test_set_file


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


def reconstruct_test_images(
    state: Mapping[str, torch.Tensor],
    network: NetworkSettings,
    lowdose: TestImages,
    path: str | Path,
    *,
    device: str = "auto",
) -> None:
    """A network's outputs of every test slice, written volume by volume to a test-set file."""
    rows, first = lowdose.rows, 0
    with test_set_file(
        path, rows["volume"].to_numpy(), rows["slice"].to_numpy(), _shape(lowdose)
    ) as add:
        for part in lowdose:
            add(first, reconstruct(state, network, part, device).images)
            first += len(part)


def segment_test_images(
    segmenters: Sequence[tuple[str, Mapping[str, torch.Tensor], NetworkSettings]],
    images: TestImages,
    path: str | Path,
    *,
    device: str = "auto",
) -> None:
    """Label maps of one method's test images by each (name, weights, settings) segmenter,
    written volume by volume to a label file."""
    rows, first = images.rows, 0
    names = [name for name, _, _ in segmenters]
    volumes, slices = rows["volume"].to_numpy(), rows["slice"].to_numpy()
    with label_file(path, names, volumes, slices, shape=_shape(images)) as add:
        for part in images:
            for name, state, network in segmenters:
                add(name, first, segment(state, network, part, device).images)
            first += len(part)


def _shape(images: TestImages) -> tuple[int, int]:
    """The image size of a method's test images (from its first test volume)."""
    return tuple(images.of_volume(images.volumes[0]).images.shape[1:])
