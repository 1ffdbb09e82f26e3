"""What a training's host memory holds while its split is moved to the GPU, at two data sizes
(issue 32: in the scale rehearsal the trainings' own peaks grew 4.1-5.8 MB per training slice).

    .venv/bin/python bench/training_fill_memory.py DIR --volumes 4 8 [--size 512 --slices 100]

Writes volumes of random int16-HU images (slice stores and simulations as the workflow writes
them) under DIR, then, in a fresh process per size, reads the reconstruction training split
chunk by chunk as ``DeviceSlices`` fills the GPU (on the CPU each chunk is converted to 16 bits
and dropped, as on a GPU it lies in device memory; ``--device cuda``: the fill itself). Prints,
per size, the process's peak RSS and, at its end, its anonymous memory (what it holds) and
file-backed memory (the memory-mapped stores' pages, which the kernel can take back), and the
growth per slice between the sizes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tact.data.slices import SliceStack, save_stack
from tact.data.units import hu_to_normalised
from tact.logs import resident_kinds_mb
from tact.simulated_data import SimulatedStack, save_simulation
from tact.training_data import DeviceSlices, load_training_slices


def write_volumes(root: Path, n_volumes: int, size: int, slices: int) -> None:
    """Slice stores (int16 HU), simulations (float32) and a split with every slice training."""
    rng = np.random.default_rng(n_volumes)
    index = np.arange(slices, dtype=np.int32)
    split = []
    for vid in range(n_volumes):
        mask = np.zeros((slices, size, size), np.uint8)
        mask[:, size // 5 : 3 * size // 5, size // 5 : 3 * size // 5] = 1
        image = hu_to_normalised(rng.integers(-1000, 1500, mask.shape).astype(np.int16))
        spacing = np.array([0.7, 0.7, 2.0])
        save_stack(SliceStack(vid, image, mask, index, spacing), root / f"slices-{vid}.h5")
        noisy = (image + rng.normal(0, 0.05, image.shape)).astype(np.float32)
        sim = SimulatedStack(vid, index, noisy, noisy, 100, 300.0, 1.0)
        save_simulation(sim, root / f"sim-{vid}.h5")
        split += [{"volume": vid, "slice": int(s), "split": "train"} for s in index]
    pd.DataFrame(split).to_csv(root / "split.csv", index=False)


def fill(root: Path, n_volumes: int, device: str) -> dict:
    """Read the split as the GPU fill does (on a GPU: the fill itself); the process's peak and
    its memory by kind."""
    stores = [str(root / f"slices-{v}.h5") for v in range(n_volumes)]
    sims = [str(root / f"sim-{v}.h5") for v in range(n_volumes)]
    data = load_training_slices(stores, str(root / "split.csv"), sims)
    if device == "cuda":
        held = DeviceSlices(data, torch.device("cuda"))
        assert held.resident, "the split did not fit on the GPU"
    else:
        for start in range(0, len(data), DeviceSlices.CHUNK):
            rows = np.arange(start, min(start + DeviceSlices.CHUNK, len(data)))
            x, target, _ = data.rows(rows)
            x.half(), target.half()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"slices": len(data), "peak_mb": peak, **resident_kinds_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--volumes", type=int, nargs=2, default=[4, 8])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--slices", type=int, default=100, help="per volume")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--fill", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.fill:
        print(json.dumps(fill(args.root / str(args.fill), args.fill, args.device)))
        return
    results = []
    for n in args.volumes:
        write_volumes(args.root / str(n), n, args.size, args.slices)
        child = [sys.executable, __file__, str(args.root), "--fill", str(n), "--device"]
        child.append(args.device)
        out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.splitlines()[-1]))
        print(f"{n} volumes: " + ", ".join(f"{k} {v:.0f}" for k, v in results[-1].items()))
    small, large = results
    added = large["slices"] - small["slices"]
    for key in ("peak_mb", "RssAnon", "RssFile"):
        print(f"{key}: {(large[key] - small[key]) / added:+.2f} MB per added slice")


if __name__ == "__main__":
    main()
