"""Evaluation: every method's test images, their segmentations by the frozen g, the metrics.

A "test set" file holds one method's images of every test slice, in the order of the split's
test rows, with the volume id and slice index of each, so that methods line up slice by slice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tact.baselines import bm3d_denoise, sweep_sigma
from tact.data.slices import load_stack
from tact.data.split import read_split
from tact.io import atomic_path
from tact.metrics.anatomy import SEGMENTATION_COLUMNS, slice_metrics
from tact.metrics.pixel import psnr_in_roi, ssim_in_roi
from tact.models import reconstruction_network, segmentation_network
from tact.roi import circular_roi
from tact.simulation import load_simulation, pick_tuning_slices
from tact.training import NetworkSettings, choose_device

IMAGE_SOURCES = ("fulldose", "lowdose", "fbp")
PER_SLICE_COLUMNS = ("method", "volume", "slice", "psnr", "ssim", *SEGMENTATION_COLUMNS)


@dataclass
class TestSet:
    """Images (or label maps) of the test slices, with where each slice comes from."""

    images: np.ndarray  # (n, H, W)
    volumes: np.ndarray  # (n,) int
    slices: np.ndarray  # (n,) int

    def __len__(self) -> int:
        return len(self.volumes)


def save_test_set(test_set: TestSet, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        np.savez(tmp, images=test_set.images, volumes=test_set.volumes, slices=test_set.slices)


def load_test_set(path: str | Path) -> TestSet:
    with np.load(path, allow_pickle=False) as data:
        return TestSet(data["images"], data["volumes"], data["slices"])


def test_rows(split_path: str | Path, volume: int | None = None) -> pd.DataFrame:
    """The split's test rows (of one volume if given), in a fixed order."""
    split = read_split(split_path)
    rows = split[split["split"] == "test"]
    if volume is not None:
        rows = rows[rows["volume"] == volume]
    return rows.sort_values(["volume", "slice"]).reset_index(drop=True)


def _rows_of(slice_index: np.ndarray, wanted: pd.Series) -> np.ndarray:
    position = {int(s): i for i, s in enumerate(slice_index)}
    return np.array([position[int(s)] for s in wanted], dtype=int)


def gather_test_images(
    source: str,
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    sim_paths: Sequence[str | Path] = (),
) -> TestSet:
    """Full-dose images (and masks' spacing), or the simulation's low-dose / FBP images."""
    if source not in IMAGE_SOURCES:
        raise ValueError(f"source must be one of {IMAGE_SOURCES}, got {source!r}")
    rows = test_rows(split_path)
    paths = dict(zip(_volume_ids(store_paths), store_paths, strict=True))
    sims = dict(zip(_volume_ids(sim_paths), sim_paths, strict=True)) if sim_paths else {}
    images = []
    for volume, group in rows.groupby("volume", sort=True):
        if source == "fulldose":
            stack = load_stack(paths[volume])
            images.append(stack.image[_rows_of(stack.slice_index, group["slice"])])
        else:
            sim = load_simulation(sims[volume])
            images.append(getattr(sim, source)[_rows_of(sim.slice_index, group["slice"])])
    return TestSet(np.concatenate(images), rows["volume"].to_numpy(), rows["slice"].to_numpy())


def _volume_ids(paths: Sequence[str | Path]) -> list[int]:
    return [int(Path(p).name.split("-")[1].split(".")[0]) for p in paths]


def concatenate(parts: Sequence[TestSet]) -> TestSet:
    """Join per-volume test sets (e.g. the BM3D jobs) in volume order."""
    parts = sorted((p for p in parts if len(p)), key=lambda p: int(p.volumes[0]))
    return TestSet(
        np.concatenate([p.images for p in parts]),
        np.concatenate([p.volumes for p in parts]),
        np.concatenate([p.slices for p in parts]),
    )


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
    net = reconstruction_network(network.architecture, network.base_channels, network.depth)
    net.load_state_dict(state)
    images = apply_network(net, inputs.images, device=device)[:, 0]
    return TestSet(images.astype(np.float32), inputs.volumes, inputs.slices)


def segment(
    state: Mapping[str, torch.Tensor],
    network: NetworkSettings,
    images: TestSet,
    device: str = "auto",
) -> TestSet:
    """The frozen segmenter's label maps (argmax over background, liver, tumour)."""
    net = segmentation_network(network.base_channels, network.depth)
    net.load_state_dict(state)
    labels = apply_network(net, images.images, device=device).argmax(axis=1).astype(np.uint8)
    return TestSet(labels, images.volumes, images.slices)


