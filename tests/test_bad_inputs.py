"""Real-world inputs through the real workflow (issue 20): every bad file and bad setting stops
the run early with one line naming the file or the key, leaves nothing partial, and a rerun
after the fix completes; what real scanners write (padding, slope 0, linked folders, odd
letter case) still runs."""

import errno
import os
import shutil
import struct
import subprocess
import sys

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from conftest import make_case, ras_affine, run_workflow, write_case, write_config

SPLIT = "results/test/data/split.csv"
STORE = "results/test/data/slices/volume-{}.h5"


def three_cases(tmp_path):
    root = tmp_path / "LiTS"
    for vid in range(3):
        write_case(root, vid)
    return root


def lits_config(tmp_path, root, **sections):
    return write_config(
        tmp_path / "c.yaml", data={"source": "lits", "lits_dir": str(root)}, **sections
    )


def tact_line(output: str, culprit: str, fragment: str) -> str:
    """The one line that names the culprit and the problem (tact: error: ... or the job's log)."""
    lines = [line for line in output.splitlines() if culprit in line and fragment in line]
    assert lines, f"no line names {culprit!r} with {fragment!r}:\n{output}"
    return lines[0]


def nothing_partial(workdir) -> None:
    results = workdir / "results"
    if results.exists():
        assert not [p.name for p in results.rglob("*") if ".tmp" in p.name]
        assert not list(results.rglob("sim/*.h5")), "a later stage ran"


def run_with_one_bad_case(tmp_path, make_bad):
    """Three good cases, one of them then damaged by ``make_bad``; the data stage run on them."""
    root = three_cases(tmp_path)
    culprit = make_bad(root)
    config = lits_config(tmp_path, root)
    result = run_workflow(tmp_path, config, SPLIT)
    assert result.returncode != 0
    return root, culprit, config, result


def volume_ids_of_split(workdir) -> list[int]:
    return sorted(pd.read_csv(workdir / SPLIT)["volume"].unique().tolist())


