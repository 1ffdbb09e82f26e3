"""What a run costs, said before it starts and asked of the cluster job by job (issue 32).

Every figure comes from the scale rehearsal (config/rehearsal.yaml, docs/scale.md): per rule,
its largest job's peak memory, its CPU and GPU seconds and the bytes it wrote, measured at two
sizes and kept in ``costs.json`` beside this module (``python bench/scale.py fit`` writes it;
docs/scale.md says which rules come from which rehearsal).
Nothing here is guessed from the paper.

A job's memory is bounded by one volume (or one batch) whatever the size of the run, so a
rule's request grows with the slices of the volume the job holds: the rehearsal's peak times
(volume slices / the rehearsal's volume slices), never less than that peak. That treats the
whole peak as data (the interpreter and libraries too), which errs high, as a request should.
Disk, CPU core-hours and the GPU-hours of the per-slice rules grow with the labelled slices
and their pixels; the trainings' GPU-hours with the training slices, epochs, pixels and the
measured images per second. The projection is of work at the rehearsal's pace (its GPU,
its 16 cores).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MEASURED = Path(__file__).with_name("costs.json")
# What bounds each rule's memory: the volume a job holds (per-volume jobs, and those that go
# volume by volume), or a fixed amount (a batch, a few slices, a table).
BY_VOLUME = frozenset(
    [
        "phantom",
        "extract_slices",
        "simulate",
        "bm3d",
        "infer",
        "segment",
        "consistency",
        "evaluate",
        "simulation_quality",
        "data_overview",
        "truth_skeletons",
    ]
)
TRAININGS = frozenset({"train_segmentation", "train_reconstruction"})
# What bounds each rule's time: the volume a job makes (one job per volume), or the run (jobs
# that go through every test volume or every volume); the rest take a fixed time.
ONE_VOLUME = frozenset({"phantom", "extract_slices", "simulate", "bm3d"})
WHOLE_RUN = frozenset(
    {"infer", "segment", "consistency", "evaluate", "simulation_quality", "data_overview"}
    | {"truth_skeletons"}
)
LITS_LABELLED_SHARE = 19_163 / 58_638  # LiTS' slices with liver, of all its slices
HEADROOM = 1.5  # a request over the measured peak: volumes unlike the rehearsal's, page cache
MIN_REQUEST_MB = 1000
# a time limit over the measured time: the cluster's A100s and cores are slower than the
# rehearsal's H200 and its 16 cores (a training that still hits its limit resumes from its
# checkpoint when Snakemake retries it)
TIME_HEADROOM = 3.0
MIN_RUNTIME_MIN = 10
# The observer study keeps its low-dose float32 images gzip-compressed: 0.68 of their bytes
# on the demo's Ram-Lak images (2026-12-06); the rehearsal did not run the study.
OBSERVER_IMAGE_BYTES = 0.68
OBSERVER_RULES = {"lesion_images", "observe", "observe_network"}


@cache
def measured() -> dict:
    """The rehearsal's constants (``costs.json``)."""
    return json.loads(MEASURED.read_text())


def job_memory_mb(rule: str, volume_slices: int | None = None) -> int:
    """The memory to ask for one job of ``rule`` holding a volume of ``volume_slices``
    slices (the largest in the run when the job is not per volume), in MB."""
    constants = measured()
    peak = constants["rules"].get(rule, {}).get("peak_mb", MIN_REQUEST_MB)
    if rule in BY_VOLUME and volume_slices:
        peak *= max(1.0, volume_slices / constants["volume_slices"])
    return max(MIN_REQUEST_MB, math.ceil(HEADROOM * peak / 100) * 100)


def job_runtime_min(rule: str, size: RunSize, volume_slices: int | None = None) -> int:
    """The time limit to ask for one job of ``rule`` in a run of ``size`` (``volume_slices``:
    the volume a per-volume job makes), in minutes."""
    constants = measured()
    pixels = (size.image_size / constants["image_size"]) ** 2
    c = constants["rules"].get(rule)
    if rule in TRAININGS:
        images = size.epochs * size.train_fraction * size.labelled * pixels
        seconds = constants["training_start_s"] + images / constants["training_images_per_s"]
    elif c is None:
        return MIN_RUNTIME_MIN
    elif rule in ONE_VOLUME:
        seconds = c["wall_s"] * pixels * (volume_slices or size.largest_volume)
        seconds /= constants["volume_slices"]
    elif rule in WHOLE_RUN:
        seconds = c["wall_s"] * pixels * size.labelled / constants["labelled_slices"]
    else:
        seconds = c["wall_s"]
    return max(MIN_RUNTIME_MIN, math.ceil(TIME_HEADROOM * seconds / 60))


@dataclass(frozen=True)
class RunSize:
    """What the cost of a run depends on, known before any job runs."""

    volumes: int
    slices: int  # every slice of every volume
    largest_volume: int  # slices of the largest volume
    labelled: int  # slices with liver: counted where extracted, else estimated
    labelled_from: str | None  # how it was estimated; None where counted
    image_size: int  # pixels a side
    phantom: bool  # the run makes its volumes (the phantom rule's work and files count)
    trainings: int  # networks trained (segmenters and reconstructions)
    epochs: int
    train_fraction: float  # of the labelled slices, the slices a training learns from
    base_channels: int = 64  # the U-Nets' first width (the rehearsal's: the paper's 64)
    observer_images: int = (
        0  # the observer study's lesion images, both classes (tact.observer_study)
    )
    networks: int = 0  # reconstruction networks, each observed on those images


