"""Which library files a workflow script runs: the tact modules it imports, transitively.

The workflow lists them as a rule's inputs, so that editing a module reruns exactly the steps
that run it. Computed from the import statements when the workflow is parsed (``ast`` only: no
module is imported), so the lists cannot drift from the code. Imports inside functions count
too: a lazily imported module still runs.
"""

from __future__ import annotations

import ast
import os
from functools import cache
from pathlib import Path

PACKAGE = "tact"


@cache
def _imported_names(path: Path) -> frozenset[str]:
    """Dotted names of the tact modules (or of their members) a file imports.

    Cached for the process (a Snakefile parse): the 23 rules' closures parse the same modules
    366 times, 3.0 of the 5.0 s of a tiny config's dry run on our 2-core machine (2026-12-02),
    and on SLURM every job parses the Snakefile again.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise ValueError(f"{path}: relative imports are not followed; use tact.<module>")
            names.add(node.module or "")
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(n for n in names if n == PACKAGE or n.startswith(f"{PACKAGE}."))


@cache
def _module_file(name: str, root: Path) -> Path | None:
    """The file of a dotted tact module name under ``root`` (the ``src`` folder), if any."""
    relative = Path(*name.split("."))
    for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _closure(path: Path, root: Path) -> frozenset[Path]:
    files: set[Path] = set()
    pending = [path]
    while pending:
        current = pending.pop()
        for name in _imported_names(current):
            parts = name.split(".")
            # a module and every package above it run on import
            for depth in range(1, len(parts) + 1):
                found = _module_file(".".join(parts[:depth]), root)
                if found is not None and found not in files:
                    files.add(found)
                    pending.append(found)
    return frozenset(files)


def library_files(script: str | Path, src_root: str | Path) -> list[str]:
    """Sorted paths of every tact file ``script`` imports, directly or through other modules."""
    root = Path(src_root).resolve()
    return sorted(str(p) for p in _closure(Path(script).resolve(), root))


def jobs_import_from(src_root: str | Path) -> None:
    """Make ``src_root``'s tact the one every script job imports: first on PYTHONPATH, which
    Python puts before site-packages. Snakemake hands its sys.path on to script jobs but
    appends it, so a tact installed in the job's environment (say an editable install of
    another checkout) would win, and a rule's library inputs would name files it does not run.
    """
    first = str(src_root)
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != first]
    os.environ["PYTHONPATH"] = os.pathsep.join([first, *rest])
