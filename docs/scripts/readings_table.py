"""Image quality of every simulation domain x reconstruction reading on the built-in phantom.

    nice -n 10 .venv/bin/python docs/scripts/readings_table.py \
        [--volumes 6] [--eval-slices 4] [--tuning-slices 1] [--size 512]

The phantom, split and protocol of config/phantom512.yaml (seed 0, 32 slices of 5 mm, LoDoPaB
noise, 1000 views). Tuning slices are drawn from the training volumes as the tune_fbp rule
draws them; evaluation slices are spread evenly over the test volumes. Per domain every slice is
measured once, and every reading reconstructs the same sinograms: the Low-dose image (Ram-Lak,
scaling 1), each of ODL's five filters at scaling 1 and at the scaling tuned for PSNR on the
tuning slices (the library's grid and bounded search), and BM3D of the low-dose images with the
swept sigma and with the paper's 0.075. PSNR/SSIM in the circular ROI, mean +- sd (ddof 1).
Writes docs/simulation_readings.csv and docs/simulation_readings.md.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tact.baselines import SWEEP_SIGMAS, bm3d_denoise, sweep_sigma
from tact.data.layouts import Case
from tact.data.phantom import PhantomSpec, generate_volume, write_lits_pair
from tact.data.slices import SliceStack, extract_slices
from tact.data.split import make_split, pick_tuning_slices
from tact.data.volumes import read_case
from tact.logs import LOG_FORMAT
from tact.metrics.pixel import psnr_in_roi, ssim_in_roi
from tact.physics import Scanner, ScanProtocol
from tact.roi import circular_roi, fill_outside_roi
from tact.seeding import Stream, derive_seed
from tact.simulation import (
    DOMAINS,
    FILTERS,
    _search_scaling,
    extent_mm,
)

DOCS = Path(__file__).resolve().parents[1]
COLUMNS = ["domain", "reading", "filter", "scaling", "sigma_psd", "psnr_mean", "psnr_sd"]
COLUMNS += ["ssim_mean", "ssim_sd", "note"]
log = logging.getLogger("tact.readings_table")
PAPER_SIGMA = 0.075
PAPER_ROWS = [  # the paper's Table 1 on LiTS: PSNR dB mean, sd; SSIM mean
    ("Low-dose", 24.86, 2.25, 0.455),
    ("FBP", 28.06, 2.09, 0.572),
    ("BM3D", 34.21, 3.11, 0.876),
]
Sample = tuple[SliceStack, int]  # a volume's slice store and a row in it
Measured = tuple[Scanner, np.ndarray, np.ndarray]  # scanner, sinogram, ground truth


def load_stacks(n_volumes: int, size: int, seed: int) -> dict[int, SliceStack]:
    """Phantom volumes as the workflow sees them: NIfTI written, read back, slices extracted."""
    spec = PhantomSpec(size=size, n_slices=32, slice_thickness_mm=5.0)
    stacks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for vid in range(n_volumes):
            write_lits_pair(generate_volume(derive_seed(seed, vid), spec), Path(tmp), vid)
            pair = Case(vid, Path(tmp, f"volume-{vid}.nii"), Path(tmp, f"segmentation-{vid}.nii"))
            stacks[vid] = extract_slices(read_case(pair), size)
    return stacks


def choose_slices(
    stacks: dict[int, SliceStack], n_eval: int, n_tuning: int, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """(evaluation, tuning) slices: the workflow's split by volume and its tuning draw."""
    split = make_split({v: s.slice_index for v, s in stacks.items()}, "volume", 0.2, seed)
    rng = np.random.default_rng(derive_seed(seed, Stream.FBP_TUNING))  # as the tune_fbp rule
    tuning = pick_tuning_slices(split, n_tuning, rng)
    test = split[split["split"] == "test"].reset_index(drop=True)
    picks = test.iloc[np.unique(np.linspace(0, len(test) - 1, n_eval).round().astype(int))]

    def rows(table: pd.DataFrame) -> list[Sample]:
        out = []
        for vid, s in zip(table["volume"], table["slice"], strict=True):
            stack = stacks[int(vid)]
            out.append((stack, int(np.flatnonzero(stack.slice_index == s)[0])))
        return out

    return rows(picks), rows(tuning)


