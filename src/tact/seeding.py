"""Seeds derived from the master seed and a job's identity, independent of job order.

``Stream`` is the one list of the run's random streams: every random draw of a run comes from
``derive_seed(master, Stream.X, ...)`` (or, for the phantom and the split, from the master seed
itself), so two uses never share a stream by accident. The numbers are part of every recorded
result: changing one changes that stage's draws.
"""

from __future__ import annotations

from enum import IntEnum, unique

import numpy as np


@unique
class Stream(IntEnum):
    SIMULATION = 1  # photon noise, per volume
    FBP_TUNING = 2  # which training slices tune the FBP cut-off
    BM3D_SWEEP = 3  # which slices the BM3D sigma sweep denoises
    NETWORK_INIT = 10  # a trained network's initial weights
    BATCH_ORDER = 11  # the order of the training slices, per epoch
    VALIDATION_SPLIT = 12  # which training slices validate
    JOINT_SEGMENTER_INIT = 13  # the segmenter trained alongside in joint training
    HELD_OUT_SEGMENTER = 20  # per held-out segmenter: its training seed
    ENSEMBLE_SEGMENTER = 21  # per extra segmenter of the ensemble defence
    ROBUST_SEGMENTER = 22  # the robust segmenter's training seed


def derive_seed(master: int, *keys: int) -> int:
    """A 32-bit seed for (master, keys...): the same inputs always give the same seed."""
    return int(np.random.SeedSequence([master, *(int(k) for k in keys)]).generate_state(1)[0])
