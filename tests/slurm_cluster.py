"""A real one-node SLURM cluster for tests: munged, slurmctld and slurmd, stopped by PID.

Everything lives in one temporary directory (slurm.conf, gres.conf, state, spool, logs, PID
files, fake GPU devices). Client commands find it through ``SLURM_CONF``; slurmd runs
configless and links its copy of the config at /run/slurm/conf, where ``srun`` inside a job finds
it (snakemake's jobstep drops ``SLURM_CONF`` from the environment of its nested srun). The
machine's /etc/slurm is never touched, and stopping the cluster removes the link and the
directory. munged is shared with the system if one already answers, else started here and
stopped again. Stopped daemons stay visible as zombies until init reaps them.

The node mimics the cluster ``profiles/slurm`` is written for: a ``cpu`` partition and a ``gpu``
partition with A100s. It claims more CPUs, memory and GPUs than the machine has
(``SlurmdParameters=config_overrides``, meant for testing), so the profile's production requests
(64 GB, one A100) are accepted as they are and a test checks exactly what a real cluster would
be asked for. The GPUs are empty files: SLURM allocates them, torch finds no CUDA and runs on the
CPU. No accounting daemon: snakemake must poll with ``squeue``, and MinJobAge keeps finished jobs
visible to it (and to the test) for an hour.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

NODE_CPUS = 16
NODE_MEMORY_MB = 256_000
GPU_MODEL = "a100"
NODE_GPUS = 4
MUNGE_PID = Path("/run/munge/munged.pid")
CONF_LINK = Path("/run/slurm/conf")  # configless slurmd's copy of the config, for clients
REQUIRED_COMMANDS = (
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "scontrol",
    "scancel",
    "sinfo",
    "munged",
    "munge",
    "unmunge",
    "runuser",
)


class ClusterError(RuntimeError):
    """The cluster cannot be started here (missing packages, not root, a daemon failed)."""


def missing_requirements() -> list[str]:
    """What this machine lacks to run the cluster (empty when it can)."""
    missing = [c for c in REQUIRED_COMMANDS if shutil.which(c) is None]
    if os.geteuid() != 0:
        missing.append("root (the daemons run as root)")
    return missing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (daemons are reaped late by init)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def _stop_pid(pid: int, timeout: float = 10.0) -> None:
    """TERM, wait, then KILL one process we started."""
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.1)


def _wait(
    condition: Callable[[], bool], timeout: float, what: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise ClusterError(f"{what} not ready after {timeout:.0f} s\n{tail}")


def _read_pid(pid_file: Path, log: Path | None = None) -> int:
    """The PID a daemon wrote, once it is all there (the file appears before its content)."""

    def written() -> bool:
        return pid_file.exists() and pid_file.read_text().strip().isdigit()

    _wait(written, 10, f"PID file {pid_file}", log)
    return int(pid_file.read_text())


class SlurmCluster:
    """Start with :meth:`start` (or ``with SlurmCluster() as cluster``), stop with :meth:`stop`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tact-slurm-"))
        self.conf = self.root / "slurm.conf"
        self.host = socket.gethostname().split(".")[0]
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._pids: list[int] = []  # daemons started here, in start order
        self.ctld_port = _free_port()
        self._had_run_dir = True

    # ---- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> SlurmCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        missing = missing_requirements()
        if missing:
            raise ClusterError(
                f"cannot start a SLURM cluster, missing: {', '.join(missing)}; "
                "run tools/install-system-deps as root (make test does)"
            )
        if CONF_LINK.exists():
            raise ClusterError(f"{CONF_LINK} exists: another configless slurmd runs here")
        CONF_LINK.unlink(missing_ok=True)  # dangling: left by a cluster that was killed
        self._had_run_dir = CONF_LINK.parent.exists()
        try:
            self._write_config()
            self._start_munge()
            self._start_daemon("slurmctld", self.root / "slurmctld.pid")
            _wait(
                lambda: "is UP" in self.run("scontrol", "ping", check=False).stdout,
                30,
                "slurmctld",
                self.root / "slurmctld.log",
            )
            # configless: slurmd fetches slurm.conf from slurmctld and links its copy at
            # /run/slurm/conf, where srun inside a job finds it (snakemake's jobstep drops
            # SLURM_CONF from the environment of the srun it runs)
            self._start_daemon(
                "slurmd",
                self.root / "slurmd.pid",
                "--conf-server",
                f"127.0.0.1:{self.ctld_port}",
                env={k: v for k, v in self.env.items() if k != "SLURM_CONF"},
            )
            _wait(self._node_idle, 30, "slurmd (node idle)", self.root / "slurmctld.log")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Cancel every job, stop the daemons started here (reverse order), remove the files."""
        if self._pids and self.conf.exists():
            active = self.job_ids(states=None)
            if active:
                self.run("scancel", "--full", *active, check=False)
            deadline = time.monotonic() + 30
            while self.job_ids(states=None) and time.monotonic() < deadline:
                time.sleep(0.2)
        for pid in reversed(self._pids):
            _stop_pid(pid)
        self._pids.clear()
        if CONF_LINK.is_symlink() and os.readlink(CONF_LINK).startswith(str(self.root)):
            CONF_LINK.unlink()
            if not self._had_run_dir:
                CONF_LINK.parent.rmdir()
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- commands -----------------------------------------------------------------------------

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
        return result

    def job_ids(self, states: str | None = "all") -> list[str]:
        """Job ids in these states (None: squeue's default, the jobs not finished)."""
        flags = [f"--states={states}"] if states else []
        result = self.run("squeue", "--noheader", *flags, "-o", "%i", check=False)
        return result.stdout.split()

    def jobs(self, fields: Sequence[str]) -> list[dict[str, str]]:
        """Every job SLURM knows (finished ones included), with the given ``squeue -O`` fields."""
        # the ':|' width suffix puts a '|' after each field (squeue -O has no separator option)
        spec = ",".join(f"{f}:|" for f in fields)
        out = self.run("squeue", "--noheader", "--states=all", "-O", spec).stdout
        rows = []
        for line in out.splitlines():
            values = [v.strip() for v in line.split("|")[: len(fields)]]
            rows.append(dict(zip(fields, values, strict=True)))
        return rows

    def log(self, daemon: str) -> str:
        path = self.root / f"{daemon}.log"
        return path.read_text() if path.exists() else ""

    # ---- internals ----------------------------------------------------------------------------

    def _node_idle(self) -> bool:
        state = self.run("sinfo", "-h", "-N", "-n", self.host, "-o", "%T", check=False).stdout
        state = state.split()[0] if state.split() else ""
        if state.rstrip("*~#") in {"inval", "down", "drain", "drained", "fail"}:
            raise ClusterError(f"node {self.host} is {state}:\n{self.log('slurmctld')[-3000:]}")
        return state == "idle"

    def _start_daemon(
        self, name: str, pid_file: Path, *args: str, env: dict[str, str] | None = None
    ) -> None:
        subprocess.run(
            [shutil.which(name), *args],
            env=self.env if env is None else env,
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
        self._pids.append(_read_pid(pid_file, self.root / f"{name}.log"))

    def _munge_works(self) -> bool:
        credential = subprocess.run(["munge", "-n"], capture_output=True)
        if credential.returncode != 0:
            return False
        decoded = subprocess.run(["unmunge"], input=credential.stdout, capture_output=True)
        return decoded.returncode == 0

    def _start_munge(self) -> None:
        if self._munge_works():
            return  # the system's munged: used, left running
        run_dir = MUNGE_PID.parent
        run_dir.mkdir(mode=0o755, exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True, timeout=30)
        self._pids.append(_read_pid(MUNGE_PID))
        _wait(self._munge_works, 10, "munged")

    def _write_config(self) -> None:
        self.root.chmod(0o755)
        devices = []
        for i in range(NODE_GPUS):
            device = self.root / f"fakegpu{i}"
            device.touch()
            devices.append(device)
        (self.root / "gres.conf").write_text(
            "AutoDetect=off\n"
            f"NodeName={self.host} Name=gpu Type={GPU_MODEL} "
            f"File={self.root}/fakegpu[0-{NODE_GPUS - 1}]\n"
        )
        r = self.root
        settings = {
            "ClusterName": "tacttest",
            "SlurmctldHost": f"{self.host}(127.0.0.1)",
            "SlurmctldPort": self.ctld_port,
            "SlurmdPort": _free_port(),
            "AuthType": "auth/munge",
            "CredType": "cred/munge",
            # a requeued job may start again once its credential expires (default 120 s)
            "AuthInfo": "cred_expire=10",
            "MpiDefault": "none",
            "ProctrackType": "proctrack/linuxproc",
            "TaskPlugin": "task/none",
            "ReturnToService": 2,
            "SlurmUser": "root",
            "SlurmdUser": "root",
            "SlurmctldPidFile": r / "slurmctld.pid",
            "SlurmdPidFile": r / "slurmd.pid",
            "SlurmdSpoolDir": r / "spool",
            "StateSaveLocation": r / "state",
            "SlurmctldLogFile": r / "slurmctld.log",
            "SlurmdLogFile": r / "slurmd.log",
            "SlurmctldParameters": "enable_configless",
            "SchedulerType": "sched/backfill",
            "SchedulerParameters": "sched_interval=2,bf_interval=2",
            "SelectType": "select/cons_tres",
            "SelectTypeParameters": "CR_Core_Memory",
            "SlurmdParameters": "config_overrides",
            "AccountingStorageType": "accounting_storage/none",
            "JobAcctGatherType": "jobacct_gather/none",
            "JobCompType": "jobcomp/none",
            # finished jobs stay visible to squeue (snakemake's status route and the test's check)
            "MinJobAge": 3600,
            # sites often default to no requeue: only an explicit sbatch --requeue allows it
            "JobRequeue": 0,
            "KillWait": 5,
            "MailProg": "/bin/true",
            "GresTypes": "gpu",
        }
        lines = [f"{key}={value}" for key, value in settings.items()]
        lines += [
            f"NodeName={self.host} NodeHostname={self.host} NodeAddr=127.0.0.1 "
            f"CPUs={NODE_CPUS} Boards=1 SocketsPerBoard=1 CoresPerSocket={NODE_CPUS} "
            f"ThreadsPerCore=1 RealMemory={NODE_MEMORY_MB} "
            f"Gres=gpu:{GPU_MODEL}:{NODE_GPUS} State=UNKNOWN",
            f"PartitionName=cpu Nodes={self.host} Default=YES MaxTime=INFINITE State=UP",
            f"PartitionName=gpu Nodes={self.host} MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")