def measure(
    samples: list[Sample], domain: str, protocol: ScanProtocol, seed: int
) -> list[Measured]:
    """One noisy sinogram per slice, noise seeded per volume as the simulate rule seeds it."""
    scanners: dict[int, Scanner] = {}
    rngs: dict[int, np.random.Generator] = {}
    out = []
    for stack, i in samples:
        vid, size = stack.volume_id, stack.image.shape[-1]
        if vid not in scanners:
            scanners[vid] = Scanner(size, extent_mm(stack, domain), protocol, "astra_cpu", None)
            rngs[vid] = np.random.default_rng(derive_seed(seed, Stream.SIMULATION, vid))
        truth = stack.image[i]
        out.append((scanners[vid], scanners[vid].measure(truth, rngs[vid]), truth))
    return out


def reconstruct(measured: list[Measured], filter_type: str, scaling: float) -> list[np.ndarray]:
    """FBP of every sinogram, constant 0 outside the ROI as the simulate rule stores it."""
    return [fill_outside_roi(s.fbp(sino, filter_type, scaling), 0.0) for s, sino, _ in measured]


def tune_scalings(measured: list[Measured]) -> dict[str, float]:
    """Each filter's frequency scaling with the best mean ROI PSNR (the library's search)."""
    cache: dict[tuple[str, float], float] = {}

    def evaluate(filter_type: str, value: float) -> float:
        key = (filter_type, round(float(value), 4))
        if key not in cache:
            images = reconstruct(measured, *key)
            cache[key] = float(np.mean(psnrs(images, [m[2] for m in measured])))
        return cache[key]

    best = {}
    for filter_type in FILTERS:
        _search_scaling(filter_type, evaluate)
        mine = {v: p for (f, v), p in cache.items() if f == filter_type}
        best[filter_type] = max(mine, key=mine.get)
        log.info(
            "%s: tuned scaling %.4f, %.2f dB", filter_type, best[filter_type], max(mine.values())
        )
    return best


def psnrs(images: list[np.ndarray], truths: list[np.ndarray]) -> list[float]:
    roi = circular_roi(truths[0].shape[-1])
    return [psnr_in_roi(im, t, roi) for im, t in zip(images, truths, strict=True)]


