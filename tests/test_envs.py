"""The conda environments of envs/ (used with `snakemake --sdm conda`) and the rules that use them.

Creating the environments needs conda and its channels, which our machines cannot reach, so the
files are checked against pyproject.toml (the environment the whole test suite runs in), and the
one thing `--sdm conda` changes for a job, an interpreter without tact installed, is run for real.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import GPU_RULES, REPO, copy_checkout, snakemake_command, write_config

ENVS = {"cpu": REPO / "envs/cpu.yaml", "gpu": REPO / "envs/gpu.yaml"}
SHARED_GPU = {"simulate", "lesion_images"}  # projections: jobs that share one GPU locally
# they run the workflow (the snakemake process and its SLURM submission), not the jobs
RUNNER_PACKAGES = {"snakemake", "snakemake-executor-plugin-slurm", "psutil"}  # the main process


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def env_file(name: str) -> tuple[str, dict[str, Requirement], list[str]]:
    """An environment's python pin, its pip requirements by name, and its pip options."""
    dependencies = yaml.safe_load(ENVS[name].read_text())["dependencies"]
    python = next(d for d in dependencies if isinstance(d, str) and d.startswith("python="))
    pip = next(d["pip"] for d in dependencies if isinstance(d, dict))
    options = [line for line in pip if line.startswith("-")]
    requirements = [Requirement(line) for line in pip if not line.startswith("-")]
    return (
        python.removeprefix("python="),
        {canonicalize_name(r.name): r for r in requirements},
        options,
    )


def rule_conda_envs() -> dict[str, str]:
    """Every rule of the workflow that runs something, and the env file its `conda:` names."""
    envs = {}
    for smk in sorted((REPO / "workflow/rules").glob("*.smk")):
        blocks = re.split(r"^rule (\w+):\n", smk.read_text(), flags=re.MULTILINE)[1:]
        for rule, body in zip(blocks[::2], blocks[1::2], strict=True):
            conda = re.search(r'^    conda:\n\s+"([^"]+)"', body, re.MULTILINE)
            assert conda, f"rule {rule} ({smk.name}) has no conda: environment"
            envs[rule] = str((smk.parent / conda[1]).resolve().relative_to(REPO))
    return envs


def test_envs_list_the_packages_of_pyproject_pinned_inside_its_ranges():
    project = pyproject()["project"]
    wanted = {
        canonicalize_name(r.name): r
        for r in map(Requirement, project["dependencies"])
        if canonicalize_name(r.name) not in RUNNER_PACKAGES
    }
    for name in ENVS:
        python, pinned, _ = env_file(name)
        assert Version(python) in SpecifierSet(project["requires-python"]), name
        assert python == f"{sys.version_info.major}.{sys.version_info.minor}", name
        assert set(pinned) == set(wanted), f"envs/{name}.yaml differs from pyproject.toml"
        for package, requirement in pinned.items():
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"envs/{name}.yaml: {requirement} is not pinned"
            assert wanted[package].specifier.contains(spec.version, prereleases=True), (
                f"envs/{name}.yaml: {requirement} is outside pyproject.toml's {wanted[package]}"
            )
    cpu, gpu = env_file("cpu"), env_file("gpu")
    assert cpu[1] == gpu[1], "the CPU and GPU environments pin the same versions"
    assert cpu[2] == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    assert gpu[2] == [], "the GPU environment takes torch's CUDA build from PyPI"


def test_every_rule_runs_in_an_env_and_the_profiles_give_gpus_to_the_gpu_env_rules():
    envs = rule_conda_envs()
    assert set(envs.values()) == {"envs/cpu.yaml", "envs/gpu.yaml"}
    gpu_env_rules = {rule for rule, env in envs.items() if env == "envs/gpu.yaml"}
    assert gpu_env_rules == GPU_RULES
    for profile in ("local", "slurm"):
        config = yaml.safe_load((REPO / f"profiles/{profile}/config.v8+.yaml").read_text())
        gpu_rules = {r for r, res in config["set-resources"].items() if res.get("gpu") == 1}
        shared = SHARED_GPU if profile == "local" else set()  # jobs that share one GPU
        assert gpu_rules == gpu_env_rules - shared, f"profiles/{profile}"
    slurm = yaml.safe_load((REPO / "profiles/slurm/config.v8+.yaml").read_text())
    for rule in gpu_env_rules:
        assert slurm["set-resources"][rule]["slurm_partition"] == "gpu"
        assert slurm["set-resources"][rule]["gpu_model"] == "a100"
    assert slurm["default-resources"]["slurm_partition"] == "cpu"