def per_slice_table(
    truth: TestSet,
    masks: TestSet,
    spacing_mm: Mapping[int, tuple[float, float]],
    methods: Mapping[str, tuple[TestSet, TestSet]],
    tolerance_mm: float = 2.0,
) -> pd.DataFrame:
    """One row per (method, test slice): PSNR/SSIM in the ROI, the segmentation metrics.

    ``methods`` maps a method id to its (images, predicted labels). The full dose has no PSNR
    or SSIM against itself: those cells are left empty.
    """
    roi = circular_roi(truth.images.shape[-1])
    rows = []
    for method, (images, labels) in methods.items():
        for part in (images, labels):
            if not (
                np.array_equal(part.volumes, truth.volumes)
                and np.array_equal(part.slices, truth.slices)
            ):
                raise ValueError(f"{method}: test slices do not line up with the ground truth")
        for i in range(len(truth)):
            volume = int(truth.volumes[i])
            row = {"method": method, "volume": volume, "slice": int(truth.slices[i])}
            if method == "fulldose":
                row.update(psnr=np.nan, ssim=np.nan)
            else:
                row["psnr"] = psnr_in_roi(images.images[i], truth.images[i], roi)
                row["ssim"] = ssim_in_roi(images.images[i], truth.images[i], roi)
            row.update(
                slice_metrics(labels.images[i], masks.images[i], spacing_mm[volume], tolerance_mm)
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=list(PER_SLICE_COLUMNS))


def gather_ground_truth(
    store_paths: Sequence[str | Path], split_path: str | Path
) -> tuple[TestSet, TestSet, dict[int, tuple[float, float]]]:
    """Full-dose images, true label maps and in-plane pixel spacing (mm) of the test slices."""
    rows = test_rows(split_path)
    paths = dict(zip(_volume_ids(store_paths), store_paths, strict=True))
    images, masks, spacing = [], [], {}
    for volume, group in rows.groupby("volume", sort=True):
        stack = load_stack(paths[volume])
        index = _rows_of(stack.slice_index, group["slice"])
        images.append(stack.image[index])
        masks.append(stack.mask[index])
        spacing[int(volume)] = (float(stack.spacing_mm[0]), float(stack.spacing_mm[1]))
    volumes, slices = rows["volume"].to_numpy(), rows["slice"].to_numpy()
    return (
        TestSet(np.concatenate(images), volumes, slices),
        TestSet(np.concatenate(masks), volumes, slices),
        spacing,
    )


def bm3d_test_slices(sim_path: str | Path, split_path: str | Path, sigma_psd: float) -> TestSet:
    """BM3D of one volume's low-dose test slices (none when the volume is not in the test set)."""
    sim = load_simulation(sim_path)
    rows = test_rows(split_path, sim.volume_id)
    index = _rows_of(sim.slice_index, rows["slice"])
    size = sim.lowdose.shape[-1]
    images = (
        np.stack([bm3d_denoise(sim.lowdose[i], sigma_psd) for i in index])
        if len(index)
        else (np.empty((0, size, size), np.float32))
    )
    return TestSet(images, rows["volume"].to_numpy(), rows["slice"].to_numpy())


def bm3d_sweep_from_files(
    store_paths: Sequence[str | Path],
    sim_paths: Sequence[str | Path],
    split_path: str | Path,
    sigmas: Sequence[float],
    n_slices: int,
    rng: np.random.Generator,
) -> tuple[float, pd.DataFrame]:
    """The paper's sweep: BM3D's sigma by mean ROI PSNR on random training slices."""
    chosen = pick_tuning_slices(read_split(split_path), n_slices, rng)
    stores = dict(zip(_volume_ids(store_paths), store_paths, strict=True))
    sims = dict(zip(_volume_ids(sim_paths), sim_paths, strict=True))
    pairs = []
    for volume, group in chosen.groupby("volume"):
        stack, sim = load_stack(stores[volume]), load_simulation(sims[volume])
        for i, j in zip(
            _rows_of(sim.slice_index, group["slice"]),
            _rows_of(stack.slice_index, group["slice"]),
            strict=True,
        ):
            pairs.append((sim.lowdose[i], stack.image[j]))
    best, table = sweep_sigma(pairs, sigmas)
    return best, table.assign(n_slices=len(pairs))
