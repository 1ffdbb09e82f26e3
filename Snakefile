# tact: task-adaptive low-dose CT reconstruction (Sefercioglu et al.), end to end.
# Quick start: README.md. Configuration keys: config/README.md.
import os
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# Every config file read strictly before Snakemake's own reading is used: a key given twice, or
# a YAML syntax error in the default file, is one line naming the file and the line (Snakemake
# keeps the last of two keys silently; files given with --configfile it reads before this runs).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from tact.config import check_config_files
from tact.errors import ConfigError

try:
    check_config_files(
        [
            *workflow.overwrite_configfiles,
            *filter(os.path.exists, [os.path.abspath("config/config.yaml")]),
        ]
    )
except ConfigError as exc:
    sys.exit(f"tact: error: {exc}")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/simulation.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/observers.smk"
include: "workflow/rules/report.smk"


# The run's projected cost, said before anything runs (a dry run too), once: not by the jobs.
if workflow.is_main_process:
    for _line in cost_lines(run_size()):
        print(f"tact: {_line}", file=sys.stderr)
    # said by a dry run too; a run stops on it when it starts (onstart, tact.run_data)
    try:
        _conflict = run_folder_conflict(Path(RESULTS), data_settings(config))
    except TactError as exc:
        _fail(exc)
    if _conflict and not config["overwrite"]:
        _note = _conflict.replace("nothing was run", "a run stops here")
        print(f"tact: note: {_note}", file=sys.stderr)


wildcard_constraints:
    vid=r"\d+",  # volume ids are the N of LiTS' volume-N.nii
    method=METHOD_PATTERN,  # base, joint_c{C}, task_a{alpha}[_{defence}] (tact.methods)
    segmenter=MODEL_PATTERN,  # segmentation (g), held_out_{k}, ensemble_{k}, robust
    name=EVALUATED_PATTERN,  # every evaluated row of the tables (tact.methods)


# Runs in the snakemake process itself, never as a cluster job (it only collects targets).
localrules:
    all,


rule all:
    default_target: True
    input:
        all_targets(),
