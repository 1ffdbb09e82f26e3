"""The evaluation at the paper's scale: tact's metrics beside an earlier commit's, in one run,
and the projected wall time of the paper's test set on this machine.

    .venv/bin/python bench/evaluation.py [--baseline COMMIT | --baseline-source FILE]
        [--no-baseline] [--slices N] [--volumes N] [--jobs N] [--workers N]
        [--json docs/benchmarks.json] [--write-docs]

The test slices are the labelled slices of a phantom volume shaped like a LiTS case (512 px of
0.70 mm, 200 slices of 1 mm: 128 with liver, a LiTS case 146 on average), liver and tumours,
each segmented by three "segmenters": the truth moved by a few pixels and grown or shrunk by
one, as a trained network's map differs from the truth; the "method's" image is the full-dose
one with noise. ``--volumes`` copies of it are written as the workflow writes them (slice
stores, the method's test-image file, its label file, the split, the truth's skeletons).

- Every core, as the workflow runs it: ``--jobs`` ``evaluate`` jobs side by side (default: the
  cores over ``--workers``), as the 11 methods' jobs share a node, each one method's work over
  every volume (:func:`tact.evaluation.method_tables_from_files`: per test slice PSNR, SSIM
  and, by each of the three segmenters, Dice, NSD and clDice per class; per test volume the
  same in 3-D) with ``--workers`` worker processes (the rule's 4 threads) each opening the
  volume it evaluates. The projection (``evaluation_paper_scale_minutes``): the paper's 3,833
  test slices x 11 methods at that throughput, plus the truth's skeletons of its test slices
  (rule ``truth_skeletons``, once for every method) spread over the node's cores.
- One process: seconds per test slice of one method's evaluation of one volume.
- ``baseline`` (unless ``--no-baseline``): the per-slice work with the anatomy metrics of
  ``--baseline`` (default 88fcc03, before issue 19: edge-pixel NSD and clDice over the whole
  slice, no 3-D metrics), loaded from git (or from ``--baseline-source`` where the checkout has
  no history), one process per method (its ``evaluate`` rule had one thread), min(11, cores)
  side by side.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from tact.data.phantom import PhantomSpec, generate_volume
from tact.data.slices import SliceStack, save_stack
from tact.data.units import hu_to_normalised
from tact.evaluation import method_tables_from_files, save_truth_skeletons
from tact.metrics.anatomy import slice_metrics
from tact.metrics.pixel import psnr_in_roi, ssim_in_roi
from tact.parallel import THREAD_VARIABLES, in_processes
from tact.roi import circular_roi
from tact.test_sets import GroundTruth, TestImages, TestSet, save_label_sets, save_test_set

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_section import DOC, machine, replace_section, today

ROOT = Path(__file__).resolve().parents[1]
PAPER_TEST_SLICES, PAPER_METHODS, SEGMENTERS = 3833, 11, ("g", "held_out_1", "held_out_2")


def baseline_code(commit: str, source: Path | None) -> str:
    """The anatomy-metrics module of an earlier commit, as source text."""
    if source is not None:
        return source.read_text()
    return subprocess.run(
        ["git", "show", f"{commit}:src/tact/metrics/anatomy.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def segmenter_map(truth: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """The truth moved by a few pixels, liver and tumour grown (k even) or shrunk by a pixel."""
    moved = np.roll(truth, tuple(rng.integers(-3, 4, 2)), axis=(1, 2))
    change = ndimage.binary_dilation if k % 2 == 0 else ndimage.binary_erosion
    in_plane = np.ones((1, 3, 3), bool)
    out = change(moved >= 1, structure=in_plane).astype(np.uint8)
    out[change(moved == 2, structure=in_plane)] = 2
    return out


def test_volume(n_slices: int, seed: int = 4) -> dict:
    """``n_slices`` contiguous labelled slices of a LiTS-shaped phantom volume at 512 px, with
    three segmenters' maps and a noisy image, as method_tables takes them."""
    spec = PhantomSpec(size=512, n_slices=200, slice_thickness_mm=1.0, fov_mm=(360.0, 360.0))
    volume = generate_volume(seed, spec)  # 0.70 mm pixels, as in a typical LiTS case
    keep = np.flatnonzero(volume.labels.reshape(spec.n_slices, -1).any(axis=1))
    keep = keep[max(0, (len(keep) - n_slices) // 2) :][:n_slices]  # all when fewer
    rng = np.random.default_rng(seed)
    truth = hu_to_normalised(volume.hu[keep]).astype(np.float32)
    return {
        "truth": truth,
        "image": truth + rng.normal(0, 0.01, truth.shape).astype(np.float32),
        "masks": volume.labels[keep],
        "labels": {s: segmenter_map(volume.labels[keep], k, rng) for k, s in enumerate(SEGMENTERS)},
        "slices": keep,
        "spacing": (*volume.spacing_mm[:2], volume.spacing_mm[2]),
    }


def test_sets(data: dict, copies: int) -> tuple:
    """``copies`` volumes holding the same slices, as TestSets in the split's order."""
    volumes = np.repeat(np.arange(copies), len(data["slices"]))
    slices = np.tile(data["slices"], copies)

    def tiled(array: np.ndarray) -> TestSet:
        return TestSet(np.tile(array, (copies, 1, 1)), volumes, slices)

    labels = {s: tiled(m) for s, m in data["labels"].items()}
    spacing = dict.fromkeys(range(copies), data["spacing"])
    return tiled(data["truth"]), tiled(data["masks"]), spacing, tiled(data["image"]), labels


def today_seconds_per_slice(run: TestRun) -> float:
    """One process's seconds per test slice for one method's evaluation of the run's first
    volume, as a worker does it (from the files, the truth's skeletons read, not computed)."""
    import monai.metrics.utils  # noqa: F401  (imported before the clock starts)

    rows = run.truth.rows[run.truth.rows["volume"] == 0]
    split = Path(run.truth.split).with_name("split-0.csv")
    rows.assign(split="test").to_csv(split, index=False)
    truth = GroundTruth(run.truth.stores, str(split))
    images = TestImages(run.images.name, run.images.paths, str(split))
    start = time.perf_counter()
    method_tables_from_files(images, truth, run.labels, skeletons=run.skeletons, workers=1)
    return (time.perf_counter() - start) / len(rows)


def baseline_module_from(code: str, commit: str) -> types.ModuleType:
    module = types.ModuleType(f"anatomy_{commit}")
    exec(compile(code, f"{commit}:src/tact/metrics/anatomy.py", "exec"), module.__dict__)
    return module


def _baseline_job(job: tuple[str, str, dict, int]) -> None:
    """One baseline ``evaluate`` job in a worker process (the module travels as its code)."""
    code, commit, data, repeats = job
    anatomy = baseline_module_from(code, commit)
    for _ in range(repeats):
        baseline_seconds_per_slice(data, anatomy)


def baseline_parallel_slices_per_s(
    data: dict, code: str, commit: str, jobs: int, repeats: int
) -> float:
    """The baseline's node throughput, measured: ``jobs`` single-process evaluate jobs side by
    side (as 11 methods' jobs shared a node), each over the volume ``repeats`` times (as many
    as today's workers get, so that both pay their start alike), not assumed to scale."""
    start = time.perf_counter()
    work = [(code, commit, data, repeats)] * jobs
    in_processes(_baseline_job, work, workers=jobs, what="baseline", unit="jobs")
    return jobs * repeats * len(data["slices"]) / (time.perf_counter() - start)


def baseline_seconds_per_slice(data: dict, anatomy: types.ModuleType) -> float:
    """The per-slice work of the baseline's evaluate job: image metrics, and the anatomy
    metrics by every segmenter."""
    roi = circular_roi(data["truth"].shape[-1])
    start = time.perf_counter()
    for i in range(len(data["slices"])):
        psnr_in_roi(data["image"][i], data["truth"][i], roi)
        ssim_in_roi(data["image"][i], data["truth"][i], roi)
        for predicted in data["labels"].values():
            anatomy.slice_metrics(
                predicted[i], data["masks"][i], data["spacing"][:2], tolerance_mm=2.0
            )
    return (time.perf_counter() - start) / len(data["slices"])


@dataclass
class TestRun:
    """A method's test set written as the workflow writes it (:func:`write_test_run`)."""

    images: TestImages
    truth: GroundTruth
    labels: Path
    skeletons: Path
    n_slices: int
    skeleton_s: float  # the truth's skeletons of every volume (rule truth_skeletons)


def write_test_run(data: dict, copies: int, root: Path) -> TestRun:
    """``copies`` test volumes as the workflow stores them: a slice store per volume, the
    method's test images (one file, as a network's), its label file, the split, and the
    truth's skeletons (rule ``truth_skeletons``, timed)."""
    truth, masks, spacing, image, labels = test_sets(data, copies)
    stores = []
    for volume in range(copies):
        at = truth.volumes == volume
        store = SliceStack(
            volume, truth.images[at], masks.images[at], truth.slices[at], np.array(spacing[volume])
        )
        stores.append(str(root / f"volume-{volume}.h5"))
        save_stack(store, stores[-1])
    split = pd.DataFrame({"volume": truth.volumes, "slice": truth.slices, "split": "test"})
    split.to_csv(root / "split.csv", index=False)
    save_test_set(image, root / "base.h5")
    save_label_sets(labels, root / "base.labels.h5")
    ground_truth = GroundTruth(tuple(stores), str(root / "split.csv"))
    start = time.perf_counter()
    save_truth_skeletons(ground_truth, root / "skeletons.h5")
    skeleton_s = time.perf_counter() - start
    images = TestImages("base", (str(root / "base.h5"),), str(root / "split.csv"))
    return TestRun(
        images, ground_truth, root / "base.labels.h5", root / "skeletons.h5", len(truth), skeleton_s
    )


def _evaluate_job(run: TestRun, workers: int) -> None:
    """One ``evaluate`` job (one method over every test volume), as the rule runs it."""
    method_tables_from_files(
        run.images, run.truth, run.labels, skeletons=run.skeletons, workers=workers
    )


def node_slices_per_s(run: TestRun, jobs: int, workers: int) -> float:
    """Test slices per second of ``jobs`` evaluate jobs side by side (as the methods' jobs
    share a node), each over every volume of ``run`` with ``workers`` worker processes."""
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_evaluate_job, args=(run, workers)) for _ in range(jobs)]
    start = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    seconds = time.perf_counter() - start
    if any(process.exitcode != 0 for process in processes):
        raise RuntimeError("an evaluate job failed")
    return jobs * run.n_slices / seconds


