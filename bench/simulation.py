"""Slices per second of the paper's simulation protocol at 512 px, on the CPU and with the GPU.

    .venv/bin/python bench/simulation.py [--workers N] [--slices N] [--cpu-slices N]
        [--configs cpu gpu] [--json out.json] [--write-docs]

The protocol is the workflow's (``tact.simulation.simulate_stack``): per slice, upsampling to
1414 px, forward projection at 1000 angles x 727 detector pixels, Poisson noise (4096 photons),
the log, a Ram-Lak FBP and a tuned Hann FBP, the ROI fill. Configurations:

- ``cpu``: ASTRA's CPU projector and ODL's astra_cpu FBPs (what a machine without GPU runs);
- ``gpu``: CUDA ASTRA projection and the torch FBPs on the GPU, batched (``tact.fbp_torch``);
- ``torch-cpu``: the CPU projector and the torch FBPs on the CPU (checks the code path anywhere).

Throughput is measured as the workflow runs: ``--workers`` processes (default: all cores, one
simulate job per volume per core), each simulating its own phantom volume; they warm up (CUDA,
operators), start together, and the aggregate is all their slices over the wall time from the
common start to the last one's end. Then, in one process: seconds per step and slice, and the
agreement of the GPU images with the CPU ones on a few slices (the same sinograms through both
FBPs; and the whole protocol with the same seed on both). ``--json`` writes every number
(``simulation_slices_per_s_gpu`` among them); ``--write-docs`` replaces the ``simulation``
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from tact.data.phantom import PhantomSpec, generate_volume
from tact.data.slices import SliceStack
from tact.data.units import hu_to_normalised
from tact.metrics.pixel import psnr_in_roi
from tact.physics import Scanner, ScanProtocol, choose_backend, torch_cuda_works
from tact.roi import circular_roi
from tact.simulation import FBP_BATCH, TUNED_FILTER, simulate_stack

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_section import DOC, machine, replace_section, today

PAPER_SLICES = 19_163  # the paper's LiTS slices
STEPS = (
    "upsample",
    "projection",
    "noise + log",
    "Ram-Lak FBP",
    "Hann FBP",
    "both FBPs in one pass",
    "whole protocol",
)
CONFIGS = {
    "cpu": ("astra_cpu", None, "CPU: ASTRA CPU projection, ODL astra_cpu FBPs"),
    "gpu": ("astra_cuda", "cuda", "GPU: CUDA ASTRA projection, torch FBPs on the GPU"),
    "torch-cpu": ("astra_cpu", "cpu", "CPU projection, torch FBPs on the CPU"),
}


def phantom_stack(seed: int, n_slices: int, size: int) -> SliceStack:
    """The central ``n_slices`` slices of one phantom volume (its own field of view)."""
    volume = generate_volume(seed, PhantomSpec(size=size, n_slices=max(8, n_slices + 4)))
    first = (volume.hu.shape[0] - n_slices) // 2
    picks = slice(first, first + n_slices)
    return SliceStack(
        volume_id=seed,
        image=hu_to_normalised(volume.hu[picks]).astype(np.float32),
        mask=volume.labels[picks],
        slice_index=np.arange(first, first + n_slices, dtype=np.int32),
        spacing_mm=np.array(volume.spacing_mm, dtype=np.float64),
    )


def _subset(stack: SliceStack, n: int) -> SliceStack:
    return SliceStack(
        stack.volume_id, stack.image[:n], stack.mask[:n], stack.slice_index[:n], stack.spacing_mm
    )


def _worker(config: str, seed: int, n_slices: int, args: dict, barrier, results) -> None:
    """One simulate job: warm up, wait for the others, simulate a volume, report the times."""
    import torch

    torch.set_num_threads(1)  # one core per job, as the workflow's simulate rule
    backend, fbp_device, _ = CONFIGS[config]
    stack = phantom_stack(seed, n_slices, args["size"])
    run = {
        "protocol": ScanProtocol(),
        "domain": "physical",
        "fbp_reading": ("Hann", args["scaling"]),
        "backend": backend,
        "progress": False,
        "fbp_device": fbp_device,
        "fbp_batch": args["fbp_batch"],
    }
    simulate_stack(_subset(stack, 1), rng=np.random.default_rng(seed), **run)  # CUDA, caches
    barrier.wait(timeout=1800)
    start = time.perf_counter()
    simulate_stack(stack, rng=np.random.default_rng(seed), **run)
    results.put((start, time.perf_counter(), len(stack)))


def throughput(config: str, workers: int, slices: int, args: dict) -> dict:
    """Aggregate slices/s of ``workers`` simulate processes started together."""
    context = mp.get_context("spawn")  # CUDA does not survive fork
    barrier, results = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(target=_worker, args=(config, 100 + w, slices, args, barrier, results))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    times = []
    while len(times) < workers:
        try:
            times.append(results.get(timeout=5))
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in processes):
                for process in processes:
                    process.terminate()
                raise RuntimeError(f"a {config} worker failed, see its traceback above") from None
    for process in processes:
        process.join()
    wall = max(t[1] for t in times) - min(t[0] for t in times)
    total = sum(t[2] for t in times)
    rate = total / wall
    return {
        "workers": workers,
        "slices": total,
        "wall_s": wall,
        "slices_per_s": rate,
        "paper_hours": PAPER_SLICES / rate / 3600,
    }


def step_seconds(config: str, stack: SliceStack, args: dict) -> dict[str, float]:
    """Median seconds per slice of each step in one process (FBPs batched on a torch device)."""
    backend, fbp_device, _ = CONFIGS[config]
    extent = float(stack.spacing_mm[1] * args["size"])
    scanner = Scanner(args["size"], extent, ScanProtocol(), backend, fbp_device)
    rng = np.random.default_rng(0)
    filters = {"Ram-Lak FBP": ("Ram-Lak", 1.0), "Hann FBP": (TUNED_FILTER, args["scaling"])}
    times: dict[str, list[float]] = {"upsample": [], "projection": [], "noise + log": []}
    sinograms = []
    for i, image in enumerate(stack.image):
        t0 = time.perf_counter()
        fine = scanner.upsample(image)
        t1 = time.perf_counter()
        line_integrals = scanner.project(fine)
        t2 = time.perf_counter()
        counts = rng.poisson(scanner.protocol.photons_per_pixel * np.exp(-line_integrals))
        sinograms.append(scanner.counts_to_sinogram(counts.astype(np.float64)))
        t3 = time.perf_counter()
        if i > 0 or len(stack) == 1:  # the first slice builds the operators
            for key, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                times[key].append(seconds)
    steps = {key: statistics.median(values) for key, values in times.items()}
    batch = np.stack(sinograms)
    scanner.fbp_many(batch[:1], list(filters.values()))  # warm-up
    if fbp_device is None:
        for name, spec in filters.items():
            t0 = time.perf_counter()
            for sinogram in batch:
                scanner.fbp_many(sinogram[None], [spec])
            steps[name] = (time.perf_counter() - t0) / len(batch)
    else:  # a full batch, as simulate_stack passes it (the sinograms repeated)
        batch = batch[np.arange(args["fbp_batch"]) % len(batch)]
        for name, spec in filters.items():
            t0 = time.perf_counter()
            scanner.fbp_many(batch, [spec])
            steps[name] = (time.perf_counter() - t0) / len(batch)
        t0 = time.perf_counter()
        scanner.fbp_many(batch, list(filters.values()))
        steps["both FBPs in one pass"] = (time.perf_counter() - t0) / len(batch)
    fbps = steps.get("both FBPs in one pass", steps["Ram-Lak FBP"] + steps["Hann FBP"])
    steps["whole protocol"] = steps["upsample"] + steps["projection"] + steps["noise + log"] + fbps
    return steps


def _compare(ours: np.ndarray, reference: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Relative L2 difference and PSNR difference (ROI, against the truth) per slice."""
    roi = circular_roi(truth.shape[-1])
    rel = [np.linalg.norm(o - r) / np.linalg.norm(r) for o, r in zip(ours, reference, strict=True)]
    dpsnr = [
        abs(psnr_in_roi(o, t, roi) - psnr_in_roi(r, t, roi))
        for o, r, t in zip(ours, reference, truth, strict=True)
    ]
    return {
        "rel_l2_max": float(max(rel)),
        "rel_l2_mean": float(np.mean(rel)),
        "psnr_diff_db_mean": float(np.mean(dpsnr)),
        "psnr_diff_db_max": float(max(dpsnr)),
    }


