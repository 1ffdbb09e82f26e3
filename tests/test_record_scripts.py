"""docs/scripts/record_showcase.sh on the lent GPU machine: a record started by `detach` runs
from a copy of the tree (a later device call re-sends the tree and broke a run begun in the same
seconds), and `collect` brings back each seed's tarball as soon as it is packed. The GPU, make
and Python are stubbed: what is tested is the script's own plumbing."""

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "docs/scripts/record_showcase.sh"

STUBS = {
    # the seeded run: its Snakemake log, and a mark of the folder it ran in; FAIL_SEED fails one
    "make": """#!/bin/bash
[ "$SEEDS" = "${FAIL_SEED:-}" ] && exit 1
mkdir -p .snakemake/log results
for s in $SEEDS; do echo "results/showcase-seeds-$s/" > .snakemake/log/seed-$s.snakemake.log; done
echo "$SEEDS" >> results/ran-here
""",
    "nvidia-smi": "#!/bin/bash\necho 'NVIDIA stub, 1 MiB, 0'\n",
    # seeds_collect.py DOCS RUN:LOG...: adds DOCS/seed-N for each run, and the runs it was given
    # to DOCS/summary.md
    "python3": """#!/bin/bash
case "$1" in
  docs/scripts/seeds_collect.py) docs=$2; shift 2; mkdir -p "$docs"; echo "$@" > "$docs/summary.md"
    for run in "$@"; do run=${run%%:*}; mkdir -p "$docs/seed-${run##*-}"; done;;
  *) echo "torch stub";;
esac
""",
}


def _repo(tmp_path: Path) -> tuple[Path, dict]:
    repo, bin_dir = tmp_path / "repo", tmp_path / "bin"
    (repo / "docs/scripts").mkdir(parents=True)
    (repo / ".gpudeps").mkdir()
    (repo / ".gpudeps/use-deps").write_text("true\n")
    shutil.copy(SCRIPT, repo / "docs/scripts")
    bin_dir.mkdir()
    for name, text in STUBS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "tree"], check=True)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "RECORD_SCRATCH": str(tmp_path / "scratch"),
        "OUT": str(tmp_path / "out"),
        "SEEDS": "1 2",
    }
    (tmp_path / "out").mkdir()
    return repo, env


def _record(repo: Path, env: dict, *args: str) -> str:
    run = subprocess.run(
        ["bash", "docs/scripts/record_showcase.sh", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def _seed_folders(tarball: Path) -> list[str]:
    with tarfile.open(tarball) as tar:
        return sorted(m.name for m in tar.getmembers() if m.name.startswith("seeds/seed-"))


def test_detached_seeds_run_in_a_copy_and_come_back_one_tarball_each(tmp_path):
    repo, env = _repo(tmp_path)
    dest = tmp_path / "dest"
    assert _record(repo, env, "detach", str(dest), "each") == ""
    assert _record(repo, env, "collect", str(dest), "60").startswith("done")

    assert not (repo / "results").exists() and not (repo / ".snakemake").exists()
    copy = tmp_path / "scratch/tact-tree"
    assert (copy / "results/ran-here").read_text().split() == ["1", "2"]
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["seed-1-seeds.tar.gz", "seed-2-seeds.tar.gz"]
    # each tarball holds its own seed only, not the one packed before it, with its machine
    assert _seed_folders(out / "seed-2-seeds.tar.gz") == [
        "seeds/seed-2",
        "seeds/seed-2/machine.txt",
    ]
    with tarfile.open(out / "seed-2-seeds.tar.gz") as tar:
        machine = tar.extractfile("seeds/seed-2/machine.txt").read().decode().splitlines()
    assert machine[0] == "NVIDIA stub, 1 MiB, 0"
    assert machine[-3].startswith("started 20") and machine[-3].endswith("seeds (SEEDS=2)")
    assert machine[-2].startswith("ended 20") and machine[-1].startswith("wall_s ")


def test_a_failed_seed_leaves_the_next_one_packed(tmp_path):
    repo, env = _repo(tmp_path)
    dest = tmp_path / "dest"
    _record(repo, {**env, "FAIL_SEED": "1"}, "detach", str(dest), "each")
    assert "done" in _record(repo, env, "collect", str(dest), "60")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["seed-2-seeds.tar.gz"]
    assert "seed 1 failed" in (dest / "detach.log").read_text()


REHEARSAL = SCRIPT.with_name("record_rehearsal.sh")


def test_the_rehearsal_runs_and_is_collected_in_a_copy_of_the_tree(tmp_path):
    repo, env = _repo(tmp_path)
    shutil.copy(REHEARSAL, repo / "docs/scripts")
    bin_dir = Path(env["PATH"].split(":")[0])
    # the workflow: writes its run under results/ of the folder it runs in
    (bin_dir / "snakemake").write_text(
        "#!/bin/bash\nmkdir -p results/rehearsal-4/logs\n"
        'echo "$@" >> results/rehearsal-4/args.txt\n'
    )
    # bench/scale.py collect ... --out FILE
    (bin_dir / "python3").write_text('#!/bin/bash\necho "{}" > "${@: -1}"\n')
    for name in ("snakemake", "python3"):
        (bin_dir / name).chmod(0o755)
    script = ["bash", "docs/scripts/record_rehearsal.sh"]
    until = {"UNTIL": "train_reconstruction train_segmentation"}  # the trainings alone
    subprocess.run([*script, "start", "4"], cwd=repo, env={**env, **until}, check=True, timeout=60)
    wait = subprocess.run(
        [*script, "wait", "4", str(tmp_path / "dest")],
        cwd=repo,
        env={**env, "WAIT_S": "60"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wait.returncode == 0, wait.stderr
    assert wait.stdout.startswith("exit 0")
    assert not (repo / "results").exists()
    assert (tmp_path / "scratch/tact-rehearsal-tree/results/rehearsal-4").is_dir()
    assert (tmp_path / "dest/rehearsal-4.json").read_text().strip() == "{}"
    run_args = (tmp_path / "scratch/tact-rehearsal-tree/results/rehearsal-4/args.txt").read_text()
    assert run_args.startswith("all ")
    assert "--until train_reconstruction train_segmentation" in run_args.splitlines()[0]


def test_make_showcase_seeds_runs_them_one_after_the_other_and_fails_if_one_failed(tmp_path):
    """Each seed's run starts after the one before it ended; a failed seed does not stop the
    next, and the target fails."""
    runs = tmp_path / "runs"
    stub = tmp_path / "snakemake"
    stub.write_text(
        f'#!/bin/bash\necho "start $*" >> {runs}\nsleep 0.3\necho end >> {runs}\n'
        '[[ "$*" != *seed=0* ]]\n'
    )
    stub.chmod(0o755)
    make = subprocess.run(
        ["make", "-s", "showcase-seeds-run", f"SNAKEMAKE={stub}", "SEEDS=0 1"],
        cwd=SCRIPT.parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert make.returncode != 0
    lines = runs.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["start", "end", "start", "end"]
    assert "seed=0 run=showcase-seeds-0" in lines[0] and "seed=1 run=showcase-seeds-1" in lines[2]
