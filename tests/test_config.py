"""Config files validate, typos and wrong types fail naming the key, every key is documented."""

import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_workflow
from tact.config import load_schema, validate_config
from tact.errors import ConfigError

SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")


def load(name):
    return yaml.safe_load((REPO / "config" / name).read_text())


def merged(name: str) -> dict:
    """Snakemake reads config/config.yaml first and lays the named config over it."""
    base, layer = load("config.yaml"), load(name)
    for key, value in layer.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and key in base else value
    return base


def merged_demo():
    return merged("demo.yaml")


def test_paper_config_is_valid_and_has_the_papers_settings():
    config = validate_config(load("config.yaml"), SCHEMA)
    assert config["data"]["source"] == "lits" and config["data"]["image_size"] == 512
    assert config["data"]["split"]["test_fraction"] == 0.2
    sim = config["simulation"]
    assert (sim["mode"], sim["n_angles"], sim["photons_per_pixel"]) == ("lowdose", 1000, 4096)
    assert sim["zero_count_photons"] == 0.1 and sim["noise"] is True
    assert sim["domain"] == "lodopab"
    assert sim["upsample_factor"] == pytest.approx(1000 / 362)
    assert config["fbp"]["frequency_scaling"] == "auto" and config["fbp"]["filter_type"] == "Hann"
    assert config["task_adaptive"]["alphas"] == [0.1, 0.5, 0.9]
    assert config["joint"]["cs"] == [0.1, 0.5, 0.9]
    assert config["bm3d"]["sigma_psd"] == "auto"  # the paper's sweep


def test_demo_config_is_valid_and_small():
    config = validate_config(merged_demo(), SCHEMA)
    assert config["data"]["source"] == "phantom"
    assert config["data"]["image_size"] <= 128
    assert config["phantom"]["n_volumes"] * config["phantom"]["n_slices"] <= 200


def test_defaults_are_filled():
    config = validate_config({"run": "x"}, SCHEMA)
    assert config["data"]["split"] == {"by": "volume", "test_fraction": 0.2}
    assert config["phantom"]["seed"] is None and config["seed"] == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"run": "x", "data": {"imagesize": 64}}, "data.imagesize: unknown key"),
        ({"run": "x", "sed": 1}, "sed: unknown key"),
        ({"run": "x", "data": {"image_size": "big"}}, "data.image_size: 'big' is not of type"),
        ({"run": "x", "seed": 1.5}, "seed: 1.5 is not of type 'integer'"),
        ({"run": "x", "simulation": {"n_angles": 0}}, "simulation.n_angles: 0 is less than"),
        ({"run": "x", "simulation": {"photons_per_pixel": -5}}, "simulation.photons_per_pixel"),
        ({"run": "x", "data": {"split": {"by": "patient"}}}, "data.split.by: 'patient' is not one"),
        ({"run": "x", "data": {"source": "lits"}}, "data.lits_dir: required"),
        ({"run": "x", "bm3d": {"sigma_psd": "aut"}}, "bm3d.sigma_psd: 'aut' is not one of"),
        ({"run": "a b"}, "run: 'a b' does not match"),
        ({"run": ".."}, "run: '..' does not match"),  # would write outside results/
        ({"run": "-x"}, "run: '-x' does not match"),
        ({}, "'run' is a required property"),
    ],
)
def test_bad_config_names_the_key(config, message):
    with pytest.raises(ConfigError) as info:
        validate_config(config, SCHEMA)
    assert message in str(info.value)


def schema_entries(schema, prefix=""):
    for key, sub in schema.get("properties", {}).items():
        yield prefix + key, sub
        if sub.get("type") == "object":
            yield from schema_entries(sub, prefix + key + ".")


def test_every_schema_key_is_documented():
    readme = (REPO / "config/README.md").read_text()
    documented = set(re.findall(r"^\| `([a-z0-9_.]+)` \|", readme, flags=re.MULTILINE))
    assert {key for key, _ in schema_entries(SCHEMA)} == documented


