"""The scale rehearsal (issue 32): every rule's time, memory and output at two sizes of
config/rehearsal.yaml, their ratio, and the projection to the paper's 19,163 slices.

On the machine that ran a rehearsal (its files are there only while it is):

    python bench/scale.py collect results/rehearsal-4 --summary summary.tsv --out rehearsal-4.json

(``peaks RUN.json RESULTS`` takes a collected run's peaks again from the logs and benchmarks
that docs/scripts/record_rehearsal.sh archives: for runs collected before the logs were read.)

(``summary.tsv``: ``snakemake --summary`` of that run, which names each output's rule). Then,
anywhere, with both sizes:

    python bench/scale.py report rehearsal-4.json rehearsal-8.json

prints the table of docs/scale.md: both sizes, their ratio and the paper-scale projection, and

    python bench/scale.py fit rehearsal-4.json rehearsal-8.json --volume-slices 200

writes the constants the workflow's requests and the dry run's cost lines use
(src/tact/costs.json, read by tact.costs): per rule, the larger size's peak, CPU and GPU
seconds and bytes; the trainings' images per second and start-up.

Per rule: jobs; the longest job's wall time; the peak RSS of its largest job (the larger of
Snakemake's benchmark ``max_rss``, sampled every few seconds, and the job's own peak in its log,
``tact.logs.log_peaks``: the sample missed simulation_quality's peak of 1.4 GB and said 0.55);
peak GPU memory (the job's log, ``tact.logs.log_peaks``); CPU seconds
(``cpu_time``); bytes of its outputs. Totals scale with the labelled slices; a job's peak is
extrapolated along the line through the two sizes (never below the larger size's).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

import h5py
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_section import machine, today

from tact.methods import parse_method
from tact.segmenters import MODEL_PATTERN

ROOT = Path(__file__).resolve().parents[1]

GPU_PEAK = re.compile(r"peak GPU memory (\d+) MiB")
PEAK = re.compile(r"peak memory (\d+) MB")


def rule_of_benchmark(relative: Path) -> str:
    """The rule of a benchmark file, from its path under benchmarks/ (the rules' layout)."""
    parts = relative.with_suffix("").parts
    if parts[0] == "train":
        is_segmenter = re.fullmatch(MODEL_PATTERN, parts[1])
        return "train_segmentation" if is_segmenter else "train_reconstruction"
    if parts[0] == "report":
        return parts[1]
    if parts[0] == "observers":  # the images, then one job per method (networks on the GPU)
        if parts[1] == "lesion_images":
            return "lesion_images"
        return "observe" if parse_method(parts[1]) is None else "observe_network"
    return parts[0]


def collect(results: Path, summary: Path) -> dict:
    """One finished run's per-rule measurements (see the module docstring)."""
    rules: dict[str, dict] = {}
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        relative = path.relative_to(results / "benchmarks")
        with path.open() as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        rule = rules.setdefault(rule_of_benchmark(relative), _empty())
        rule["jobs"] += 1
        rule["wall_s"] = max(rule["wall_s"], float(row["s"]))
        rule["job_s"] += float(row["s"])
        rule["cpu_s"] += float(row["cpu_time"] or 0)
        rule["max_rss_mb"] = max(rule["max_rss_mb"], float(row["max_rss"] or 0))
    add_logged_peaks(rules, results)
    with summary.open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            output = results.parents[1] / row["output_file"]  # relative to the workdir
            if row.get("rule") in rules and output.is_file():
                rules[row["rule"]]["bytes"] += output.stat().st_size
    slices = 0
    for store in (results / "data" / "slices").glob("volume-*.h5"):
        with h5py.File(store, "r") as file:
            slices += len(file["slice_index"])
    histories = {p.stem: _steady_rate(p) for p in (results / "training").glob("*.csv")}
    return {
        "run": results.name,
        "machine": machine(),
        "date": today(),
        "volumes": len(list((results / "data" / "slices").glob("volume-*.h5"))),
        "slices": slices,
        "rules": rules,
        "training_images_per_s": histories,
        "training_epoch_s": _epoch_seconds(results),
    }


def add_logged_peaks(rules: dict[str, dict], results: Path) -> None:
    """Each rule's peaks from its jobs' logs (``tact.logs.log_peaks``): GPU memory, and host
    memory where the job's own peak exceeds the benchmark's, which samples and misses peaks."""
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        relative = path.relative_to(results / "benchmarks")
        rule = rules[rule_of_benchmark(relative)]
        log = results / "logs" / relative.with_suffix(".log")
        text = log.read_text() if log.exists() else ""
        if found := GPU_PEAK.findall(text):
            rule["gpu_peak_mib"] = max(rule["gpu_peak_mib"], int(found[-1]))
        if found := PEAK.findall(text):
            rule["max_rss_mb"] = max(rule["max_rss_mb"], float(found[-1]))


def _empty() -> dict:
    return {"jobs": 0, "wall_s": 0.0, "job_s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0,
            "gpu_peak_mib": 0, "bytes": 0}  # fmt: skip


def _steady_rate(history: Path) -> float:
    """Images per second of a training's last epoch (the first one holds the compilation)."""
    return float(_epochs(history)[-1]["images_per_s"])


def _epochs(history: Path) -> list[dict]:
    with history.open() as handle:
        return list(csv.DictReader(handle))


def _epoch_seconds(results: Path) -> dict[str, float]:
    """Each training's seconds in its epochs (the rest of its job is its start-up)."""
    return {
        p.stem: sum(float(row["seconds"]) for row in _epochs(p))
        for p in (results / "training").glob("*.csv")
    }


PAPER_SLICES = 19_163  # LiTS' labelled slices: the paper's run
PAPER_VOLUME_SLICES = round(58_638 / 131)  # LiTS' mean volume: what a per-volume job holds
# what does not grow with the slices: the models' files; the sweeps' fixed number of slices
FIXED_OUTPUT = {"train_segmentation", "train_reconstruction"}
FIXED_WORK = {"bm3d_sweep", "tune_fbp"}


GROWTH_BOUND = 1.25  # issue 32: a bounded job's peak when the data doubles


def rehearsal_volume_slices() -> int:
    """The slices of each rehearsal volume (config/rehearsal.yaml): what a per-volume job held."""
    config = yaml.safe_load((ROOT / "config/rehearsal.yaml").read_text())
    return int(config["phantom"]["n_slices"])


def paper_peak_mb(runs: list[dict], rule: str) -> float:
    """A job's peak at the paper's size. Where the peak stayed within GROWTH_BOUND from one
    size to the other, the job is bounded as tact.costs models it: the larger run's peak, for a
    job bounded by a volume scaled by LiTS' mean volume over the rehearsal's (the whole peak,
    interpreter and libraries too: it errs high), as with one size only (its growth then not
    measured: the ratio column says so). Where it grew more, along the line through the sizes
    (never below the larger's)."""
    from tact.costs import BY_VOLUME

    rules = [(run["slices"], run["rules"].get(rule, _empty())) for run in runs]
    peaks = [(slices, r["max_rss_mb"]) for slices, r in rules if r["jobs"]]  # sizes that ran it
    (sa, pa), (sb, pb) = peaks[0], peaks[-1]
    if len(peaks) == 1 or pb <= GROWTH_BOUND * pa:
        by_volume = PAPER_VOLUME_SLICES / rehearsal_volume_slices() if rule in BY_VOLUME else 1
        return pb * max(1.0, by_volume)
    slope = max((pb - pa) / (sb - sa), 0.0) if sb != sa else 0.0
    return max(pb, pb + slope * (PAPER_SLICES - sb))


def paper_request(runs: list[dict], rule: str) -> str:
    """What a job of ``rule`` asks at the paper's scale (tact.costs, with the repository's
    constants, for a volume of LiTS' mean slices), marked where the projected peak exceeds it."""
    from tact.costs import job_memory_mb, measured

    if rule not in measured()["rules"]:
        return "declared"
    asks = job_memory_mb(rule, PAPER_VOLUME_SLICES)
    return f"{asks}" + (" (below the peak)" if paper_peak_mb(runs, rule) > asks else "")


def report(runs: list[dict]) -> str:
    """docs/scale.md's table: every rule at each size, the ratio of its peak memory between
    two sizes, and the paper-scale projection (totals in proportion to the labelled slices)."""
    last = runs[-1]
    sizes = " and ".join(f"{r['volumes']} volumes ({r['slices']} labelled slices)" for r in runs)
    scale = PAPER_SLICES / last["slices"]
    lines = [
        f"Runs of `config/rehearsal.yaml` at {sizes}, 512 px, on {last['machine']}, "
        f"{last['date']}. Per rule: jobs, the longest job, the largest job's peak RSS "
        "(Snakemake's benchmark `max_rss`, the job's whole process tree), peak GPU memory "
        "(the job's log), CPU seconds and output bytes of all its jobs; the last columns scale "
        f"the larger run's totals by {PAPER_SLICES:,} / {last['slices']} labelled slices "
        "(not the trainings' model files, nor the FBP and BM3D sweeps' fixed slices); "
        "`paper: asks MB` is what its job requests there (tact.costs, src/tact/costs.json, "
        f"a volume of {PAPER_VOLUME_SLICES} slices).",
        "",
        "| rule | jobs | longest job s | peak RSS MB | ratio | peak GPU MiB | CPU s | output MB "
        "| paper: peak RSS MB | paper: asks MB | paper: output GB | paper: CPU core-h |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(last["rules"]):
        each = [run["rules"].get(name, _empty()) for run in runs]

        def cells(key: str, fmt: str, each=each) -> str:
            return " / ".join(format(rule[key], fmt) for rule in each)

        ratio = "–"
        if len(each) == 2 and each[0]["max_rss_mb"]:
            ratio = f"{each[1]['max_rss_mb'] / each[0]['max_rss_mb']:.2f}"
        b = each[-1]
        megabytes = " / ".join(f"{rule['bytes'] / 1e6:.0f}" for rule in each)
        lines.append(
            f"| {name} | {cells('jobs', 'd')} | {cells('wall_s', '.0f')} "
            f"| {cells('max_rss_mb', '.0f')} | {ratio} | {cells('gpu_peak_mib', 'd')} "
            f"| {cells('cpu_s', '.0f')} | {megabytes} "
            f"| {paper_peak_mb(runs, name):.0f} | {paper_request(runs, name)} "
            f"| {b['bytes'] * (1 if name in FIXED_OUTPUT else scale) / 1e9:.1f} "
            f"| {b['cpu_s'] * (1 if name in FIXED_WORK else scale) / 3600:.1f} |"
        )
    rates = ", ".join(f"{k} {v:.0f}" for k, v in sorted(last["training_images_per_s"].items()))
    lines += ["", f"Training images per second (last epoch, after compilation): {rates}."]
    return "\n".join(lines) + "\n"


def fit(
    runs: list[dict], volume_slices: int, drop: tuple[str, ...] = (), test_slices: int = 0
) -> dict:
    """tact.costs' constants from the larger run (``volume_slices``: each rehearsal volume's
    slices, the size a per-volume job holds; ``test_slices``: its test slices, which BM3D and
    the networks' inference went through, their logs say how many). A training's GPU time is
    its start-up (its job less its epochs) plus its images at the harmonic mean of the
    measured rates: rates of trainings that shared the GPU, so the hours err high."""
    last = runs[-1]
    rules = {
        name: {
            "peak_mb": max(run["rules"].get(name, _empty())["max_rss_mb"] for run in runs),
            "cpu_s": rule["cpu_s"],
            "job_s": rule["job_s"],
            "wall_s": rule["wall_s"],
            "bytes": rule["bytes"],
            "jobs": rule["jobs"],
            "gpu": rule["gpu_peak_mib"] > 0,
            "fixed": name in FIXED_WORK,
        }
        for name, rule in last["rules"].items()
        if name not in drop
    }
    rates = list(last["training_images_per_s"].values())
    trainings = [last["rules"][r] for r in FIXED_OUTPUT if r in last["rules"]]
    job_s = sum(t["job_s"] for t in trainings) / sum(t["jobs"] for t in trainings)
    epoch_s = sum(last["training_epoch_s"].values()) / len(last["training_epoch_s"])
    return {
        "measured": f"{last['volumes']} volumes, {last['machine']}, {last['date']}",
        "volumes": last["volumes"],
        "image_size": 512,  # config/rehearsal.yaml's
        "volume_slices": volume_slices,
        "labelled_slices": last["slices"],
        "test_slices": test_slices,
        "rules": rules,
        "training_images_per_s": len(rates) / sum(1 / r for r in rates),
        "training_start_s": max(job_s - epoch_s, 0.0),
    }


def images_like_bm3d(constants: dict, run: dict, rules: tuple[str, ...]) -> None:
    """BM3D's bytes and CPU time for every test volume of the run (from its jobs that
    finished), and each
    job of ``rules`` (one network's test images of every test volume) given as many: the
    rehearsal's networks, trained for two epochs, give near-constant
    images that compress to a fifth of BM3D's (0.12 against 0.64 MB per 512 px test slice in
    the 8-volume run of 2026-12-06), where a trained network's residual noise compresses as
    BM3D's images or worse. Without it the paper's test images would be projected at 4.1 GB,
    not about 21.

    A run to its end has a BM3D job for every volume (one without test slices writes a store
    of a few kB in a second): its bytes are those of all its test volumes. A run stopped
    earlier counts its BM3D jobs as the test volumes they finished (the partial runs of
    2026-12-06, whose one BM3D job was a test volume's)."""
    from tact.data.split import test_count

    bm3d = run["rules"]["bm3d"]
    test_volumes = test_count(run["volumes"], 0.2, "volume")  # config/rehearsal.yaml's split
    finished = test_volumes if bm3d["jobs"] >= run["volumes"] else bm3d["jobs"]
    per_volume = bm3d["bytes"] / finished
    for key in ("bytes", "cpu_s", "job_s"):  # every test volume's, not only the finished
        constants["rules"]["bm3d"][key] = bm3d[key] / finished * test_volumes
    for name in rules:
        constants["rules"][name]["bytes"] = run["rules"][name]["jobs"] * per_volume * test_volumes


def kept_rules(earlier: dict, labelled_slices: int) -> dict:
    """An earlier fit's rules, each saying which rehearsal measured it, with what grows with the
    run (its time where it goes through the run, its CPU time and bytes unless fixed) brought to
    ``labelled_slices``, the new fit's run, which tact.costs scales every rule from."""
    from tact.costs import WHOLE_RUN

    factor = labelled_slices / earlier["labelled_slices"]
    rules = {}
    for name, rule in earlier["rules"].items():
        rule = {"measured": earlier["measured"]} | rule
        if "measured_labelled_slices" not in rule:  # brought once, when first kept
            grows = [] if rule["fixed"] else ["cpu_s", "job_s", "bytes"]
            for key in grows + (["wall_s"] if name in WHOLE_RUN else []):
                rule[key] *= factor
            rule["measured_labelled_slices"] = earlier["labelled_slices"]
        rules[name] = rule
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("collect")
    one.add_argument("results", type=Path)
    one.add_argument("--summary", type=Path, required=True)
    one.add_argument("--out", type=Path, required=True)
    two = sub.add_parser("report", help="print the table of one or two collected runs")
    two.add_argument("runs", type=Path, nargs="+", help="collected runs, smaller first")
    three = sub.add_parser("fit", help="write tact.costs' constants from collected runs")
    three.add_argument("runs", type=Path, nargs="+", help="collected runs, smaller first")
    three.add_argument("--volume-slices", type=int, required=True)
    three.add_argument(
        "--test-slices", type=int, required=True, help="the larger run's test slices"
    )
    three.add_argument("--drop", nargs="*", default=(), help="rules not to take from the runs")
    three.add_argument("--out", type=Path, default=ROOT / "src/tact/costs.json")
    three.add_argument("--keep", type=Path, help="an earlier fit: rules the runs lack keep its")
    three.add_argument(
        "--images-like-bm3d",
        nargs="*",
        default=(),
        help="rules whose test images take BM3D's bytes per test volume (see images_like_bm3d)",
    )
    four = sub.add_parser("peaks", help="a collected run's peaks, again from its logs")
    four.add_argument("run", type=Path, help="collected run (rewritten)")
    four.add_argument("results", type=Path, help="its logs/ and benchmarks/ (the logs archive)")
    args = parser.parse_args()
    if args.command == "peaks":
        run = json.loads(args.run.read_text())
        add_logged_peaks(run["rules"], args.results)
        args.run.write_text(json.dumps(run, indent=1) + "\n")
        return
    if args.command == "fit":
        runs = [json.loads(p.read_text()) for p in args.runs[:2]]
        constants = fit(runs, args.volume_slices, tuple(args.drop), args.test_slices)
        images_like_bm3d(constants, runs[-1], tuple(args.images_like_bm3d))
        if args.keep:
            earlier = json.loads(args.keep.read_text())
            constants["rules"] = (
                kept_rules(earlier, constants["labelled_slices"]) | constants["rules"]
            )
        args.out.write_text(json.dumps(constants, indent=1) + "\n")
        return
    if args.command == "collect":
        args.out.write_text(json.dumps(collect(args.results, args.summary), indent=1) + "\n")
        return
    print(report([json.loads(p.read_text()) for p in args.runs[:2]]), end="")


if __name__ == "__main__":
    main()