def agreement(config: str, stack: SliceStack, args: dict) -> dict[str, dict]:
    """``config``'s images against the CPU ones: same sinograms, and same seed end to end."""
    backend, fbp_device, _ = CONFIGS[config]
    extent = float(stack.spacing_mm[1] * args["size"])
    ours = Scanner(args["size"], extent, ScanProtocol(), backend, fbp_device)
    cpu = Scanner(args["size"], extent, ScanProtocol(), "astra_cpu", None)
    filters = [("Ram-Lak", 1.0), (TUNED_FILTER, args["scaling"])]
    rng = np.random.default_rng(1)
    sinograms = np.stack([ours.measure(image, rng) for image in stack.image])
    mine, reference = ours.fbp_many(sinograms, filters), cpu.fbp_many(sinograms, filters)
    result = {
        f"same sinograms, {name}": _compare(m, r, stack.image)
        for name, m, r in zip(("Ram-Lak", "Hann"), mine, reference, strict=True)
    }
    run = {"protocol": ScanProtocol(), "domain": "physical", "progress": False}
    run |= {"fbp_reading": ("Hann", args["scaling"]), "rng": np.random.default_rng(2)}
    ours_run = simulate_stack(stack, backend=backend, fbp_device=fbp_device, **run)
    run["rng"] = np.random.default_rng(2)
    cpu_run = simulate_stack(stack, backend="astra_cpu", fbp_device=None, **run)
    result["whole protocol, same seed, Ram-Lak"] = _compare(
        ours_run.lowdose, cpu_run.lowdose, stack.image
    )
    result["whole protocol, same seed, Hann"] = _compare(ours_run.fbp, cpu_run.fbp, stack.image)
    return result


