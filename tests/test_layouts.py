"""Finding the cases of a data folder (LiTS, Decathlon, DICOM layouts) and mapping its labels."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, ras_affine, write_case, write_nifti
from tact.config import load_schema, validate_config
from tact.data.labels import LabelMapping
from tact.data.layouts import (
    DicomNames,
    decathlon_label_names,
    detect_layout,
    discover_cases,
    open_data_folder,
)
from tact.data.names import last_number_in
from tact.errors import ConfigError, InputDataError

SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")


def decathlon(root: Path, ids=(0, 3, 12), index: bool = False) -> Path:
    """A Task03-like folder: imagesTr/liver_N.nii.gz and labelsTr/liver_N.nii.gz, with the
    macOS ``._`` files the real archive holds."""
    for vid in ids:
        write_case(root / "lits", vid, suffix=".nii.gz")
        (root / "imagesTr").mkdir(parents=True, exist_ok=True)
        (root / "labelsTr").mkdir(parents=True, exist_ok=True)
        (root / "lits" / f"volume-{vid}.nii.gz").rename(root / f"imagesTr/liver_{vid}.nii.gz")
        (root / "lits" / f"segmentation-{vid}.nii.gz").rename(root / f"labelsTr/liver_{vid}.nii.gz")
        (root / f"imagesTr/._liver_{vid}.nii.gz").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (root / "lits").rmdir()
    if index:
        training = [
            {"image": f"./imagesTr/liver_{v}.nii.gz", "label": f"./labelsTr/liver_{v}.nii.gz"}
            for v in ids
        ]
        (root / "dataset.json").write_text(json.dumps({"name": "Liver", "training": training}))
    return root


def dicom_like(root: Path, names: list[str]) -> Path:
    """Case folders with an image/ folder and a labels.nii.gz (no DICOM needed to list them)."""
    for name in names:
        (root / name / "image").mkdir(parents=True)
        write_nifti(root / name / "labels.nii.gz", np.zeros((2, 2, 2), np.uint8), ras_affine())
    return root


@pytest.mark.parametrize("index", [False, True], ids=["listing", "dataset.json"])
def test_decathlon_layout_pairs_images_and_labels_by_name(tmp_path, index):
    root = decathlon(tmp_path / "Task03_Liver", index=index)
    assert detect_layout(root) == "decathlon"
    cases = discover_cases(root, "decathlon")
    assert [c.volume_id for c in cases] == [0, 3, 12]  # the ._ files are not cases
    assert [(c.image.name, c.labels.parent.name) for c in cases][1] == (
        "liver_3.nii.gz",
        "labelsTr",
    )


def test_decathlon_image_without_label_and_broken_index(tmp_path):
    root = decathlon(tmp_path / "d")
    (root / "labelsTr/liver_3.nii.gz").unlink()
    with pytest.raises(InputDataError, match=r"liver_3.nii.gz: has no label file"):
        discover_cases(root, "decathlon")
    (root / "dataset.json").write_text("{not json")
    with pytest.raises(InputDataError, match=r"dataset.json: is not a Decathlon dataset.json"):
        discover_cases(root, "decathlon")


@pytest.mark.parametrize(
    ("name", "volume_id"),
    [
        ("liver_17.nii.gz", 17),
        ("Liver_3.NII.GZ", 3),
        ("hepaticvessel_004.nii", 4),
        ("3Dircadb1.17", 17),
        ("patient-12_ct2", 2),
        ("liver.nii.gz", None),
        ("scan", None),
    ],
)
def test_a_case_id_is_the_last_number_of_its_name_without_the_nifti_suffix(name, volume_id):
    assert last_number_in(Path("/data") / name) == volume_id


def test_dicom_layout_ids_from_folder_names(tmp_path):
    root = dicom_like(tmp_path / "ircad", ["3Dircadb1.1", "3Dircadb1.17", "3Dircadb1.2"])
    assert detect_layout(root) == "dicom"
    cases = discover_cases(root, "dicom")
    assert [c.volume_id for c in cases] == [1, 2, 17]
    assert cases[2].image == root / "3Dircadb1.17/image"
    assert cases[2].labels == root / "3Dircadb1.17/labels.nii.gz"


def test_dicom_layout_names_from_config_and_errors(tmp_path):
    root = tmp_path / "ircad"
    (root / "3Dircadb1.4/PATIENT_DICOM").mkdir(parents=True)
    (root / "3Dircadb1.4/MASKS_DICOM/liver").mkdir(parents=True)
    names = DicomNames(image="PATIENT_DICOM", labels="MASKS_DICOM")
    assert detect_layout(root, names) == "dicom"
    [case] = discover_cases(root, "dicom", names)
    assert (case.volume_id, case.labels.name) == (4, "MASKS_DICOM")
    (root / "case-4b/PATIENT_DICOM").mkdir(parents=True)
    (root / "case-4b/MASKS_DICOM").mkdir()
    with pytest.raises(InputDataError, match=r"duplicate id 4"):
        discover_cases(root, "dicom", names)
    with pytest.raises(InputDataError, match=r"3Dircadb1.4: has no labels: no labels/ folder"):
        discover_cases(root, "dicom", DicomNames(image="PATIENT_DICOM"))


def test_no_layout_or_several_layouts_are_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError, match=r"empty: holds none of the layouts tact reads"):
        detect_layout(tmp_path / "empty")
    both = decathlon(tmp_path / "both")
    write_case(both, 5)
    with pytest.raises(InputDataError, match=r"holds several layouts \(lits, decathlon\)"):
        detect_layout(both)


# ---- labels --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [{"0": "background", "1": "liver", "2": "cancer"}, {"background": 0, "liver": 1, "cancer": 2}],
    ids=["msd", "nnunet_v2"],
)
def test_the_decathlon_label_names_are_checked_and_said(tmp_path, labels):
    root = decathlon(tmp_path / "Task03_Liver", index=True)
    index = json.loads((root / "dataset.json").read_text())
    (root / "dataset.json").write_text(json.dumps({**index, "labels": labels}))
    names = decathlon_label_names(root)
    assert names == {0: "background", 1: "liver", 2: "cancer"}
    said = LabelMapping().check_names(names, root / "dataset.json")
    assert said.endswith(
        "labels 0 background, 1 liver, 2 cancer; tact reads liver: liver; tumour: cancer"
    )
    with pytest.raises(ConfigError, match=r"data.labels.liver: \[5\] not among the labels of"):
        LabelMapping(liver=(5,), tumour=()).check_names(names, root / "dataset.json")


def test_label_values_map_to_liver_and_tumour(tmp_path):
    raw = np.array([[0, 5, 5], [3, 9, 0]])
    totalsegmentator = LabelMapping(liver=(5,), tumour=(), other="background")
    np.testing.assert_array_equal(totalsegmentator.label_map(raw, tmp_path), [[0, 1, 1], [0, 0, 0]])
    assert not totalsegmentator.has_tumour
    with pytest.raises(InputDataError, match=r"has labels outside \{0, 5\}: 3, 9"):
        LabelMapping(liver=(5,), tumour=()).label_map(raw, tmp_path)
    lits = LabelMapping()
    np.testing.assert_array_equal(lits.label_map(np.array([0, 1, 2]), tmp_path), [0, 1, 2])


def test_structures_by_name_tumour_wins(tmp_path):
    liver = np.zeros((4, 4), bool)
    liver[1:3, 1:4] = True
    tumour = np.zeros((4, 4), bool)
    tumour[1, 2] = True
    ircad = LabelMapping(liver=("liver",), tumour=("livertumor*",))
    labels = ircad.structures(
        {"liver": liver, "livertumor01": tumour, "portalvein": ~liver}, tmp_path
    )
    expected = liver.astype(np.uint8)
    expected[1, 2] = 2
    np.testing.assert_array_equal(labels, expected)
    with pytest.raises(InputDataError, match=r"no structure matches data.labels.liver"):
        ircad.structures({"portalvein": liver}, tmp_path)
    with pytest.raises(InputDataError, match=r"one mask per structure"):
        LabelMapping().structures({"liver": liver}, tmp_path)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"liver": [1, "liver"]}, "both be label values"),
        ({"liver": [1], "tumour": [1]}, r"\[1\] is both liver and tumour"),
        ({"liver": []}, "data.labels.liver"),
        ({"liver": [0]}, "0 is the background"),
        ({"other": "ignore"}, "data.labels.other"),
    ],
)
def test_bad_label_mappings_are_config_errors(labels, message):
    config = {"run": "x", "data": {"source": "lits", "lits_dir": "d", "labels": labels}}
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


def test_open_data_folder_says_the_detected_layout_only_when_it_detected_it(tmp_path):
    root = decathlon(tmp_path / "Task03_Liver", ids=(4, 9))
    detected = open_data_folder(root, "auto", DicomNames(), LabelMapping())
    assert (detected.layout, sorted(detected.cases)) == ("decathlon", [4, 9])
    assert detected.said == (f"{root}: decathlon layout",)  # no dataset.json: no label names
    assert open_data_folder(root, "decathlon", DicomNames(), LabelMapping()).said == ()


def test_no_image_and_no_zip_is_left_out_without_a_word(tmp_path):
    """Issue 33: every case is used or named: an image dataset.json leaves out, a zip where the
    layouts are expected."""
    root = decathlon(tmp_path / "Task03_Liver", index=True)
    write_case(tmp_path / "x", 7, suffix=".nii.gz")
    (tmp_path / "x/volume-7.nii.gz").rename(root / "imagesTr/liver_7.nii.gz")
    said = open_data_folder(root, "decathlon", DicomNames(), LabelMapping()).said
    assert said == (
        f"{root}/imagesTr/liver_7.nii.gz: left out, not a case: not in"
        f" {root}/dataset.json's training list",
    )
    (tmp_path / "zipped").mkdir()
    (tmp_path / "zipped/Training_Batch1.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    with pytest.raises(InputDataError, match=r"holds zip files \(Training_Batch1.zip\): unzip"):
        detect_layout(tmp_path / "zipped")
