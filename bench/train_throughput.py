"""Training throughput at 512 px: the plain PyTorch way against tact's step and tact's loop.

    python bench/train_throughput.py [--deterministic] [--json docs/benchmarks.json] [--write-docs]

In one run, on one GPU, with the paper's U-Net (64..1024 channels, 4 poolings) at 512 x 512 and
batch 16:

(a) the plain PyTorch way: fp32 eager, NCHW, PyTorch's defaults (cuDNN may use TF32 for
    convolutions, as it does by default), ``torch.optim.Adam()``;
(b) tact's training step exactly as the workflow runs it at paper scale: a ``Trainer`` built with
    the settings of ``config/config.yaml`` (bf16 autocast, channels_last, fused Adam, cuDNN
    autotuning, torch.compile), timed on one batch; the fast path, ``training.deterministic``
    off. With ``--deterministic`` the same step with it on is timed beside it (a fresh
    ``Trainer``, compiled and warmed up again): its cost is what config/README.md cites;
(c) tact's real training loop (``Trainer.train_epoch``: batches drawn from the slices held on the
    GPU, running sums, progress bar and checkpoints) over an epoch of stored phantom data:
    phantom volumes generated, saved as slice stores and simulated (low-dose images) first, the
    training split repeated to ``--epoch-slices`` slices.

FLOPs per image come from ``torch.utils.flop_counter.FlopCounterMode`` on one plain step; the
bf16 matrix-product peak is measured in the same run (8192^3 products on random data), and the
MFU is (FLOPs per image x tact's images/s) / that peak. Steps are timed with CUDA events after
warm-up; the median over ``--repeats`` timings of ``--steps`` steps is reported.

The projection of the paper-scale cost uses these numbers: 19,163 slices, 80% for training (of
which the workflow holds 10% out for validation), 30 epochs for each of the eight trainings,
validation every epoch, inference and segmentation of the test split for every method, and the
measured compile time of every training.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import yaml

from tact.data.layouts import Case
from tact.data.phantom import PhantomSpec, generate_volume, write_lits_pair
from tact.data.slices import extract_slices, save_stack
from tact.data.split import make_split, write_split
from tact.data.volumes import read_case
from tact.inference import apply_network
from tact.losses import reconstruction_objective, segmentation_objective
from tact.models import reconstruction_network, segmentation_network
from tact.physics import ScanProtocol, choose_backend
from tact.seeding import Stream, derive_seed
from tact.simulated_data import save_simulation
from tact.simulation import simulate_stack
from tact.training import (
    Checkpoint,
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

ROOT = Path(__file__).resolve().parents[1]
PAPER_SLICES = 19_163
TRAIN_FRACTION, VAL_FRACTION = 0.8, 0.1
KINDS = {"segmentation": 0.0, "base": 0.0, "task_adaptive": 0.5, "joint": 0.5}
# the paper's eight trainings: segmentation, base, three task-adaptive, three joint
PAPER_TRAININGS = {"segmentation": 1, "base": 1, "task_adaptive": 3, "joint": 3}
# test-split forward passes: 7 reconstructions; 11 segmentations (4 fixed images + 7 networks)
PAPER_RECONSTRUCTIONS, PAPER_SEGMENTATIONS = 7, 11


def paper_settings() -> TrainSettings:
    """The training settings of config/config.yaml (what the workflow runs at paper scale)."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())["training"]
    known = TrainSettings.__dataclass_fields__
    return TrainSettings(**{k: v for k, v in config.items() if k in known})


def time_steps(
    function: Callable[[], object], steps: int, repeats: int, warmup: int, device: torch.device
) -> float:
    """Median seconds per call: CUDA events on a GPU, the wall clock on the CPU."""
    if device.type == "cuda":
        return time_cuda(function, steps, repeats, warmup)
    for _ in range(warmup):
        function()
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(steps):
            function()
        timings.append((time.perf_counter() - started) / steps)
    return statistics.median(timings)