def test_the_local_profile_gives_the_gpu_to_the_gpu_env_rules_one_at_a_time(tmp_path):
    """As Snakemake reads profiles/local: one `gpu`, taken by each job of the GPU env's rules
    but the projections' (simulation jobs share a GPU, and run side by side on a CPU-only
    machine)."""
    profile = yaml.safe_load((REPO / "profiles/local/config.v8+.yaml").read_text())
    assert profile["resources"] == {"gpu": 1}
    config = write_config(
        tmp_path / "c.yaml", data={"source": "phantom"}, observers={"enabled": True}
    )
    out = subprocess.run(
        snakemake_command(
            tmp_path, config, "--profile", str(REPO / "profiles/local"), "--dry-run", cores=None
        ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    gpu_env_rules = {r for r, env in rule_conda_envs().items() if env == "envs/gpu.yaml"}
    jobs = {}
    for block in re.split(r"^rule ", out, flags=re.MULTILINE)[1:]:
        resources = re.search(r"^    resources: (.*)$", block, re.MULTILINE)[1]
        jobs.setdefault(block.split(":")[0], set()).add("gpu=1" in resources.split(", "))
    assert set(jobs) >= gpu_env_rules | {"phantom", "simulate", "evaluate"}
    for rule, takes_gpu in jobs.items():
        assert takes_gpu == {rule in gpu_env_rules - SHARED_GPU}, rule


def test_a_job_imports_tact_from_the_checkout_with_an_interpreter_that_lacks_it(tmp_path):
    """What a job in a conda env of envs/ meets: the packages, but no tact installed.

    The base interpreter of our venv, with the venv's packages on PYTHONPATH (no .pth file is
    read there, so tact's editable install is invisible), runs Snakemake and one real job.
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    interpreter = Path(sys.base_prefix, "bin", f"python{version}")
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    lacks = subprocess.run([interpreter, "-c", "import tact"], env=env, capture_output=True)
    assert lacks.returncode != 0, "the interpreter must not find tact by itself"

    config = write_config(
        tmp_path / "c.yaml",
        data={"source": "phantom"},
        phantom={"n_volumes": 2, "size": 64, "n_slices": 8},
    )
    target = "results/test/phantom/volume-0.nii"
    result = subprocess.run(
        snakemake_command(
            tmp_path, config, target, cores=1, program=(str(interpreter), "-m", "snakemake")
        ),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / target).stat().st_size > 0


def test_a_job_runs_the_checkouts_tact_even_where_another_tact_is_installed(tmp_path):
    """This venv installs tact from the repository; a run from a copy of the checkout must run
    the copy's library in its jobs (its files are the rules' inputs), not the installed one."""
    checkout = copy_checkout(tmp_path / "checkout")
    marks = tmp_path / "imported_from.txt"
    with (checkout / "src/tact/__init__.py").open("a") as f:  # who imports this copy
        f.write(f"\nimport sys\nopen({str(marks)!r}, 'a').write(sys.argv[0] + '\\n')\n")
    config = write_config(
        tmp_path / "c.yaml",
        data={"source": "phantom"},
        phantom={"n_volumes": 2, "size": 64, "n_slices": 8},
    )
    target = "results/test/phantom/volume-0.nii"
    command = snakemake_command(tmp_path, config, target, cores=1, snakefile=checkout / "Snakefile")
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    importers = marks.read_text().split()
    assert any(p.endswith("phantom.py") for p in importers), f"another tact ran: {importers}"