def readme_defaults() -> dict[str, str]:
    """The default column of config/README.md's key table, by key (its first `value`)."""
    readme = (REPO / "config/README.md").read_text()
    return dict(re.findall(r"^\| `([a-z0-9_.]+)` \|([^|]*)\|", readme, flags=re.MULTILINE))


def test_the_readme_states_the_schemas_defaults():
    """The schema is the one home of the defaults; the README's column is checked against it."""
    documented = readme_defaults()
    for key, entry in schema_entries(SCHEMA):
        cell = documented[key].strip()
        if entry.get("type") == "object":  # a section: its keys have the defaults
            assert cell == "", key
            continue
        if "default" not in entry:
            assert cell in ("", "(required)"), f"{key}: the schema has no default, README {cell!r}"
            continue
        value = yaml.safe_load(re.match(r"`([^`]*)`", cell)[1])
        expected = entry["default"]
        if isinstance(expected, float):  # written to the README's precision (1000/362)
            expected = pytest.approx(expected, rel=1e-4)
        assert value == expected, key


# The dataclasses that carry config sections into the library, and the schema section of each
SETTINGS_CLASSES = [
    ("tact.training", "TrainSettings", "training"),
    ("tact.physics", "ScanProtocol", "simulation"),
    ("tact.models", "NetworkSettings", "reconstruction"),
    ("tact.data.phantom", "PhantomSpec", "phantom"),
]


@pytest.mark.parametrize(("module", "name", "section"), SETTINGS_CLASSES)
def test_settings_classes_default_to_the_schemas_defaults(module, name, section):
    """A library call without the config behaves as a run without that key."""
    import dataclasses
    import importlib

    settings = getattr(importlib.import_module(module), name)
    keys = SCHEMA["properties"][section]["properties"]
    shared = [f for f in dataclasses.fields(settings) if f.name in keys]
    assert len(shared) >= 3
    for field in shared:
        default = field.default
        expected = keys[field.name]["default"]
        assert (list(default) if isinstance(default, tuple) else default) == expected, field.name


def test_command_line_strings_are_read_as_yaml():
    """snakemake --config 'training={epochs: 2}' hands nested values over as strings."""
    config = validate_config(
        {
            "run": "x",
            "seed": "3",
            "training": {"epochs": "2", "compile": "true", "learning_rate": "1e-4"},
            "task_adaptive": {"alphas": ["0.5", "0.7"]},
            "bm3d": {"sigma_psd": "auto"},
        },
        SCHEMA,
    )
    assert config["seed"] == 3 and config["training"]["epochs"] == 2
    assert config["training"]["compile"] is True and config["training"]["learning_rate"] == 1e-4
    assert config["task_adaptive"]["alphas"] == [0.5, 0.7] and config["bm3d"]["sigma_psd"] == "auto"
    with pytest.raises(ConfigError, match=r"training\.epochs: 'two' is not of type 'integer'"):
        validate_config({"run": "x", "training": {"epochs": "two"}}, SCHEMA)


def training_inputs(tmp_path, config: dict, prefix: str) -> list[str]:
    """The input lines of the planned trainings whose model id starts with ``prefix``."""
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(config))
    plan = run_workflow(tmp_path, path, "--dry-run", check=True).stdout
    blocks = re.split(r"^\[\w{3} \w{3} .*\d{4}\]$", plan, flags=re.MULTILINE)  # one per job
    return [b.split("output:")[0] for b in blocks if f"output: results/demo/models/{prefix}" in b]