def _duration(hours: float) -> str:
    return f"{hours:.1f} h" if hours >= 1 else f"{hours * 60:.1f} min"


def report(results: dict) -> str:
    """The markdown section for docs/benchmarks.md."""
    a = results["args"]
    lines = [
        f"### Simulation throughput at {a['size']} px, whole protocol",
        "",
        f"`{results['command']}`; {results['machine']}; {results['date']}. Per slice: upsampling "
        f"to {results['fine_px']} px, projection at {results['sinogram'][0]} angles x "
        f"{results['sinogram'][1]} detector pixels, Poisson noise, Ram-Lak FBP and Hann FBP "
        f"(scaling {a['scaling']}), as `simulate_stack`; the physical-domain phantom volumes. "
        "Workers are separate processes started together, one volume each, as the workflow's "
        f"simulate jobs; GPU FBPs in batches of {a['fbp_batch']} slices.",
        "",
        "| configuration | workers | slices | wall s | slices/s | paper's 19,163 slices |",
        "|---|---|---|---|---|---|",
    ]
    for config, r in results["throughput"].items():
        lines.append(
            f"| {CONFIGS[config][2]} | {r['workers']} | {r['slices']} | {r['wall_s']:.1f} | "
            f"**{r['slices_per_s']:.2f}** | {_duration(r['paper_hours'])} |"
        )
    steps = results["steps"]
    names = [name for name in STEPS if any(name in s for s in steps.values())]
    lines += [
        "",
        "Seconds per slice and step in one process (median over slices; torch FBPs: one batch "
        f"of {a['fbp_batch']} slices, divided by the batch):",
        "",
        "| step | " + " | ".join(steps) + " |",
        "|---|" + "---|" * len(steps),
    ]
    for name in names:
        cells = [f"{s[name]:.4f}" if name in s else "" for s in steps.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for config, table in results["agreement"].items():
        lines += [
            "",
            f"{CONFIGS[config][2]} against the CPU images ({a['agreement_slices']} slices):",
            "",
            "| images | relative L2, max | PSNR difference dB, mean | max |",
            "|---|---|---|---|",
        ]
        for name, r in table.items():
            lines.append(
                f"| {name} | {r['rel_l2_max']:.1e} | {r['psnr_diff_db_mean']:.1e} | "
                f"{r['psnr_diff_db_max']:.1e} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--slices", type=int, default=64, help="per worker, GPU configurations")
    parser.add_argument("--cpu-slices", type=int, default=2, help="per worker, CPU FBP (slow)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--scaling", type=float, default=0.437, help="Hann frequency scaling")
    parser.add_argument("--fbp-batch", type=int, default=FBP_BATCH)
    parser.add_argument("--step-slices", type=int, default=3, help="for the per-step times")
    parser.add_argument("--agreement-slices", type=int, default=3)
    parser.add_argument("--json", type=Path, help="merge every number into this file")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--doc", type=Path, default=DOC, help=argparse.SUPPRESS)
    args = parser.parse_args()
    gpu = choose_backend("auto") == "astra_cuda" and torch_cuda_works()
    configs = args.configs or (["cpu", "gpu"] if gpu else ["cpu"])
    if "gpu" in configs and not gpu:
        parser.error("the gpu configuration needs CUDA ASTRA and torch with CUDA")
    settings = {
        "size": args.size,
        "scaling": args.scaling,
        "fbp_batch": args.fbp_batch,
        "agreement_slices": args.agreement_slices,
    }
    results: dict = {
        "command": "python bench/simulation.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "date": today(),
        "args": settings,
        "throughput": {},
        "steps": {},
        "agreement": {},
    }
    for config in configs:
        per_worker = args.slices if CONFIGS[config][1] else args.cpu_slices
        print(f"{config}: {args.workers} workers x {per_worker} slices ...", flush=True)
        results["throughput"][config] = throughput(config, args.workers, per_worker, settings)
        print(f"  {results['throughput'][config]['slices_per_s']:.2f} slices/s", flush=True)
    stack = phantom_stack(7, max(args.step_slices, args.agreement_slices), args.size)
    scanner = Scanner(args.size, float(stack.spacing_mm[1] * args.size), ScanProtocol())
    results["fine_px"] = scanner.fine_space.shape[0]
    results["sinogram"] = list(scanner.sinogram_shape)
    for config in configs:
        print(f"{config}: per-step times ...", flush=True)
        results["steps"][config] = step_seconds(config, _subset(stack, args.step_slices), settings)
    for config in configs:
        if CONFIGS[config][1] is not None:  # torch FBPs against ODL's
            print(f"{config}: agreement with cpu ...", flush=True)
            subset = _subset(stack, args.agreement_slices)
            results["agreement"][config] = agreement(config, subset, settings)
    for config, key in (("gpu", "gpu"), ("cpu", "cpu")):
        if config in results["throughput"]:
            rate = results["throughput"][config]["slices_per_s"]
            results[f"simulation_slices_per_s_{key}"] = rate
    text = report(results)
    print(text)
    if args.json:  # merged, so that docs/benchmarks.json keeps the training numbers
        merged = json.loads(args.json.read_text()) if args.json.exists() else {}
        merged["simulation_slices_per_s_gpu"] = results.get("simulation_slices_per_s_gpu")
        merged["simulation"] = results
        args.json.write_text(json.dumps(merged, indent=1) + "\n")
    if args.write_docs:
        replace_section("simulation", text, args.doc)


if __name__ == "__main__":
    main()
