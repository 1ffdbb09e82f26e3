"""Issue 8's experiments in bench/: the folded, fused frozen g computes g; the variants' table.

docs/benchmarks.md reports bench/frozen_segmenter.py's speed against the UNet module; these tests
hold it to g's function and input gradient, so that comparison is between equals. On the CPU its
operator is ``relu(conv(x) + bias [+ z])`` in float64, where the sums must agree to rounding.
bench/step_variants.py's table is checked on given numbers (its timings need a GPU), and
bench/report_imports.py (issue 21) on a module whose import takes a known time, and
bench/training_fill_memory.py's sampler and training job (issue 32).
"""

from __future__ import annotations

import mmap
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from tact.logs import resident_kinds_mb
from tact.models import UNet, reconstruction_network, segmentation_network

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from evaluation_memory import TreePeaks
from frozen_segmenter import FrozenUNet, fold_batch_norm
from training_fill_memory import KindPeaks, peak_phase, train, write_volumes


def trained_looking(net: UNet) -> UNet:
    """A float64 U-Net in eval mode whose batch norms are not the identity."""
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.rand(n, generator=generator) * 2 - 1)
                module.running_var.copy_(torch.rand(n, generator=generator) * 1.5 + 0.5)
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.rand(n, generator=generator) - 0.5)
    return net.double().eval().requires_grad_(False)


def output_and_input_gradient(network, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    out = network(x)
    (gradient,) = torch.autograd.grad(
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum(), x
    )
    return out, gradient


@pytest.mark.parametrize(
    "make", [lambda: segmentation_network(8, 2), lambda: reconstruction_network("unet", 4, 3)]
)
def test_frozen_unet_computes_the_unet_and_its_input_gradient(make):
    torch.manual_seed(0)
    net = trained_looking(make())
    x = torch.rand(2, 1, 32, 32, dtype=torch.float64)
    expected, expected_gradient = output_and_input_gradient(net, x)
    found, gradient = output_and_input_gradient(FrozenUNet(net, torch.float64), x)
    assert found.shape == expected.shape
    torch.testing.assert_close(found, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gradient, expected_gradient, rtol=1e-10, atol=1e-14)
    assert expected_gradient.abs().max() > 1e-6  # the gradient compared is not all zeros


def test_folding_is_the_convolution_then_the_norm():
    torch.manual_seed(1)
    net = trained_looking(segmentation_network(8, 1))
    conv, norm = net.down[1][0], net.down[1][1]
    x = torch.rand(1, conv.in_channels, 8, 8, dtype=torch.float64)
    weight, bias = fold_batch_norm(conv, norm)
    folded = torch.nn.functional.conv2d(x, weight, bias, padding=1)
    torch.testing.assert_close(folded, norm(conv(x)), rtol=1e-12, atol=1e-12)


def test_a_unet_in_training_mode_is_refused():
    with pytest.raises(ValueError, match="eval"):
        FrozenUNet(segmentation_network(4, 1).train())


def test_step_variants_table_gives_ratios_to_the_first_run_and_shows_failures():
    """bench/step_variants.py's table: ratios against the first variant, errors shown as such."""
    import step_variants

    rows = [
        {
            "variant": "default",
            "base_images_per_s": 200.0,
            "task_adaptive_images_per_s": 100.0,
            "base_warmup_s": 10.0,
            "task_adaptive_warmup_s": 5.0,
        },
        {
            "variant": "cuda_graphs",
            "base_images_per_s": 210.0,
            "task_adaptive_images_per_s": 90.0,
            "base_warmup_s": 12.0,
            "task_adaptive_warmup_s": 6.0,
        },
        {"variant": "coordinate_descent", "error": "over 200 s"},
    ]
    table = step_variants.markdown(rows, "python bench/step_variants.py")
    line = next(row for row in table.splitlines() if row.startswith("| cuda_graphs"))
    assert "| 210.0 | 90.0 | 1.050 / 0.900 | 12 / 6 |" in line
    failed = next(row for row in table.splitlines() if row.startswith("| coordinate_descent"))
    assert "failed: over 200 s" in failed
    with pytest.raises(SystemExit, match="unknown variant"):
        step_variants.configure("no_such_variant")


def test_report_imports_reads_a_scripts_imports_and_times_them(tmp_path):
    """bench/report_imports.py times what a report script imports: its module-level imports
    only (not the code after them), and a module that sleeps on import costs its sleep."""
    from report_imports import REPO, REPORT_SCRIPTS, import_lines, import_seconds

    source = import_lines(REPO / "workflow/scripts/tables.py")
    assert "from tact.report.tables import write_tables" in source.splitlines()
    assert "run_step(" not in source
    assert all((REPO / "workflow/scripts" / name).exists() for name in REPORT_SCRIPTS)
    (tmp_path / "sleepy.py").write_text("import time\ntime.sleep(0.3)\n")
    path = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); "
    assert import_seconds(path + "import sleepy") >= 0.3 > import_seconds(path + "import json")


