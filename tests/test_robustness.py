"""Robustness through the workflow: killed runs, crafted checkpoints, awkward paths, shells."""

import contextlib
import os
import pathlib
import re
import signal
import subprocess
import time
from functools import partial

import h5py
import numpy as np
import pytest
import torch

from conftest import REPO, run_workflow, workflow_command, write_case, write_config
from tact.errors import InputDataError
from tact.io import atomic_path
from tact.simulated_data import load_simulation
from tact.training import load_state_dict, load_weights

KILL_TIMEOUT_S = 300


class Payload:
    """Unpickling this creates the marker file: proof that loading ran code."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def crafted_file(path: pathlib.Path, marker: pathlib.Path) -> pathlib.Path:
    """A real torch file whose pickle would create ``marker`` if it were unpickled."""
    torch.save({"weight": torch.zeros(3), "extra": Payload(marker)}, path)
    return path


def test_crafted_model_file_is_refused_not_run(tmp_path):
    marker = tmp_path / "code-ran"
    path = crafted_file(tmp_path / "model.pt", marker)
    for load in (load_state_dict, load_weights):
        with pytest.raises(InputDataError, match=r"model\.pt: refused: not a plain weights file"):
            load(path)
    assert not marker.exists()
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputDataError, match=r"cut\.pt: not a readable PyTorch file"):
        load_state_dict(tmp_path / "cut.pt")


@pytest.mark.slow
def test_crafted_checkpoint_and_model_are_refused_through_the_workflow(tmp_path, lits_dir):
    config = write_config(tmp_path / "c.yaml", data={"source": "lits", "lits_dir": str(lits_dir)})
    results = tmp_path / "results/test"
    marker = tmp_path / "code-ran"

    # a crafted checkpoint where the segmentation training would resume from
    (results / "checkpoints").mkdir(parents=True)
    checkpoint = crafted_file(results / "checkpoints/segmentation.ckpt", marker)
    result = run_workflow(tmp_path, config, "results/test/models/segmentation.pt")
    assert result.returncode != 0
    assert f"{checkpoint.relative_to(tmp_path)}: refused: not a plain weights" in result.stderr
    assert not marker.exists() and not (results / "models/segmentation.pt").exists()

    # a crafted model file in place of the trained segmenter (newer than its inputs)
    checkpoint.unlink()
    run_workflow(tmp_path, config, "results/test/models/segmentation.pt", check=True)
    model = crafted_file(results / "models/segmentation.pt", marker)
    result = run_workflow(tmp_path, config, "results/test/test/fulldose.labels.h5")
    assert result.returncode != 0
    assert f"{model.relative_to(tmp_path)}: refused: not a plain weights" in result.stderr
    assert not marker.exists() and not (results / "test/fulldose.labels.h5").exists()


def test_stale_temporary_files_of_a_killed_job_are_removed(tmp_path):
    stale = tmp_path / ".volume-1.npz.k3j2h1.tmp.npz"
    other = tmp_path / ".volume-10.npz.k3j2h1.tmp.npz"  # another output's: left alone
    stale.write_bytes(b"half")
    other.write_bytes(b"half")
    with atomic_path(tmp_path / "volume-1.npz") as tmp:
        tmp.write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "volume-1.npz"]


# --- SIGKILL of the whole snakemake process, then a rerun --------------------------------------

TINY_PHANTOM = {
    "data": {"source": "phantom", "image_size": 64},
    "phantom": {"n_volumes": 3, "size": 128, "n_slices": 16, "slice_thickness_mm": 5.0},
    "simulation": {"n_angles": 300},
    "fbp": {"frequency_scaling": 0.8},
    "training": {"epochs": 12, "batch_size": 2, "checkpoint_every": 3},
}
BASE_MODEL = "results/test/models/base.pt"
RERUN_INCOMPLETE = "--rerun-incomplete"  # as profiles/local and profiles/slurm set it


def start_when(workdir, config, ready, *args, target=BASE_MODEL, log="run.out"):
    """Start snakemake in its own process group; return it once ``ready()`` holds."""
    command, env = workflow_command(workdir, config, target, *args)
    output = workdir / log
    with output.open("w") as sink:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while not ready():
            if process.poll() is not None:
                raise AssertionError(
                    f"the run ended before the moment to stop it:\n{output.read_text()}"
                )
            assert time.monotonic() < deadline, "the moment to stop it never came"
            time.sleep(0.02)
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return process, output


def start_and_kill(workdir, config, ready, *args, target=BASE_MODEL):
    """Start snakemake, SIGKILL its whole process group once ``ready()`` holds."""
    process, _ = start_when(workdir, config, ready, *args, target=target, log="killed-run.out")
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def readable_npz(results):
    """Every .npz and .h5 under results loads whole (atomic writes: none is half-written)."""
    for path in results.rglob("*.npz"):
        if not path.name.startswith("."):
            with np.load(path, allow_pickle=False) as data:
                for key in data.files:
                    assert data[key].size >= 0
    for path in results.rglob("*.h5"):
        if not path.name.startswith("."):
            with h5py.File(path, "r") as file:
                for key in file:
                    assert file[key][()].size >= 0
    return True


@pytest.mark.slow
def test_sigkill_during_simulation_and_training_then_rerun(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    config = write_config(tmp_path / "c.yaml", **TINY_PHANTOM)
    reference.mkdir()
    killed.mkdir()
    run_workflow(reference, config, BASE_MODEL, check=True)

    results = killed / "results/test"
    # 1. while the simulation jobs run
    start_and_kill(killed, config, lambda: (results / "logs/simulate/volume-1.log").exists())
    assert not (results / "models/base.pt").exists()
    assert readable_npz(results)

    # 2. in the middle of the training, after a checkpoint was written. As the README says, the
    # rerun after a kill has rerun-incomplete (set in the profiles): a job that had renamed its
    # output when Snakemake was killed, but was not yet recorded as finished, leaves that output
    # marked incomplete, and without the flag Snakemake refuses to start.
    run_workflow(killed, config, "--unlock", check=True)
    checkpoint = results / "checkpoints/base.ckpt"
    start_and_kill(killed, config, lambda: checkpoint.exists(), RERUN_INCOMPLETE)
    assert not (results / "models/base.pt").exists(), "killed before the training ended"
    step = torch.load(checkpoint, weights_only=True)["global_step"]
    assert step > 0

    # 3. the rerun completes, resumes, and ends where an uninterrupted run ends
    run_workflow(killed, config, "--unlock", check=True)
    run_workflow(killed, config, BASE_MODEL, RERUN_INCOMPLETE, check=True)
    log = (results / "logs/train/base.log").read_text()
    assert re.search(r"resum", log, re.IGNORECASE), log
    assert readable_npz(results)
    leftovers = [p.name for p in results.rglob("*") if ".tmp" in p.name]
    assert leftovers == []
    ours, theirs = (
        load_state_dict(results / "models/base.pt"),
        load_state_dict(reference / "results/test/models/base.pt"),
    )
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key
    for vid in range(3):
        a = load_simulation(results / f"sim/volume-{vid}.h5")
        b = load_simulation(reference / f"results/test/sim/volume-{vid}.h5")
        np.testing.assert_array_equal(a.lowdose, b.lowdose)


# --- paths with spaces and quotes, and no shell ------------------------------------------------


@pytest.mark.slow
def test_paths_with_spaces_and_quotes(tmp_path):
    workdir = tmp_path / "my work dir 'quoted' \"twice\""
    lits = tmp_path / 'LiTS data\'s "copy" $HOME'
    for vid in range(3):
        write_case(lits, vid)
    config = write_config(
        workdir / "config with space.yaml", data={"source": "lits", "lits_dir": str(lits)}
    )
    targets = ["results/test/data/split.csv", "results/test/sim/volume-1.h5"]
    run_workflow(workdir, config, *targets, "results/test/models/segmentation.pt", check=True)
    assert load_simulation(workdir / targets[1]).volume_id == 1
    assert load_state_dict(workdir / "results/test/models/segmentation.pt")
    assert not (tmp_path / "HOME").exists()


def test_no_config_value_reaches_a_shell():
    """Every step runs as a Python script; a shell: rule would need every placeholder :q."""
    rules = [*REPO.glob("workflow/rules/*.smk"), REPO / "Snakefile"]
    for path in rules:
        text = path.read_text()
        for block in re.findall(r"^\s+shell:\n((?:\s{8}.*\n)+)", text, re.MULTILINE):
            for placeholder in re.findall(r"\{([^{}]+)\}", block):
                assert placeholder.endswith(":q"), f"{path.name}: unquoted {{{placeholder}}}"
        assert not re.search(r"^\s+run:", text, re.MULTILINE), f"{path.name}: run: block"
        assert "os.system" not in text and "subprocess" not in text, path.name
    scripts = "\n".join(p.read_text() for p in REPO.glob("workflow/scripts/*.py"))
    assert "shell(" not in scripts and "os.system" not in scripts and "subprocess" not in scripts


# --- SIGTERM and SIGINT: the run ends promptly, says so, and a rerun resumes -----------------


def signal_once_ready(workdir, config, ready, number) -> tuple[int, float, str]:
    """Start the run, send ``number`` to Snakemake alone (not its group) once ``ready()``
    holds; return its exit status, the seconds it took to end, and its output."""
    process, output = start_when(workdir, config, ready, log="stopped-run.out")
    sent = time.monotonic()
    process.send_signal(number)
    try:
        status = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError("still running a minute after the signal") from None
    seconds = time.monotonic() - sent
    with contextlib.suppress(ProcessLookupError):  # the jobs went with it
        os.killpg(process.pid, 0)
        raise AssertionError("a job process outlived the run")
    return status, seconds, output.read_text()


def written_since(path: pathlib.Path, start: float) -> bool:
    return path.exists() and path.stat().st_mtime > start


@pytest.mark.slow
def test_sigterm_and_sigint_end_the_run_promptly_and_a_rerun_resumes(tmp_path):
    """Snakemake alone waited for the running training to finish (hours on real data), then
    said a job did not complete; a second signal went unheard meanwhile."""
    settings = {**TINY_PHANTOM, "training": {**TINY_PHANTOM["training"], "epochs": 40}}
    config = write_config(tmp_path / "c.yaml", **settings)
    checkpoint = tmp_path / "results/test/checkpoints/base.ckpt"
    for number in (signal.SIGTERM, signal.SIGINT):
        status, seconds, output = signal_once_ready(
            tmp_path, config, partial(written_since, checkpoint, time.time()), number
        )
        assert status == 1 and seconds < 5, (status, seconds, output)  # the training: 15 s more
        name = signal.Signals(number).name
        assert f"tact: stopped by {name}: the running jobs are ended; run the same" in output
        assert not (tmp_path / BASE_MODEL).exists()
    run_workflow(tmp_path, config, BASE_MODEL, check=True)  # the same command, nothing more
    log = (tmp_path / "results/test/logs/train/base.log").read_text()
    assert "resumed from results/test/checkpoints/base.ckpt" in log
    assert not [p.name for p in (tmp_path / "results").rglob("*") if ".tmp" in p.name]
