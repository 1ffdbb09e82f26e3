"""Configuration validation: fill defaults from the schema, fail at once on typos and types.

Snakemake's own ``validate`` does the same checks but reports them with a dump of the schema;
users need one line naming the key, e.g. ``data.imagesize: unknown key``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tact.data.labels import LabelMapping
from tact.errors import ConfigError


def _fill_defaults(schema: dict[str, Any], instance: dict[str, Any]) -> None:
    """Insert schema defaults for absent keys, recursing into objects (including new ones)."""
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if isinstance(instance.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(sub, instance[key])


_PLAIN_TYPES = {"integer": (int,), "number": (int, float), "boolean": (bool,), "array": (list,)}


def _coerce(schema: dict[str, Any], value: Any) -> Any:
    """Snakemake's ``--config key={a: 2}`` passes nested values as strings: read them as YAML
    where the schema wants a number, boolean or list (and the YAML value has that type)."""
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                value[key] = _coerce(sub, value[key])
        return value
    if isinstance(value, list) and "items" in schema:
        return [_coerce(schema["items"], item) for item in value]
    types = schema.get("type", [])
    wanted = tuple(
        t
        for name in ([types] if isinstance(types, str) else types)
        for t in _PLAIN_TYPES.get(name, ())
    )
    if isinstance(value, str) and wanted:
        try:
            parsed = yaml.safe_load(value)
            if isinstance(parsed, str) and float in wanted:
                parsed = float(parsed)  # PyYAML reads 1e-4 as a string (YAML 1.1)
        except (yaml.YAMLError, ValueError):
            return value
        if isinstance(parsed, wanted):
            return _coerce(schema, parsed)
    return value


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return f"{'.'.join([*map(str, error.absolute_path), unknown[0]])}: unknown key " + (
            f"(allowed here: {', '.join(allowed)})"
        )
    if error.validator == "oneOf":
        options = [
            s.get("const", s.get("enum", f"a list of {s.get('items', {}).get('enum', 'values')}"))
            if s.get("type") == "array" or "enum" in s or "const" in s
            else s.get("type")
            for s in error.validator_value
        ]
        return f"{where}: {error.instance!r} is not one of {options}"
    return f"{where}: {error.message}"


def load_schema(path: str | Path) -> dict[str, Any]:
    with open(path) as handle:
        return yaml.safe_load(handle)


def validate_config(config: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Return a validated copy of ``config`` with defaults filled; raise ConfigError otherwise."""
    config = _coerce(schema, copy.deepcopy(config))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("invalid configuration: " + "; ".join(map(_describe, errors)))
    _fill_defaults(schema, config)
    data = config["data"]
    if data["source"] == "lits" and not data["lits_dir"]:
        raise ConfigError("data.lits_dir: required when data.source is 'lits'")
    LabelMapping.from_config(data["labels"])
    if config["phantom"]["fov_mm"][0] > config["phantom"]["fov_mm"][1]:
        raise ConfigError("phantom.fov_mm: expected [smallest, largest]")
    return config
