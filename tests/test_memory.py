"""Memory bounded by a volume, not the dataset (issue 32): the training-data loader, the figure
job, evaluation, the data overview and the simulation's quality table hold about as much with 4
volumes as with 2.

Peak memory is measured with tracemalloc (numpy's and h5py's allocations; memory-mapped pages
are the page cache, which the kernel may drop, so they are not counted). Each volume is large
enough that holding the dataset would dominate the peak; a loader that reads every test slice
at once (``gather_ground_truth``, kept for small runs) is measured the same way to show that
the measure sees growth with the data.
"""

from __future__ import annotations

import tracemalloc
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tact import training_data
from tact.data.slices import SliceStack, load_stack, save_stack
from tact.data.units import hu_to_normalised
from tact.evaluation import method_tables_from_files, save_truth_skeletons
from tact.logs import resident_kinds_mb
from tact.report.data import Example, write_data_overview
from tact.report.figures import slice_figures_from_files
from tact.report.simulation import write_simulation_quality
from tact.simulated_data import SimulatedStack, save_simulation
from tact.test_sets import (
    GroundTruth,
    TestImages,
    TestSet,
    gather_ground_truth,
    save_label_sets,
    save_test_set,
)
from tact.training_data import DeviceSlices, hold_on_device, load_training_slices

SIZE, SLICES = 128, 80  # per volume: 5.2 MB of float32 per image kind
METHODS = ["lowdose", "fbp", "bm3d", "base", "fulldose"]
SEGMENTERS = ["g", "held_out_1"]
RATIO = 1.25


def write_run(root: Path, n_volumes: int) -> dict:
    """Slice stores, simulations, BM3D and network test images, label files and per_slice.csv
    of ``n_volumes`` volumes, half of them test volumes, written as the workflow writes them."""
    rng = np.random.default_rng(n_volumes)
    index = np.arange(3, 3 + SLICES, dtype=np.int32)
    files = {m: [] for m in METHODS}
    split = []
    for vid in range(n_volumes):
        mask = np.zeros((SLICES, SIZE, SIZE), np.uint8)
        mask[:, 30:90, 30:90] = 1
        mask[vid % SLICES, 50:60, 50:60] = 2
        image = rng.uniform(0, 1, mask.shape).astype(np.float32)
        save_stack(
            SliceStack(vid, image, mask, index, np.array([1.0, 1.0, 2.0])),
            root / f"slices/volume-{vid}.h5",
        )
        noisy = [(image + rng.normal(0, 0.05, image.shape)).astype(np.float32) for _ in "ab"]
        save_simulation(
            SimulatedStack(vid, index, *noisy, 100, 300.0, 1.0), root / f"sim/volume-{vid}.h5"
        )
        files["fulldose"].append(root / f"slices/volume-{vid}.h5")
        files["lowdose"].append(root / f"sim/volume-{vid}.h5")
        files["fbp"].append(root / f"sim/volume-{vid}.h5")
        side = "test" if vid % 2 else "train"
        split += [{"volume": vid, "slice": int(s), "split": side} for s in index]
    pd.DataFrame(split).to_csv(root / "split.csv", index=False)
    split_path = str(root / "split.csv")
    stores = tuple(map(str, files["fulldose"]))
    truth = GroundTruth(stores, split_path)
    for vid in truth.volumes:  # BM3D's per-volume files
        part = TestImages("lowdose", tuple(map(str, files["lowdose"])), split_path).of_volume(vid)
        save_test_set(part, root / f"bm3d/volume-{vid}.h5")
        files["bm3d"].append(root / f"bm3d/volume-{vid}.h5")
    full = TestSet(*_all_rows(truth))
    save_test_set(TestSet(full.images * 0.9, full.volumes, full.slices), root / "base.h5")
    files["base"].append(root / "base.h5")
    per_slice = []
    for method in METHODS:
        maps = TestSet(_all_rows(truth, masks=True)[0], full.volumes, full.slices)
        save_label_sets({s: maps for s in SEGMENTERS}, root / f"{method}.labels.h5")
        images = TestImages(method, tuple(map(str, files[method])), split_path)
        per_slice.append(method_tables_from_files(images, truth, root / f"{method}.labels.h5")[0])
    pd.concat(per_slice).to_csv(root / "per_slice.csv", index=False)
    return {"root": root, "files": files, "stores": stores, "split": split_path}


def _all_rows(truth: GroundTruth, masks: bool = False):
    parts = [truth.of_volume(v)[1 if masks else 0] for v in truth.volumes]
    return (
        np.concatenate([p.images for p in parts]),
        np.concatenate([p.volumes for p in parts]),
        np.concatenate([p.slices for p in parts]),
    )