def save_image(path, data, affine=None, scaling=None):
    """A NIfTI-1 file; ``scaling``: (scl_slope, scl_inter) written into the header's bytes as
    a converter writes them (nibabel would reset them on saving)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, ras_affine() if affine is None else affine), path)
    if scaling is not None:
        with open(path, "r+b") as file:
            file.seek(112)  # scl_slope, then scl_inter: float32 at bytes 112 and 116
            file.write(struct.pack("<2f", *scaling))
    return path


# ---- voxels: the extraction job of the bad case fails, naming its file ------------------------


def _hu(vid=2):
    return make_case(vid)[0]


def _labels(vid=2):
    return make_case(vid)[1]


def rotated(degrees: float) -> np.ndarray:
    turn = np.radians(degrees)
    rotation = np.array(
        [[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]]
    )
    affine = ras_affine()
    affine[:3, :3] = rotation @ affine[:3, :3]
    return affine


def _extremes(root):
    hu = _hu().astype(np.int16)
    hu[:, :, ::2] = np.iinfo(np.int16).max
    return save_image(root / "volume-2.nii", hu)


def _tumour_without_liver(root):
    labels = _labels()
    labels[labels == 1] = 2
    return save_image(root / "segmentation-2.nii", labels)


def _oblique(root):
    save_image(root / "segmentation-2.nii", _labels(), rotated(45))
    return save_image(root / "volume-2.nii", _hu().astype(np.int16), rotated(45))


def _thin(root):
    affine = ras_affine((0.8, 0.8, 0.001))
    save_image(root / "segmentation-2.nii", _labels(), affine)
    return save_image(root / "volume-2.nii", _hu().astype(np.int16), affine)


BAD_VOXELS = {
    "intercept_nan": (
        lambda r: save_image(r / "volume-2.nii", _hu().astype(np.int16), scaling=(1.0, np.nan)),
        "invalid header scaling fields",
    ),
    "rgb": (
        lambda r: save_image(
            r / "volume-2.nii",
            np.zeros(_hu().shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")]),
        ),
        "expected real scalar values",
    ),
    "complex": (
        lambda r: save_image(r / "volume-2.nii", _hu().astype(np.complex64)),
        "expected real scalar values",
    ),
    "all_air": (
        lambda r: save_image(r / "volume-2.nii", np.full(_hu().shape, -1000, np.int16)),
        "nothing but air",
    ),
    "no_intercept": (
        lambda r: save_image(r / "volume-2.nii", (_hu() + 1024).astype(np.int16)),
        "scl_inter = -1024",
    ),
    "int16_extremes": (_extremes, "outside [-1100, 4000]"),
    "tumour_without_liver": (_tumour_without_liver, "has tumour but no liver"),
    "oblique_45_degrees": (_oblique, "45.0 degrees off the scanner's"),
    "thin_slices": (_thin, "voxel sizes (0.8, 0.8, 0.001) mm"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BAD_VOXELS))
def test_a_bad_volume_stops_its_extraction_and_a_rerun_after_the_fix_completes(tmp_path, case):
    make_bad, fragment = BAD_VOXELS[case]
    root, culprit, config, result = run_with_one_bad_case(tmp_path, make_bad)
    tact_line(result.stdout + result.stderr, f"{culprit}: ", fragment)
    assert not (tmp_path / STORE.format(2)).exists() and not (tmp_path / SPLIT).exists()
    nothing_partial(tmp_path)
    write_case(root, 2)  # the fix
    run_workflow(tmp_path, config, SPLIT, check=True)
    assert volume_ids_of_split(tmp_path) == [0, 1, 2]


# ---- the folder listing: stopped before any job -----------------------------------------------


def _dangling(name):
    def make(root):
        (root / name).unlink()
        (root / name).symlink_to(root / "elsewhere" / name)
        return root / name

    return make


def _two_spellings(root):
    write_case(root, 2, suffix=".nii.gz")
    (root / "volume-2.nii.gz").rename(root / "VOLUME-2.nii.gz")
    (root / "segmentation-2.nii.gz").unlink()
    return root / "volume-2.nii"


BAD_LISTING = {
    "dangling_volume_link": (_dangling("volume-2.nii"), "which does not exist"),
    "dangling_mask_link": (_dangling("segmentation-2.nii"), "which does not exist"),
    "two_spellings_of_one_id": (_two_spellings, "duplicate volume id 2"),
}


@pytest.mark.parametrize("case", sorted(BAD_LISTING))
def test_a_bad_listing_stops_before_any_job(tmp_path, case):
    make_bad, fragment = BAD_LISTING[case]
    root, culprit, config, result = run_with_one_bad_case(tmp_path, make_bad)
    line = tact_line(result.stderr, str(culprit.parent), fragment)
    assert line.startswith("tact: error: ") and culprit.name.lower() in line.lower()
    assert not (tmp_path / "results").exists()
    for path in root.iterdir():  # the fix: the case written again, plainly
        if path.name.lower().endswith(("-2.nii", "-2.nii.gz")):
            path.unlink()
    write_case(root, 2)
    run_workflow(tmp_path, config, SPLIT, check=True)
    assert volume_ids_of_split(tmp_path) == [0, 1, 2]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its permissions")
def test_an_unreadable_file_is_permission_denied_not_corrupt(tmp_path):
    root = three_cases(tmp_path)
    (root / "volume-1.nii").chmod(0)
    result = run_workflow(tmp_path, lits_config(tmp_path, root), SPLIT)
    assert result.returncode != 0
    tact_line(result.stderr, str(root / "volume-1.nii"), "permission denied")
    assert not (tmp_path / "results").exists()


# ---- what real data holds, still read ---------------------------------------------------------


def test_odd_names_links_and_linked_folders_are_all_found(tmp_path):
    """Upper-case names, files that are links, and a batch folder that is a link: five cases."""
    root = three_cases(tmp_path)
    for name in ("volume-1.nii", "segmentation-1.nii"):
        (root / name).rename(root / name.capitalize())
    elsewhere = tmp_path / "disk2"
    write_case(elsewhere / "batch", 3)
    (root / "batch2").symlink_to(elsewhere / "batch", target_is_directory=True)
    write_case(elsewhere / "files", 4)
    for name in ("volume-4.nii", "segmentation-4.nii"):
        (root / name).symlink_to(elsewhere / "files" / name)
    (root / "loop").symlink_to(root, target_is_directory=True)  # followed once, not forever
    run_workflow(tmp_path, lits_config(tmp_path, root), SPLIT, check=True)
    assert volume_ids_of_split(tmp_path) == [0, 1, 2, 3, 4]


def _padded(root):
    """Scanner padding (-3024) outside a circular field of view, a slope of 0 (unscaled, as
    converters write it), and axes 5 degrees off: read, the last with a warning in the log."""
    hu = _hu().astype(np.int16)
    x, y = np.meshgrid(*(np.linspace(-1, 1, n) for n in hu.shape[:2]), indexing="ij")
    hu[x**2 + y**2 > 1] = -3024
    save_image(root / "volume-2.nii", hu, rotated(5), scaling=(0.0, 7.0))
    save_image(root / "segmentation-2.nii", _labels(), rotated(5))
    ircadb = _hu(1)
    ircadb[ircadb > 600] = 1023  # 3D-IRCADb stores HU clipped at 1023
    ircadb = ircadb.astype(np.int16)
    save_image(root / "volume-1.nii", ircadb)


def test_scanner_padding_slope_zero_and_slightly_oblique_axes_are_read(tmp_path):
    root = three_cases(tmp_path)
    _padded(root)
    run_workflow(tmp_path, lits_config(tmp_path, root), SPLIT, check=True)
    assert volume_ids_of_split(tmp_path) == [0, 1, 2]
    log = (tmp_path / "results/test/logs/extract_slices/volume-2.log").read_text()
    assert "5.00 degrees off the scanner's; slices are read along the nearest axes" in log


# ---- settings: refused before any job ---------------------------------------------------------

BAD_SETTINGS = {
    "run_dot_dot": ({"run": ".."}, "run"),
    "run_dash": ({"run": "-x"}, "run"),
    "epochs_zero": ({"training": {"epochs": 0}}, "training.epochs"),
    "batch_zero": ({"training": {"batch_size": 0}}, "training.batch_size"),
    "image_size_segmentation_depth": (
        {"data": {"image_size": 34}, "segmentation": {"depth": 2}},
        "data.image_size: 34 is not a multiple of 4, which segmentation.depth: 2 needs",
    ),
    "image_size_reconstruction_depth": (
        {"data": {"image_size": 36}, "reconstruction": {"depth": 3}},
        "data.image_size: 36 is not a multiple of 8, which reconstruction.depth: 3 needs",
    ),
    "cuda_without_gpu": ({"training": {"device": "cuda"}}, "training.device: cuda"),
}


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_a_bad_setting_stops_before_any_job(tmp_path, case):
    if case == "cuda_without_gpu" and shutil.which("nvidia-smi"):
        pytest.skip("this machine may have a GPU")
    root = three_cases(tmp_path)
    settings, key = BAD_SETTINGS[case]
    settings = dict(settings)
    data = {"source": "lits", "lits_dir": str(root), **settings.pop("data", {})}
    config = write_config(tmp_path / "c.yaml", data=data, **settings)
    result = run_workflow(tmp_path, config, SPLIT)
    assert result.returncode != 0
    line = tact_line(result.stderr, key, "")
    assert line.startswith("tact: error: "), result.stderr
    assert not list(tmp_path.glob("results/*/data")) and not (tmp_path / "data").exists()
    nothing_partial(tmp_path)
    run_workflow(tmp_path, lits_config(tmp_path, root), SPLIT, check=True)  # the fix
    assert volume_ids_of_split(tmp_path) == [0, 1, 2]


# A config file as a user writes it (issue 33): the faults PyYAML passes or Snakemake reports
# without file or line. `default` is the file the Snakefile reads itself (config/config.yaml of
# the working directory); Snakemake reads --configfile files before tact can, so a syntax error
# is tested in the default file, a key given twice in both.
BAD_CONFIG_FILES = {
    "section_twice": (
        "configfile",
        "run: test\ntraining:\n  epochs: 1\ntraining:\n  epochs: 2\n",
        4,
    ),
    "key_twice": (
        "configfile",
        "run: test\ntraining:\n  epochs: 1\n  batch_size: 4\n  epochs: 2\n",
        5,
    ),
    "key_twice_default": ("default", "run: test\nseed: 1\nseed: 2\n", 3),
    "tab": ("default", "run: test\ntraining:\n\tepochs: 1\n", 3),
    "unclosed_bracket": ("default", "run: test\ntask_adaptive: {alphas: [0.5\n", 3),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIG_FILES))
def test_a_bad_config_file_is_one_line_naming_the_file_and_line(tmp_path, case):
    which, text, line = BAD_CONFIG_FILES[case]
    good = write_config(tmp_path / "good.yaml")
    bad = tmp_path / ("config/config.yaml" if which == "default" else "bad.yaml")
    bad.parent.mkdir(exist_ok=True)
    bad.write_text(text)
    result = run_workflow(tmp_path, bad if which == "configfile" else good, "--dry-run", SPLIT)
    assert result.returncode != 0
    error = tact_line(result.stderr, f"{bad}:{line}: ", "")
    assert error.startswith("tact: error: "), result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"simulation": {"photons_per_pixel": float("inf")}}, "simulation.photons_per_pixel"),
        ({"training": {"learning_rate": float("nan")}}, "training.learning_rate"),
        ({"bm3d": {"sweep_sigmas": [0.02, float("-inf")]}}, "bm3d.sweep_sigmas[1]"),
    ],
)
def test_a_non_finite_number_is_refused_naming_its_key(tmp_path, section, key):
    """`.inf` passed the schema (JSON schema's number admits it) and failed in simulate."""
    result = run_workflow(tmp_path, write_config(tmp_path / "c.yaml", **section), "--dry-run")
    assert result.returncode != 0
    tact_line(result.stderr, "tact: error: ", f"{key}: not a finite number")
    assert not (tmp_path / "results").exists()


def test_a_syntax_error_in_a_configfile_is_named_by_the_check_the_readme_gives(tmp_path):
    """Snakemake reads --configfile files before tact can and names neither file nor line of a
    syntax error; `python -m tact.config FILE` (README, When things go wrong) names both."""
    bad = tmp_path / "my.yaml"
    bad.write_text("run: test\ntraining:\n\tepochs: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "tact.config", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"tact: error: {bad}:3: not valid YAML"), result.stderr


def test_a_relative_data_folder_is_said_resolved_and_a_tilde_expanded(tmp_path, monkeypatch):
    three_cases(tmp_path)
    relative = run_workflow(tmp_path, lits_config(tmp_path, "LiTS"), "--dry-run", SPLIT)
    assert relative.returncode == 0, relative.stderr
    tact_line(relative.stderr, "data.lits_dir: LiTS is relative", f"read as {tmp_path / 'LiTS'}")
    missing = run_workflow(tmp_path, lits_config(tmp_path, "Lits"), "--dry-run", SPLIT)
    assert missing.returncode != 0
    tact_line(missing.stderr, f"tact: error: {tmp_path / 'Lits'}", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    home = run_workflow(tmp_path, lits_config(tmp_path, "~/LiTS"), "--dry-run", SPLIT)
    assert home.returncode == 0, home.stderr
    assert home.stdout.count("rule extract_slices:") == 3


def test_a_run_name_reused_with_other_data_settings_stops_before_any_job(tmp_path):
    """Issue 33: another config under the same run name replaced the run's data in place."""
    root = three_cases(tmp_path)
    first = lits_config(tmp_path, root)
    run_workflow(tmp_path, first, SPLIT, check=True)
    stores = sorted((tmp_path / "results/test/data/slices").glob("*.h5"))
    made = {p: p.stat().st_mtime_ns for p in [*stores, tmp_path / SPLIT]}
    other = write_config(
        tmp_path / "other.yaml", data={"source": "lits", "lits_dir": str(root), "image_size": 16}
    )
    planned = run_workflow(tmp_path, other, "--dry-run", SPLIT)  # a dry run says it too
    tact_line(planned.stderr, "tact: note: results/test: made from other", "a run stops here")
    result = run_workflow(tmp_path, other, SPLIT)
    assert result.returncode != 0
    line = tact_line(result.stderr, "results/test: made from other data settings", "")
    assert "data.image_size: 32 -> 16" in line and "--config overwrite=true" in line
    assert {p: p.stat().st_mtime_ns for p in made} == made, "nothing was rewritten"
    nothing_partial(tmp_path)
    # training settings are a change within the run: a job runs, no refusal
    training = lits_config(tmp_path, root, training={"epochs": 3})
    run_workflow(tmp_path, training, "results/test/figures/data_overview.png", check=True)
    run_workflow(tmp_path, other, SPLIT, "--config", "overwrite=true", check=True)
    assert all(p.stat().st_mtime_ns != made[p] for p in stores), "the data were remade"
    run_workflow(tmp_path, other, SPLIT, check=True)  # the record now names the new settings
    assert run_workflow(tmp_path, first, SPLIT).returncode != 0


def test_an_unreadable_run_record_is_one_line_naming_it(tmp_path):
    """results/{run}/data_settings.json cut short: one line naming it, even in a dry run."""
    config = write_config(tmp_path / "c.yaml")
    record = tmp_path / "results/test/data_settings.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"data": {')
    result = run_workflow(tmp_path, config, "--dry-run", "all")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    tact_line(result.stderr, "results/test/data_settings.json: unreadable", "delete it")


def test_any_alpha_and_c_in_range_make_a_valid_method_id(tmp_path):
    """alpha 0.00001 once made the id task_a1e-05, which the wildcard refused mid-run."""
    config = write_config(
        tmp_path / "c.yaml", task_adaptive={"alphas": [0.00001]}, joint={"cs": [3e-7]}
    )
    result = run_workflow(tmp_path, config, "--dry-run", "all")
    assert result.returncode == 0, result.stderr
    assert (
        "models/task_a0.00001.pt" in result.stdout and "models/joint_c0.0000003.pt" in result.stdout
    )


# ---- faults while running ---------------------------------------------------------------------

SIM = "results/test/sim/volume-1.h5"


def test_a_truncated_intermediate_file_is_named_and_a_rerun_after_deleting_it_completes(tmp_path):
    root = three_cases(tmp_path)
    config = lits_config(tmp_path, root)
    run_workflow(tmp_path, config, SPLIT, check=True)
    store = tmp_path / STORE.format(1)
    made = store.stat().st_mtime
    store.write_bytes(store.read_bytes()[:200])  # a copy cut short, a disk that filled up
    os.utime(store, (made, made))  # as old as before: Snakemake sees nothing to remake
    result = run_workflow(tmp_path, config, SIM)
    assert result.returncode != 0
    tact_line(result.stdout + result.stderr, f"{STORE.format(1)}: ", "truncated or damaged")
    assert not (tmp_path / SIM).exists()
    nothing_partial(tmp_path)
    store.unlink()  # the fix the message gives
    run_workflow(tmp_path, config, SIM, check=True)
    assert (tmp_path / SIM).exists()


def test_an_intermediate_file_deleted_after_it_was_made_is_made_again(tmp_path):
    root = three_cases(tmp_path)
    config = lits_config(tmp_path, root)
    run_workflow(tmp_path, config, SPLIT, check=True)
    (tmp_path / STORE.format(0)).unlink()
    run_workflow(tmp_path, config, SIM, check=True)
    assert (tmp_path / STORE.format(0)).exists() and (tmp_path / SIM).exists()


def test_a_full_disk_is_one_line_naming_the_output_and_leaves_nothing(tmp_path):
    from tact.errors import TactError
    from tact.io import atomic_path

    target = tmp_path / "out" / "table.csv"

    def write_until_full(tmp):
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    full = pytest.raises(TactError, match=r"table\.csv: no space left on its disk")
    with full, atomic_path(target) as tmp:
        write_until_full(tmp)
    assert list(target.parent.iterdir()) == []


# ---- DICOM case folders: every folder used or named, every name from the config found ---------

IRCAD_DATA = {
    "source": "lits",
    "dicom": {"image": "PATIENT_DICOM", "labels": "MASKS_DICOM"},
    "labels": {"liver": ["liver"], "tumour": ["livertumor*"]},
}


def ircad_listing(tmp_path, cases=(1, 2, 3)):
    """3D-IRCADb's folders as unzipped (empty series: the dry run reads the listing only)."""
    root = tmp_path / "3Dircadb1"
    for vid in cases:
        for folder in ("PATIENT_DICOM", "MASKS_DICOM/liver", "MASKS_DICOM/livertumor01"):
            (root / f"3Dircadb1.{vid}" / folder).mkdir(parents=True)
    return root


def zipped(name):
    def make(case):
        shutil.rmtree(case / name)
        (case / f"{name}.zip").write_bytes(b"PK\x05\x06" + bytes(18))
        return case / f"{name}.zip"

    return make


def renamed(name, new):
    def make(case):
        (case / name).rename(case / new)
        return case / new

    return make


def without(structure):
    def make(case):
        shutil.rmtree(case / "MASKS_DICOM" / structure)
        return case / "MASKS_DICOM"

    return make


BAD_DICOM_NAMES = {
    "image_zipped": (zipped("PATIENT_DICOM"), "is still zipped: unzip it (data.dicom.image"),
    "labels_zipped": (zipped("MASKS_DICOM"), "is still zipped: unzip it (data.dicom.labels"),
    "image_letter_case": (
        renamed("PATIENT_DICOM", "patient_dicom"),
        "is spelled otherwise than data.dicom.image: PATIENT_DICOM",
    ),
    "no_liver_structure": (
        without("liver"),
        "no structure matches data.labels.liver pattern 'liver' (structures: livertumor01)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DICOM_NAMES))
def test_a_config_name_that_a_dicom_case_misses_stops_before_any_job(tmp_path, case):
    """Issue 33: a case whose series was zipped or spelled otherwise was dropped from the run
    without a word (2 of 3 cases planned), and a missing structure left a class out."""
    make_bad, fragment = BAD_DICOM_NAMES[case]
    root = ircad_listing(tmp_path)
    culprit = make_bad(root / "3Dircadb1.2")
    config = write_config(tmp_path / "c.yaml", data={**IRCAD_DATA, "lits_dir": str(root)})
    result = run_workflow(tmp_path, config, "--dry-run", SPLIT)
    assert result.returncode != 0, result.stdout
    assert tact_line(result.stderr, f"{culprit}: ", fragment).startswith("tact: error: ")
    assert not (tmp_path / "results").exists()


def test_every_folder_and_pattern_is_used_or_named(tmp_path):
    """A folder that is no case, and a tumour pattern a case lacks (a patient without tumour,
    as a quarter of 3D-IRCADb's), are said before any job; a pattern no case has stops."""
    root = ircad_listing(tmp_path)
    (root / "notes").mkdir()
    without("livertumor01")(root / "3Dircadb1.3")
    config = write_config(tmp_path / "c.yaml", data={**IRCAD_DATA, "lits_dir": str(root)})
    result = run_workflow(tmp_path, config, "--dry-run", SPLIT, check=True)
    said = result.stderr.splitlines()
    assert (
        f"tact: {root}/notes: left out, not a case: no PATIENT_DICOM/ folder in it"
        " (data.dicom.image)"
    ) in said
    assert (
        "tact: data.labels.tumour: 'livertumor*' matches no structure in 3Dircadb1.3: these"
        " cases have no tumour labels"
    ) in said
    assert result.stdout.count("rule extract_slices:") == 3

    typo = {**IRCAD_DATA, "labels": {"liver": ["liver"], "tumour": ["livertumour*"]}}
    config = write_config(tmp_path / "t.yaml", data={**typo, "lits_dir": str(root)})
    result = run_workflow(tmp_path, config, "--dry-run", SPLIT)
    assert result.returncode != 0
    tact_line(result.stderr, "data.labels.tumour: 'livertumour*' matches no structure in any", "")
