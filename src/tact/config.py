"""Configuration validation: fill defaults from the schema, fail at once on typos and types.

Snakemake's own ``validate`` does the same checks but reports them with a dump of the schema;
users need one line naming the key, e.g. ``data.imagesize: unknown key``.
"""

from __future__ import annotations

import copy
import math
import os
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tact.data.labels import LabelMapping
from tact.errors import ConfigError


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error: YAML
    forbids it, but PyYAML (and so Snakemake) keeps the last value without a word, so a second
    ``training:`` section would silently replace the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if (
                not isinstance(key_node, yaml.ScalarNode)
                or key_node.tag == "tag:yaml.org,2002:merge"
            ):
                continue
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{key_node.start_mark.name}:{line}: {key!r} is given twice in one section"
                    f" (first on line {seen[key]}); YAML keeps only the last, so remove one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_config_file(path: str | Path) -> Any:
    """A config file read as tact reads it: one line naming the file and the line for a YAML
    syntax error (a tab, an unclosed bracket) or a key given twice."""
    with open(path, encoding="utf-8") as handle:
        try:
            return yaml.load(handle, Loader=_StrictLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            problem = " ".join(filter(None, (exc.context, exc.problem)))
            if exc.context_mark and mark and exc.context_mark.line != mark.line:
                problem += f" (from line {exc.context_mark.line + 1})"
            raise ConfigError(f"{where}: not valid YAML: {problem}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def check_config_files(paths: list[str | Path]) -> None:
    """Read every config file strictly (see ``read_config_file``); raise on the first fault.

    Snakemake reads them first and says neither file nor line for a syntax error, and nothing
    for a key given twice."""
    for path in paths:
        read_config_file(path)


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


def _non_finite(value: Any, where: str = "") -> str | None:
    """The key of the first number that is infinite or NaN (YAML's .inf, .nan), if any: JSON
    schema's ``number`` admits them, and no setting of tact means anything with one."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "(top level)"
    if isinstance(value, dict):
        children = [(f"{where}.{key}" if where else str(key), v) for key, v in value.items()]
    elif isinstance(value, list):
        children = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    found = (_non_finite(child, key) for key, child in children)
    return next((key for key in found if key), None)


def canonical(value: Any) -> Any:
    """``value`` with every mapping's keys in sorted order, recursively (lists keep theirs).

    Snakemake decides whether a job's params changed by comparing their ``repr``, in which a
    dict's key order shows: a config section whose keys were only reordered would rerun every
    job that reads it. Every param comes from the validated config, so sorting it once here
    makes each param's form depend on its value alone."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def resolve_data_dir(value: str, base: Path) -> tuple[str, str | None]:
    """``data.lits_dir`` as tact reads it: ``~`` expanded, a relative path joined to ``base``
    (Snakemake's working directory, set by --directory), with a line saying so: a relative
    path read against another folder than the user's shell is an easy surprise."""
    expanded = Path(os.path.expanduser(value))
    if expanded.is_absolute():
        said = None if str(expanded) == value else f"data.lits_dir: {value} read as {expanded}"
        return str(expanded), said
    resolved = base / expanded
    return str(resolved), (
        f"data.lits_dir: {value} is relative: read as {resolved}"
        " (relative to the working directory, which --directory sets)"
    )


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
    where = _non_finite(config)
    if where:
        raise ConfigError(f"invalid configuration: {where}: not a finite number")
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
    return canonical(config)


def main(argv: list[str]) -> int:
    """``python -m tact.config FILE...``: check config files as the workflow does. Snakemake
    reads --configfile files itself before tact runs, and names neither file nor line for a
    YAML syntax error in one; this names both."""
    try:
        check_config_files(argv)
    except (ConfigError, OSError) as exc:
        print(f"tact: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
