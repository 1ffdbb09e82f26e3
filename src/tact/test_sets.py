"""Files of the test slices: one method's images, or its label maps by every segmenter.

A test set holds one method's images of every test slice, in the order of the split's test
rows, with the volume id and slice index of each, so that methods line up slice by slice. A
label file holds the label maps of one method's images by each evaluating segmenter (``g``,
``held_out_1``, ...). numpy only: the report jobs read these without loading torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tact.data.names import volume_ids
from tact.data.slices import load_stack
from tact.data.split import read_split
from tact.errors import InputDataError
from tact.io import atomic_path, read_npz


@dataclass
class TestSet:
    """Images (or label maps) of the test slices, with where each slice comes from."""

    __test__ = False  # not a pytest test class

    images: np.ndarray  # (n, H, W)
    volumes: np.ndarray  # (n,) int
    slices: np.ndarray  # (n,) int

    def __len__(self) -> int:
        return len(self.volumes)

    def lines_up_with(self, other: TestSet) -> bool:
        return np.array_equal(self.volumes, other.volumes) and np.array_equal(
            self.slices, other.slices
        )


def save_test_set(test_set: TestSet, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        np.savez(tmp, images=test_set.images, volumes=test_set.volumes, slices=test_set.slices)


def load_test_set(path: str | Path) -> TestSet:
    with read_npz(path) as data:
        return TestSet(data["images"], data["volumes"], data["slices"])


def concatenate(parts: Sequence[TestSet]) -> TestSet:
    """Join per-volume test sets (e.g. the BM3D jobs) in volume order."""
    parts = sorted((p for p in parts if len(p)), key=lambda p: int(p.volumes[0]))
    return TestSet(
        np.concatenate([p.images for p in parts]),
        np.concatenate([p.volumes for p in parts]),
        np.concatenate([p.slices for p in parts]),
    )


def save_label_sets(labels: Mapping[str, TestSet], path: str | Path) -> None:
    """Label maps of one method's images by several segmenters, in one file."""
    names = list(labels)
    first = labels[names[0]]
    if not all(labels[name].lines_up_with(first) for name in names):
        raise ValueError("label maps of different segmenters must cover the same test slices")
    with atomic_path(path) as tmp:
        np.savez(
            tmp,
            segmenters=np.array(names),
            labels=np.stack([labels[name].images for name in names]).astype(np.uint8),
            volumes=first.volumes,
            slices=first.slices,
        )


def load_label_sets(path: str | Path) -> dict[str, TestSet]:
    """Segmenter name -> its label maps of the test slices (see :func:`save_label_sets`)."""
    with read_npz(path) as data:
        if "segmenters" not in data:
            raise InputDataError(path, "not a label file of this workflow (no segmenters)")
        return {
            str(name): TestSet(data["labels"][k], data["volumes"], data["slices"])
            for k, name in enumerate(data["segmenters"])
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


def gather_ground_truth(
    store_paths: Sequence[str | Path], split_path: str | Path
) -> tuple[TestSet, TestSet, dict[int, tuple[float, ...]]]:
    """Full-dose images, true label maps and, per volume, the spacing in mm (row, col, slice)
    of the test slices."""
    rows = split_test_rows(split_path)
    paths = dict(zip(volume_ids(store_paths), store_paths, strict=True))
    images, masks, spacing = [], [], {}
    for volume, group in rows.groupby("volume", sort=True):
        stack = load_stack(paths[volume])
        index = rows_of(stack.slice_index, group["slice"])
        images.append(stack.image[index])
        masks.append(stack.mask[index])
        spacing[int(volume)] = tuple(float(s) for s in stack.spacing_mm)
    volumes, slices = rows["volume"].to_numpy(), rows["slice"].to_numpy()
    return (
        TestSet(np.concatenate(images), volumes, slices),
        TestSet(np.concatenate(masks), volumes, slices),
        spacing,
    )
