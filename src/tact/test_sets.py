"""The test slices: one method's images, or its label maps by every segmenter, volume by volume.

A test set holds images (or label maps) of test slices in the order of the split's test rows
(by volume, then slice), with the volume id and slice index of each, so that methods line up
slice by slice. Each image lies in one place only: the full dose in the slice stores, the
low-dose and FBP images in the simulations, BM3D in its per-volume files, a network's outputs in
its test file. :class:`TestImages` finds one method's images of a test volume wherever they lie,
and is small enough to send to a worker process, which opens its own volume: no job holds more
than the volume it works on. A label file holds the label maps of one method's images by each
evaluating segmenter (``g``, ``held_out_1``, ...). numpy and h5py only: the report jobs read
these without loading torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from tact.data.names import volume_id_of, volume_ids
from tact.data.slices import open_stack
from tact.data.split import read_split
from tact.errors import InputDataError
from tact.io import add_array, array_file, mapped, read_arrays, write_arrays
from tact.methods import IN_SIMULATIONS, IN_STORES
from tact.simulated_data import load_simulation


@dataclass
class TestSet:
    """Images (or label maps) of the test slices, with where each slice comes from."""

    __test__ = False  # not a pytest test class

    images: np.ndarray  # (n, H, W); a memory map when loaded from a file
    volumes: np.ndarray  # (n,) int
    slices: np.ndarray  # (n,) int

    def __len__(self) -> int:
        return len(self.volumes)

    def lines_up_with(self, other: TestSet) -> bool:
        return np.array_equal(self.volumes, other.volumes) and np.array_equal(
            self.slices, other.slices
        )

    def of_volume(self, volume: int) -> TestSet:
        at = np.flatnonzero(self.volumes == volume)
        return TestSet(np.asarray(self.images[at]), self.volumes[at], self.slices[at])


def save_test_set(test_set: TestSet, path: str | Path) -> None:
    """A method's test images (losslessly compressed: evaluation reads them a volume at a
    time, :func:`load_test_volume`)."""
    arrays = {"images": test_set.images, "volumes": test_set.volumes, "slices": test_set.slices}
    write_arrays(path, arrays, compress=("images",))


def load_test_set(path: str | Path) -> TestSet:
    """A whole test-set file (small runs and tests; jobs read :func:`load_test_volume`)."""
    with read_arrays(path) as file:
        return TestSet(mapped(file["images"]), file["volumes"][()], file["slices"][()])


def load_test_volume(path: str | Path, volume: int) -> TestSet:
    """One volume's rows of a test-set file (its rows lie together, in the split's order)."""
    with read_arrays(path) as file:
        volumes = file["volumes"][()]
        rows = _rows_of_volume(volumes, volume)
        return TestSet(file["images"][rows], volumes[rows], file["slices"][rows])


def _rows_of_volume(volumes: np.ndarray, volume: int) -> slice:
    """The rows of one volume in a test-set or label file, where they lie together."""
    at = np.flatnonzero(volumes == volume)
    return slice(int(at[0]), int(at[-1]) + 1) if len(at) else slice(0, 0)


def concatenate(parts: Sequence[TestSet]) -> TestSet:
    """Join per-volume test sets in volume order."""
    parts = sorted((p for p in parts if len(p)), key=lambda p: int(p.volumes[0]))
    return TestSet(
        np.concatenate([np.asarray(p.images) for p in parts]),
        np.concatenate([p.volumes for p in parts]),
        np.concatenate([p.slices for p in parts]),
    )


def save_label_sets(labels: Mapping[str, TestSet], path: str | Path) -> None:
    """Label maps of one method's images by several segmenters, in one file (compressed)."""
    first = next(iter(labels.values()))
    if not all(part.lines_up_with(first) for part in labels.values()):
        raise ValueError("label maps of different segmenters must cover the same test slices")
    with label_file(
        path, list(labels), first.volumes, first.slices, shape=first.images.shape[1:]
    ) as add:
        for name, maps in labels.items():
            add(name, 0, maps.images)


@contextlib.contextmanager
def label_file(
    path: str | Path,
    segmenters: Sequence[str],
    volumes: np.ndarray,
    slices: np.ndarray,
    *,
    shape: tuple[int, ...],
) -> Iterator[Callable[[str, int, np.ndarray], None]]:
    """A label file written part by part: ``add(segmenter, first_row, maps)``, so that a job
    segments a volume at a time."""
    with array_file(path) as file:
        file.create_dataset("segmenters", data=np.array(segmenters, dtype="S"))
        file.create_dataset("volumes", data=volumes)
        file.create_dataset("slices", data=slices)
        shape = (len(segmenters), len(volumes), *shape)
        maps = add_array(file, "labels", shape, np.uint8, compress=True)

        def add(segmenter: str, first: int, part: np.ndarray) -> None:
            maps[list(segmenters).index(segmenter), first : first + len(part)] = part

        yield add


@contextlib.contextmanager
def test_set_file(
    path: str | Path, volumes: np.ndarray, slices: np.ndarray, shape: tuple[int, ...]
) -> Iterator[Callable[[int, np.ndarray], None]]:
    """A test-set file written part by part: ``add(first_row, images)`` (float32)."""
    with array_file(path) as file:
        file.create_dataset("volumes", data=volumes)
        file.create_dataset("slices", data=slices)
        images = add_array(file, "images", (len(volumes), *shape), np.float32, compress=True)

        def add(first: int, part: np.ndarray) -> None:
            images[first : first + len(part)] = part

        yield add


