"""The same volumes in every form tact reads give the same slice stores, through the workflow:
LiTS NIfTI, a Decathlon folder, DICOM series (label map, and one mask per structure). And a run
on labels without tumours completes and says so."""

import gzip
import json
import os
import shutil
from types import SimpleNamespace

import h5py
import jinja2
import numpy as np
import pandas as pd
import pydicom
import pytest

from conftest import REPO, make_case, ras_affine, run_workflow, write_config, write_nifti
from tact.data.phantom import PhantomSpec, generate_volume, write_dicom_case
from tact.data.slices import load_stack
from tact.seeding import derive_seed

PHANTOM = {"n_volumes": 2, "size": 64, "n_slices": 8, "slice_thickness_mm": 5.0}
STORES = [f"results/test/data/slices/volume-{vid}.h5" for vid in range(2)]


def stores_of(workdir, phantom_format="nifti", **data):
    """The slice stores of a run reading ``data`` (config's data section)."""
    config = write_config(
        workdir / "c.yaml",
        data={"image_size": 32, **data},
        phantom={**PHANTOM, "format": phantom_format},
    )
    run_workflow(workdir, config, *STORES, check=True)
    return [load_stack(workdir / store) for store in STORES]


def assert_identical(stacks, reference):
    for stack, expected in zip(stacks, reference, strict=True):
        np.testing.assert_array_equal(stack.image, expected.image)
        np.testing.assert_array_equal(stack.mask, expected.mask)
        np.testing.assert_array_equal(stack.slice_index, expected.slice_index)
        np.testing.assert_array_equal(stack.spacing_mm, expected.spacing_mm)


@pytest.mark.slow
def test_lits_decathlon_and_dicom_give_identical_slice_stores(tmp_path):
    nifti_run = tmp_path / "nifti"
    reference = stores_of(nifti_run, source="phantom")
    assert all(len(s) > 0 for s in reference)

    # the phantom rule writes DICOM series (CT and a label-map series) and reads them back
    dicom_run = tmp_path / "dicom"
    assert_identical(stores_of(dicom_run, "dicom", source="phantom"), reference)

    # the user's Decathlon folder: the phantom's NIfTI files, renamed and gzipped
    decathlon = tmp_path / "Task03_Liver"
    for vid in range(2):
        for kind, folder in (("volume", "imagesTr"), ("segmentation", "labelsTr")):
            source = nifti_run / f"results/test/phantom/{kind}-{vid}.nii"
            (decathlon / folder).mkdir(parents=True, exist_ok=True)
            with gzip.open(decathlon / folder / f"liver_{vid}.nii.gz", "wb") as out:
                out.write(source.read_bytes())
    assert_identical(stores_of(tmp_path / "dec", source="lits", lits_dir=str(decathlon)), reference)

    # the user's DICOM folder, 3D-IRCADb-like: one binary mask series per structure
    ircad = tmp_path / "ircad"
    spec = PhantomSpec(size=64, n_slices=8, slice_thickness_mm=5.0)
    for vid in range(2):
        volume = generate_volume(derive_seed(0, vid), spec)
        write_dicom_case(volume, ircad / f"3Dircadb1.{vid}", vid, structures=True)
    labels = {"liver": ["liver"], "tumour": ["tumour"]}
    stacks = stores_of(tmp_path / "ircad-run", source="lits", lits_dir=str(ircad), labels=labels)
    assert_identical(stacks, reference)


