"""A source's labels -> tact's classes: 0 background, 1 liver, 2 tumour (``data.labels``).

LiTS and the Decathlon's Task03_Liver label 1 liver and 2 tumour, tact's own values. Multi-organ
sets put the liver under another value and label no tumour (TotalSegmentator: liver 5; AMOS:
6; FLARE and AbdomenCT-1K: 1); 3D-IRCADb ships one mask per structure, named ``liver``,
``livertumor01``, ... A mapping names, for liver and for tumour, the label values of a label map
or the structure names (shell patterns, any letter case) of per-structure masks. A tumour inside
the liver is a tumour: tumour wins where masks overlap. With no tumour entry the run has no
tumour labels, and the tables and figures say so instead of scoring an absent class.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tact.errors import ConfigError, InputDataError

LIVER, TUMOUR = 1, 2  # tact's classes; 0 is the background


@dataclass(frozen=True)
class LabelMapping:
    """Which source labels are liver and which are tumour; ``other``: what any other label is."""

    liver: tuple[int | str, ...] = (LIVER,)
    tumour: tuple[int | str, ...] = (TUMOUR,)
    other: str = "error"

    @classmethod
    def from_config(cls, labels: dict[str, Any]) -> LabelMapping:
        """The ``data.labels`` section, checked: one kind of entry, liver given, no overlap."""
        mapping = cls(tuple(labels["liver"]), tuple(labels.get("tumour") or ()), labels["other"])
        entries = mapping.liver + mapping.tumour
        if not mapping.liver:
            raise ConfigError("data.labels.liver: give at least one label value or structure name")
        if len({type(e) for e in entries}) > 1:
            raise ConfigError(
                "data.labels: liver and tumour must both be label values (numbers) or both"
                f" structure names, not a mix: {list(entries)}"
            )
        if set(mapping.liver) & set(mapping.tumour):
            raise ConfigError(
                f"data.labels: {sorted(set(mapping.liver) & set(mapping.tumour))}"
                " is both liver and tumour"
            )
        if 0 in entries:
            raise ConfigError("data.labels: 0 is the background of every label map")
        return mapping

    def check_names(self, names: dict[int, str], index: Path) -> str:
        """Every mapped value among the labels a dataset names (its ``dataset.json``); the
        pairing as one line, to say before any job which names tact reads as what."""
        shown = ", ".join(f"{value} {name}" for value, name in sorted(names.items()))
        for key, values in (("liver", self.liver), ("tumour", self.tumour)):
            missing = [v for v in values if v not in names]
            if missing:
                raise ConfigError(
                    f"data.labels.{key}: {missing} not among the labels of {index} ({shown})"
                )
        read = "; ".join(
            f"{key}: {', '.join(names[v] for v in values) or 'none'}"
            for key, values in (("liver", self.liver), ("tumour", self.tumour))
        )
        return f"{index}: labels {shown}; tact reads {read}"

    def as_config(self) -> dict[str, Any]:
        """The ``data.labels`` section this mapping reads from (a rule's params)."""
        return {"liver": list(self.liver), "tumour": list(self.tumour), "other": self.other}

    @property
    def has_tumour(self) -> bool:
        return bool(self.tumour)

    @property
    def by_name(self) -> bool:
        """True when the entries are structure names (per-structure masks)."""
        return isinstance(self.liver[0], str)

    def label_map(self, raw: np.ndarray, path: Path) -> np.ndarray:
        """A source label map -> uint8 classes; raise InputDataError naming ``path``."""
        if self.by_name:
            raise InputDataError(
                path,
                "is one label map, but data.labels names structures"
                f" ({', '.join(map(str, self.liver + self.tumour))}): give label values",
            )
        if not np.all(np.isfinite(raw)):
            raise InputDataError(path, "contains NaN or infinite labels")
        fractional = raw[raw != np.rint(raw)]
        if fractional.size:
            raise InputDataError(
                path,
                f"its labels are not whole numbers ({_shown(np.unique(fractional))}): a label map"
                " resampled with interpolation? resample it with nearest neighbours",
            )
        labels = np.zeros(raw.shape, dtype=np.uint8)
        liver, tumour = np.isin(raw, self.liver), np.isin(raw, self.tumour)
        labels[liver], labels[tumour] = LIVER, TUMOUR
        unknown = (raw != 0) & ~liver & ~tumour
        if self.other == "error" and unknown.any():
            raise InputDataError(path, self._unknown_values(np.unique(raw[unknown])))
        if not labels.any() and unknown.any():  # not "all labels are 0": they are not
            raise InputDataError(
                path,
                f"none of its labels ({_shown(np.unique(raw[unknown]))}) is one data.labels maps"
                f" (liver {list(self.liver)}, tumour {list(self.tumour)}; other: background"
                " ignores the rest)",
            )
        return self.checked(labels, path)

    def _unknown_values(self, values: np.ndarray) -> str:
        return (
            f"has labels outside {{0, {', '.join(map(str, self.liver + self.tumour))}}}:"
            f" {_shown(values)}"
            " (data.labels maps liver and tumour; other: background ignores the rest)"
        )

    def uses(self, name: str) -> bool:
        """Whether a structure's mask is read: its name matches a liver or tumour pattern."""
        return any(_matches(name, p) for p in self.liver + self.tumour)

    def unmatched(self, names: list[str]) -> list[tuple[str, int | str]]:
        """The (key, pattern) pairs that match none of a case's structure names."""
        return [
            (key, p)
            for key, patterns in (("liver", self.liver), ("tumour", self.tumour))
            for p in patterns
            if not any(_matches(name, p) for name in names)
        ]

    def used_structures(self, names: list[str], folder: Path) -> list[str]:
        """The structure names data.labels reads, of those a folder holds; an error when they
        are not names, or when no liver pattern matches."""
        if not self.by_name:
            raise InputDataError(
                folder,
                f"holds one mask per structure ({', '.join(sorted(names))}), but data.labels"
                " gives label values: name the structures (e.g. liver: [liver])",
            )
        if not any(_matches(name, p) for name in names for p in self.liver):
            raise InputDataError(
                folder,
                f"no structure matches data.labels.liver {list(self.liver)}"
                f" (structures found: {', '.join(sorted(names))})",
            )
        return [name for name in names if self.uses(name)]

    def structures(self, masks: dict[str, np.ndarray], folder: Path) -> np.ndarray:
        """Per-structure masks (name -> nonzero inside) -> uint8 classes."""
        used = self.used_structures(list(masks), folder)
        labels = np.zeros(next(iter(masks.values())).shape, dtype=np.uint8)
        for cls, patterns in ((LIVER, self.liver), (TUMOUR, self.tumour)):
            for name in sorted(used):
                if any(_matches(name, p) for p in patterns):
                    labels[(masks[name] != 0) & (labels != TUMOUR)] = cls
        return self.checked(labels, folder)

    def checked(self, labels: np.ndarray, path: Path) -> np.ndarray:
        """A case needs liver; a tumour without liver is a broken mask."""
        if not labels.any():
            raise InputDataError(path, "contains no liver or tumour voxel (all labels are 0)")
        if not (labels == LIVER).any():
            raise InputDataError(path, "has tumour but no liver")
        return labels


def _shown(values: np.ndarray) -> str:
    """Up to five label values for a message."""
    return ", ".join(f"{v:g}" for v in values[:5]) + (", ..." if len(values) > 5 else "")


def _matches(name: str, pattern: int | str) -> bool:
    """A structure name against a pattern of data.labels: shell pattern, any letter case."""
    return fnmatch.fnmatch(name.lower(), str(pattern).lower())


LITS_LABELS = LabelMapping()
