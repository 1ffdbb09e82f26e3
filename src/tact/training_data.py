"""The slices a training learns from: loaded from the stores, split for validation, placed.

Reconstruction jobs learn low-dose -> full-dose; a segmentation job learns from full-dose
slices, plus their low-dose input when it trains on low-dose copies (the robust segmenter).
Validation holds out whole volumes, so that early stopping is not judged on neighbouring
slices of the ones trained on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from tact.data.slices import StoredImages, open_stack
from tact.data.split import read_split
from tact.io import release_pages
from tact.seeding import Stream, derive_seed
from tact.simulated_data import load_simulation
from tact.training_settings import Job

log = logging.getLogger(__name__)


Rows = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # inputs, targets (N, 1, H, W), labels


@dataclass
class Slices:
    """Training arrays in memory: network input, reconstruction target, labels (CPU tensors).
    For tests and benchmarks; the workflow's jobs read :class:`StoredSlices`."""

    inputs: torch.Tensor  # (N, 1, H, W) float32
    targets: torch.Tensor  # (N, 1, H, W) float32
    labels: torch.Tensor  # (N, H, W) uint8
    volumes: np.ndarray  # (N,) volume id of every slice

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_size(self) -> int:
        return int(self.inputs.shape[-1])

    def subset(self, index: np.ndarray) -> Slices:
        rows = torch.as_tensor(index, dtype=torch.long)
        return Slices(self.inputs[rows], self.targets[rows], self.labels[rows], self.volumes[index])

    def rows(self, index: np.ndarray) -> Rows:
        """(inputs, targets, labels) of the rows ``index``, in that order."""
        rows = torch.as_tensor(index, dtype=torch.long)
        return self.inputs[rows].float(), self.targets[rows].float(), self.labels[rows]


@dataclass
class _Volume:
    """Where one volume's training slices lie: memory maps of the input and target images,
    the label maps' dataset (compressed, read by slice)."""

    volume_id: int
    inputs: Any  # indexable by store rows: float32 images
    targets: Any
    masks: h5py.Dataset


class StoredSlices:
    """The training slices as they lie in the slice stores and simulations: rows are read when
    a batch (or a chunk being moved to the GPU) asks for them, so a training holds a batch, not
    the dataset (issue 32: 116 GiB projected at paper scale when it held the dataset)."""

    def __init__(self, parts: list[_Volume], part: np.ndarray, row: np.ndarray, files: list):
        self._parts, self._part, self._row, self._files = parts, part, row, files
        self._rows_read = 0  # since the pages were last let go
        self.volumes = np.array([parts[k].volume_id for k in part], dtype=int)

    def __len__(self) -> int:
        return len(self._part)

    @property
    def image_size(self) -> int:
        return int(self._parts[0].targets.shape[-1])

    def subset(self, index: np.ndarray) -> StoredSlices:
        return StoredSlices(self._parts, self._part[index], self._row[index], self._files)

    def rows(self, index: np.ndarray) -> Rows:
        """(inputs, targets, labels) of the rows ``index``, in that order, read volume by
        volume (rows of one volume in increasing order, as memory maps and HDF5 read best)."""
        index = np.asarray(index, dtype=int)
        size = self.image_size
        inputs = np.empty((len(index), 1, size, size), np.float32)
        targets, labels = np.empty_like(inputs), np.empty((len(index), size, size), np.uint8)
        for k in np.unique(self._part[index]):
            at = np.flatnonzero(self._part[index] == k)
            local = self._row[index[at]]
            order = np.argsort(local)
            at, local = at[order], local[order]
            part = self._parts[k]
            inputs[at, 0], targets[at, 0] = part.inputs[local], part.targets[local]
            unique, repeat = np.unique(local, return_inverse=True)  # HDF5 reads each row once
            labels[at] = part.masks[unique][repeat]
        self._rows_read += len(index)
        if self._rows_read >= CHUNK:
            self.release_pages()
        return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(labels)

    def release_pages(self) -> None:
        """Let go of the file pages that reads touched (tact.io.release_pages). ``rows`` does
        it once a chunk's worth of rows has been read, so a training that reads its split
        chunk by chunk, or batch by batch, holds at most a chunk's pages, not every row it has
        read. (Reading an epoch of 16-slice batches of 800 slices at 512 px in random order:
        8.27 s against 8.00 s keeping the pages, means of 6 epochs, 2-core machine,
        2026-12-07; within the machine's noise of 7.4 to 8.4 s.)"""
        for part in self._parts:
            for images in (part.inputs, part.targets):
                if isinstance(images, StoredImages):
                    images.release_pages()
                else:
                    release_pages(images)
        self._rows_read = 0


TrainingSlices = Slices | StoredSlices


def load_training_slices(
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    sim_paths: Sequence[str | Path] | None = None,
) -> StoredSlices:
    """The training split: full-dose input (segmentation) or low-dose input (reconstruction).
    Reads no image: only which rows of which volume are training slices."""
    split = read_split(split_path)
    train = split[split["split"] == "train"]
    sims = {}
    for path in sim_paths or []:
        sim = load_simulation(path)
        sims[sim.volume_id] = sim
    parts, part, row, files = [], [], [], []
    for path in store_paths:
        file = h5py.File(path, "r", rdcc_nbytes=0)  # kept open: label maps read by slice
        with open_stack(path) as stack:
            wanted = set(train.loc[train["volume"] == stack.volume_id, "slice"])
            rows = np.array([i for i, s in enumerate(stack.slice_index) if int(s) in wanted], int)
            images = stack.image
            if sim_paths is not None:
                sim = sims[stack.volume_id]
                if not np.array_equal(sim.slice_index, stack.slice_index):
                    raise ValueError(
                        f"volume {stack.volume_id}: simulation and slice store disagree"
                    )
        if len(rows) == 0:
            file.close()
            continue
        files.append(file)
        inputs = images if sim_paths is None else sims[stack.volume_id].lowdose
        part.append(np.full(len(rows), len(parts)))
        row.append(rows)
        parts.append(_Volume(stack.volume_id, inputs, images, file["mask"]))
    if not parts:
        raise ValueError(f"{split_path}: the training split is empty")
    return StoredSlices(parts, np.concatenate(part), np.concatenate(row), files)


