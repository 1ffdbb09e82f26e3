"""Shared fixtures: tiny LiTS-layout cases written as real NIfTI files, a workflow runner, and
one complete tiny phantom run that several test modules read."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# the rules that run networks or projections: the GPU environment, a GPU on the cluster
GPU_RULES = {
    "simulate",
    "lesion_images",
    "observe_network",
    "train_segmentation",
    "train_reconstruction",
    "infer",
    "segment",
    "consistency",
}
BIN = Path(sys.executable).parent


def make_case(
    seed: int, shape: tuple[int, int, int] = (48, 40, 12)
) -> tuple[np.ndarray, np.ndarray]:
    """A small synthetic abdomen in RAS+ voxel order: (HU float32, labels uint8).

    Deliberately asymmetric (liver towards +x = patient's right, spine towards -y = posterior)
    so that any wrong flip or transpose changes the canonical slices.
    """
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.linspace(-1, 1, shape[0]), np.linspace(-1, 1, shape[1]), indexing="ij")
    hu = np.full(shape, -1000.0, dtype=np.float32)
    labels = np.zeros(shape, dtype=np.uint8)
    for z in range(shape[2]):
        body = (x / 0.9) ** 2 + (y / 0.7) ** 2 < 1
        hu[body, z] = 40.0
        hu[(x**2 + (y + 0.5) ** 2) < 0.02, z] = 700.0  # spine, posterior
        if 1 < z < shape[2] - 2:  # first and last slices have no liver
            r = 0.3 + 0.02 * z
            liver = ((x - 0.4) / r) ** 2 + ((y - 0.1) / (0.8 * r)) ** 2 < 1
            hu[liver, z] = 105.0
            labels[liver, z] = 1
            if z % 3 == 0:
                tumour = liver & (((x - 0.45) ** 2 + (y - 0.1) ** 2) < 0.01)
                hu[tumour, z] = 70.0
                labels[tumour, z] = 2
    hu += rng.normal(0, 10, shape).astype(np.float32)
    return np.round(hu).astype(np.float32), labels


def ras_affine(spacing: tuple[float, float, float] = (0.8, 0.8, 2.5)) -> np.ndarray:
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = [-100.0, -120.0, 50.0]
    return affine


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def write_case(root: Path, vid: int, seed: int | None = None, suffix: str = ".nii") -> None:
    hu, labels = make_case(vid if seed is None else seed)
    affine = ras_affine()
    write_nifti(root / f"volume-{vid}{suffix}", hu.astype(np.int16), affine)
    write_nifti(root / f"segmentation-{vid}{suffix}", labels, affine)


def torch_algorithms() -> tuple | None:
    """torch's process-wide algorithm switches, which every training sets (tact.determinism);
    None while torch is not imported (then they are torch's defaults)."""
    if "torch" not in sys.modules:
        return None
    torch = sys.modules["torch"]
    return (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
    )


@pytest.fixture(autouse=True)
def restore_torch_algorithms():
    """A training leaves its algorithm switches set for the process: each test gets them back
    as they were, so that no test runs in the mode of the one before."""
    before = torch_algorithms() or (False, False, False, False)
    workspace = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    yield
    if torch_algorithms() not in (None, before):
        torch = sys.modules["torch"]
        deterministic, warn_only, benchmark, cudnn_deterministic = before
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.benchmark = benchmark
        torch.backends.cudnn.deterministic = cudnn_deterministic
    if workspace is None:
        os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    else:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = workspace


@pytest.fixture
def lits_dir(tmp_path: Path) -> Path:
    """Five small cases, split over LiTS' two batch folders, some gzipped."""
    root = tmp_path / "LiTS"
    for vid in range(5):
        batch = "Training Batch 1" if vid < 3 else "Training Batch 2"
        write_case(root / batch, vid, suffix=".nii.gz" if vid % 2 else ".nii")
    return root


def write_config(path: Path, **sections) -> Path:
    """A config file for tests: the given top-level keys on top of a tiny base."""
    tiny_network = {"base_channels": 4, "depth": 2}
    config = {
        "run": "test",
        "data": {"image_size": 32},
        "segmentation": tiny_network,
        "reconstruction": tiny_network,
        "training": {"epochs": 1, "batch_size": 4},
        "evaluation": {"held_out_segmenters": 1},  # one is enough where they are not the subject
        "bm3d": {"sigma_psd": 0.075},  # fixed: no sweep job where the sweep is not the subject
        "observers": {"enabled": False},  # the observer study where it is the subject alone
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


def snakemake_command(
    workdir: Path,
    configfile: Path,
    *args: str,
    snakefile: Path = REPO / "Snakefile",
    cores: int | None = 2,
    program: tuple[str, ...] = (str(BIN / "snakemake"),),
) -> list[str]:
    """A snakemake command line for a test (cores None: a profile or executor sets them)."""
    command = [
        *program,
        "--snakefile",
        str(snakefile),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
    ]
    if cores is not None:
        command += ["--cores", str(cores)]
    return [*command, *args]


def workflow_environment() -> dict[str, str]:
    """The environment of the workflow's processes: this venv's tools first on PATH."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def workflow_command(
    workdir: Path, configfile: Path, *args: str
) -> tuple[list[str], dict[str, str]]:
    """The snakemake command line (repository Snakefile, 2 cores) and its environment."""
    return snakemake_command(workdir, configfile, *args), workflow_environment()


def run_workflow(
    workdir: Path, configfile: Path, *args: str, check: bool = False
) -> subprocess.CompletedProcess:
    """Run the real workflow with the repository's Snakefile in ``workdir``."""
    command, env = workflow_command(workdir, configfile, *args)
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=workdir)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass(frozen=True)
class PlannedJob:
    """One job of a dry run's plan: its rule, input files and output files."""

    rule: str
    inputs: frozenset[str]
    outputs: frozenset[str]


def planned_jobs(dry_run_output: str) -> list[PlannedJob]:
    """The jobs Snakemake prints in a dry run (local rules too), with their files."""
    jobs = []
    for block in re.split(r"^(?:local)?rule ", dry_run_output, flags=re.MULTILINE)[1:]:
        fields = dict(re.findall(r"^    (input|output): (.*)$", block, re.MULTILINE))
        jobs.append(
            PlannedJob(
                rule=block.split(":")[0],
                inputs=frozenset(fields.get("input", "").split(", ")) - {""},
                outputs=frozenset(fields.get("output", "").split(", ")) - {""},
            )
        )
    return jobs


def _imported_tact_modules(path: Path) -> set[str]:
    """The tact modules a file names in import statements, read independently of tact."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tact"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("tact"))
    return names


def import_closure(script: Path, src: Path = REPO / "src") -> set[Path]:
    """Every tact file ``script`` runs (its imports, theirs, and the packages above each),
    found by a walk of the import statements written here, apart from tact.dependencies."""
    wanted: set[Path] = set()
    pending = [script]
    while pending:
        for name in _imported_tact_modules(pending.pop()):
            path = src / Path(*name.split("."))
            module = path.with_suffix(".py")
            found = module if module.exists() else path / "__init__.py"
            parents = [src / p / "__init__.py" for p in [*found.relative_to(src).parents][:-1]]
            for file in {found, *parents} - wanted:  # a package's __init__ runs its imports
                wanted.add(file)
                pending.append(file)
    return wanted


def rule_scripts() -> dict[str, Path]:
    """Each rule of workflow/rules/ that runs a script, and that script, read from the rule
    files (independently of Snakemake)."""
    scripts = {}
    for rules in (REPO / "workflow/rules").glob("*.smk"):
        for block in re.split(r"^rule ", rules.read_text(), flags=re.MULTILINE)[1:]:
            script = re.search(r'^    script:\n        "\.\./scripts/(\w+\.py)"', block, re.M)
            if script:
                scripts[block.split(":")[0]] = REPO / "workflow/scripts" / script[1]
    return scripts


# The tiny phantom run of tests/test_workflow_phantom.py and tests/test_reruns.py: every stage,
# held-out segmenters, the FBP tuning and the BM3D sweep, a joint and a task-adaptive network.
TINY_PHANTOM = {"n_volumes": 3, "size": 128, "n_slices": 16, "slice_thickness_mm": 5.0}
TINY_NETWORK = {"base_channels": 4, "depth": 2}
TINY_PHANTOM_RUN = {
    "data": {"source": "phantom", "image_size": 64},
    "phantom": TINY_PHANTOM,
    "simulation": {"n_angles": 200},
    "fbp": {"tuning_slices": 3},
    "segmentation": TINY_NETWORK,
    "reconstruction": TINY_NETWORK,
    "training": {"epochs": 2, "batch_size": 4, "checkpoint_every": 5},
    "task_adaptive": {"alphas": [0.5]},
    "joint": {"cs": [0.5]},
    "bm3d": {"sigma_psd": "auto", "sweep_sigmas": [0.02, 0.1], "sweep_slices": 2},
    "evaluation": {"held_out_segmenters": 2},
    # 3-pixel lesions (4 mm pixels), two contrasts, 12 images a class: Table IV in seconds
    "observers": {
        "enabled": True,
        "diameters_mm": [12],
        "contrasts_hu": [20, 60],
        "realisations": 12,
        "channels": 3,
    },
}


def tiny_phantom_config(path: Path, **changes: dict) -> Path:
    """TINY_PHANTOM_RUN with some keys of some sections changed, written to ``path``."""
    sections = {key: {**value, **changes.get(key, {})} for key, value in TINY_PHANTOM_RUN.items()}
    return write_config(path, **sections)


def copy_checkout(destination: Path) -> Path:
    """What a run needs of the checkout (Snakefile, workflow, library, configs, envs), copied,
    so that a test may edit it without touching the repository."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("workflow", "src", "config", "envs"):
        shutil.copytree(REPO / name, destination / name, ignore=ignore)
    shutil.copy2(REPO / "Snakefile", destination / "Snakefile")
    return destination


@dataclass
class CheckoutRun:
    """A workflow run from a copy of the checkout, so that a test may edit a library module."""

    checkout: Path
    workdir: Path

    @property
    def results(self) -> Path:
        return self.workdir / "results/test"

    def config(self, name: str, **changes: dict) -> Path:
        return tiny_phantom_config(self.workdir / f"{name}.yaml", **changes)

    def snakemake(self, configfile: Path, *args: str) -> str:
        command = snakemake_command(
            self.workdir, configfile, *args, snakefile=self.checkout / "Snakefile"
        )
        result = subprocess.run(command, capture_output=True, text=True, env=workflow_environment())
        assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def pending(self, configfile: Path) -> set[str]:
        """Outputs `--summary` would rebuild."""
        rows = [line.split("\t") for line in self.snakemake(configfile, "--summary").splitlines()]
        header, *rows = rows
        assert header[0] == "output_file" and header[-1] == "plan"
        assert {row[-1] for row in rows} <= {"no update", "update pending"}
        return {row[0] for row in rows if row[-1] == "update pending"}

    def graph(self, configfile: Path) -> list[PlannedJob]:
        """Every job of the config's full workflow with its inputs and outputs (forced dry run)."""
        return planned_jobs(self.snakemake(configfile, "--dry-run", "--forceall"))


@pytest.fixture(scope="session")
def complete_phantom_run(tmp_path_factory) -> CheckoutRun:
    """The tiny phantom run, complete, from a copy of the checkout; made once per session
    (about 5 minutes on 2 cores), read by tests/test_workflow_phantom.py and test_reruns.py.
    Tests that use it leave its files and the copy as they found them."""
    root = tmp_path_factory.mktemp("complete")
    run = CheckoutRun(copy_checkout(root / "checkout"), root / "work")
    run.workdir.mkdir()
    run.snakemake(run.config("base"), "all")
    return run


# `make test` runs two pytest-xdist workers. The tests that share the complete run (a session
# fixture, about 3 minutes to make) and those of the SLURM cluster (one per machine) stay on one
# worker: their files go as one unit; every other test is sent alone. pytest-xdist's xdist_group
# marks do not work with pytest 9.2 (xdist renames a test's id where pytest no longer reads it:
# both workers made the complete run), hence this scheduler.
SHARED_FILES = {
    "tests/test_reruns.py": "complete_phantom_run",
    "tests/test_workflow_phantom.py": "complete_phantom_run",
    "tests/test_scale.py": "complete_phantom_run",
    "tests/test_slurm.py": "slurm",
}


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return SHARED_FILES.get(nodeid.split("::")[0], nodeid)

    return SharedFixtureScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """The longest first, so that the workers end together: the shared units, then the slow
    tests, then the rest (a stable sort: each keeps its order). A test of another file that
    uses the complete run would make it again on the other worker: it is refused."""
    first = {"complete_phantom_run": 0, "slurm": 1}
    for item in items:
        file = item.nodeid.split("::")[0]
        if "complete_phantom_run" in item.fixturenames and file not in SHARED_FILES:
            raise pytest.UsageError(f"{file} uses complete_phantom_run: add it to SHARED_FILES")

    def rank(item: pytest.Item) -> int:
        shared = SHARED_FILES.get(item.nodeid.split("::")[0])
        return first.get(shared, 2 if item.get_closest_marker("slow") else 3)

    items.sort(key=rank)
