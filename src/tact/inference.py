"""Networks applied to test images: a reconstruction network to the low-dose images, a frozen
segmenter to any method's images. Batched, on the GPU when there is one (bf16 autocast); the
workflow's jobs go a test volume at a time and write as they go, so they hold one volume."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from tact.models import NetworkSettings, choose_device
from tact.test_sets import TestImages, label_file, test_set_file


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


def _network(
    kind: str, state: Mapping[str, torch.Tensor], settings: NetworkSettings
) -> torch.nn.Module:
    """A trained network (``reconstruction`` or ``segmenter``), built once for a whole job."""
    net = getattr(settings, kind)()
    net.load_state_dict(state)
    return net


def network_images(
    state: Mapping[str, torch.Tensor], network: NetworkSettings, *, device: str = "auto"
) -> Callable[[np.ndarray], np.ndarray]:
    """A trained reconstruction network as a function of low-dose images (n, rows, cols), as
    the test images are made: for images other than the test set's (the observer study)."""
    net = _network("reconstruction", state, network)
    return lambda images: apply_network(net, images, device=device)[:, 0].astype(np.float32)


def reconstruct_test_images(
    state: Mapping[str, torch.Tensor],
    network: NetworkSettings,
    lowdose: TestImages,
    path: str | Path,
    *,
    device: str = "auto",
) -> None:
    """A network's outputs of every test slice, written volume by volume to a test-set file."""
    reconstruct, rows, first = network_images(state, network, device=device), lowdose.rows, 0
    volumes, slices = rows["volume"].to_numpy(), rows["slice"].to_numpy()
    with test_set_file(path, volumes, slices, _shape(lowdose)) as add:
        for part in lowdose:
            add(first, reconstruct(part.images))
            first += len(part)


def segment_test_images(
    segmenters: Sequence[tuple[str, Mapping[str, torch.Tensor], NetworkSettings]],
    images: TestImages,
    path: str | Path,
    *,
    device: str = "auto",
) -> None:
    """Label maps (argmax over background, liver, tumour) of one method's test images by each
    (name, weights, settings) segmenter, written volume by volume to a label file."""
    nets = {name: _network("segmenter", state, settings) for name, state, settings in segmenters}
    rows, first = images.rows, 0
    volumes, slices = rows["volume"].to_numpy(), rows["slice"].to_numpy()
    with label_file(path, list(nets), volumes, slices, shape=_shape(images)) as add:
        for part in images:
            for name, net in nets.items():
                maps = apply_network(net, part.images, device=device).argmax(axis=1)
                add(name, first, maps.astype(np.uint8))
            first += len(part)


def _shape(images: TestImages) -> tuple[int, int]:
    """The image size of a method's test images (from its first test volume)."""
    return tuple(images.of_volume(images.volumes[0]).images.shape[1:])