def scores(images: list[np.ndarray], truths: list[np.ndarray]) -> dict[str, float]:
    """PSNR and SSIM in the ROI: mean and sample sd over the slices (no sd for one slice)."""
    roi = circular_roi(truths[0].shape[-1])
    ssim = [ssim_in_roi(im, t, roi) for im, t in zip(images, truths, strict=True)]
    out = {}
    for name, values in (("psnr", psnrs(images, truths)), ("ssim", ssim)):
        out[f"{name}_mean"] = float(np.mean(values))
        out[f"{name}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
    return out


def edge(value: float, grid: list[float] | np.ndarray, label: str) -> str:
    """A note when a tuned value sits on the bound of its search (the optimum may lie beyond)."""
    return (
        f"{label} at the search bound"
        if np.isclose(value, [min(grid), max(grid)], atol=0.01).any()
        else ""
    )


def domain_rows(domain: str, evaluation: list[Sample], tuning: list[Sample], seed: int) -> list:
    """Every reading of one domain, one dict per table row."""
    protocol = ScanProtocol()
    measured = measure(evaluation, domain, protocol, seed)
    tuned = measure(tuning, domain, protocol, seed)
    truths = [m[2] for m in measured]
    low = reconstruct(measured, "Ram-Lak", 1.0)
    rows = [dict(reading="Low-dose", filter="Ram-Lak", scaling=1.0, **scores(low, truths))]
    for filter_type, best in tune_scalings(tuned).items():
        for label, scaling in (("1.0", 1.0), ("tuned", best)):
            same = (filter_type, scaling) == ("Ram-Lak", 1.0)
            images = low if same else reconstruct(measured, filter_type, scaling)
            note = edge(scaling, [0.01, 1.0], "scaling") if label == "tuned" else ""
            rows.append(
                dict(
                    reading=f"FBP {filter_type} ({label})",
                    filter=filter_type,
                    scaling=scaling,
                    note=note,
                    **scores(images, truths),
                )
            )
        log.info("%s: FBP %s done", domain, filter_type)
    pairs = [(fill_outside_roi(s.fbp(sino), 0.0), truth) for s, sino, truth in tuned]
    swept, _ = sweep_sigma(pairs, SWEEP_SIGMAS, workers=1)
    denoised = {sigma: [bm3d_denoise(im, sigma) for im in low] for sigma in {swept, PAPER_SIGMA}}
    for label, sigma in (("swept", swept), ("paper", PAPER_SIGMA)):
        note = edge(sigma, SWEEP_SIGMAS, "sigma") if label == "swept" else ""
        rows.append(
            dict(
                reading=f"BM3D ({label})",
                sigma_psd=sigma,
                note=note,
                **scores(denoised[sigma], truths),
            )
        )
    return [dict(domain=domain, **row) for row in rows]


def cell(mean: float, sd: float, digits: int) -> str:
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" if np.isfinite(sd) else f"{mean:.{digits}f}"


def markdown(table: pd.DataFrame, header: str) -> str:
    """One row per domain x reading, then the paper's rows for reference."""
    lines = [
        header,
        "",
        "| Domain | Reading | Scaling / sigma | PSNR (dB) | SSIM | Note |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in table.itertuples():
        setting = f"sigma {r.sigma_psd:.3g}" if np.isfinite(r.sigma_psd) else f"{r.scaling:.3f}"
        lines.append(
            f"| {r.domain} | {r.reading} | {setting} | {cell(r.psnr_mean, r.psnr_sd, 2)} "
            f"| {cell(r.ssim_mean, r.ssim_sd, 3)} | {r.note} |"
        )
    for reading, psnr, sd, ssim in PAPER_ROWS:
        lines.append(f"| paper (LiTS) | {reading} | | {psnr:.2f} ± {sd:.2f} | {ssim:.3f} | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=6)
    parser.add_argument("--eval-slices", type=int, default=4)
    parser.add_argument("--tuning-slices", type=int, default=1)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DOCS / "simulation_readings")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    start = time.perf_counter()
    stacks = load_stacks(args.volumes, args.size, args.seed)
    evaluation, tuning = choose_slices(stacks, args.eval_slices, args.tuning_slices, args.seed)
    log.info("evaluation slices %s", [(s.volume_id, int(s.slice_index[i])) for s, i in evaluation])
    log.info("tuning slices %s", [(s.volume_id, int(s.slice_index[i])) for s, i in tuning])
    rows = []
    for domain in DOMAINS:
        rows += domain_rows(domain, evaluation, tuning, args.seed)
        log.info("%s done, %.0f s so far", domain, time.perf_counter() - start)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    table["note"] = table["note"].fillna("")
    table.to_csv(args.out.with_suffix(".csv"), index=False, float_format="%.6g")
    with open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    env = [
        f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ
    ]
    nice = ["nice", "-n", str(os.nice(0))] if os.nice(0) else []
    command = " ".join([*env, shlex.join([*nice, "python", *sys.argv])])
    header = (
        f"Generated {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on "
        f"{len(os.sched_getaffinity(0))} cores ({cpu}) in "
        f"{(time.perf_counter() - start) / 60:.1f} min: {args.volumes} phantom volumes at "
        f"{args.size} px, {len(evaluation)} evaluation slices (test volumes), {len(tuning)} "
        f"tuning slices (training volumes); PSNR/SSIM in the circular ROI, mean ± sd over the "
        f"evaluation slices. Command: `{command}`"
    )
    text = markdown(table, header)
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