def test_task_adaptive_init_base_makes_every_task_training_wait_for_the_base_unet(tmp_path):
    from_base = {**merged_demo(), "task_adaptive": {"init": "base"}}
    task_inputs = training_inputs(tmp_path, from_base, "task_a")
    assert len(task_inputs) == 3
    assert all("results/demo/models/base.pt" in inputs for inputs in task_inputs)
    joint_inputs = training_inputs(tmp_path, from_base, "joint_c")
    assert joint_inputs and not any("models/base.pt" in inputs for inputs in joint_inputs)
    from_scratch = training_inputs(tmp_path, merged_demo(), "task_a")
    assert len(from_scratch) == 3 and not any("models/base.pt" in i for i in from_scratch)


def test_showcase_sweeps_alpha_and_its_base_init_variant_starts_from_the_base_unet(tmp_path):
    """config/showcase.yaml: valid, the paper's alphas and more, held-out evaluation and the
    paper's BM3D sweep on; the variant laid over it by Snakemake keeps the alphas, runs in its
    own folder and starts every task-adaptive training from base.pt."""
    showcase = validate_config(merged("showcase.yaml"), SCHEMA)
    alphas = showcase["task_adaptive"]["alphas"]
    assert {0.1, 0.5, 0.9} < set(alphas) and all(0 < a < 1 for a in alphas)
    assert showcase["task_adaptive"]["init"] == "scratch"
    assert showcase["evaluation"]["held_out_segmenters"] >= 2
    assert showcase["bm3d"]["sigma_psd"] == "auto"
    files = [str(REPO / "config" / name) for name in ("showcase.yaml", "showcase-base-init.yaml")]
    plan = run_workflow(
        tmp_path, Path(files[0]), "--configfile", *files, "--dry-run", check=True
    ).stdout
    blocks = re.split(r"^\[\w{3} \w{3} .*\d{4}\]$", plan, flags=re.MULTILINE)
    task = [b for b in blocks if "output: results/showcase-base-init/models/task_a" in b]
    assert len(task) == len(alphas)
    assert all("results/showcase-base-init/models/base.pt" in b.split("output:")[0] for b in task)


def test_seeded_showcase_runs_each_seed_in_its_own_folder_with_every_defence(tmp_path):
    """config/showcase-seeds.yaml over showcase.yaml, with a seed and a run name per seed (as
    the Makefile runs it): the same phantom, the paper's training and two defences per alpha,
    every segmenter retrained under the seed."""
    files = [str(REPO / "config" / name) for name in ("showcase.yaml", "showcase-seeds.yaml")]
    plans = {}
    for seed in (0, 2):
        plans[seed] = run_workflow(
            tmp_path,
            Path(files[0]),
            "--configfile",
            *files,
            "--config",
            f"seed={seed}",
            f"run=showcase-seeds-{seed}",
            "--dry-run",
            check=True,
        ).stdout
    stats = plans[2].split("Job stats:")[1]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", stats, re.MULTILINE))
    assert counts["train_segmentation"] == "6"  # g, 2 held-out, 2 ensemble members, robust
    assert counts["train_reconstruction"] == "7"  # base; 2 alphas x (none, ensemble, robust)
    for seed, plan in plans.items():
        assert f"results/showcase-seeds-{seed}/models/task_a0.5_robust.pt" in plan
        assert f"results/showcase-seeds-{2 - seed}/" not in plan


def test_demo_plans_every_table_and_figure(tmp_path):
    """`make demo`'s DAG ends in Tables I-III and every figure of the report."""
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(merged_demo()))
    plan = run_workflow(tmp_path, path, "--dry-run", check=True).stdout
    stats = plan.split("Job stats:")[1]
    planned = set(re.findall(r"^(\w+)\s+\d+$", stats, re.MULTILINE))
    report_rules = {"tables", "slice_figures", "alpha_tradeoff", "metric_correlation"}
    assert report_rules | {"training_curves", "evaluate"} <= planned
    for name in (
        "tables/table1_pixel.tex",
        "tables/table3_anatomy.html",
        "tables/table3_anatomy_3d.html",
        "figures/fig3_reconstructions.pdf",
    ):
        assert f"results/demo/{name}" in plan, name
