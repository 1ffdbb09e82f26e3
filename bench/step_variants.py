"""Ways to run tact's training step, side by side in one run (issue 8's experiments).

    python bench/step_variants.py [--variants default cuda_graphs ...] [--out f.json] [--write-docs]

Each variant runs in its own process (cuDNN's algorithm cache and Inductor's settings are global
to a process) on the same GPU, one after another: the base and task-adaptive (alpha 0.5) steps of
tact's ``Trainer`` at paper scale (config/config.yaml's training settings, the paper's U-Net, 512
px, batch 16, random data), timed as bench/train_throughput.py times them. The ``default``
variant also profiles the task-adaptive step's kernels and times one 64-channel full-resolution
convolution with and without its ReLU fused by cuDNN.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

VARIANTS = {
    "default": "the workflow's step (torch.compile default mode, cuDNN autotuning)",
    "cudnn_all_algorithms": "cuDNN autotuning tries every algorithm (benchmark_limit 0, not 10)",
    "coordinate_descent": "Inductor tunes its Triton kernels' launch settings",
    "cuda_graphs": "torch.compile mode reduce-overhead (CUDA graphs)",
    "loss_in_one_graph": "the networks and the objective compiled as one function",
    "folded_frozen_segmenter": "task-adaptive: frozen g with batch norm folded, ReLU fused "
    "by cuDNN (bench/frozen_segmenter.py)",
}


def configure(variant: str) -> None:
    """Set up the process for one variant before any network is built."""
    if variant == "cudnn_all_algorithms":
        torch.backends.cudnn.benchmark_limit = 0
    elif variant == "coordinate_descent":
        import torch._inductor.config as inductor

        inductor.coordinate_descent_tuning = True
    elif variant == "cuda_graphs":
        torch.compile = functools.partial(torch.compile, mode="reduce-overhead")
    elif variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")


def fused_relu_convolution(batch: int, size: int) -> dict:
    """One 64 -> 64 channel 3x3 convolution at full resolution (bf16, channels-last): alone,
    followed by a ReLU, and with the ReLU fused by cuDNN (``torch.cudnn_convolution_relu``)."""
    from train_throughput import time_cuda

    x = torch.randn(batch, 64, size, size, device="cuda", dtype=torch.bfloat16)
    x = x.contiguous(memory_format=torch.channels_last)
    weight = torch.randn(64, 64, 3, 3, device="cuda", dtype=torch.bfloat16) / 24
    weight = weight.contiguous(memory_format=torch.channels_last)
    bias = torch.zeros(64, device="cuda", dtype=torch.bfloat16)
    conv = torch.nn.functional.conv2d
    timings = {
        "conv_ms": lambda: conv(x, weight, padding=1),
        "conv_with_bias_ms": lambda: conv(x, weight, bias, padding=1),
        "conv_then_relu_ms": lambda: torch.relu(conv(x, weight, padding=1)),
        "cudnn_conv_relu_ms": lambda: torch.cudnn_convolution_relu(
            x, weight, bias, (1, 1), (1, 1), (1, 1), 1
        ),
    }
    result = {}
    for name, function in timings.items():
        try:
            result[name] = 1e3 * time_cuda(function, steps=20, repeats=5, warmup=3)
        except RuntimeError as error:  # not every build offers the fused kernel
            result[name] = f"failed: {str(error).splitlines()[0][:120]}"
    return result


def measure_step(variant: str, kind: str, weight: float, data, segmenter, batch_size: int):
    """Warm-up seconds and images per second of one kind of step (and the task profile)."""
    import numpy as np
    from train_throughput import kernel_profile, tact_trainer, time_cuda

    val = data.subset(np.arange(batch_size))
    trainer = tact_trainer(kind, weight, data, val, segmenter if weight else None)
    objective = trainer.objective  # what a step's loss calls: replaceable by equivalents
    if variant == "loss_in_one_graph":
        objective.loss = torch.compile(objective.loss)
    if variant == "folded_frozen_segmenter" and kind == "task_adaptive":
        from frozen_segmenter import FrozenUNet

        objective.segmenters = [torch.compile(FrozenUNet(trainer.segmenter, torch.bfloat16))]
    batch = trainer.train_data.batch(torch.arange(batch_size))

    def step():
        return trainer.train_step(*batch)

    started = time.perf_counter()
    step()
    torch.cuda.synchronize()
    result = {f"{kind}_warmup_s": time.perf_counter() - started}
    seconds = time_cuda(step, steps=10, repeats=5, warmup=3)
    result[f"{kind}_images_per_s"] = batch_size / seconds
    print(f"{variant}: {kind} {batch_size / seconds:.1f} img/s", flush=True)
    result[f"{kind}_host_ms"], result[f"{kind}_synchronizing_calls"] = host_side(step)
    if kind == "task_adaptive" and variant in ("default", "folded_frozen_segmenter"):
        result["task_profile"] = kernel_profile(step, top=12)
    if variant == "folded_frozen_segmenter" and kind == "task_adaptive":
        from profile_step import copy_sources, operator_table

        result["task_operators"] = operator_table(step, steps=3, top=8)
        result["task_copies"] = copy_sources(step, steps=1)[:6]
        result["frozen_agreement"] = frozen_agreement(trainer, batch)
    return result


def frozen_agreement(trainer, batch) -> dict:
    """Relative L2 distance of the logits and of the Dice term's image gradient to g computed in
    float32: for the step's frozen g (bf16) and for the UNet module under bf16 autocast."""
    from tact.losses import dice_loss

    x, _, labels = batch
    with torch.autocast("cuda", torch.bfloat16):
        image = trainer.model(x).detach().float()

    def logits_and_gradient(network, autocast: bool) -> tuple[torch.Tensor, torch.Tensor]:
        image_in = image.clone().requires_grad_(True)
        with torch.autocast("cuda", torch.bfloat16, enabled=autocast):
            logits = network(image_in)
            (gradient,) = torch.autograd.grad(dice_loss(logits, labels), image_in)
        return logits.float(), gradient.float()

    torch.backends.cudnn.allow_tf32 = False  # a float32 reference, not TF32
    reference = logits_and_gradient(trainer.segmenter, autocast=False)
    torch.backends.cudnn.allow_tf32 = True
    found = {}
    folded = trainer.objective.segmenters[0]
    for name, network in (("folded", folded), ("module", trainer.segmenter)):
        for part, value, exact in zip(
            ("logits", "image_gradient"), logits_and_gradient(network, True), reference, strict=True
        ):
            found[f"{name}_{part}_relative_l2"] = float((value - exact).norm() / exact.norm())
    return found