def _joined(first: TrainingSlices, second: TrainingSlices) -> TrainingSlices:
    """Two sets of slices as one (the robust segmenter's full- and low-dose copies)."""
    if isinstance(first, Slices):
        return Slices(
            inputs=torch.cat([first.inputs, second.inputs]),
            targets=torch.cat([first.targets, second.targets]),
            labels=torch.cat([first.labels, second.labels]),
            volumes=np.concatenate([first.volumes, second.volumes]),
        )
    offset = len(first._parts)
    return StoredSlices(
        first._parts + second._parts,
        np.concatenate([first._part, second._part + offset]),
        np.concatenate([first._row, second._row]),
        first._files + second._files,
    )


def training_data(
    job: Job,
    store_paths: Sequence[str | Path],
    split_path: str | Path,
    sim_paths: Sequence[str | Path] | None,
) -> StoredSlices:
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
    return _joined(fulldose, load_training_slices(store_paths, split_path, sim_paths))


def split_validation(
    data: TrainingSlices, fraction: float, seed: int
) -> tuple[TrainingSlices, TrainingSlices]:
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


CHUNK = 256  # rows moved to the GPU at a time


def hold_on_device(data: TrainingSlices, device: torch.device) -> Rows:
    """Every slice of ``data`` on ``device``, images in 16 bits, read a chunk at a time.

    Each chunk is read and copied in its own call, so its host arrays are gone before the next
    chunk is read: the host holds one chunk whatever the data's size. (Read in one loop, the
    previous chunk stayed bound until the next one was read: two chunks at once, which at 300
    and 700 training slices looked like 1.6 MB of anonymous memory more a slice; issue 32,
    H100, 2026-12-07, docs/scale.md.)"""
    size, n = data.image_size, len(data)
    inputs = torch.empty((n, 1, size, size), dtype=torch.float16, device=device)
    targets = torch.empty_like(inputs)
    labels = torch.empty((n, size, size), dtype=torch.uint8, device=device)
    for start in range(0, n, CHUNK):
        _copy_chunk(data, range(start, min(start + CHUNK, n)), (inputs, targets, labels))
    return inputs, targets, labels


def _copy_chunk(data: TrainingSlices, rows: range, held: Rows) -> None:
    """Read ``rows`` and copy them into ``held``; the host's arrays end with this call."""
    chunk = slice(rows.start, rows.stop)
    for out, values in zip(held, data.rows(np.asarray(rows)), strict=True):
        out[chunk] = values.to(out.device, out.dtype)


class DeviceSlices:
    """The slices where the steps run: on the GPU (16-bit) when they fit, moved there a chunk
    at a time; else read batch by batch from where they lie (the next batch prepared while the
    current one trains; on a GPU rounded to 16 bits as well, so both ways give the same
    numbers). The CPU trains on the float32 images as stored."""

    def __init__(self, data: TrainingSlices, device: torch.device) -> None:
        self.device, self.data, self.n = device, data, len(data)
        self.resident = device.type == "cuda" and self._fits(data, device)
        if self.resident:
            self.inputs, self.targets, self.labels = hold_on_device(data, device)
        log.info("%d slices %s", self.n, "held on the GPU" if self.resident else "read by batch")

    @staticmethod
    def _fits(data: TrainingSlices, device: torch.device) -> bool:
        needed = 5 * len(data) * data.image_size**2  # 16-bit input and target, 8-bit labels
        free, _ = torch.cuda.mem_get_info(device)
        return needed < 0.4 * free

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(input, target, labels) of the rows ``index``, as float32 / int64 on the device."""
        channels_last = torch.channels_last if self.device.type == "cuda" else None
        if self.resident:
            index = index.to(self.inputs.device)
            x, target, labels = self.inputs[index], self.targets[index], self.labels[index]
        else:
            x, target, labels = self.data.rows(index.numpy())
            if self.device.type == "cuda":  # 16-bit as when held there: free memory, which
                # other jobs on the GPU change, must not decide the images a training sees
                x, target = x.half().pin_memory(), target.half().pin_memory()
                labels = labels.pin_memory()

        def images(t: torch.Tensor) -> torch.Tensor:
            out = t.to(self.device, torch.float32, non_blocking=True)
            return out.contiguous(memory_format=channels_last) if channels_last else out

        labels = labels.to(self.device, torch.long, non_blocking=True)
        return images(x), images(target), labels

    def batches(self, indices: Sequence[torch.Tensor]) -> Iterator[tuple[torch.Tensor, ...]]:
        """The batches of ``indices`` in order; read from disk, the next one is read in a
        thread while the current one trains."""
        if self.resident or len(indices) < 2:
            yield from (self.batch(index) for index in indices)
            return
        with ThreadPoolExecutor(1) as reader:
            pending = reader.submit(self.batch, indices[0])
            for index in indices[1:]:
                ready, pending = pending.result(), reader.submit(self.batch, index)
                yield ready
            yield pending.result()
