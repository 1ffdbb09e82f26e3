"""Where a data folder keeps its cases: the LiTS, Decathlon and DICOM layouts (``data.layout``).

- ``lits``: ``volume-N.nii[.gz]`` and ``segmentation-N.nii[.gz]``, searched recursively (LiTS'
  two batch folders work as downloaded).
- ``decathlon``: the Medical Segmentation Decathlon's ``imagesTr/<name>.nii.gz`` beside
  ``labelsTr/<name>.nii.gz`` (Task03_Liver: ``liver_N``); ``dataset.json``'s training list when
  present. The macOS ``._*`` files that the Task03 archive holds are skipped.
- ``dicom``: one folder per case, its id the last number in its name (3D-IRCADb's
  ``3Dircadb1.17``: 17), holding the CT series in a folder (``data.dicom.image``) and its labels
  (``data.dicom.labels``): a NIfTI label map, a DICOM label-map series, or a folder with one
  mask per structure (a DICOM series or a NIfTI file each).

Everything is found from the folder listing, before any job runs; each problem is one
:class:`tact.errors.InputDataError` naming the file or folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tact.data.dicom import holds_dicom_images
from tact.data.labels import LabelMapping
from tact.data.names import IMAGE, LITS_FILE, MASK, is_nifti, last_number_in, nifti_stem
from tact.errors import ConfigError, InputDataError

LAYOUTS = ("lits", "decathlon", "dicom")


@dataclass(frozen=True)
class Case:
    """One case: its CT (a NIfTI file or a DICOM series folder) and its labels (a NIfTI file,
    a DICOM series folder, or a folder of per-structure masks)."""

    volume_id: int
    image: Path
    labels: Path


@dataclass(frozen=True)
class DicomNames:
    """The names, inside each case folder, of the CT series folder and of the labels."""

    image: str = "image"
    labels: str = "labels"


@dataclass(frozen=True)
class DataFolder:
    """A user's data folder as the workflow sees it before any job: its layout, its cases by
    id, and what to say about them (the layout detected, the label names read)."""

    layout: str
    cases: dict[int, Case]
    said: tuple[str, ...]


def open_data_folder(
    root: str | Path, layout: str, dicom: DicomNames, labels: LabelMapping
) -> DataFolder:
    """The cases of ``root`` in ``layout`` (``auto``: the one it holds, said); a Decathlon
    ``dataset.json``'s label names are checked against ``labels`` and said."""
    said = []
    if layout == "auto":
        layout = detect_layout(root, dicom)
        said.append(f"{root}: {layout} layout")
    cases = {case.volume_id: case for case in discover_cases(root, layout, dicom)}
    names = decathlon_label_names(root) if layout == "decathlon" else {}
    if names and not labels.by_name:
        said.append(labels.check_names(names, Path(root) / "dataset.json"))
    if layout == "dicom":
        said.extend(_left_out(Path(root), dicom))
    if layout == "decathlon":
        said.extend(_unlisted_images(Path(root), cases))
    if labels.by_name:
        said.extend(_check_structure_names(list(cases.values()), labels))
    return DataFolder(layout, cases, tuple(said))


def detect_layout(root: str | Path, dicom: DicomNames = DicomNames()) -> str:
    """The one layout ``root`` holds; an error when it holds none or several."""
    root = _checked_root(root)
    found = [name for name, test in _LAYOUT_TESTS.items() if test(root, dicom)]
    if len(found) == 1:
        return found[0]
    if not found:
        zips = sorted(p.name for p in files_under(root) if p.name.lower().endswith(".zip"))
        unzip = f"; it holds zip files ({', '.join(zips[:3])}): unzip them" if zips else ""
        raise InputDataError(
            root,
            "holds none of the layouts tact reads: LiTS (volume-N.nii[.gz] +"
            " segmentation-N.nii[.gz]), Decathlon (imagesTr/ + labelsTr/) or DICOM (one folder"
            f" per case with {dicom.image}/ and {dicom.labels}); see README, 'Your own data'"
            + unzip,
        )
    raise InputDataError(root, f"holds several layouts ({', '.join(found)}): set data.layout")