def host_side(step) -> tuple[float, list[str]]:
    """Host milliseconds to issue one step (the GPU idle before it), and the places where the
    step waits for the GPU (CUDA's sync debug mode)."""
    torch.cuda.synchronize()
    started = time.perf_counter()
    step()
    host_ms = 1e3 * (time.perf_counter() - started)
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    places = sorted({f"{Path(w.filename).name}:{w.lineno}" for w in caught})
    return host_ms, places


def worker(variant: str, batch_size: int, size: int) -> dict:
    from profile_step import random_slices

    configure(variant)
    from tact.models import segmentation_network

    data = random_slices(2 * batch_size, size)
    segmenter = segmentation_network().state_dict()
    result: dict = {"variant": variant}
    for kind, weight in (("base", 0.0), ("task_adaptive", 0.5)):
        result.update(measure_step(variant, kind, weight, data, segmenter, batch_size))
        torch.cuda.empty_cache()
    if variant == "default":
        result["fused_relu_convolution"] = fused_relu_convolution(batch_size, size)
    return result


def summary(row: dict) -> str:
    """One variant's numbers, with its profile's kernels and operators as lines of their own."""
    long = ("task_profile", "task_operators", "task_copies")
    text = json.dumps({k: v for k, v in row.items() if k not in long}, default=str)
    profile = row.get("task_profile")
    if profile:
        text += (
            f"\ntask step kernels {1e3 * profile['gpu_seconds_per_step']:.1f} ms, matrix "
            f"{1e3 * profile['matrix_kernel_seconds_per_step']:.1f} ms"
        )
        text += "".join(f"\n  {1e3 * t:6.2f} {name[:80]}" for name, t in profile["top_kernels"])
    for copy in row.get("task_copies", []):
        text += (
            f"\n  copy {copy['gpu_ms']:6.2f} ms {copy['shapes'][:60]} <- {copy['parents'][:120]}"
        )
    for op in row.get("task_operators", []):
        text += f"\n  op {op['gpu_ms_per_step']:6.2f} ms {op['calls']:5d} {op['op'][:70]}"
    return text


