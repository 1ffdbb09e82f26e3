"""The per-stage wall times of the showcase come from the Snakemake log: check the parsing."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "docs/scripts/showcase_timings.py"

LOG = """Assuming unrestricted shared filesystem usage.
[Sat Nov 21 16:00:00 2026]
localrule phantom:
    output: results/x/phantom/volume-0.nii
    jobid: 3
    wildcards: vid=0
[Sat Nov 21 16:00:01 2026]
rule phantom:
    output: results/x/phantom/volume-1.nii
    jobid: 4
[Sat Nov 21 16:00:05 2026]
Finished jobid: 3 (Rule: phantom)
1 of 3 steps (33%) done
[Sat Nov 21 16:00:09 2026]
Finished jobid: 4 (Rule: phantom)
[Sat Nov 21 16:00:09 2026]
rule train_reconstruction:
    jobid: 7
[Sat Nov 21 16:01:39 2026]
Finished jobid: 7 (Rule: train_reconstruction)
"""


def load_script():
    spec = importlib.util.spec_from_file_location("showcase_timings", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_table_from_a_snakemake_log(tmp_path):
    timings = load_script()
    log = tmp_path / "run.snakemake.log"
    log.write_text(LOG)
    jobs = timings.job_times(log)
    assert {j: job["rule"] for j, job in jobs.items()} == {
        3: "phantom",
        4: "phantom",
        7: "train_reconstruction",
    }
    table = timings.stage_table(jobs).splitlines()
    # phantom: 2 jobs of 5 s and 8 s, from 0:00 to 0:09; training 90 s from 0:09 to 1:39
    assert table[2] == "| phantom | 2 | 13 | 8 | 0:00 | 0:09 |"
    assert table[3] == "| train_reconstruction | 1 | 90 | 90 | 0:09 | 1:39 |"
    assert table[-1] == "Whole run: 1 min 39 s from the first job's start."
