"""The baselines' readings as their tuning steps chose them: the FBP baseline's filter and
frequency scaling, and BM3D's sigma. Written by the tuning steps, read by the steps that use
them and by the tables, whose captions say which reading was used and how it was chosen.
Plain JSON, read without ODL or bm3d.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tact.io import atomic_path


def _write_json(path: str | Path, record: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")


def write_fbp_reading(
    path: str | Path, filter_type: str, scaling: float, *, psnr_db: float, n_slices: int
) -> None:
    """The FBP tuning step's choice, read by every simulation job."""
    record = {"filter": filter_type, "frequency_scaling": scaling, "psnr_db": psnr_db}
    _write_json(path, {**record, "n_slices": n_slices})


def read_fbp_reading(path: str | Path) -> tuple[str, float]:
    """(filter type, frequency scaling) of a tuning step's choice."""
    record = json.loads(Path(path).read_text())
    return str(record["filter"]), float(record["frequency_scaling"])


def fbp_reading(
    filter_type: str, scaling: float | str, tuned: str | Path | None
) -> tuple[str, float]:
    """The FBP reading a simulation uses: the config's, where a value is ``auto`` the tuned one."""
    if "auto" in (filter_type, scaling):
        tuned_filter, tuned_scaling = read_fbp_reading(tuned)
        filter_type = tuned_filter if filter_type == "auto" else filter_type
        scaling = tuned_scaling if scaling == "auto" else scaling
    return filter_type, float(scaling)


def write_bm3d_sigma(path: str | Path, sigma_psd: float, n_slices: int) -> None:
    """The BM3D sweep's choice, read by every BM3D job."""
    _write_json(path, {"sigma_psd": sigma_psd, "n_slices": n_slices})


def bm3d_sigma(configured: float | str, swept: str | Path | None) -> float:
    """BM3D's sigma: the config's, or the sweep's where the config says ``auto``."""
    if configured == "auto":
        return float(json.loads(Path(swept).read_text())["sigma_psd"])
    return float(configured)


@dataclass(frozen=True)
class Readings:
    """How the FBP and BM3D rows of a run were made, for the tables' captions."""

    fbp_filter: str
    fbp_scaling: float
    fbp_tuned: bool  # some part of the FBP reading was chosen by the tuning step
    bm3d_sigma: float
    bm3d_swept: bool

    def sentence(self) -> str:
        fbp = f"FBP: {self.fbp_filter} filter, frequency scaling {self.fbp_scaling:.3g}"
        fbp += " (tuned for PSNR on training slices)" if self.fbp_tuned else " (fixed)"
        bm3d = f"BM3D: sigma_psd {self.bm3d_sigma:.3g}"
        bm3d += " (the paper's sweep on training slices)" if self.bm3d_swept else " (fixed)"
        return f"{fbp}; {bm3d}"


def read_readings(
    *,
    fbp_filter: str,
    fbp_scaling: float | str,
    fbp_tuned_file: str | Path | None,
    sigma_psd: float | str,
    sigma_file: str | Path | None,
) -> Readings:
    """The run's readings from its config values and, where those say ``auto``, its files."""
    filter_type, scaling = fbp_reading(fbp_filter, fbp_scaling, fbp_tuned_file)
    return Readings(
        filter_type,
        scaling,
        "auto" in (fbp_filter, fbp_scaling),
        bm3d_sigma(sigma_psd, sigma_file),
        sigma_psd == "auto",
    )