def markdown(results: list[dict], command: str) -> str:
    """The variants side by side, as docs/benchmarks.md shows them."""
    from docs_section import machine, today

    reference = results[0]
    lines = [
        "### Ways to run the training step, side by side (`bench/step_variants.py`)",
        "",
        f"`{command}`; {machine()}; {today()}; torch {torch.__version__}. Each variant in its "
        "own process, one after another on the same GPU; base and task-adaptive (alpha 0.5) "
        "steps at 512 px, batch 16, random data; images per second (median of 5 x 10 steps).",
        "",
        "| variant | what changes | base img/s | task img/s | vs first (base / task) "
        "| warm-up s (base / task) |",
        "|---|---|---|---|---|---|",
    ]
    for row in results:
        name = row["variant"]
        if "error" in row:
            lines.append(
                f"| {name} | {VARIANTS.get(name, '')} | failed: "
                f"{row['error'].splitlines()[0][:80]} | | | |"
            )
            continue
        base, task = row["base_images_per_s"], row["task_adaptive_images_per_s"]
        ratio = "-"
        if "error" not in reference:
            ratio = (
                f"{base / reference['base_images_per_s']:.3f} / "
                f"{task / reference['task_adaptive_images_per_s']:.3f}"
            )
        lines.append(
            f"| {name} | {VARIANTS.get(name, '')} | {base:.1f} | {task:.1f} | {ratio} | "
            f"{row['base_warmup_s']:.0f} / {row['task_adaptive_warmup_s']:.0f} |"
        )
    for row in results:
        profile = row.get("task_profile")
        if profile:
            step_ms = 16e3 / row["task_adaptive_images_per_s"]
            matrix = profile["matrix_kernel_seconds_per_step"]
            lines += [
                "",
                f"Task-adaptive step, variant {row['variant']} (torch.profiler): "
                f"{step_ms:.1f} ms per step, {1e3 * profile['gpu_seconds_per_step']:.1f} ms of "
                f"kernels, of which convolution and matrix kernels {1e3 * matrix:.1f} ms; host "
                f"time to issue a step {row['task_adaptive_host_ms']:.1f} ms; synchronising "
                f"calls: {', '.join(row['task_adaptive_synchronizing_calls']) or 'none'}.",
                "",
                "| kernel | ms per step |",
                "|---|---|",
                *[f"| `{n[:90]}` | {1e3 * t:.2f} |" for n, t in profile["top_kernels"]],
            ]
        if row.get("task_operators"):
            lines += [
                "",
                "Its operators by GPU time:",
                "",
                "| operator | ms per step | calls |",
                "|---|---|---|",
            ]
            lines += [
                f"| `{op['op'][:80]}` | {op['gpu_ms_per_step']:.2f} | {op['calls']} |"
                for op in row["task_operators"]
            ]
        if row.get("frozen_agreement"):
            lines += [
                "",
                "Distance to g in float32 (relative L2): "
                + ", ".join(
                    f"{k.removesuffix('_relative_l2').replace('_', ' ')} {v:.2g}"
                    for k, v in row["frozen_agreement"].items()
                )
                + ".",
            ]
        fused = row.get("fused_relu_convolution")
        if fused:
            lines += [
                "",
                "One 64 -> 64 channel 3 x 3 convolution at 512 px, batch 16, bf16 "
                "channels-last (ms): "
                + ", ".join(
                    f"{k.removesuffix('_ms').replace('_', ' ')} "
                    + (f"{v:.3f}" if isinstance(v, float) else str(v))
                    for k, v in fused.items()
                )
                + ".",
            ]
    return "\n".join(lines)


def run_variant(variant: str, args) -> dict:
    """One variant in a process of its own; its result row, or the error it ended with."""
    command = [sys.executable, __file__, "--worker", variant]
    command += ["--batch-size", str(args.batch_size), "--size", str(args.size)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"variant": variant, "error": f"over {args.timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        tail = (done.stdout + done.stderr)[-1500:]
        return {"variant": variant, "error": f"exit {done.returncode}: {tail}"}
    return json.loads(lines[-1][len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per variant")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="write every number here (JSON)")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--section", default="step-variants", help="docs/benchmarks.md section")
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args.batch_size, args.size)))
        return
    if not torch.cuda.is_available():
        raise SystemExit("step_variants.py measures a GPU: no CUDA device here")
    results = []
    for variant in args.variants:
        results.append(run_variant(variant, args))
        if args.out:
            args.out.write_text(json.dumps(results, indent=1, default=str))
        print(summary(results[-1]), flush=True)
    text = markdown(results, "python bench/step_variants.py " + " ".join(sys.argv[1:]))
    print(text)
    if args.write_docs:
        from docs_section import replace_section

        replace_section(args.section, text)


if __name__ == "__main__":
    main()