def agreement(data: dict, anatomy: types.ModuleType) -> dict:
    """Dice and clDice of today and the baseline on the same maps (NSD changed definition)."""
    worst = {"dice": 0.0, "cldice": 0.0}
    predicted = data["labels"]["g"]
    for i in range(len(data["slices"])):
        spacing = data["spacing"][:2]
        new = slice_metrics(predicted[i], data["masks"][i], spacing, tolerance_mm=2.0)
        old = anatomy.slice_metrics(predicted[i], data["masks"][i], spacing, tolerance_mm=2.0)
        for metric in worst:
            for column in (c for c in new if c.startswith(f"{metric}_")):
                gap = abs(np.nan_to_num(new[column]) - np.nan_to_num(old[column]))
                worst[metric] = max(worst[metric], float(gap))
    return worst


def report(r: dict) -> str:
    rows = [
        ("one process, s per test slice", "baseline_s_per_slice", "today_s_per_slice", ".3f"),
        (
            f"every core ({r['processes']} processes), test slices per s",
            "baseline_slices_per_s_node",
            "today_slices_per_s_measured",
            ".2f",
        ),
        (
            f"projected on {r['node_cores']} cores: 3,833 slices x 11 methods, minutes",
            "baseline_paper_scale_minutes",
            "evaluation_paper_scale_minutes",
            ".1f",
        ),
    ]
    header = f"""### Evaluation at the paper's scale (`bench/evaluation.py`)

{r["date"]}, {r["machine"]}; `{r["command"]}`. Test volumes: {r["volumes"]} copies of
{r["slices"]} contiguous labelled slices of a LiTS-shaped 512 px phantom volume (0.70 mm pixels,
1 mm slices), stored as the workflow stores them, each segmented by three segmenters (the truth
moved, grown or shrunk); per slice PSNR and SSIM, and per segmenter Dice, NSD (2 mm) and clDice
per class; per volume the same in 3-D (today only). Every core: {r["jobs"]} `evaluate` jobs side
by side, as the methods' jobs share a node, each one method's work over every volume's files
(`method_tables_from_files`) with {r["workers"]} worker processes (the rule's threads), the
truth's skeletons read from the file that rule `truth_skeletons` writes once for every method
({r["truth_skeletons_s_per_slice"]:.3f} s per test slice, one process; the projection adds them
for the paper's test slices, spread over the node's cores).
"""
    headline = (
        "Headline (`docs/benchmarks.json`): `evaluation_paper_scale_minutes` = "
        f"{r['evaluation_paper_scale_minutes']:.1f}.{_scaled(r)}"
    )
    if r.get("baseline") is None:
        table = "\n".join(f"| {name} | {r[new]:{form}} |" for name, _, new, form in rows)
        return f"{header}\n| | today |\n|---|---|\n{table}\n\n{headline}\n"

    def speedup(old: str, new: str) -> float:  # rates per second: higher is faster
        return r[new] / r[old] if "_per_s_" in new else r[old] / r[new]

    table = "\n".join(
        f"| {name} | {r[old]:{form}} | {r[new]:{form}} | {speedup(old, new):.1f}x |"
        for name, old, new, form in rows
    )
    return f"""{header}
| | baseline ({r["baseline"]}) | today | speed-up |
|---|---|---|---|
{table}

Today includes the 3-D metrics, which the baseline did not compute. The baseline's node
throughput is its `evaluate` rule's, measured: one single-process job per method, min(11,
cores) side by side. Dice and clDice agree with the baseline's to
{r["agreement"]["dice"]:.1g} and {r["agreement"]["cldice"]:.1g}; NSD changed definition
(Nikolov et al.'s surface, issue 19). {headline}
"""