def time_cuda(function: Callable[[], object], steps: int, repeats: int, warmup: int) -> float:
    """Median seconds per call over ``repeats`` timings of ``steps`` calls (CUDA events)."""
    for _ in range(warmup):
        function()
    timings = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            function()
        stop.record()
        torch.cuda.synchronize()
        timings.append(start.elapsed_time(stop) / 1000 / steps)
    return statistics.median(timings)


def bf16_peak(n: int = 8192, repeats: int = 20) -> float:
    """Measured bf16 matrix-product rate (FLOP/s) on random data."""
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    seconds = time_cuda(lambda: a @ b, steps=10, repeats=repeats, warmup=5)
    return 2 * n**3 / seconds


def random_batch(batch: int, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator(device="cuda").manual_seed(0)
    x = torch.rand(batch, 1, size, size, device="cuda", generator=generator)
    target = torch.rand(batch, 1, size, size, device="cuda", generator=generator)
    labels = torch.randint(0, 3, (batch, size, size), device="cuda", generator=generator)
    return x, target, labels


def plain_step(kind: str, weight: float, batch: tuple) -> Callable[[], torch.Tensor]:
    """The plain PyTorch way: fp32 eager, NCHW, defaults, Adam with its default settings."""
    x, target, labels = batch
    torch.manual_seed(0)
    if kind == "segmentation":
        model = segmentation_network().cuda()
    else:
        model = reconstruction_network().cuda()
    trained = [model]
    segmenter = None
    if kind in ("task_adaptive", "joint"):
        segmenter = segmentation_network().cuda()
        if kind == "task_adaptive":
            segmenter.eval().requires_grad_(False)
        else:
            trained.append(segmenter)
    optimizer = torch.optim.Adam([p for net in trained for p in net.parameters()], lr=1e-3)

    def step() -> torch.Tensor:
        output = model(x)
        if kind == "segmentation":
            loss, _ = segmentation_objective(output, labels)
        else:
            loss, _ = reconstruction_objective(
                weight,
                output,
                target,
                labels=labels,
                segmenters=[segmenter] if segmenter is not None else [],
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    return step


MATRIX_KERNEL_WORDS = ("conv", "gemm", "xmma", "wgmma", "sm90", "cutlass", "dgrad", "wgrad")


def kernel_profile(step: Callable[[], object], steps: int = 3, top: int = 8) -> dict:
    """Where a step's GPU time goes: convolution/matrix kernels against everything else."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    kernels: dict[str, float] = {}
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            kernels[event.name] = kernels.get(event.name, 0.0) + event.device_time / 1e6 / steps
    total = sum(kernels.values())
    matrix = sum(
        t for name, t in kernels.items() if any(w in name.lower() for w in MATRIX_KERNEL_WORDS)
    )
    ranked = sorted(kernels.items(), key=lambda item: -item[1])[:top]
    return {
        "gpu_seconds_per_step": total,
        "matrix_kernel_seconds_per_step": matrix,
        "top_kernels": [(name[:90], seconds) for name, seconds in ranked],
    }


def flops_per_image(step: Callable[[], torch.Tensor], batch_size: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops() / batch_size


def stored_phantom_data(workdir: Path, n_volumes: int, size: int) -> tuple[Slices, Slices]:
    """The workflow's data path on a few phantom volumes: NIfTI pair, slice store, simulation
    (low-dose images), split; then the training slices as the training rules load them."""
    backend = choose_backend("auto")
    stores, sims, slices = [], [], {}
    for vid in range(n_volumes):
        write_lits_pair(generate_volume(vid, PhantomSpec(size=size, n_slices=48)), workdir, vid)
        pair = Case(vid, workdir / f"volume-{vid}.nii", workdir / f"segmentation-{vid}.nii")
        stack = extract_slices(read_case(pair), size)
        stores.append(workdir / f"store-{vid}.h5")
        save_stack(stack, stores[-1])
        rng = np.random.default_rng(derive_seed(0, Stream.SIMULATION, vid))
        simulated = simulate_stack(
            stack,
            ScanProtocol(),
            domain="physical",
            fbp_reading=("Hann", 0.5),
            rng=rng,
            backend=backend,
            progress=False,
        )
        sims.append(workdir / f"sim-{vid}.h5")
        save_simulation(simulated, sims[-1])
        slices[vid] = [int(s) for s in stack.slice_index]
    split = make_split(slices, test_fraction=0.0001)
    split["split"] = "train"  # every slice trains: this is a throughput measurement
    write_split(split, workdir / "split.csv")
    data = load_training_slices(stores, workdir / "split.csv", sims)
    return split_validation(data, VAL_FRACTION, 0)


def repeated(data: Slices, at_least: int) -> Slices:
    times = max(1, -(-at_least // len(data)))
    return data.subset(np.tile(np.arange(len(data)), times))


def tact_trainer(
    kind: str,
    weight: float,
    train: Slices,
    val: Slices,
    segmenter: dict | None,
    *,
    settings: TrainSettings | None = None,
    network: NetworkSettings | None = None,
):
    """A Trainer as the workflow builds one: by default the paper's U-Net and the settings of
    config/config.yaml on the fast path (``deterministic`` off)."""
    settings = settings or replace(paper_settings(), deterministic=False)
    network = network or NetworkSettings()  # the paper's U-Net, as config/config.yaml
    job = Job(kind, weight, network=network, segmenter_network=network)
    return Trainer(job, settings, train, val, frozen_segmenters=[segmenter] if segmenter else [])


def step_rate(trainer: Trainer, batch_size: int, steps: int, repeats: int) -> tuple[float, float]:
    """(images per second of ``train_step`` on one fixed batch, seconds of the first step:
    compilation and cuDNN's autotuning)."""
    cuda = trainer.device.type == "cuda"
    started = time.perf_counter()
    fixed = trainer.train_data.batch(torch.arange(batch_size))
    trainer.train_step(*fixed)  # compiles (if the settings say so) and autotunes
    if cuda:
        torch.cuda.synchronize()
    warmup = time.perf_counter() - started
    step = lambda: trainer.train_step(*fixed)  # noqa: E731 - the timed call
    seconds = time_steps(step, steps, repeats, warmup=3, device=trainer.device)
    return batch_size / seconds, warmup


def deterministic_rates(
    kind: str,
    weight: float,
    train: Slices,
    val: Slices,
    segmenter: dict | None,
    *,
    timing: dict[str, int],
    settings: TrainSettings | None = None,
    network: NetworkSettings | None = None,
) -> dict[str, float]:
    """The step on the fast path, then with ``training.deterministic``, back to back in this
    process, each in a fresh Trainer (which sets torch's algorithms for the process); the cost
    is of this pair. ``timing``: ``batch_size``, ``steps``, ``repeats``; ``settings`` and
    ``network`` default to the paper's."""
    settings = settings or replace(paper_settings(), deterministic=False)
    rates = {}
    for name, deterministic in (("fast", False), ("deterministic", True)):
        chosen = replace(settings, deterministic=deterministic)
        trainer = tact_trainer(
            kind, weight, train, val, segmenter, settings=chosen, network=network
        )
        rate, warmup = step_rate(trainer, **timing)
        rates[f"{name}_images_per_s"], rates[f"{name}_warmup_s"] = rate, warmup
        del trainer
    slower = rates["deterministic_images_per_s"] / rates["fast_images_per_s"]
    rates["deterministic_cost"] = 1 - slower  # the fraction of the fast step's rate lost
    return rates


def measure_kind(kind: str, weight: float, args, train: Slices, val: Slices, segmenter, tmp):
    """(a), (b), (c) and FLOPs for one kind of training; returns a row of numbers."""
    batch = random_batch(args.batch_size, args.size)
    row: dict[str, float | str] = {"kind": kind, "weight": weight}
    if kind in args.plain:
        step = plain_step(kind, weight, batch)
        row["flops_per_image"] = flops_per_image(step, args.batch_size)
        seconds = time_cuda(step, args.steps, args.repeats, warmup=3)
        row["plain_images_per_s"] = args.batch_size / seconds
        del step
        torch.cuda.empty_cache()
    if args.deterministic:  # first, so that the loop below runs on the fast path as before
        timing = dict(batch_size=args.batch_size, steps=args.steps, repeats=args.repeats)
        rates = deterministic_rates(kind, weight, train, val, segmenter, timing=timing)
        row["deterministic_step_images_per_s"] = rates["deterministic_images_per_s"]
        row["deterministic_warmup_s"] = rates["deterministic_warmup_s"]
        row["deterministic_cost"] = rates["deterministic_cost"]
        torch.cuda.empty_cache()
    trainer = tact_trainer(kind, weight, train, val, segmenter)
    fixed = trainer.train_data.batch(torch.arange(args.batch_size))
    rate, row["warmup_s"] = step_rate(trainer, args.batch_size, args.steps, args.repeats)
    row["step_images_per_s"] = rate
    if kind == "base":
        row["profile"] = kernel_profile(lambda: trainer.train_step(*fixed))
    torch.cuda.reset_peak_memory_stats()
    torch.cuda.synchronize()
    started = time.perf_counter()
    trainer.train_epoch(Checkpoint(tmp / f"checkpoint-{kind}.pt", "bench"))
    torch.cuda.synchronize()
    epoch_seconds = time.perf_counter() - started
    images = (trainer.train_data.n // args.batch_size) * args.batch_size
    row["loop_images_per_s"] = images / epoch_seconds
    row["epoch_images"] = images
    row["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    if kind == "segmentation":
        row["segmenter_state"] = trainer.best_model_state()
    return row, trainer


def forward_throughput(network: torch.nn.Module, images: np.ndarray) -> float:
    """Images per second of the evaluation's inference (``apply_network``, as the infer rule)."""
    apply_network(network, images[:16])  # warm-up
    torch.cuda.synchronize()
    started = time.perf_counter()
    apply_network(network, images)
    torch.cuda.synchronize()
    return len(images) / (time.perf_counter() - started)


def project_paper_hours(rows: dict[str, dict], infer_per_s: float, segment_per_s: float) -> dict:
    """GPU-hours of the paper-scale reproduction on one GPU, from the measured rates."""
    train_slices = PAPER_SLICES * TRAIN_FRACTION
    fitted, held_out = train_slices * (1 - VAL_FRACTION), train_slices * VAL_FRACTION
    test_slices = PAPER_SLICES * (1 - TRAIN_FRACTION)
    epochs = paper_settings().epochs
    hours = {}
    for kind, count in PAPER_TRAININGS.items():
        row = rows[kind]
        training = epochs * fitted / row["loop_images_per_s"]
        # validation: forward passes only, about a third of a training step's work
        validation = epochs * held_out / (3 * row["step_images_per_s"])
        hours[f"train_{kind}"] = count * (training + validation + row["warmup_s"]) / 3600
    hours["inference"] = PAPER_RECONSTRUCTIONS * test_slices / infer_per_s / 3600
    hours["segmentation_of_test_images"] = PAPER_SEGMENTATIONS * test_slices / segment_per_s / 3600
    hours["total"] = sum(hours.values())
    return hours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--volumes", type=int, default=2, help="phantom volumes of stored data")
    parser.add_argument("--epoch-slices", type=int, default=3200)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS))
    parser.add_argument("--plain", nargs="+", default=["base", "task_adaptive"])
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="also time the step with training.deterministic, beside the fast one",
    )
    parser.add_argument("--json", type=Path, help="merge the headline numbers into this file")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("train_throughput.py measures a GPU: no CUDA device here")
    check_kinds(args.kinds)
    peak = bf16_peak()
    print(f"bf16 matrix-product peak: {peak / 1e12:.0f} TFLOP/s", flush=True)
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        started = time.perf_counter()
        train, val = stored_phantom_data(tmp, args.volumes, args.size)
        data_seconds = time.perf_counter() - started
        train = repeated(train, args.epoch_slices)
        print(f"stored data: {len(train)} training slices ({data_seconds:.0f} s)", flush=True)
        segmenter = None
        for kind in args.kinds:
            row, trainer = measure_kind(kind, KINDS[kind], args, train, val, segmenter, tmp)
            segmenter = row.pop("segmenter_state", segmenter)
            rows[kind] = row
            print(json.dumps(row), flush=True)
            network = trainer.model
            del trainer
            torch.cuda.empty_cache()
        images = train.rows(np.arange(min(256, len(train))))[0][:, 0].numpy()
        infer_per_s = forward_throughput(network.eval(), images)
        seg_net = segmentation_network().cuda().eval()
        segment_per_s = forward_throughput(seg_net, images)
    report(args, peak, rows, infer_per_s, segment_per_s)


def check_kinds(kinds: list[str]) -> None:
    """Task-adaptive and joint steps run through the segmenter the segmentation kind trains,
    so it must come first (else the run stops at them after minutes of work)."""
    through = [kinds.index(k) for k in ("task_adaptive", "joint") if k in kinds]
    if through and "segmentation" not in kinds[: min(through)]:
        raise SystemExit("--kinds: list segmentation before task_adaptive and joint")


def report(args, peak: float, rows: dict, infer_per_s: float, segment_per_s: float) -> None:
    if not set(KINDS) <= set(rows):  # the headline and the projection need every kind
        print(
            f"measured {', '.join(rows)} (rows above); no report, --json or --write-docs "
            f"without every kind ({', '.join(KINDS)})"
        )
        return
    base, task = rows["base"], rows["task_adaptive"]
    hours = project_paper_hours(rows, infer_per_s, segment_per_s)
    headline = {
        "speedup_vs_fp32_default": base["step_images_per_s"] / base["plain_images_per_s"],
        "speedup_task_vs_fp32_default": task["step_images_per_s"] / task["plain_images_per_s"],
        "mfu": base["flops_per_image"] * base["step_images_per_s"] / peak,
        "loop_vs_step": base["loop_images_per_s"] / base["step_images_per_s"],
        "projected_paper_gpu_hours": hours["total"],
    }
    if "deterministic_cost" in base:
        headline["deterministic_step_cost"] = base["deterministic_cost"]
        headline["deterministic_step_cost_task"] = task["deterministic_cost"]
    details = {
        "device": machine(),
        "date": today(),
        "command": "python bench/train_throughput.py " + " ".join(sys.argv[1:]),
        "bf16_peak_tflops": peak / 1e12,
        "rows": rows,
        "inference_images_per_s": infer_per_s,
        "segmentation_images_per_s": segment_per_s,
        "projected_hours": hours,
        "torch": torch.__version__,
    }
    print(json.dumps({**headline, **details}, indent=1, default=float))
    if args.json:
        merged = json.loads(args.json.read_text()) if args.json.exists() else {}
        merged.update(headline)
        merged["train_throughput"] = details
        args.json.write_text(json.dumps(merged, indent=1, default=float) + "\n")
    text = markdown(args, peak, rows, headline, hours, infer_per_s, segment_per_s)
    print(text)
    if args.write_docs:
        replace_section("train-throughput", text)


def deterministic_cells(row: dict) -> list[str]:
    """(b) with training.deterministic, its warm-up, and its cost against (b)."""
    if "deterministic_step_images_per_s" not in row:
        return []
    return [
        f"{row['deterministic_step_images_per_s']:.1f}",
        f"{row['deterministic_warmup_s']:.0f}",
        f"{row['deterministic_cost']:.1%}",
    ]


def markdown(args, peak, rows, headline, hours, infer_per_s, segment_per_s) -> str:
    timed = any("deterministic_cost" in row for row in rows.values())
    deterministic_header = " (b) deterministic | its warm-up s | its cost |" if timed else ""
    lines = [
        f"### Training throughput at {args.size} px: plain PyTorch, tact's step, tact's loop",
        "",
        f"`python bench/train_throughput.py{' ' if sys.argv[1:] else ''}"
        f"{' '.join(sys.argv[1:])}`; {machine()}; {today()}; torch {torch.__version__}. "
        f"The paper's U-Net, batch {args.batch_size}; images per second, median of "
        f"{args.repeats} x {args.steps} steps after warm-up. Measured bf16 matrix-product peak: "
        f"{peak / 1e12:.0f} TFLOP/s.",
        "",
        "| training | (a) plain fp32 | (b) tact step | (b)/(a) | (c) tact loop | (c)/(b) "
        "| TFLOP per image | MFU of (b) | warm-up s | peak GiB |" + deterministic_header,
        "|---|---|---|---|---|---|---|---|---|---|" + "---|" * deterministic_header.count("|"),
    ]
    for kind, row in rows.items():
        step, loop = row["step_images_per_s"], row["loop_images_per_s"]
        plain, flops = row.get("plain_images_per_s"), row.get("flops_per_image")
        label = f"{kind} ({row['weight']})" if row["weight"] else kind
        cells = [
            label,
            f"{plain:.1f}" if plain else "-",
            f"{step:.1f}",
            f"{step / plain:.2f}x" if plain else "-",
            f"{loop:.1f}",
            f"{loop / step:.2f}",
            f"{flops / 1e12:.2f}" if flops else "-",
            f"{flops * step / peak:.0%}" if flops else "-",
            f"{row['warmup_s']:.0f}",
            f"{row['peak_memory_gib']:.1f}",
            *deterministic_cells(row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    profiled = rows["base"].get("profile")
    if profiled:
        flops = rows["base"]["flops_per_image"] * args.batch_size
        matrix = profiled["matrix_kernel_seconds_per_step"]
        other = profiled["gpu_seconds_per_step"] - matrix
        lines += [
            "",
            f"Profile of tact's base step (torch.profiler, CUDA kernels): "
            f"{profiled['gpu_seconds_per_step'] * 1e3:.1f} ms of kernels per step of "
            f"{args.batch_size / rows['base']['step_images_per_s'] * 1e3:.1f} ms; convolution "
            f"and matrix kernels {matrix * 1e3:.1f} ms "
            f"({flops / matrix / 1e12:.0f} TFLOP/s while "
            f"they run, {flops / matrix / peak:.0%} of the "
            f"peak), everything else (batch norm, activations, loss, optimizer, copies) "
            f"{other * 1e3:.1f} ms. "
            "Largest kernels:",
            "",
            "| kernel | ms per step |",
            "|---|---|",
            *[f"| `{name}` | {seconds * 1e3:.2f} |" for name, seconds in profiled["top_kernels"]],
        ]
    lines += [
        "",
        f"Inference (`apply_network`, batch 16): reconstruction U-Net {infer_per_s:.0f} images/s, "
        f"segmentation U-Net {segment_per_s:.0f} images/s.",
        "",
        "Projected paper-scale cost on one such GPU (19,163 slices, 80% training of which 10% "
        "validation, 30 epochs for each of the eight trainings, every test slice reconstructed "
        "by the 7 networks and segmented for 11 methods, compile/warm-up included):",
        "",
        "| part | GPU-hours |",
        "|---|---|",
        *[f"| {part.replace('_', ' ')} | {value:.2f} |" for part, value in hours.items()],
        "",
        "Headline (`docs/benchmarks.json`): "
        + ", ".join(f"`{k}` {v:.3g}" for k, v in headline.items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
