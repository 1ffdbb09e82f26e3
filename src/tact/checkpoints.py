"""Checkpoints of a training, and the fingerprint that says which training one belongs to.

A checkpoint is written atomically (a killed job leaves the previous one whole) and read with
the plain-weights loader, so a crafted file is refused rather than unpickled. It is resumed only
when its fingerprint matches: the same settings and the same input files (size and time), so a
changed config or new data never continues an old training.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from tact.io import atomic_path
from tact.models import load_weights
from tact.training_settings import Job, TrainSettings

log = logging.getLogger(__name__)


def fingerprint(job: Job, settings: TrainSettings, inputs: Sequence[str | Path]) -> str:
    """Identity of a training: settings plus the size and time of every input file."""
    files = [(str(p), Path(p).stat().st_size, Path(p).stat().st_mtime_ns) for p in inputs]
    record = json.dumps([asdict(job), asdict(settings), files], sort_keys=True, default=str)
    return hashlib.sha256(record.encode()).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """Where one training saves its state, and the fingerprint of that training."""

    path: Path
    fingerprint: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))  # a str from the workflow works too

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (tensors, numbers, lists and dicts of them) with the fingerprint."""
        with atomic_path(self.path) as tmp:
            torch.save({"fingerprint": self.fingerprint, **state}, tmp)

    def load(self, device: torch.device) -> dict[str, Any] | None:
        """The saved state if there is one of this training; None otherwise (said in the log)."""
        if not self.path.exists():
            return None
        state = load_weights(self.path, map_location=device)
        if state["fingerprint"] != self.fingerprint:
            log.warning(
                "%s belongs to another training (settings or inputs changed): ignored", self.path
            )
            return None
        return state

    def remove(self) -> None:
        """Once the model is written the checkpoint has served: a rerun trains anew."""
        self.path.unlink(missing_ok=True)
