"""Which data a run's folder holds: ``results/{run}`` belongs to one set of data settings.

A run name names an experiment on some data. The settings that make that data are the
``data`` section (which cases, read how, cut to which size, split how), the ``phantom`` section
when the cases are the phantom's, the ``simulation`` section (the measured scans) and the master
``seed`` (the split and the noise). Every file of a run is made from them. A config that reuses
the name with other values does not edit the run, it replaces its data in place: Snakemake's
params check then remakes only the files a command asks for, so a target built alone leaves
the tables of the old data beside the simulations of the new (the issue's example: other photon
counts), cases the new data lack stay on disk from the old, and nothing in the folder says
which data its tables describe. So these settings are written into the folder when a run
starts, and another set stops the run before any job unless overwriting is asked for.

Everything after the data (networks, training, FBP and BM3D baselines, evaluation, report) is
a change *within* the run: Snakemake sees it in the params of the rules that read it and reruns
exactly those, so it is left out here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tact.errors import ConfigError
from tact.io import atomic_path

SETTINGS_FILE = "data_settings.json"


def data_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The settings that define a run's data (see the module's docstring), from the validated
    config, with the phantom section only when the cases are the phantom's."""
    settings = {
        "data": config["data"],
        "simulation": config["simulation"],
        "seed": config["seed"],
    }
    if config["data"]["source"] == "phantom":
        settings["phantom"] = config["phantom"]
    return json.loads(json.dumps(settings, sort_keys=True))


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(_flat(item, f"{prefix}.{key}" if prefix else key))
    return flat


def differences(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for every setting that differs, in key order."""
    old, new = _flat(before), _flat(now)
    return [
        f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]


def run_folder_conflict(folder: Path, settings: dict[str, Any]) -> str | None:
    """Why ``folder`` is another run's (the data settings that differ), or None when it holds
    this run's data, none yet, or was made before tact kept the record."""
    record = folder / SETTINGS_FILE
    if not record.exists():
        return None
    try:
        recorded = json.loads(record.read_text())
    except (OSError, ValueError) as exc:  # cut short, edited by hand, unreadable
        raise ConfigError(
            f"{record}: unreadable ({exc}): it records which data settings made this run;"
            " delete it if the run's data are this config's, or choose another run name"
        ) from None
    changed = differences(recorded, settings)
    if not changed:
        return None
    shown = "; ".join(changed[:3]) + ("; ..." if len(changed) > 3 else "")
    return (
        f"{folder}: made from other data settings ({shown}); nothing was run. Give this config"
        f" another run name, or add --config overwrite=true to replace that run's results"
    )


def claim_run_folder(folder: Path, settings: dict[str, Any], overwrite: bool) -> None:
    """Record ``settings`` as the data of the run in ``folder``; raise ConfigError when the
    folder holds a run of other data and ``overwrite`` is false."""
    record = folder / SETTINGS_FILE
    conflict = run_folder_conflict(folder, settings)
    if conflict and not overwrite:
        raise ConfigError(conflict)
    if record.exists() and not conflict:
        return
    with atomic_path(record) as tmp:
        tmp.write_text(json.dumps(settings, indent=1, sort_keys=True) + "\n")