@pytest.mark.slow
def test_a_run_without_tumour_labels_completes_and_says_so(tmp_path):
    """TotalSegmentator-like label maps (liver 5 with its tumours, the spine 3, no tumour
    class) in a Decathlon folder: Dice is the liver's and the tables say why."""
    root = tmp_path / "organs"
    for vid in range(2):
        hu, labels = make_case(vid)
        organs = np.where(labels > 0, 5, 0).astype(np.uint8)
        organs[(labels == 0) & (hu > 600)] = 3
        write_nifti(root / f"imagesTr/case_{vid}.nii.gz", hu.astype(np.int16), ras_affine())
        write_nifti(root / f"labelsTr/case_{vid}.nii.gz", organs, ras_affine())
    labels = {"liver": [5], "tumour": [], "other": "background"}
    config = write_config(
        tmp_path / "c.yaml",
        data={"source": "lits", "lits_dir": str(root), "image_size": 32, "labels": labels},
        task_adaptive={"alphas": []},  # the baselines and the Base U-Net are enough here
        joint={"cs": []},
        # the study needs a liver, not tumour labels: its lesions go into the data's own livers
        observers={"enabled": True, "diameters_mm": [6], "contrasts_hu": [60], "realisations": 12},
    )
    built = ["tables/table2_dice.md", "tables/table3_anatomy.md", "figures/alpha_tradeoff.png"]
    built += ["tables/table5_lesions.md", "tables/table4_observers.md"]
    result = run_workflow(tmp_path, config, *(f"results/test/{b}" for b in built), check=True)
    assert "organs: decathlon layout" in result.stderr
    results = tmp_path / "results/test"
    per_slice = pd.read_csv(results / "metrics/per_slice.csv")
    assert set(per_slice["segmenter"]) == {"g", "held_out_1"}  # the rule holds for both
    assert per_slice[["dice_tumor", "nsd_tumor", "cldice_tumor"]].isna().all().all()
    liver = per_slice.dropna(subset=["dice_liver"])
    assert len(liver) > 0.9 * len(per_slice)
    np.testing.assert_allclose(liver["dice"], liver["dice_liver"], atol=1e-5)
    table2 = (results / "tables/table2_dice.md").read_text()
    assert "Dice of the liver alone (no tumour labels" in table2.splitlines()[0]
    assert "| Method | Dice by g | Dice by held-out |" in table2  # no paper column: not its data
    table3 = (results / "tables/table3_anatomy.md").read_text().splitlines()
    assert "| Tumour |" in table3[2] and "Tumour Dice" not in table3[2]
    assert all(line.endswith("| no tumour labels |") for line in table3[4:])
    assert pd.read_csv(results / "metrics/per_lesion.csv").empty  # no lesions without the class
    table5 = (results / "tables/table5_lesions.md").read_text().splitlines()
    assert "no tumour labels: nothing to count" in table5[0]
    assert all(line.endswith("| 0 | 0 | 0 | – | – | – |") for line in table5[4:])
    observers = pd.read_csv(results / "tables/table4_observers.csv")
    methods = {"lowdose", "fbp", "bm3d", "base", "fulldose"}
    assert set(observers["method"]) == methods and set(observers["setting"]) == {"6mm_60HU"}
    full_dose = observers[observers["method"] == "fulldose"]
    assert (full_dose["auc"] == 1.0).all()  # noiseless: a 60 HU lesion is always seen
    with h5py.File(results / "observers/lesion_images.h5") as images:
        sites = images["6mm_60HU"]
        located = zip(sites["volume"][()], sites["slice"][()], sites["centre_px"][()], strict=True)
        for volume, index, centre in located:  # each lesion in this data's own liver
            stack = load_stack(results / f"data/slices/volume-{volume}.h5")
            mask = stack.mask[list(stack.slice_index).index(index)]
            assert mask[tuple(np.round(centre).astype(int))] == 1


CAPTIONS_WITH_DICE = [
    "table2_dice",
    "table3_anatomy",
    "table3_anatomy_3d",
    "metric_correlation",
    "fig4_segmentations",
    "alpha_tradeoff",
]


@pytest.mark.parametrize("name", CAPTIONS_WITH_DICE)
def test_report_captions_say_when_a_run_has_no_tumour_labels(name):
    """The report renders captions with Jinja, as Snakemake does, from the run's config."""
    template = jinja2.Template((REPO / f"workflow/report/{name}.rst").read_text())

    def caption(source, tumour):
        config = {
            "data": {"source": source, "labels": {"tumour": tumour}},
            "evaluation": {"nsd_tolerance_mm": 2.0},
        }
        return template.render(snakemake=SimpleNamespace(config=config))

    assert "no tumour labels" in caption("lits", [])
    assert "no tumour labels" not in caption("lits", [2])
    assert "no tumour labels" not in caption("phantom", [])  # the phantom labels its tumours


