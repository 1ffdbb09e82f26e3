"""Segmenter roles and seeds, method ids, and the library files each workflow script runs."""

from pathlib import Path

import pytest

from conftest import REPO, import_closure
from tact.dependencies import library_files
from tact.methods import (
    EVALUATED_PATTERN,
    FIXED_LABELS,
    METHOD_PATTERN,
    method_label,
    paper_order,
    parse_method,
    task_adaptive_id,
)
from tact.segmenters import (
    MODEL_PATTERN,
    evaluating_segmenters,
    segmenter_network,
    segmenter_seed,
    task_segmenters,
    trains_on_degraded,
)


def test_every_segmenter_has_its_own_seed_and_g_keeps_the_runs():
    for master in (0, 1, 12345):
        models = ["segmentation", *(f"held_out_{k}" for k in range(1, 6))]
        models += [*(f"ensemble_{k}" for k in range(1, 6)), "robust"]
        seeds = [segmenter_seed(master, m) for m in models]
        assert seeds[0] == master, "g trains exactly as before held-out evaluation existed"
        assert len(set(seeds)) == len(seeds), "held-out, ensemble and robust seeds all differ"
        assert seeds == [segmenter_seed(master, m) for m in models], "and are reproducible"
    assert segmenter_seed(0, "held_out_1") != segmenter_seed(1, "held_out_1")
    for bad in ("held_out_0", "held_out", "wizard_1", "ensemble_x"):
        with pytest.raises(ValueError):
            segmenter_seed(0, bad)


def test_held_out_architecture_changes_only_the_held_out_segmenters():
    g = {"base_channels": 16, "depth": 4}
    assert segmenter_network("segmentation", g, "wide") == {"architecture": "unet", **g}
    assert segmenter_network("ensemble_1", g, "segresnet")["architecture"] == "unet"
    assert segmenter_network("held_out_2", g, "same") == {"architecture": "unet", **g}
    assert segmenter_network("held_out_2", g, "wide")["base_channels"] == 32
    assert segmenter_network("held_out_1", g, "segresnet") == {"architecture": "segresnet", **g}
    mixed = ["same", "segresnet"]
    assert segmenter_network("held_out_1", g, mixed)["architecture"] == "unet"
    assert segmenter_network("held_out_2", g, mixed)["architecture"] == "segresnet"
    assert segmenter_network("held_out_3", g, mixed)["architecture"] == "unet"
    with pytest.raises(ValueError, match="held_out_architecture"):
        segmenter_network("held_out_1", g, "bigger")


def test_which_segmenters_each_step_uses():
    assert evaluating_segmenters(2) == {
        "g": "segmentation",
        "held_out_1": "held_out_1",
        "held_out_2": "held_out_2",
    }
    assert evaluating_segmenters(0) == {"g": "segmentation"}
    assert task_segmenters(None, 3) == ["segmentation"] == task_segmenters("noise", 3)
    assert task_segmenters("ensemble", 3) == ["segmentation", "ensemble_1", "ensemble_2"]
    assert task_segmenters("robust", 3) == ["robust"]
    assert trains_on_degraded("robust") and not trains_on_degraded("held_out_1")
    for uses in (task_segmenters(d, 5) for d in (None, "ensemble", "robust", "noise")):
        assert not any(m.startswith("held_out") for m in uses)


def test_method_ids_parse_and_print_as_the_paper_and_the_defences():
    import re

    assert parse_method("task_a0.5").kind == "task_adaptive"
    assert parse_method("task_a0.5_ensemble").defence == "ensemble"
    assert parse_method("joint_c0.1").weight == 0.1 and parse_method("base").weight == 0
    assert parse_method("bm3d") is None
    with pytest.raises(ValueError):
        parse_method("task_a0.5_magic")
    assert task_adaptive_id(0.25, "robust") == "task_a0.25_robust"
    assert method_label("task_a0.5_noise") == "Task-adaptive α=0.5, noise before g"
    assert method_label("task_a0.1") == "Task-adaptive α=0.1"
    ids = ["fulldose", "task_a0.5_robust", "task_a0.1", "base", "joint_c0.5", "task_a0.5"]
    ids += ["task_a0.1_ensemble", "lowdose"]
    assert paper_order(ids) == [
        "lowdose",
        "base",
        "joint_c0.5",
        "task_a0.1",
        "task_a0.5",
        "task_a0.1_ensemble",
        "task_a0.5_robust",
        "fulldose",
    ]
    for method in ("base", "joint_c0.9", "task_a1", "task_a0.05_noise"):
        assert re.fullmatch(METHOD_PATTERN, method), method
    for other in ("bm3d", "segmentation", "held_out_1", "task_a0.5_"):
        assert not re.fullmatch(METHOD_PATTERN, other), other
    for model in ("segmentation", "held_out_3", "ensemble_1", "robust"):
        assert re.fullmatch(MODEL_PATTERN, model) and not re.fullmatch(METHOD_PATTERN, model)
    # the rows of the tables: every fixed one, every trained one, never a segmenter's model
    for row in [*FIXED_LABELS, "joint_c0.9", "task_a0.05_noise"]:
        assert re.fullmatch(EVALUATED_PATTERN, row), row
    for model in ("segmentation", "held_out_3", "ensemble_1", "robust", "bm3d_sweep"):
        assert not re.fullmatch(EVALUATED_PATTERN, model), model


@pytest.mark.parametrize("script", sorted((REPO / "workflow/scripts").glob("*.py")), ids=str)
def test_a_scripts_library_inputs_are_the_closure_of_its_imports(script):
    files = {Path(p) for p in library_files(script, REPO / "src")}
    assert files == import_closure(script)


def test_stages_import_only_what_they_use():
    def modules(script):
        return {
            Path(p).relative_to(REPO / "src/tact").as_posix()
            for p in library_files(REPO / "workflow/scripts" / script, REPO / "src")
        }

    assert "training.py" not in modules("bm3d.py") | modules("evaluate.py")
    assert "models.py" not in modules("bm3d.py")
    assert "physics.py" not in modules("bm3d.py") | modules("evaluate.py")  # no ODL or ASTRA
    for report in ("tables.py", "alpha_tradeoff.py", "slice_figures.py", "training_curves.py"):
        assert not {"evaluation.py", "models.py", "physics.py"} & modules(report), report


@pytest.mark.parametrize("weight", [1e-05, 3e-7, 0.1, 0.5, 1, 1.0, 0.123456789, 5e-324])
def test_every_weight_in_range_makes_an_id_that_parses_back(weight):
    """alpha 0.00001 once made task_a1e-05, which the workflow's wildcard refused mid-run."""
    import re

    from tact.methods import joint_id

    for method in (
        task_adaptive_id(weight),
        task_adaptive_id(weight, "ensemble"),
        joint_id(weight),
    ):
        assert re.fullmatch(METHOD_PATTERN, method), method
        assert parse_method(method).weight == weight
    assert task_adaptive_id(0.5) == "task_a0.5" and task_adaptive_id(1e-05) == "task_a0.00001"


def test_cuda_without_a_gpu_is_one_line_naming_the_setting(monkeypatch):
    import torch

    from tact.errors import ConfigError
    from tact.models import choose_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"^training\.device: cuda, but torch sees no CUDA"):
        choose_device("cuda")
    assert choose_device("auto").type == "cpu"