def load_label_sets(path: str | Path, volume: int | None = None) -> dict[str, TestSet]:
    """Segmenter name -> its label maps of the test slices (of one volume if given)."""
    with read_arrays(path) as file:
        if "segmenters" not in file:
            raise InputDataError(path, "not a label file of this workflow (no segmenters)")
        volumes, slices = file["volumes"][()], file["slices"][()]
        rows = slice(None) if volume is None else _rows_of_volume(volumes, volume)
        return {
            name.decode(): TestSet(file["labels"][k, rows], volumes[rows], slices[rows])
            for k, name in enumerate(file["segmenters"][()])
        }


def split_test_rows(split_path: str | Path, volume: int | None = None) -> pd.DataFrame:
    """The split's test rows (of one volume if given), in a fixed order."""
    split = read_split(split_path)
    rows = split[split["split"] == "test"]
    if volume is not None:
        rows = rows[rows["volume"] == volume]
    return rows.sort_values(["volume", "slice"]).reset_index(drop=True)


def rows_of(slice_index: np.ndarray, wanted: pd.Series) -> np.ndarray:
    position = {int(s): i for i, s in enumerate(slice_index)}
    return np.array([position[int(s)] for s in wanted], dtype=int)


class _TestRows:
    """The split's test rows and volumes, read once (for the dataclasses below)."""

    split: str

    @cached_property
    def rows(self) -> pd.DataFrame:
        """The split's test rows, in the order of every test set."""
        return split_test_rows(self.split)

    @property
    def volumes(self) -> list[int]:
        return sorted(int(v) for v in self.rows["volume"].unique())


@dataclass(frozen=True)
class TestImages(_TestRows):
    """Where one method's test images lie: the slice stores (full dose), the simulations
    (low-dose, FBP) or test-set files (BM3D per volume, a network's one file). It pickles, so
    a worker process opens the volume it evaluates itself."""

    __test__ = False

    name: str
    paths: tuple[str, ...]
    split: str

    def of_volume(self, volume: int) -> TestSet:
        """This method's images of one volume's test slices, in the split's order."""
        wanted = self.rows.loc[self.rows["volume"] == volume, "slice"]
        if self.name in IN_STORES or self.name in IN_SIMULATIONS:
            by_volume = dict(zip(volume_ids(self.paths), self.paths, strict=True))
            images = self._from_volume_file(by_volume[volume], wanted)
        else:
            images = self._from_test_sets(volume, wanted)
        return TestSet(images, np.full(len(wanted), volume), wanted.to_numpy())

    def _from_volume_file(self, path: str, wanted: pd.Series) -> np.ndarray:
        if self.name in IN_STORES:
            with open_stack(path) as stack:
                return stack.image[rows_of(stack.slice_index, wanted)]
        sim = load_simulation(path)
        index = sim.fbp_slice_index if self.name == "fbp" else sim.slice_index
        return np.asarray(getattr(sim, self.name)[rows_of(index, wanted)])

    def _from_test_sets(self, volume: int, wanted: pd.Series) -> np.ndarray:
        for path in self.paths:
            if len(self.paths) > 1 and volume_id_of(path) != volume:
                continue
            part = load_test_volume(path, volume)
            if not np.array_equal(part.slices, wanted.to_numpy()):
                raise InputDataError(
                    path, f"test slices of volume {volume} differ from the split's"
                )
            return part.images
        raise InputDataError(self.paths[0], f"no test images of volume {volume}")

    def __iter__(self) -> Iterator[TestSet]:
        """The test set volume by volume."""
        return (self.of_volume(volume) for volume in self.volumes)


@dataclass(frozen=True)
class GroundTruth(_TestRows):
    """The full-dose images, true label maps and spacing of test volumes, read volume by
    volume from the slice stores."""

    stores: tuple[str, ...]
    split: str

    def of_volume(
        self, volume: int, *, images: bool = True
    ) -> tuple[TestSet | None, TestSet, tuple[float, float, float]]:
        """(images, label maps, spacing in mm: row, col, slice) of one volume's test slices;
        without ``images`` (None in their place) the images are not read."""
        wanted = self.rows.loc[self.rows["volume"] == volume, "slice"]
        where = (np.full(len(wanted), volume), wanted.to_numpy())
        with open_stack(self._store_of(volume)) as stack:
            rows = rows_of(stack.slice_index, wanted)
            full_dose = TestSet(stack.image[rows], *where) if images else None
            masks = TestSet(_read_rows(stack.mask, rows), *where)
            spacing = tuple(float(s) for s in stack.spacing_mm)
        return full_dose, masks, spacing

    def spacing_of(self, volume: int) -> tuple[float, float, float]:
        """(row, col, slice) in mm of one volume, without reading its arrays."""
        with open_stack(self._store_of(volume)) as stack:
            return tuple(float(s) for s in stack.spacing_mm)

    def _store_of(self, volume: int) -> str:
        return dict(zip(volume_ids(self.stores), self.stores, strict=True))[volume]


def _read_rows(dataset, rows: np.ndarray) -> np.ndarray:
    """Rows of an HDF5 dataset in any order (h5py reads increasing rows only)."""
    order = np.argsort(rows)
    out = np.empty((len(rows), *dataset.shape[1:]), dataset.dtype)
    if len(rows):
        out[order] = dataset[rows[order]]
    return out


def gather_ground_truth(
    store_paths: Sequence[str | Path], split_path: str | Path
) -> tuple[TestSet, TestSet, dict[int, tuple[float, ...]]]:
    """Full-dose images, true label maps and, per volume, the spacing in mm (row, col, slice)
    of every test slice at once (for small runs and tests; jobs use :class:`GroundTruth`)."""
    truth = GroundTruth(tuple(map(str, store_paths)), str(split_path))
    parts = [truth.of_volume(volume) for volume in truth.volumes]
    spacing = {volume: part[2] for volume, part in zip(truth.volumes, parts, strict=True)}
    return concatenate([p[0] for p in parts]), concatenate([p[1] for p in parts]), spacing