def test_train_throughput_times_the_deterministic_step_beside_the_fast_one(monkeypatch):
    """bench/train_throughput.py --deterministic (issue 34): the fast step, then the step with
    training.deterministic, each in its own Trainer; on the CPU with a tiny U-Net here (the
    measurement of record is on a GPU, docs/benchmarks.md)."""
    import train_throughput

    from tact.training import NetworkSettings, TrainSettings
    from train_worker import synthetic_slices

    modes = []
    step = train_throughput.Trainer.train_step

    def recording_step(trainer, *batch):
        modes.append((torch.are_deterministic_algorithms_enabled(), trainer.settings.deterministic))
        return step(trainer, *batch)

    monkeypatch.setattr(train_throughput.Trainer, "train_step", recording_step)
    settings = TrainSettings(batch_size=4, device="cpu", deterministic=False)
    rates = train_throughput.deterministic_rates(
        "base",
        0.0,
        synthetic_slices(8),
        synthetic_slices(4, seed=1),
        None,
        timing=dict(batch_size=4, steps=2, repeats=2),
        settings=settings,
        network=NetworkSettings(base_channels=4, depth=2),
    )
    assert rates["fast_images_per_s"] > 0 and rates["deterministic_images_per_s"] > 0
    expected = 1 - rates["deterministic_images_per_s"] / rates["fast_images_per_s"]
    assert rates["deterministic_cost"] == pytest.approx(expected)
    steps = 1 + 3 + 2 * 2  # first step (compile, autotune), warm-up, the timed repeats
    assert modes == [(False, False)] * steps + [(True, True)] * steps


def test_train_throughput_refuses_kinds_it_cannot_measure_before_it_starts():
    """Task-adaptive and joint steps train through the segmentation kind's segmenter: a list
    without it first stops at once, not minutes into the run (as it did on 2026-12-06)."""
    import train_throughput

    for kinds in (["base", "task_adaptive"], ["joint", "segmentation"]):
        with pytest.raises(SystemExit, match="segmentation before"):
            train_throughput.check_kinds(kinds)
    train_throughput.check_kinds(["segmentation", "base", "task_adaptive", "joint"])
    train_throughput.check_kinds(["base"])


def test_kind_peaks_sees_anonymous_memory_held_for_a_while_and_given_back():
    """bench/training_fill_memory.py's sampler (issue 32): a block that holds 200 MB and frees it
    leaves the memory at its end where it was, and only the sampled peak shows it."""
    if "RssAnon" not in resident_kinds_mb():
        pytest.skip("no /proc/self/status")
    size = 200 * 2**20
    with KindPeaks() as sampled:
        before = resident_kinds_mb()["RssAnon"]
        # a private anonymous mapping of its own, written so it is resident: memory from the
        # allocator could be pages the process already held (seen in a long pytest worker)
        block = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        for page in range(0, size, mmap.PAGESIZE):
            block[page] = 1
        time.sleep(0.3)
        block.close()
    after = resident_kinds_mb()["RssAnon"]
    assert sampled.peaks["RssAnon"] >= before + 150
    assert after <= sampled.peaks["RssAnon"] - 150


def test_training_memory_bench_runs_the_training_job_on_its_volumes(tmp_path):
    """``--train``: the Base U-Net's whole job on the written volumes, its weights and history
    written, and the memory it reports by kind."""
    write_volumes(tmp_path, 2, 32, 6)
    result = train(tmp_path, 2, device="cpu", epochs=1, compile_=False)
    assert result["slices"] == 12
    assert set(torch.load(tmp_path / "model.pt"))  # the weights, a non-empty state dict
    assert len(pd.read_csv(tmp_path / "history.csv")) == 1
    if "RssAnon" in result:
        assert result["peak_RssAnon"] >= 0.9 * result["RssAnon"] > 0
        assert result["phase"].startswith("anonymous peak")
    trace = pd.read_csv(tmp_path / "trace.csv")
    lines = trace["log"].dropna().tolist()
    assert any("training and" in line and "validation slices" in line for line in lines)
    assert trace["t"].is_monotonic_increasing


def test_peak_phase_names_the_log_lines_around_the_anonymous_peak():
    series = [(0.0, 100.0, 5.0), (1.0, 900.0, 5.0), (2.0, 200.0, 9.0)]
    lines = [(0.5, "filling"), (1.5, "epoch 1"), (2.5, "saved")]
    assert peak_phase(series, lines) == (
        "anonymous peak 900 MB at 1.0 s, after 'filling', before 'epoch 1'"
    )
    assert "after '(start)', before '(end)'" in peak_phase(series, [])


def test_tree_peaks_add_a_jobs_workers_to_the_job():
    """bench/evaluation_memory.py's sampler (issue 32): a job whose worker holds 150 MB for a
    second shows it in the largest worker's peak and in the tree's, not in the job's own."""
    holds = "import time; block = b'x' * (150 * 2**20); time.sleep(1.0)"
    job_code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {holds!r}])"
    job = subprocess.Popen([sys.executable, "-c", job_code])
    with TreePeaks(job.pid) as sampled:
        job.wait()
    peaks = sampled.peaks
    assert peaks["worker_mb"] >= 150
    assert peaks["tree_mb"] >= peaks["job_mb"] + 150
    assert peaks["job_mb"] < 100  # the job itself holds only an interpreter
