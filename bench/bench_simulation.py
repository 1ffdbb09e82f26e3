"""Seconds per slice of the LoDoPaB-CT simulation and of each FBP, at 512 px.

    .venv/bin/python bench/bench_simulation.py --backend astra_cpu --slices 5 [--write-docs]

Per slice of a 512 x 512 phantom: "simulate" is upsampling to 1414 px, forward projection at 1000
angles, Poisson noise and the log; then the Ram-Lak FBP and the Hann FBP. The first slice warms
up (operator construction) and is not counted; the median over the rest is reported. With
--write-docs the table replaces this backend's section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from tact.data.phantom import PhantomSpec, generate_volume
from tact.data.units import MU_MAX, hu_to_normalised
from tact.physics import LODOPAB_DOMAIN_MM, Scanner, ScanProtocol, choose_backend

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_section import machine, replace_section, today


def phantom_slices(n: int, size: int) -> np.ndarray:
    volume = generate_volume(11, PhantomSpec(size=size, n_slices=max(n + 4, 16)))
    liver = np.flatnonzero((volume.labels > 0).any(axis=(1, 2)))
    picks = liver[np.linspace(0, len(liver) - 1, n + 1).round().astype(int)]
    return hu_to_normalised(volume.hu[picks])


def agreement_with_cpu(scanner: Scanner, image: np.ndarray) -> str:
    """Relative L2 difference of line integrals and noise-free Ram-Lak FBPs, backend vs CPU."""
    cpu = Scanner(scanner.size, scanner.extent_mm, scanner.protocol, "astra_cpu")
    ours, ref = scanner.line_integrals(image), cpu.line_integrals(image)
    sino_diff = np.linalg.norm(ours - ref) / np.linalg.norm(ref)
    fbp_ours = scanner.fbp(ours / MU_MAX, "Ram-Lak")
    fbp_ref = cpu.fbp(ref / MU_MAX, "Ram-Lak")
    fbp_diff = np.linalg.norm(fbp_ours - fbp_ref) / np.linalg.norm(fbp_ref)
    return (
        f"Agreement with astra_cpu on one slice (relative L2 difference): line integrals "
        f"{sino_diff:.1e}, noise-free Ram-Lak FBP {fbp_diff:.1e}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="auto", choices=["auto", "astra_cpu", "astra_cuda"])
    parser.add_argument("--slices", type=int, default=5)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--compare-cpu", action="store_true", help="also report CUDA vs CPU agreement"
    )
    args = parser.parse_args()
    backend = choose_backend(args.backend)
    images = phantom_slices(args.slices, args.size)
    scanner = Scanner(args.size, LODOPAB_DOMAIN_MM, ScanProtocol(), backend)
    rng = np.random.default_rng(0)
    times: dict[str, list[float]] = {"simulate": [], "Ram-Lak FBP": [], "Hann FBP": []}
    for i, image in enumerate(images):
        t0 = time.perf_counter()
        sinogram = scanner.measure(image, rng)
        t1 = time.perf_counter()
        scanner.fbp(sinogram, "Ram-Lak", 1.0)
        t2 = time.perf_counter()
        scanner.fbp(sinogram, "Hann", 0.641)
        t3 = time.perf_counter()
        if i > 0:  # slice 0 builds the operators
            for key, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                times[key].append(seconds)
    medians = {key: statistics.median(values) for key, values in times.items()}
    total = sum(medians.values())
    fine = scanner.fine_space.shape[0]
    lines = [
        f"### Simulation per {args.size} px slice, {backend}",
        "",
        f"`python bench/bench_simulation.py --backend {backend} --slices {args.slices}"
        f"{' --compare-cpu' if args.compare_cpu else ''}`; "
        f"{machine()}; {today()}. Median over {args.slices} phantom slices (one process), "
        f"projection from {fine} px at {scanner.sinogram_shape[0]} angles x "
        f"{scanner.sinogram_shape[1]} detector pixels.",
        "",
        "| step | seconds per slice |",
        "|---|---|",
        *(f"| {key} | {value:.3f} |" for key, value in medians.items()),
        f"| whole protocol | {total:.3f} ({1 / total:.2f} slices/s) |",
    ]
    if args.compare_cpu and backend != "astra_cpu":
        lines += ["", agreement_with_cpu(scanner, images[0])]
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        replace_section(f"simulation-{backend}", text)


if __name__ == "__main__":
    main()
