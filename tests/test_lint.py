"""CI checks: ruff (lint and format), snakefmt and snakemake --lint are clean."""

import subprocess

from conftest import BIN, REPO


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True)


def test_ruff_check():
    result = run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt():
    result = run(str(BIN / "snakefmt"), "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakemake_lint():
    for configfile in ("config/demo.yaml",):
        result = run(str(BIN / "snakemake"), "--lint", "--configfile", configfile)
        output = result.stdout + result.stderr
        assert result.returncode == 0 and "Lints for" not in output, output
