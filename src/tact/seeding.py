"""Seeds derived from the master seed and a job's identity, independent of job order."""

from __future__ import annotations

import numpy as np


def derive_seed(master: int, *keys: int) -> int:
    """A 32-bit seed for (master, keys...): the same inputs always give the same seed."""
    return int(np.random.SeedSequence([master, *keys]).generate_state(1)[0])
