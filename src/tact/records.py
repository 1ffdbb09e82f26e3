"""What a run's networks were trained on, so that a rerun can be checked against the record.

Each training writes a record beside its history (``results/{run}/training/{model}.json``): the
device it trained on (the GPU's name, or ``cpu``), the NVIDIA driver where there is one, the
versions of Python, torch, CUDA and cuDNN, the CPU and the instruction set torch's CPU kernels
use, whether it trained deterministically, and the SHA-256 of its weights. The ``run_record``
step gathers them into ``results/{run}/tables/environment.json``, beside the tables;
``docs/scripts/check_record.py`` compares a rerun with it. With ``training.deterministic`` a
rerun on the same GPU kind (or CPU instruction set) and software must give the same hashes
(issue 34).

The hash is of the weights, not of the file: ``torch.save`` names the archive's folder inside
the file after the file's name (tact writes through a temporary one, ``tact.io.atomic_path``), so
two saves of equal weights can differ byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tact.io import atomic_path

if TYPE_CHECKING:  # report jobs gather records without importing torch
    import torch


def weights_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor of a state dict: name, dtype, shape and bytes, in name order."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def nvidia_driver() -> str | None:
    """The NVIDIA driver's version from nvidia-smi, or None where there is none."""
    if shutil.which("nvidia-smi") is None:
        return None
    query = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
    try:
        found = subprocess.run(query, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip().splitlines()[0] if found.stdout.strip() else None


def cpu_name() -> str:
    """The CPU's model name and the instruction set torch's CPU kernels use (AVX2, AVX512, ...):
    a CPU training's weights differ between instruction sets (measured on the demo, 2026-12-08:
    the Base U-Net 34.61 dB with AVX-512 kernels, 35.04 with AVX2 on the same machine)."""
    import torch

    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        model = names[0].split(":", 1)[1].strip() if names else model
    return f"{model}, {torch.backends.cpu.get_cpu_capability()}"


def environment(device: torch.device) -> dict[str, Any]:
    """The device a training ran on and the software whose kernels computed it."""
    import torch

    cuda = device.type == "cuda"
    return {
        "device": torch.cuda.get_device_name(device) if cuda else "cpu",
        "driver": nvidia_driver() if cuda else None,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "python": platform.python_version(),
        "cpu": cpu_name(),
    }


def write_training_record(
    path: str | Path,
    device: torch.device,
    state: Mapping[str, torch.Tensor],
    *,
    deterministic: bool,
) -> None:
    """One training's record: its environment, whether it was deterministic, its weights' hash."""
    record = {
        **environment(device),
        "deterministic": deterministic,
        "weights_sha256": weights_sha256(state),
    }
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1) + "\n")


def model_name(record_path: str | Path) -> str:
    """The model a training record belongs to (``training/task_a0.5.json``: ``task_a0.5``)."""
    return Path(record_path).name.removesuffix(".json")


def write_run_record(record_paths: Sequence[str | Path], path: str | Path) -> None:
    """Every training's record, by model, in one file beside the tables."""
    models = {model_name(p): json.loads(Path(p).read_text()) for p in record_paths}
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps({"models": models}, indent=1, sort_keys=True) + "\n")