def discover_cases(
    root: str | Path, layout: str = "lits", dicom: DicomNames = DicomNames()
) -> list[Case]:
    """Every case under ``root`` in ``layout``, sorted by id."""
    root = _checked_root(root)
    if layout == "lits":
        return _lits_cases(root)
    if layout == "decathlon":
        return _decathlon_cases(root)
    if layout == "dicom":
        return _dicom_cases(root, dicom)
    raise ValueError(f"unknown layout {layout!r} (one of {', '.join(LAYOUTS)})")


def _checked_root(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise InputDataError(root, "data directory does not exist or is not a directory")
    return root


def files_under(root: Path) -> Iterator[Path]:
    """Every entry under ``root`` but folders, in a stable order, following linked folders
    (a batch folder linked in from another disk) once each."""
    seen: set[str] = set()
    for folder, folders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        folders.sort()
        if real in seen:
            folders.clear()
            continue
        seen.add(real)
        yield from (Path(folder) / name for name in sorted(files))


def case_files(case: Case) -> list[Path]:
    """Every file a case's extraction reads: a NIfTI file itself, every file of a DICOM folder
    (the masks' subfolders too; hidden files are not read).

    Why the files and not a manifest of their sizes and times that tact writes: Snakemake
    judges a folder input by the folder's own time, which an edit of a file in place (pydicom's
    ``save_as``, a mask copied over another) does not change. Given the files, Snakemake's own
    checks see each edit (a file newer than the slice store) and a file added or removed (the
    set of inputs changed). A manifest would have to be rewritten at every start of the
    workflow to be current, a write during a dry run, for the same stat of every file."""
    return [
        path
        for part in (case.image, case.labels)
        for path in (files_under(part) if part.is_dir() else [part])
        if not any(name.startswith(".") for name in path.relative_to(part).parts)
    ]


def check_listed(path: Path, kind: str = "file") -> Path:
    """What the listing shows: a link that points nowhere, an entry tact may not read."""
    if not path.exists():
        if path.is_symlink():
            raise InputDataError(path, f"is a link to {os.readlink(path)}, which does not exist")
        raise InputDataError(path, f"{kind} does not exist")
    is_right_kind = path.is_file() if kind == "file" else path.is_dir()
    if not is_right_kind:
        raise InputDataError(path, f"is not a {'regular file' if kind == 'file' else 'folder'}")
    if not os.access(path, os.R_OK | (os.X_OK if kind == "folder" else 0)):
        raise InputDataError(path, "permission denied: tact may not read it (chmod a+r)")
    return path


def _lits_cases(root: Path) -> list[Case]:
    found: dict[str, dict[int, Path]] = {IMAGE: {}, MASK: {}}
    for path in files_under(root):
        match = LITS_FILE.match(path.name)
        if match is None:
            continue
        check_listed(path)
        kind, volume_id = match.group(1).lower(), int(match.group(2))
        other = found[kind].get(volume_id)
        if other is not None:
            raise InputDataError(
                path, f"duplicate volume id {volume_id}: {other} is also its {kind}"
            )
        found[kind][volume_id] = path
    images, masks = found[IMAGE], found[MASK]
    if not images and not masks:
        raise InputDataError(root, "no volume-N.nii[.gz] / segmentation-N.nii[.gz] files found")
    for volume_id, path in images.items():
        if volume_id not in masks:
            raise InputDataError(path, f"has no matching segmentation-{volume_id}.nii[.gz]")
    for volume_id, path in masks.items():
        if volume_id not in images:
            raise InputDataError(path, f"has no matching volume-{volume_id}.nii[.gz]")
    return [Case(i, images[i], masks[i]) for i in sorted(images)]


def _number_in(path: Path, what: str) -> int:
    volume_id = last_number_in(path)
    if volume_id is None:
        raise InputDataError(path, f"{what} name holds no number to use as its id")
    return volume_id


def _with_ids(pairs: list[tuple[Path, Path]], what: str) -> list[Case]:
    """Cases from (image, labels) pairs, ids from the image names, each id once."""
    cases: dict[int, Case] = {}
    for image, labels in pairs:
        volume_id = _number_in(image, what)
        if volume_id in cases:
            raise InputDataError(
                image, f"duplicate id {volume_id}: {cases[volume_id].image} has it too"
            )
        cases[volume_id] = Case(volume_id, image, labels)
    return [cases[i] for i in sorted(cases)]


def _decathlon_cases(root: Path) -> list[Case]:
    index = root / "dataset.json"
    pairs = _decathlon_index(index) if index.is_file() else _decathlon_listing(root)
    if not pairs:
        raise InputDataError(root / "imagesTr", "holds no image with a label in labelsTr")
    return _with_ids([(check_listed(i), check_listed(lab)) for i, lab in pairs], "image file")


def _decathlon_index(index: Path) -> list[tuple[Path, Path]]:
    try:
        training = json.loads(check_listed(index).read_text())["training"]
        return [(index.parent / e["image"], index.parent / e["label"]) for e in training]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputDataError(
            index, f"is not a Decathlon dataset.json with a training list ({exc})"
        ) from exc


def decathlon_label_names(root: str | Path) -> dict[int, str]:
    """The label names a Decathlon ``dataset.json`` gives ({} without one): the MSD's
    ``{"1": "liver"}`` or nnU-Net v2's ``{"liver": 1}`` (its region lists are left out)."""
    index = Path(root) / "dataset.json"
    if not index.is_file():
        return {}
    names: dict[int, str] = {}
    for key, value in json.loads(index.read_text()).get("labels", {}).items():
        if str(key).isdigit():
            names[int(key)] = str(value)
        elif isinstance(value, int):
            names[value] = str(key)
    return names


def _unlisted_images(root: Path, cases: dict[int, Case]) -> list[str]:
    """One line for each image of ``imagesTr/`` that is not a case (``dataset.json``'s training
    list leaves it out), so that no image is dropped without a word."""
    used = {case.image.resolve() for case in cases.values()}
    images = root / "imagesTr"
    return [
        f"{image}: left out, not a case: not in {root / 'dataset.json'}'s training list"
        for image in (_listing(images) if images.is_dir() else [])
        if not image.name.startswith(".") and is_nifti(image) and image.resolve() not in used
    ]


def _decathlon_listing(root: Path) -> list[tuple[Path, Path]]:
    """imagesTr/<name> with labelsTr/<name>; ``._*`` (macOS metadata) and other hidden files
    are not cases."""
    images = check_listed(root / "imagesTr", "folder")
    labels = check_listed(root / "labelsTr", "folder")
    pairs = []
    for image in sorted(images.iterdir()):
        if image.name.startswith(".") or not is_nifti(image):
            continue
        label = labels / image.name
        if not label.exists() and not label.is_symlink():
            raise InputDataError(image, f"has no label file {label}")
        pairs.append((image, label))
    return pairs


def _dicom_cases(root: Path, names: DicomNames) -> list[Case]:
    pairs = []
    for folder in _subfolders(root):
        image = _case_entry(folder, names.image, "data.dicom.image")
        if image is not None:
            pairs.append((check_listed(image, "folder"), _dicom_labels(folder, names.labels)))
    if not pairs:
        raise InputDataError(
            root, f"holds no case folder with a DICOM series in {names.image}/ (data.dicom.image)"
        )
    cases = _with_ids([(folder.parent, labels) for folder, labels in pairs], "case folder")
    return [Case(c.volume_id, c.image / names.image, c.labels) for c in cases]


def _subfolders(root: Path) -> list[Path]:
    """The folders directly in ``root`` that could be cases (hidden ones are not)."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _case_entry(folder: Path, name: str, key: str) -> Path | None:
    """``folder/name`` if it is there; None if neither it nor a near miss is. A near miss is
    an error of its own: another letter case (Linux tells them apart) or still zipped
    (3D-IRCADb ships ``PATIENT_DICOM.zip`` in each case), which would drop the case silently."""
    path = folder / name
    if path.exists() or path.is_symlink():
        return path
    for entry in _listing(folder):
        if entry.name.lower() == name.lower():
            raise InputDataError(
                entry, f"is spelled otherwise than {key}: {name}; rename it or set {key}"
            )
        if entry.name.lower() == f"{name.lower()}.zip":
            raise InputDataError(entry, f"is still zipped: unzip it ({key}: {name})")
    return None


def _listing(folder: Path) -> list[Path]:
    """A folder's entries, sorted; [] for one tact may not list (said by :func:`_left_out`)."""
    try:
        return sorted(folder.iterdir())
    except PermissionError:
        return []


def _left_out(root: Path, names: DicomNames) -> list[str]:
    """One line for each folder of ``root`` that is not a case, and why."""
    return [
        f"{folder}: left out, not a case: "
        + (
            f"no {names.image}/ folder in it (data.dicom.image)"
            if os.access(folder, os.R_OK | os.X_OK)
            else "permission denied, tact may not list it"
        )
        for folder in _subfolders(root)
        if _case_entry(folder, names.image, "data.dicom.image") is None
    ]


def _dicom_labels(case: Path, name: str) -> Path:
    """The labels of a DICOM case: ``name`` as a folder or a NIfTI file."""
    for candidate in (name, f"{name}.nii.gz", f"{name}.nii"):
        found = _case_entry(case, candidate, "data.dicom.labels")
        if found is not None:
            return check_listed(found, "folder" if found.is_dir() else "file")
    raise InputDataError(
        case, f"has no labels: no {name}/ folder or {name}.nii[.gz] file (data.dicom.labels)"
    )


def structure_entries(folder: Path) -> list[Path]:
    """The per-structure masks of a labels folder: its subfolders (DICOM series) and NIfTI
    files, hidden ones left out; [] for a label-map series or a file."""
    if not folder.is_dir() or holds_dicom_images(folder):
        return []
    return [
        e
        for e in sorted(folder.iterdir())
        if not e.name.startswith(".") and (e.is_dir() or is_nifti(e))
    ]


def structure_name(entry: Path) -> str:
    """A mask's structure name: its folder's name, or its NIfTI file's without the suffix."""
    return entry.name if entry.is_dir() else nifti_stem(entry)


def _check_structure_names(cases: list[Case], labels: LabelMapping) -> list[str]:
    """Each liver pattern must match a structure of every case; a tumour pattern must match in
    some case (else it is a typo), and the cases where it matches nothing are said: a case
    without a tumour is real (3D-IRCADb: a quarter of its patients)."""
    without: dict[str, list[str]] = {}
    for case in cases:
        names = [structure_name(e) for e in structure_entries(case.labels)]
        if not names:
            continue  # a label map: its job says data.labels names structures
        for key, pattern in labels.unmatched(names):
            if key == "liver":
                raise InputDataError(
                    case.labels,
                    f"no structure matches data.labels.liver pattern {pattern!r}"
                    f" (structures: {', '.join(names)})",
                )
            without.setdefault(str(pattern), []).append(case.labels.parent.name)
    lines = []
    for pattern, missing in without.items():
        if len(missing) == len(cases):
            raise ConfigError(
                f"data.labels.tumour: {pattern!r} matches no structure in any case"
                f" (first: {cases[0].labels})"
            )
        lines.append(
            f"data.labels.tumour: {pattern!r} matches no structure in {', '.join(missing)}:"
            " these cases have no tumour labels"
        )
    return lines


def _has_lits(root: Path, _: DicomNames) -> bool:
    return any(LITS_FILE.match(p.name) for p in files_under(root))


def _has_decathlon(root: Path, _: DicomNames) -> bool:
    return (root / "dataset.json").is_file() or (root / "imagesTr").is_dir()


def _has_dicom(root: Path, names: DicomNames) -> bool:
    """A case folder with the CT series, or a near miss (other letter case, zipped) that
    :func:`_case_entry` then names."""
    near = (names.image.lower(), f"{names.image.lower()}.zip")
    return any(e.name.lower() in near for folder in _subfolders(root) for e in folder.iterdir())


_LAYOUT_TESTS = {"lits": _has_lits, "decathlon": _has_decathlon, "dicom": _has_dicom}
