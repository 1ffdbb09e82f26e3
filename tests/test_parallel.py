"""Worker processes of one step share its cores: each runs one thread."""

import os

import pytest

from tact.parallel import THREAD_VARIABLES, in_processes


def _threads_of_worker(_: int) -> tuple[int, dict[str, str | None]]:
    import torch

    return torch.get_num_threads(), {name: os.environ.get(name) for name in THREAD_VARIABLES}


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: torch runs one thread anyway")
def test_each_worker_runs_one_thread_and_the_parent_keeps_its_setting(monkeypatch):
    """A spawned worker imports torch (with the test module) before any initializer runs; with
    the setting made only there, each worker ran a thread per core (16 x 16 on 16 cores)."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    results = in_processes(_threads_of_worker, [0, 1], workers=2, what="probe", unit="jobs")
    assert [threads for threads, _ in results] == [1, 1]
    assert all(set(env.values()) == {"1"} for _, env in results)
    assert "OMP_NUM_THREADS" not in os.environ and os.environ["MKL_NUM_THREADS"] == "3"