def _scaled(r: dict) -> str:
    if r["processes"] == r["node_cores"]:
        return ""
    return (
        f" Measured with {r['processes']} processes, projected to {r['node_cores']} cores as"
        f" {r['node_cores']} / {r['processes']} times the throughput (linear scaling assumed)."
    )


def baseline_numbers(args: argparse.Namespace, data: dict, volumes: int) -> dict:
    """The baseline's per-slice time and node throughput, and its agreement with today's."""
    code = baseline_code(args.baseline, args.baseline_source)
    anatomy = baseline_module_from(code, args.baseline)
    cores = args.jobs * args.workers
    jobs = min(PAPER_METHODS, cores)
    repeats = max(1, round(volumes * args.jobs / cores))
    rate = baseline_parallel_slices_per_s(data, code, args.baseline, jobs, repeats)
    return {
        "baseline": args.baseline,
        "baseline_s_per_slice": baseline_seconds_per_slice(data, anatomy),
        "baseline_slices_per_s_node": rate,
        "baseline_paper_scale_minutes": PAPER_TEST_SLICES
        * PAPER_METHODS
        / (rate * min(PAPER_METHODS, args.node_cores) / jobs)
        / 60,
        "agreement": agreement(data, anatomy),
    }


def paper_minutes(node_rate: float, skeleton_s_per_slice: float, node_cores: int) -> float:
    """The paper's 11 methods x 3,833 test slices at ``node_rate`` (the node's), and the
    truth's skeletons of its test slices (computed once, spread over the node's cores)."""
    evaluate_s = PAPER_TEST_SLICES * PAPER_METHODS / node_rate
    return (evaluate_s + skeleton_s_per_slice * PAPER_TEST_SLICES / node_cores) / 60


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default="88fcc03")
    parser.add_argument("--baseline-source", type=Path)
    parser.add_argument("--no-baseline", action="store_true", help="measure today's only")
    parser.add_argument("--slices", type=int, default=144, help="test slices per volume")
    parser.add_argument("--workers", type=int, default=4, help="per job (the rule's threads)")
    parser.add_argument("--jobs", type=int, help="evaluate jobs side by side (cores / workers)")
    parser.add_argument("--volumes", type=int, default=8, help="test volumes per job")
    parser.add_argument("--node-cores", type=int, default=16, help="the node of the projection")
    parser.add_argument("--json", type=Path, help="merge the numbers into this file")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    args.jobs = args.jobs or max(1, (os.cpu_count() or 1) // args.workers)
    data = test_volume(args.slices)
    with tempfile.TemporaryDirectory() as root:
        run = write_test_run(data, args.volumes, Path(root))
        node_rate = node_slices_per_s(run, args.jobs, args.workers)
        print(f"every core: {node_rate:.2f} test slices/s", flush=True)
        os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))  # one process is one core
        today_s = today_seconds_per_slice(run)
        print(f"one process: today {today_s:.3f} s/slice", flush=True)
    processes = args.jobs * args.workers
    measured_rate = node_rate
    node_rate *= args.node_cores / processes  # unchanged when measured on such a node
    skeleton_s = run.skeleton_s / run.n_slices
    r = {
        "command": "python bench/evaluation.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "date": today(),
        "baseline": None,
        "slices": len(data["slices"]),
        "volumes": args.volumes,
        "jobs": args.jobs,
        "workers": args.workers,
        "processes": processes,
        "truth_skeletons_s_per_slice": skeleton_s,
        "today_s_per_slice": today_s,
        "today_slices_per_s_measured": measured_rate,
        "today_slices_per_s_node": node_rate,
        "node_cores": args.node_cores,
        "evaluation_paper_scale_minutes": paper_minutes(node_rate, skeleton_s, args.node_cores),
    }
    if not args.no_baseline:
        r |= baseline_numbers(args, data, args.volumes)
        r["speedup_paper_scale"] = (
            r["baseline_paper_scale_minutes"] / r["evaluation_paper_scale_minutes"]
        )
    text = report(r)
    print(text)
    if args.json:
        merged = json.loads(args.json.read_text()) if args.json.exists() else {}
        merged["evaluation_paper_scale_minutes"] = r["evaluation_paper_scale_minutes"]
        merged["evaluation"] = r
        args.json.write_text(json.dumps(merged, indent=1) + "\n")
    if args.write_docs:
        replace_section("evaluation", text, DOC)


if __name__ == "__main__":
    main()
