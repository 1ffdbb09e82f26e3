"""Errors that carry a message meant for the user, not a traceback."""

from __future__ import annotations

from pathlib import Path

NO_GPU = (
    "training.device: cuda, but torch sees no CUDA device on this machine; run the training"
    " jobs where there is one (profiles/slurm asks for a GPU) or set training.device: auto"
)


class TactError(Exception):
    """Base class for problems with the user's input or configuration."""


class InputDataError(TactError):
    """A data file is unusable; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(TactError):
    """A configuration value is missing, misspelt or of the wrong type."""
