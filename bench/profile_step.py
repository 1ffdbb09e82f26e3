"""Where tact's base training step spends its GPU time, by PyTorch operator (issue 8's profile).

    python bench/profile_step.py [--size 512 --batch-size 16] [--out profile.json]

Runs the base step as the workflow does at paper scale (config/config.yaml's training settings,
the paper's U-Net) on random data, then profiles a few steps with torch.profiler (CPU and CUDA)
and prints the operators ranked by their own GPU time and the copies with the operator (and
convolution layer) that asked for them. Side by side in the same run: the step with its input
already in bf16. (Compiling the loss with the network was tried the same way on 2026-11-21 and
changed nothing: 281.4 against 282.5 images/s.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import random_batch, tact_trainer, time_cuda

from tact.training import Slices


def random_slices(n: int, size: int) -> Slices:
    generator = torch.Generator().manual_seed(0)
    return Slices(
        torch.rand(n, 1, size, size, generator=generator),
        torch.rand(n, 1, size, size, generator=generator),
        torch.randint(0, 3, (n, size, size), generator=generator, dtype=torch.uint8),
        np.zeros(n, dtype=int),
    )


def operator_table(step, steps: int, top: int) -> list[dict]:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    rows = []
    for event in prof.key_averages():
        own = event.self_device_time_total / 1e3 / steps  # ms per step
        if own > 0:
            rows.append({"op": event.key[:100], "gpu_ms_per_step": own, "calls": event.count})
    return sorted(rows, key=lambda row: -row["gpu_ms_per_step"])[:top]


def copy_sources(step, steps: int) -> list[dict]:
    """The aten::copy_ calls of a step: tensor shapes, strides and the operator that asked."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], record_shapes=True) as p:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    found: dict[tuple, dict] = {}
    for event in p.events():
        if event.name != "aten::copy_" or event.device_type != torch.autograd.DeviceType.CPU:
            continue
        gpu_ms = sum(k.duration for k in event.kernels) / 1e3 / steps
        if gpu_ms <= 0:
            continue
        parents, parent = [], event.cpu_parent
        while parent is not None and len(parents) < 4:
            # a convolution's operand shapes name the layer (its weight's shape)
            shapes = f" {parent.input_shapes[:3]}" if "convolution" in parent.name else ""
            parents.append(parent.name + shapes)
            parent = parent.cpu_parent
        key = (str(event.input_shapes), " < ".join(parents))
        row = found.setdefault(key, {"shapes": key[0], "parents": key[1], "gpu_ms": 0.0})
        row["gpu_ms"] += gpu_ms
    return sorted(found.values(), key=lambda row: -row["gpu_ms"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    data = random_slices(4 * args.batch_size, args.size)
    trainer = tact_trainer("base", 0.0, data, data.subset(np.arange(args.batch_size)), None)
    x, target, labels = random_batch(args.batch_size, args.size)
    x, target = (t.contiguous(memory_format=torch.channels_last) for t in (x, target))
    result: dict = {"size": args.size, "batch_size": args.batch_size}

    def step():
        return trainer.train_step(x, target, labels)

    seconds = time_cuda(step, steps=10, repeats=5, warmup=3)
    result["model_compiled_images_per_s"] = args.batch_size / seconds
    result["operators"] = operator_table(step, steps=3, top=args.top)
    print(f"model compiled: {result['model_compiled_images_per_s']:.1f} img/s", flush=True)
    for row in result["operators"]:
        print(f"{row['gpu_ms_per_step']:8.2f} ms  {row['calls']:5d}  {row['op']}", flush=True)

    result["copies"] = copy_sources(step, steps=3)
    for row in result["copies"]:
        print(f"copy {row['gpu_ms']:6.2f} ms  {row['shapes']}  <- {row['parents']}", flush=True)

    x_bf16 = x.to(torch.bfloat16)  # the network's input already in the autocast dtype

    def step_bf16_input():
        return trainer.train_step(x_bf16, target, labels)

    seconds = time_cuda(step_bf16_input, steps=10, repeats=5, warmup=3)
    result["bf16_input_images_per_s"] = args.batch_size / seconds
    print(f"bf16 input: {result['bf16_input_images_per_s']:.1f} img/s", flush=True)
    result["bf16_input_copies"] = copy_sources(step_bf16_input, steps=3)
    for row in result["bf16_input_copies"]:
        print(f"copy {row['gpu_ms']:6.2f} ms  {row['shapes']}  <- {row['parents']}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
