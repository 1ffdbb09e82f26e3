"""Records of where a run's networks were trained (tact.records) and the check of a rerun against
a record (docs/scripts/check_record.py)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import torch

from tact.models import load_state_dict
from tact.records import weights_sha256, write_run_record
from tact.training import Checkpoint, Job, Trainer, run_training
from train_worker import SETTINGS, TINY_NET, synthetic_slices

SCRIPT = Path(__file__).resolve().parents[1] / "docs/scripts/check_record.py"


def check_record():
    spec = importlib.util.spec_from_file_location("check_record", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_weight_hash_is_of_the_weights_not_of_the_file(tmp_path):
    state = {"w": torch.linspace(0, 1, 7), "n": torch.tensor(3), "h": torch.ones(2).bfloat16()}
    for name in ("a.pt", "b.pt"):  # torch.save puts the file's name into the file
        torch.save(state, tmp_path / name)
    assert (tmp_path / "a.pt").read_bytes() != (tmp_path / "b.pt").read_bytes()
    loaded = [load_state_dict(tmp_path / name) for name in ("a.pt", "b.pt")]
    assert weights_sha256(loaded[0]) == weights_sha256(loaded[1]) == weights_sha256(state)
    nudged = {**state, "w": state["w"].clone()}
    nudged["w"][3] = torch.nextafter(nudged["w"][3], torch.tensor(2.0))  # one float32 ulp
    assert weights_sha256(nudged) != weights_sha256(state)
    renamed = {"v" if k == "w" else k: v for k, v in state.items()}
    assert weights_sha256(renamed) != weights_sha256(state)


def test_a_training_records_its_device_versions_and_the_hash_of_the_weights_it_wrote(tmp_path):
    settings = replace(SETTINGS, epochs=1)
    trainer = Trainer(
        Job("base", network=TINY_NET), settings, synthetic_slices(8), synthetic_slices(4)
    )
    paths = {name: tmp_path / f"base.{name}" for name in ("pt", "csv", "json")}
    run_training(
        trainer,
        Checkpoint(tmp_path / "base.ckpt", "record"),
        model_path=paths["pt"],
        history_path=paths["csv"],
        record_path=paths["json"],
    )
    record = json.loads(paths["json"].read_text())
    assert record["weights_sha256"] == weights_sha256(load_state_dict(paths["pt"]))
    assert record["device"] == "cpu" and record["driver"] is None
    assert record["torch"] == torch.__version__ and record["deterministic"] is True
    assert record["python"] == ".".join(map(str, sys.version_info[:3]))
    assert record["cpu"].endswith(", " + torch.backends.cpu.get_cpu_capability())

    write_run_record([paths["json"]], tmp_path / "tables/environment.json")
    gathered = json.loads((tmp_path / "tables/environment.json").read_text())
    assert gathered == {"models": {"base": record}}


def test_records_load_no_torch_for_the_report_step():
    code = "import sys, tact.records; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def recorded_run(folder: Path) -> Path:
    """A small hand-made run: two tables, a per-slice table and the record of two trainings."""
    (folder / "tables").mkdir(parents=True)
    pd.DataFrame(
        {"method": ["fbp", "base"], "label": ["FBP", "Base U-Net"], "psnr_mean": [30.5, 33.25]}
    ).to_csv(folder / "tables/table1_pixel.csv", index=False)
    pd.DataFrame(
        {"method": ["fbp", "base"], "dice_mean": [0.5, 0.75], "gap": [float("nan"), 0.125]}
    ).to_csv(folder / "tables/table2_dice.csv", index=False)
    software = {"device": "NVIDIA H200", "driver": "580", "torch": "2.11", "cuda": "13.0"}
    models = {
        "base": {**software, "weights_sha256": "a" * 64},
        "segmentation": {**software, "weights_sha256": "b" * 64},
    }
    (folder / "tables/environment.json").write_text(json.dumps({"models": models}))
    (folder / "metrics").mkdir()
    pd.DataFrame(
        {"method": "base", "segmenter": ["g", "held_out_1"], "slice": [3, 3], "dice": [0.5, 1]}
    ).to_csv(folder / "metrics/per_slice.csv", index=False)
    return folder


def run_check(recorded: Path, rerun: Path) -> tuple[int, list[str]]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(recorded), str(rerun)], capture_output=True, text=True
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, result.stdout.splitlines()


def test_check_record_says_identical_for_a_rerun_that_is(tmp_path):
    recorded = recorded_run(tmp_path / "recorded")
    rerun = shutil.copytree(recorded, tmp_path / "rerun")
    code, lines = run_check(recorded, rerun)
    assert code == 0 and lines[-1] == "identical"
    assert "table tables/table2_dice.csv: identical" in lines and "weights base: match" in lines


def test_check_record_gives_the_largest_difference_per_table_and_the_hash_mismatches(tmp_path):
    recorded = recorded_run(tmp_path / "recorded")
    rerun = shutil.copytree(recorded, tmp_path / "rerun")
    table = pd.read_csv(rerun / "tables/table2_dice.csv")
    table.loc[0, "dice_mean"] += 0.25
    table.loc[1, "gap"] -= 0.0625
    table.to_csv(rerun / "tables/table2_dice.csv", index=False)
    environment = json.loads((rerun / "tables/environment.json").read_text())
    environment["models"]["base"].update(weights_sha256="c" * 64, device="NVIDIA H100")
    del environment["models"]["segmentation"]
    (rerun / "tables/environment.json").write_text(json.dumps(environment))
    (rerun / "tables/table1_pixel.csv").unlink()
    per_slice = pd.read_csv(rerun / "metrics/per_slice.csv")
    per_slice.loc[1, "dice"] = 0.875
    per_slice.to_csv(rerun / "metrics/per_slice.csv", index=False)

    code, lines = run_check(recorded, rerun)
    assert code == 1 and lines[-1] == "not identical"
    assert (
        "table tables/table2_dice.csv: largest difference 0.25, in 2 of 4 numeric cells: "
        "dice_mean 1, gap 1"
    ) in lines
    assert "table tables/table1_pixel.csv: missing in the rerun" in lines
    assert (
        "table metrics/per_slice.csv: largest difference 0.125, in 1 of 4 numeric cells: dice 1"
    ) in lines
    assert "weights base: mismatch" in lines
    assert "weights segmentation: missing in the rerun" in lines
    assert "base: trained elsewhere (device NVIDIA H200 -> NVIDIA H100)" in lines

    environment["models"]["base"].update(device="NVIDIA H200", cpu="Xeon, AVX512")  # older: no cpu
    (rerun / "tables/environment.json").write_text(json.dumps(environment))
    code, lines = run_check(recorded, rerun)
    assert not [line for line in lines if "trained elsewhere" in line]
    ours = json.loads((recorded / "tables/environment.json").read_text())
    ours["models"]["base"]["cpu"] = "Xeon, AVX2"  # a CPU training's weights depend on it
    (recorded / "tables/environment.json").write_text(json.dumps(ours))
    code, lines = run_check(recorded, rerun)
    assert "base: trained elsewhere (cpu Xeon, AVX2 -> Xeon, AVX512)" in lines

    (rerun / "tables/environment.json").unlink()  # a run recorded before issue 34
    code, lines = run_check(recorded, rerun)
    assert code == 1 and lines[-1] == "not identical"
    assert f"weights (all): not compared, no record of the trainings in {rerun}" in lines[-2]


def test_equal_infinities_are_identical_and_an_infinity_against_a_number_is_not(tmp_path):
    """Full dose's d' is infinite in every GPU run (Table IV): a rerun that matches it is
    identical (the check said "largest difference nan" of a run against itself)."""
    recorded = recorded_run(tmp_path / "recorded")
    table = pd.read_csv(recorded / "tables/table2_dice.csv").assign(d_prime=[float("inf"), 2.5])
    table.to_csv(recorded / "tables/table2_dice.csv", index=False)
    rerun = shutil.copytree(recorded, tmp_path / "rerun")
    assert check_record().table_differences(recorded, rerun)["tables/table2_dice.csv"] == 0.0
    table.assign(d_prime=[20196.6, 2.5]).to_csv(rerun / "tables/table2_dice.csv", index=False)
    code, lines = run_check(recorded, rerun)
    assert code == 1
    expected = "largest difference inf, in 1 of 6 numeric cells: d_prime 1"
    assert f"table tables/table2_dice.csv: {expected}" in lines


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.assign(gap=[0.0, 0.125]), "empty cells differ"),
        (lambda t: t.assign(method=["fbp", "bm3d"]), "other text cells (method, label, ...)"),
        (lambda t: t.iloc[:1], "other rows or columns ((2, 3) recorded, (1, 3) rerun)"),
    ],
)
def test_tables_that_cannot_be_compared_cell_by_cell_say_why(tmp_path, change, expected):
    recorded = recorded_run(tmp_path / "recorded")
    rerun = shutil.copytree(recorded, tmp_path / "rerun")
    change(pd.read_csv(rerun / "tables/table2_dice.csv")).to_csv(
        rerun / "tables/table2_dice.csv", index=False
    )
    differences = check_record().table_differences(recorded, rerun)
    assert differences == {
        "metrics/per_slice.csv": 0.0,
        "tables/table1_pixel.csv": 0.0,
        "tables/table2_dice.csv": expected,
    }
