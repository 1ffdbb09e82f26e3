"""The simulation stage's files: each volume's reconstructions and its detected photon counts.

numpy only, so that the steps that read them (BM3D, evaluation, training, report) do not load
ODL and ASTRA; ``tact.simulation`` makes them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tact.io import atomic_path, mapped, read_arrays, read_npz, write_arrays


@dataclass
class SimulatedStack:
    """Low-dose reconstructions of one volume's slices, aligned with its slice store."""

    volume_id: int
    slice_index: np.ndarray  # (n,)
    lowdose: np.ndarray  # (n, size, size) float32, Ram-Lak FBP
    fbp: np.ndarray  # (n, size, size) float32, the FBP baseline (fbp_filter, frequency_scaling)
    n_views: int
    extent_mm: float
    frequency_scaling: float
    fbp_filter: str = "Hann"
    sinogram: np.ndarray | None = None  # (n, views, detectors) float32 when kept
    counts: np.ndarray | None = None  # (n, views, detectors) detected photons (not in the npz)
    # the slices whose FBP image and counts are kept (the test slices: only the FBP row of the
    # tables and the consistency check read them); None: every slice, in slice_index's order
    kept_slice_index: np.ndarray | None = None

    @property
    def fbp_slice_index(self) -> np.ndarray:
        """The slice index of each FBP image (and each slice's counts)."""
        return self.slice_index if self.kept_slice_index is None else self.kept_slice_index


def keep_test_slices(sim: SimulatedStack, test_slices: np.ndarray) -> SimulatedStack:
    """The simulation with its FBP images and counts of the test slices alone: at 512 px each
    costs about 1 MB a slice, a third of a simulation's bytes (docs/scale.md). The low-dose
    images stay for every slice: the networks train on them."""
    rows = np.flatnonzero(np.isin(sim.slice_index, test_slices))
    return replace(
        sim,
        fbp=sim.fbp[rows],
        counts=None if sim.counts is None else sim.counts[rows],
        kept_slice_index=sim.slice_index[rows],
    )


@dataclass
class Measurements:
    """The detected photon counts of one volume's slices, and how they were acquired."""

    volume_id: int
    slice_index: np.ndarray  # (n,)
    counts: np.ndarray  # (n, views, detectors)
    extent_mm: float
    backend: str


def save_measurements(sim: SimulatedStack, backend: str, path: str | Path) -> None:
    """The counts of a simulated volume, compressed (Poisson counts compress to about half)."""
    with atomic_path(path) as tmp:
        np.savez_compressed(
            tmp,
            volume_id=np.int64(sim.volume_id),
            slice_index=sim.fbp_slice_index,
            counts=sim.counts,
            extent_mm=np.float64(sim.extent_mm),
            backend=np.array(backend),
        )


def load_measurements(path: str | Path) -> Measurements:
    with read_npz(path) as data:
        return Measurements(
            volume_id=int(data["volume_id"]),
            slice_index=data["slice_index"],
            counts=data["counts"],
            extent_mm=float(data["extent_mm"]),
            backend=str(data["backend"]),
        )


def save_simulation(sim: SimulatedStack, path: str | Path) -> None:
    """The low-dose and FBP images (and sinograms if kept), memory-mappable (tact.io)."""
    arrays = {"slice_index": sim.slice_index, "lowdose": sim.lowdose, "fbp": sim.fbp}
    if sim.kept_slice_index is not None:
        arrays["fbp_slice_index"] = sim.kept_slice_index
    if sim.sinogram is not None:
        arrays["sinogram"] = sim.sinogram
    attrs = {
        "volume_id": sim.volume_id,
        "n_views": sim.n_views,
        "extent_mm": sim.extent_mm,
        "frequency_scaling": sim.frequency_scaling,
        "fbp_filter": sim.fbp_filter,
    }
    write_arrays(path, arrays, attrs=attrs)


def load_simulation(path: str | Path) -> SimulatedStack:
    """A simulated volume whose images are memory-mapped: indexing reads only those slices."""
    with read_arrays(path) as file:
        attrs = file.attrs
        return SimulatedStack(
            volume_id=int(attrs["volume_id"]),
            slice_index=file["slice_index"][()],
            lowdose=mapped(file["lowdose"]),
            fbp=mapped(file["fbp"]),
            n_views=int(attrs["n_views"]),
            extent_mm=float(attrs["extent_mm"]),
            frequency_scaling=float(attrs["frequency_scaling"]),
            fbp_filter=str(attrs["fbp_filter"]),
            sinogram=mapped(file["sinogram"]) if "sinogram" in file else None,
            kept_slice_index=file["fbp_slice_index"][()] if "fbp_slice_index" in file else None,
        )
