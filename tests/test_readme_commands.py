"""The README's snakemake commands work as they are written (issue 33): each is read from the
README's shell blocks, parsed by Snakemake's own argument parser (an option that takes several
values, such as --configfile or --sdm, eats a target written after it: `--configfile my.yaml
all` read `all` as a second config file), and run as a dry run in a copy of the checkout whose
config files are the tiny phantom run's. Commands written in the README must put targets before
such options."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from snakemake.cli import get_argument_parser

from conftest import BIN, REPO, copy_checkout, tiny_phantom_config, workflow_environment

PROGRAM = ".venv/bin/snakemake"


def readme_commands() -> list[str]:
    """Every snakemake command line in README.md's bash blocks, without its comment."""
    blocks = re.findall(r"^```bash\n(.*?)^```", (REPO / "README.md").read_text(), re.M | re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [
        shlex.join(shlex.split(line, comments=True)) for line in lines if line.startswith(PROGRAM)
    ]


def not_runnable_here(args: list[str]) -> str | None:
    """Why a dry run cannot show this command working on this machine, if it cannot."""
    if "--report" in args:
        return "makes the report of a finished run"
    if "conda" in args and not shutil.which("conda"):
        return "needs conda"
    return None


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the checkout with profiles, whose config files (the paper's, the demo's and
    the README's my.yaml) are all the tiny phantom run."""
    root = copy_checkout(tmp_path_factory.mktemp("readme"))
    shutil.copytree(REPO / "profiles", root / "profiles")
    for name in ("config/config.yaml", "config/demo.yaml", "my.yaml"):
        tiny_phantom_config(root / name)
    return root


def test_the_readme_has_its_commands():
    commands = readme_commands()
    assert len(commands) >= 6 and any("--configfile my.yaml" in c for c in commands), commands


@pytest.mark.parametrize("command", readme_commands())
def test_a_readme_command_runs_as_written(checkout, command):
    args = shlex.split(command)[1:]
    try:
        with contextlib.redirect_stderr(io.StringIO()) as said:
            parsed = get_argument_parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"{command}: {said.getvalue().splitlines()[-1]}")
    missing = [str(f) for f in parsed.configfile or [] if not (checkout / f).is_file()]
    assert not missing, f"read as config files, not found: {missing}"
    assert set(parsed.targets or []) <= {"all"}, parsed.targets
    reason = not_runnable_here(args)
    if reason:
        pytest.skip(f"parsed; not run: {reason}")
    result = subprocess.run(
        [str(BIN / "snakemake"), *args, "--dry-run"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=workflow_environment(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rule train_reconstruction:" in result.stdout, result.stdout