def peak_bytes(job: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        job()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return {n: write_run(tmp_path_factory.mktemp(f"run{n}"), n) for n in (2, 4)}


def training_loader(run: dict) -> None:
    """Load the reconstruction training split and read every batch of an epoch on the CPU."""
    data = load_training_slices(run["stores"], run["split"], run["files"]["lowdose"])
    device = DeviceSlices(data, torch.device("cpu"))
    order = [torch.arange(start, start + 8) for start in range(0, len(data) - 7, 8)]
    for index in order:  # batch by batch (the training loop's thread reads one ahead)
        assert device.batch(index)[0].shape[1:] == (1, SIZE, SIZE)


def figure_job(run: dict) -> None:
    root = run["root"]
    paths = {
        f"{name}_{ext}": root / f"{name}.{ext}"
        for name in ("fig2_sample", "fig3_reconstructions", "fig4_segmentations")
        for ext in ("png", "pdf")
    }
    slice_figures_from_files(
        METHODS,
        image_files=run["files"],
        label_paths=[root / f"{m}.labels.h5" for m in METHODS],
        store_paths=run["stores"],
        split_path=run["split"],
        per_slice_path=root / "per_slice.csv",
        paths=paths,
    )


def evaluation(run: dict) -> None:
    images = TestImages("base", tuple(map(str, run["files"]["base"])), run["split"])
    truth = GroundTruth(run["stores"], run["split"])
    method_tables_from_files(images, truth, run["root"] / "base.labels.h5")


def data_overview(run: dict) -> None:
    """Two example panels whatever the run (the figure grows with its panels up to six, not
    with the data)."""
    root = run["root"]
    write_data_overview(
        run["stores"], run["split"], root / "overview.png", root / "summary.csv", n_examples=2
    )


def simulation_quality(run: dict) -> None:
    root, sims = run["root"], run["files"]["lowdose"]
    write_simulation_quality(
        run["stores"], sims, run["split"], table_path=root / "q.csv", figure_path=root / "q.png"
    )


def truth_skeletons(run: dict) -> None:
    save_truth_skeletons(GroundTruth(run["stores"], run["split"]), run["root"] / "skeletons.h5")


def every_test_slice_at_once(run: dict) -> None:
    gather_ground_truth(run["stores"], run["split"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "job",
    [training_loader, figure_job, evaluation, data_overview, simulation_quality, truth_skeletons],
)
def test_peak_memory_does_not_grow_with_the_dataset(runs, job):
    job(runs[2])  # once untraced: what a first call caches (matplotlib's fonts) is not data
    small, large = (peak_bytes(lambda n=n: job(runs[n])) for n in (2, 4))
    assert large <= RATIO * small, f"{job.__name__}: {large / 1e6:.1f} MB with 4 volumes, " + (
        f"{small / 1e6:.1f} MB with 2"
    )


@pytest.mark.slow
def test_the_measure_sees_a_job_that_holds_the_dataset(runs):
    """The same measure on a loader that holds every test slice: it grows with the data."""
    small, large = (peak_bytes(lambda n=n: every_test_slice_at_once(runs[n])) for n in (2, 4))
    assert large >= 1.7 * small


def test_the_gpu_fill_reads_a_chunk_only_once_the_last_ones_host_arrays_are_gone(runs, monkeypatch):
    """``hold_on_device`` holds one chunk on the host, whatever the data's size. Read in one
    loop, the previous chunk's arrays stayed bound while the next was read: two chunks, which
    made a training's anonymous peak grow with its slices (issue 32, H100, 2026-12-07). Run on
    the CPU here: the same code moves the chunks, to the CPU's memory instead of the GPU's."""
    run = runs[4]
    data = load_training_slices(run["stores"], run["split"], run["files"]["lowdose"])
    monkeypatch.setattr(training_data, "CHUNK", 16)
    read, earlier, alive_at_each_read = data.rows, [], []

    def rows(index: np.ndarray):
        alive_at_each_read.append(sum(ref() is not None for ref in earlier))
        arrays = read(index)
        earlier.extend(weakref.ref(array) for array in arrays)
        return arrays

    data.rows = rows
    held = hold_on_device(data, torch.device("cpu"))
    assert len(alive_at_each_read) == -(-len(data) // 16) >= 3
    assert alive_at_each_read == [0] * len(alive_at_each_read)
    x, target, labels = read(np.arange(len(data)))
    assert torch.equal(held[0], x.half()) and torch.equal(held[1], target.half())
    assert torch.equal(held[2], labels)


def test_reading_a_split_chunk_by_chunk_leaves_no_file_pages_behind(tmp_path, monkeypatch):
    """The memory-mapped images let go of the pages reads touched once a chunk's worth of rows
    was read: a split read chunk by chunk (the GPU fill) or batch by batch leaves this
    process's file-backed memory within a chunk of where it was, not grown by every row read
    (1.5 MB a 512 px training slice on the GPU machine before, issue 32). The rows read are
    the same."""
    if "RssFile" not in resident_kinds_mb():
        pytest.skip("no /proc/self/status")
    rng = np.random.default_rng(0)
    slices, size, stores, sims = 100, 256, [], []
    for vid in range(2):  # 2 x 100 slices: 26 MB of float32 input and 13 MB of int16 HU each
        hu = rng.integers(-1000, 1000, (slices, size, size)).astype(np.int16)
        image, index = hu_to_normalised(hu), np.arange(slices, dtype=np.int32)
        mask = np.zeros(hu.shape, np.uint8)
        stores.append(tmp_path / f"slices-{vid}.h5")
        save_stack(SliceStack(vid, image, mask, index, np.ones(3)), stores[-1])
        sims.append(tmp_path / f"sim-{vid}.h5")
        save_simulation(SimulatedStack(vid, index, image, image, 100, 300.0, 1.0), sims[-1])
    pd.DataFrame(
        [{"volume": v, "slice": i, "split": "train"} for v in range(2) for i in range(slices)]
    ).to_csv(tmp_path / "split.csv", index=False)
    data = load_training_slices(stores, tmp_path / "split.csv", sims)
    monkeypatch.setattr(training_data, "CHUNK", 32)  # 12 MB of these rows
    before = resident_kinds_mb()["RssFile"]
    first = None
    for start in range(0, len(data), 32):
        inputs, targets, _ = data.rows(np.arange(start, min(start + 32, len(data))))
        first = inputs if first is None else first
    grown = resident_kinds_mb()["RssFile"] - before
    assert grown < 20, f"{grown:.0f} MB of file pages kept after reading 78 MB through maps"
    assert torch.equal(first, data.rows(np.arange(32))[0])
    assert torch.equal(targets[-1, 0], torch.from_numpy(image[-1]))


def test_stored_slices_give_repeated_rows_as_the_rows_they_repeat(runs):
    """A batch may name a row twice (bench/ repeats the split to fill an epoch); HDF5 reads
    increasing rows only, so each is read once and repeated (found on the GPU machine)."""
    run = runs[2]
    data = load_training_slices(run["stores"], run["split"], run["files"]["lowdose"])
    twice = data.subset(np.concatenate([np.arange(len(data))] * 2))
    asked = np.array([5, 3, 5, len(data) + 5, 3])
    for got, expected in zip(twice.rows(asked), data.rows(asked % len(data)), strict=True):
        assert torch.equal(got, expected)
    assert torch.equal(data.rows(np.array([7]))[0], data.rows(np.array([7, 2]))[0][:1])


def test_test_images_are_compressed_losslessly_and_read_a_volume_at_a_time(tmp_path):
    """A method's test images (issue 32's storage): gzip-compressed in chunks of one slice, read
    back bit-identical, and a volume's rows read alone; a smooth image with a network's residual
    noise keeps well under its raw size (0.76 at 512 px in the io module's measurement)."""
    from tact.data.phantom import PhantomSpec, generate_volume
    from tact.data.units import hu_to_normalised
    from tact.io import read_arrays
    from tact.test_sets import load_test_set, load_test_volume

    phantom = generate_volume(2, PhantomSpec(size=128, n_slices=12))
    images = hu_to_normalised(phantom.hu).astype(np.float32)
    images += np.random.default_rng(0).normal(0, 0.002, images.shape).astype(np.float32)
    volumes, slices = np.repeat([3, 7], 6), np.tile(np.arange(6), 2)
    path = tmp_path / "base.h5"
    save_test_set(TestSet(images, volumes, slices), path)
    with read_arrays(path) as file:
        assert file["images"].compression == "gzip" and file["images"].chunks == (1, 128, 128)
    assert path.stat().st_size < 0.9 * images.nbytes
    assert np.array_equal(load_test_set(path).images, images)
    seven = load_test_volume(path, 7)
    assert np.array_equal(seven.images, images[6:]) and list(seven.volumes) == [7] * 6
    assert len(load_test_volume(path, 5)) == 0


def test_the_truths_skeletons_computed_once_give_the_same_tables(tmp_path):
    """Evaluation reading the truth's skeletons from the file the workflow writes once
    (save_truth_skeletons) gives exactly the tables of evaluation computing them itself:
    per slice and, for a contiguous volume, in 3-D; a volume whose test slices skip one has
    no 3-D skeleton in the file."""
    from scipy import ndimage

    from tact.evaluation import load_truth_skeletons, save_truth_skeletons

    rng = np.random.default_rng(5)
    split, labels = [], {}
    for vid, index in ((0, np.arange(4, 12)), (1, np.arange(2, 18, 2))):
        field = ndimage.gaussian_filter(rng.standard_normal((len(index), 48, 48)), (1, 4, 4))
        mask = (field > 0.02).astype(np.uint8)
        mask[field > 0.12] = 2
        image = rng.uniform(0, 1, mask.shape).astype(np.float32)
        spacing = np.array([0.8, 0.8, 2.0])
        save_stack(SliceStack(vid, image, mask, index, spacing), tmp_path / f"volume-{vid}.h5")
        split += [{"volume": vid, "slice": int(s), "split": "test"} for s in index]
        labels[vid] = np.roll(mask, 2, axis=2)
    pd.DataFrame(split).to_csv(tmp_path / "split.csv", index=False)
    stores = (str(tmp_path / "volume-0.h5"), str(tmp_path / "volume-1.h5"))
    truth = GroundTruth(stores, str(tmp_path / "split.csv"))
    images = TestImages("fulldose", stores, str(tmp_path / "split.csv"))
    volumes = np.concatenate([np.full(len(m), v) for v, m in labels.items()])
    slices = np.concatenate([truth.of_volume(v)[1].slices for v in labels])
    maps = TestSet(np.concatenate(list(labels.values())), volumes, slices)
    save_label_sets({"g": maps, "held_out_1": maps}, tmp_path / "labels.h5")
    save_truth_skeletons(truth, tmp_path / "skeletons.h5")
    assert load_truth_skeletons(tmp_path / "skeletons.h5", 1).stacked is None  # not contiguous
    computed = method_tables_from_files(images, truth, tmp_path / "labels.h5")
    cached = method_tables_from_files(
        images, truth, tmp_path / "labels.h5", skeletons=tmp_path / "skeletons.h5"
    )
    for ours, theirs in zip(computed, cached, strict=True):
        pd.testing.assert_frame_equal(ours, theirs)
    assert computed[1]["cldice_liver"].notna().sum() == 2  # volume 0, by both segmenters


def test_the_overviews_example_holds_its_slice_not_its_volume(runs):
    """The data overview keeps one example slice per shown volume (up to six): a view into the
    volume kept every shown volume whole (1.4 GB with 4 LiTS-sized volumes, 2.2 GB with 8)."""
    stack = load_stack(runs[2]["stores"][0])
    example = Example.of(stack)
    assert not np.shares_memory(example.image, stack.image)
    assert not np.shares_memory(example.mask, stack.mask)
    assert example.image.nbytes == stack.image[0].nbytes


def test_an_evaluation_worker_never_imports_torch(runs, tmp_path):
    """The 3-D NSD's surface areas come with each volume's job, computed once in the main
    process: a worker evaluates its volume without importing torch or MONAI (about 4 s and
    300 MB a worker)."""
    import pickle
    import subprocess
    import sys

    from tact.evaluation import VolumeFiles, _consistency_of, volume_jobs

    run = runs[2]
    images = TestImages("base", tuple(map(str, run["files"]["base"])), run["split"])
    truth = GroundTruth(run["stores"], run["split"])
    labels = str(run["root"] / "base.labels.h5")
    sources = {v: VolumeFiles(v, truth, images, labels) for v in truth.volumes}
    rows = truth.rows
    measured = _consistency_of("base", rows["volume"], rows["slice"], None)
    job = volume_jobs("base", sources, measured, tolerance_mm=2.0, tumour_labels=True)[0]
    (tmp_path / "job.pickle").write_bytes(pickle.dumps(job))
    worker = (
        "import pickle, sys; from tact.evaluation import _volume_rows;"
        f"_, volumes, _ = _volume_rows(pickle.load(open({str(tmp_path / 'job.pickle')!r}, 'rb')));"
        "assert volumes[0]['contiguous'] and volumes[0]['nsd_liver'] > 0;"
        "print(sorted(m for m in ('torch', 'monai') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
