"""What a training's host memory holds while its split is moved to the GPU, at two data sizes
(issue 32: in the scale rehearsal the trainings' own peaks grew 4.1-5.8 MB per training slice).

    .venv/bin/python bench/training_fill_memory.py DIR --volumes 4 8 [--size 512 --slices 100]

Writes volumes of random int16-HU images (slice stores and simulations as the workflow writes
them) under DIR, then, in a fresh process per size, reads the reconstruction training split
chunk by chunk as ``DeviceSlices`` fills the GPU (on the CPU each chunk is converted to 16 bits
and dropped, as on a GPU it lies in device memory; ``--device cuda``: the fill itself). Prints,
per size, the process's peak RSS and, at its end, its anonymous memory (what it holds) and
file-backed memory (the memory-mapped stores' pages, which the kernel can take back), the peaks
of both sampled every 50 ms while it reads, and the growth per slice between the sizes.

``--train EPOCHS`` runs, in place of the fill, the whole reconstruction training job on those
files (``train_from_files``: the Base U-Net at the paper's width, validation, checkpoints,
weights), and samples the process's anonymous and file-backed memory every 50 ms: what a
training's own peak is made of, beyond the loader. Each size's samples and the job's log lines,
on one clock, go to DIR/{volumes}/trace.csv, and the phase the anonymous peak fell in (the log
lines just before and after it) is printed: where in the job the memory is held.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tact.data.slices import SliceStack, save_stack
from tact.data.units import hu_to_normalised
from tact.logs import resident_kinds_mb
from tact.models import NetworkSettings
from tact.simulated_data import SimulatedStack, save_simulation
from tact.training import Job, TrainSettings, train_from_files
from tact.training_data import CHUNK, DeviceSlices, StoredSlices, load_training_slices

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sampling import Sampler


class KindPeaks(Sampler):
    """The largest anonymous and file-backed memory of this process, sampled while a block runs
    (the peak RSS alone does not say which kind made it); every sample is kept in ``series``
    (seconds since the start, anonymous MB, file-backed MB)."""

    def __init__(self) -> None:
        super().__init__()
        self.peaks = {"RssAnon": 0.0, "RssFile": 0.0}
        self.series: list[tuple[float, float, float]] = []

    def sample(self) -> None:
        now = resident_kinds_mb()
        for kind in self.peaks:
            self.peaks[kind] = max(self.peaks[kind], now.get(kind, 0.0))
        t = time.monotonic() - self.start
        self.series.append((t, now.get("RssAnon", 0.0), now.get("RssFile", 0.0)))


class LogTimes(logging.Handler):
    """The job's log lines with the sampler's clock, to tell which phase a peak fell in."""

    def __init__(self, start: float) -> None:
        super().__init__(logging.DEBUG)
        self.start, self.lines = start, []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((time.monotonic() - self.start, record.getMessage()))


def peak_phase(series: list[tuple[float, float, float]], lines: list[tuple[float, str]]) -> str:
    """When the anonymous memory peaked, and the log lines just before and after it."""
    t, anon, _ = max(series, key=lambda sample: sample[1])
    before = [line for at, line in lines if at <= t][-1:] or ["(start)"]
    after = [line for at, line in lines if at > t][:1] or ["(end)"]
    return f"anonymous peak {anon:.0f} MB at {t:.1f} s, after '{before[0]}', before '{after[0]}'"


def write_trace(path: Path, sampled: KindPeaks, lines: list[tuple[float, str]]) -> None:
    """The samples and the log lines on one clock, in time order."""
    rows = [{"t": t, "RssAnon": a, "RssFile": f, "log": ""} for t, a, f in sampled.series]
    rows += [{"t": t, "RssAnon": None, "RssFile": None, "log": line} for t, line in lines]
    pd.DataFrame(rows).sort_values("t", kind="stable").to_csv(path, index=False)


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
    with KindPeaks() as sampled:
        if device == "cuda":
            held = DeviceSlices(data, torch.device("cuda"))
            assert held.resident, "the split did not fit on the GPU"
        else:
            for start in range(0, len(data), CHUNK):
                _read_as_16_bits(data, np.arange(start, min(start + CHUNK, len(data))))
    return _memory(len(data), sampled)


def _read_as_16_bits(data: StoredSlices, rows: np.ndarray) -> None:
    """One chunk read and converted as the GPU fill does, then dropped (the CPU's stand-in)."""
    x, target, _ = data.rows(rows)
    x.half(), target.half()


def _memory(slices: int, sampled: KindPeaks) -> dict:
    """The process's peak RSS, the sampled peaks by kind, and its memory by kind now."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peaks = {f"peak_{kind}": value for kind, value in sampled.peaks.items()}
    return {"slices": slices, "peak_mb": peak, **peaks, **resident_kinds_mb()}


def train(root: Path, n_volumes: int, *, device: str, epochs: int, compile_: bool) -> dict:
    """The Base U-Net's training job on the written volumes, as the workflow runs it; the
    process's peak, the sampled peaks by kind, its memory by kind at the end, and the phase of
    the anonymous peak (the trace in ROOT/trace.csv)."""
    tact_log = logging.getLogger("tact")  # its debug lines mark the epoch's and validation's start
    tact_log.setLevel(logging.DEBUG)
    with KindPeaks() as sampled:
        times = LogTimes(sampled.start)
        tact_log.addHandler(times)
        train_from_files(
            Job("base", network=NetworkSettings()),
            TrainSettings(epochs=epochs, device=device, compile=compile_),
            store_paths=[root / f"slices-{v}.h5" for v in range(n_volumes)],
            split_path=root / "split.csv",
            model_path=root / "model.pt",
            history_path=root / "history.csv",
            checkpoint_path=root / "checkpoint.ckpt",
            sim_paths=[root / f"sim-{v}.h5" for v in range(n_volumes)],
        )
    tact_log.removeHandler(times)
    write_trace(root / "trace.csv", sampled, times.lines)
    memory = _memory(len(pd.read_csv(root / "split.csv")), sampled)
    return {**memory, "phase": peak_phase(sampled.series, times.lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--volumes", type=int, nargs=2, default=[4, 8])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--slices", type=int, default=100, help="per volume")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--train", type=int, metavar="EPOCHS", help="the training job instead")
    parser.add_argument("--compile", action="store_true", help="with --train: torch.compile")
    parser.add_argument("--fill", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.fill:
        root = args.root / str(args.fill)
        if args.train:
            kw = {"device": args.device, "epochs": args.train, "compile_": args.compile}
            print(json.dumps(train(root, args.fill, **kw)))
        else:
            print(json.dumps(fill(root, args.fill, args.device)))
        return
    results = []
    for n in args.volumes:
        write_volumes(args.root / str(n), n, args.size, args.slices)
        child = [sys.executable, __file__, str(args.root), "--fill", str(n), "--device"]
        child.append(args.device)
        child += ["--train", str(args.train)] * bool(args.train) + ["--compile"] * args.compile
        out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.splitlines()[-1]))
        phase = results[-1].pop("phase", None)
        print(f"{n} volumes: " + ", ".join(f"{k} {v:.0f}" for k, v in results[-1].items()))
        if phase:
            print(f"  {phase}")
    small, large = results
    added = large["slices"] - small["slices"]
    for key in [k for k in small if k != "slices"]:
        print(f"{key}: {(large[key] - small[key]) / added:+.2f} MB per added slice")


if __name__ == "__main__":
    main()
