"""Images per second of tact's real training loop, per kind of training, at the workflow's size.

    python bench/bench_training.py --run phantom512 [--epochs 3] [--compile] [--write-docs]

Needs the data and simulation stages of the run (results/{run}/data, sim). Trains each kind
(segmentation, base, task-adaptive alpha 0.5, joint C 0.5) with the paper's U-Net from the run's
config, exactly as the workflow's rules do (data held on the device, bf16 autocast,
channels_last, fused Adam), for a few epochs over the training split repeated to at least
``--min-slices`` slices, and reports the images per second of the last epoch (the first one
includes cuDNN autotuning and, with --compile, compilation). Validation is not counted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from tact.training import (
    Job,
    NetworkSettings,
    Slices,
    Trainer,
    TrainSettings,
    load_training_slices,
    split_validation,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_section import machine, replace_section, today

KINDS = [("segmentation", 0.0), ("base", 0.0), ("task_adaptive", 0.5), ("joint", 0.5)]


def repeated(data: Slices, at_least: int) -> Slices:
    times = max(1, -(-at_least // len(data)))
    return data.subset(np.tile(np.arange(len(data)), times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", default="phantom512")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--min-slices", type=int, default=480)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    results = Path("results") / args.run
    stores = sorted((results / "data/slices").glob("volume-*.h5"))
    sims = sorted((results / "sim").glob("volume-*.h5"))
    split = results / "data/split.csv"
    network = NetworkSettings("unet", 64, 4)
    rows = []
    segmenter_state = None
    for kind, weight in KINDS:
        data = load_training_slices(stores, split, None if kind == "segmentation" else sims)
        train, val = split_validation(data, 0.1, 0)
        train = repeated(train, args.min_slices)
        settings = TrainSettings(
            epochs=args.epochs,
            batch_size=args.batch_size,
            compile=args.compile,
            early_stopping_patience=args.epochs + 1,
        )
        job = Job(kind, weight, network=network, segmenter_network=network)
        trainer = Trainer(
            job,
            settings,
            train,
            val,
            frozen_segmenters=[segmenter_state] if segmenter_state else [],
        )
        torch.cuda.reset_peak_memory_stats() if torch.cuda.is_available() else None
        trainer.fit()
        if kind == "segmentation":
            segmenter_state = trainer.best_model_state()
        last = trainer.history[-1]
        memory = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0
        rows.append((kind, weight, len(train), last["images_per_s"], memory))
    size = train.image_size
    mode = trainer.device.type + (" + torch.compile" if args.compile else "")
    table = [
        f"| {kind}{f' ({weight})' if weight else ''} | {n} | {ips:.1f} | {memory:.1f} |"
        for kind, weight, n, ips, memory in rows
    ]
    lines = [
        f"### Training loop at {size} px, {mode}",
        "",
        f"`python bench/bench_training.py --run {args.run} --epochs {args.epochs}"
        f"{' --compile' if args.compile else ''}`; {machine()}; {today()}. The paper's U-Net "
        f"(64..1024 channels) for every network, batch {args.batch_size}, the run's training "
        f"split repeated to {args.min_slices}+ slices and held on the device; images per second "
        f"of epoch {args.epochs} (data feeding included, validation not).",
        "",
        "| training | slices per epoch | images/s | peak GPU memory (GiB) |",
        "|---|---|---|---|",
        *table,
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        replace_section(f"training-{trainer.device.type}{'-compile' if args.compile else ''}", text)


if __name__ == "__main__":
    main()
