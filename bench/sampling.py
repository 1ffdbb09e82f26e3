"""A sampler that reads a process's memory every 50 ms in a thread while a block runs: the peak
RSS alone says neither when a job held its memory nor which kind or process held it (issue 32).
Subclasses say what one sample reads (``bench/training_fill_memory.py``,
``bench/evaluation_memory.py``)."""

from __future__ import annotations

import threading
import time
from typing import Self


class Sampler:
    """Calls ``sample`` every ``period`` seconds in a thread, from entering the block to leaving
    it; ``start`` is the clock's zero (``time.monotonic``)."""

    period = 0.05

    def __init__(self) -> None:
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.sample()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