@dataclass(frozen=True)
class Cost:
    disk_gb: float
    largest_job: tuple[str, int]  # rule, MB
    gpu_hours: float
    cpu_core_hours: float


def project(size: RunSize) -> Cost:
    """The run's cost from the rehearsal's per-slice constants."""
    constants = measured()
    pixels = (size.image_size / constants["image_size"]) ** 2  # bytes and work per slice
    per_labelled = pixels * size.labelled / constants["labelled_slices"]
    weights = (size.base_channels / 64) ** 2  # a model's and its checkpoints' bytes
    disk = gpu_s = cpu_s = 0.0
    for rule, c in constants["rules"].items():
        if (rule == "phantom" and not size.phantom) or rule in OBSERVER_RULES:
            continue  # the observer study grows with its images: observer_seconds
        scale = 1.0 if c.get("fixed") else per_labelled
        disk += c["bytes"] * (weights if rule in TRAININGS else per_labelled)
        cpu_s += c["cpu_s"] * scale
        if c["gpu"] and rule not in TRAININGS:
            gpu_s += c["job_s"] * scale
    images = size.trainings * size.epochs * size.labelled * size.train_fraction * pixels
    gpu_s += images / constants["training_images_per_s"]
    gpu_s += size.trainings * constants["training_start_s"]
    observer_gpu_s, observer_cpu_s = observer_seconds(size)
    gpu_s, cpu_s = gpu_s + observer_gpu_s, cpu_s + observer_cpu_s
    disk += size.observer_images * 4 * size.image_size**2 * OBSERVER_IMAGE_BYTES
    memory = {r: job_memory_mb(r, size.largest_volume) for r in constants["rules"]}
    largest = max(memory.items(), key=lambda item: item[1])
    return Cost(disk / 1e9, largest, gpu_s / 3600, cpu_s / 3600)


def observer_seconds(size: RunSize) -> tuple[float, float]:
    """GPU and CPU seconds of the observer study: each lesion image is simulated as a slice is,
    then denoised by BM3D and by every network as a test slice is (its BM3D, over whole images,
    is most of it); the study itself was not in the rehearsal."""
    constants = measured()
    if not size.observer_images or not constants.get("test_slices"):
        return 0.0, 0.0
    rules, tests = constants["rules"], constants["test_slices"]
    images = size.observer_images * (size.image_size / constants["image_size"]) ** 2
    simulate, infer = rules["simulate"], rules["infer"]
    per_network = infer["job_s"] / (infer["jobs"] * tests)
    gpu_s = images * (
        simulate["job_s"] / constants["labelled_slices"] + size.networks * per_network
    )
    cpu_s = images * rules["bm3d"]["cpu_s"] / tests
    return gpu_s, cpu_s


def cost_lines(size: RunSize) -> list[str]:
    """The dry run's lines: the run's size, then its projected cost."""
    cost = project(size)
    labelled = f"{size.labelled:,} labelled"
    if size.labelled_from:
        labelled = f"about {labelled} ({size.labelled_from}, until the slices are extracted)"
    constants = measured()
    return [
        f"cost of this run, projected from the scale rehearsal ({constants['measured']};"
        f" docs/scale.md): {size.volumes} volumes, {size.slices:,} slices, {labelled},"
        f" {size.trainings} trainings of {size.epochs} epochs"
        + (f", {size.observer_images:,} observer-study images" if size.observer_images else ""),
        f"cost: disk for results/ {cost.disk_gb:.1f} GB; largest job {cost.largest_job[0]}"
        f" {cost.largest_job[1] / 1000:.1f} GB of memory; {cost.gpu_hours:.1f} GPU-hours;"
        f" {cost.cpu_core_hours:.1f} CPU core-hours",
    ]


def labelled_share(*, phantom: bool) -> tuple[float, str]:
    """The share of a volume's slices that hold liver, before extraction has counted them,
    and whose it is: the rehearsal's phantom volumes', or LiTS'."""
    constants = measured()
    if phantom:
        share = constants["labelled_slices"] / (constants["volumes"] * constants["volume_slices"])
        return share, f"the rehearsal phantoms' share, {share:.2f}"
    return LITS_LABELLED_SHARE, f"LiTS' share, {LITS_LABELLED_SHARE:.2f}"


def stored_slices(store: Path) -> int | None:
    """The slices of an extracted slice store (the labelled ones), read from its index; None
    where the store cannot be read (the job that reads it says why, in one line)."""
    import h5py

    try:
        with h5py.File(store, "r") as file:
            return len(file["slice_index"])
    except (OSError, KeyError):
        return None


def case_slices(image: Path) -> int | None:
    """The slices of a case's CT without reading its voxels: a NIfTI header's last axis, or
    the files of a DICOM series folder; None where that cannot be read (the job that reads
    the case says why, in one line)."""
    import nibabel as nib

    unreadable = (
        OSError,
        ValueError,
        nib.filebasedimages.ImageFileError,
        nib.spatialimages.HeaderDataError,
    )
    try:
        if image.is_dir():
            return sum(1 for p in image.iterdir() if p.is_file() and not p.name.startswith("."))
        shape = nib.load(image).shape
    except unreadable:
        return None
    return int(shape[2]) if len(shape) >= 3 else 1