def test_the_dry_run_says_the_layout_and_which_decathlon_labels_it_reads(tmp_path):
    root = tmp_path / "Task03_Liver"
    training = []
    for vid in range(2):
        hu, labels = make_case(vid)
        write_nifti(root / f"imagesTr/liver_{vid}.nii.gz", hu.astype(np.int16), ras_affine())
        write_nifti(root / f"labelsTr/liver_{vid}.nii.gz", labels, ras_affine())
        training.append(
            {"image": f"./imagesTr/liver_{vid}.nii.gz", "label": f"./labelsTr/liver_{vid}.nii.gz"}
        )
    names = {"0": "background", "1": "liver", "2": "cancer"}
    (root / "dataset.json").write_text(json.dumps({"labels": names, "training": training}))
    data = {"source": "lits", "lits_dir": str(root)}
    result = run_workflow(tmp_path, write_config(tmp_path / "c.yaml", data=data), "-n", check=True)
    assert f"tact: {root}: decathlon layout" in result.stderr
    assert "tact reads liver: liver; tumour: cancer" in result.stderr
    wrong = {**data, "labels": {"liver": [5], "tumour": []}}
    result = run_workflow(tmp_path, write_config(tmp_path / "w.yaml", data=wrong), "-n")
    assert result.returncode != 0
    assert "tact: error: data.labels.liver: [5] not among the labels of" in result.stderr


@pytest.mark.slow
def test_a_dicom_series_with_a_missing_slice_stops_its_case_naming_the_series(tmp_path):
    """Bad DICOM through the workflow: one line naming the series, no slice store, no split."""
    root = tmp_path / "hospital"
    spec = PhantomSpec(size=64, n_slices=8, slice_thickness_mm=5.0)
    for vid in range(2):
        write_dicom_case(generate_volume(derive_seed(0, vid), spec), root / f"patient-{vid}", vid)
    (root / "patient-1/image/slice-0004.dcm").unlink()
    data = {"source": "lits", "lits_dir": str(root), "image_size": 32}
    config = write_config(tmp_path / "c.yaml", data=data)
    result = run_workflow(tmp_path, config, "results/test/data/split.csv")
    assert result.returncode != 0
    line = next(x for x in (result.stdout + result.stderr).splitlines() if "missing slice" in x)
    assert f"{root}/patient-1/image: missing slice(s)" in line, line
    assert not (tmp_path / "results/test/data/slices/volume-1.h5").exists()
    assert not (tmp_path / "results/test/data/split.csv").exists()


def test_an_edit_inside_a_dicom_series_reruns_its_extraction(tmp_path):
    """Issue 33: Snakemake judged a series by its folder's time, which an edit of a file in
    place does not change: a fixed slice or a replaced mask gave 'Nothing to be done'."""
    root = tmp_path / "ircad"
    spec = PhantomSpec(size=64, n_slices=8, slice_thickness_mm=5.0)
    for vid in range(2):
        volume = generate_volume(derive_seed(0, vid), spec)
        write_dicom_case(volume, root / f"3Dircadb1.{vid}", vid, structures=True)
    data = {"source": "lits", "lits_dir": str(root), "image_size": 32}
    data["labels"] = {"liver": ["liver"], "tumour": ["tumour"]}
    config = write_config(tmp_path / "c.yaml", data=data)
    store = "results/test/data/slices/volume-1.h5"
    case = root / "3Dircadb1.1"
    for edit in (fix_one_pixel, replace_a_mask):
        run_workflow(tmp_path, config, store, check=True)
        path = edit(case)
        folders = {p: p.stat().st_mtime_ns for p in path.parents[:3]}
        for folder, made in folders.items():  # an edit in place leaves the folders' times
            os.utime(folder, ns=(made, made))
        plan = run_workflow(tmp_path, config, "--dry-run", store, check=True).stdout
        assert "rule extract_slices:" in plan and store in plan, (edit, plan)


def one_pixel_changed(path, saved_as):
    """``path`` with its first pixel one higher, saved by pydicom as ``saved_as``."""
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array.copy()
    pixels[0, 0] += 1
    ds.PixelData = pixels.tobytes()
    ds.save_as(saved_as)


def fix_one_pixel(case):
    """One CT slice corrected with pydicom's save_as, in place."""
    path = case / "image/slice-0003.dcm"
    one_pixel_changed(path, path)
    return path


def replace_a_mask(case):
    """A corrected mask file copied over the old one."""
    path = case / "labels/liver/slice-0004.dcm"
    one_pixel_changed(path, case.parent / "fixed.dcm")
    shutil.copyfile(case.parent / "fixed.dcm", path)
    return path
