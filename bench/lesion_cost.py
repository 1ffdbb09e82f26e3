"""What the lesion-wise detection (tact.metrics.lesions) adds to one method's evaluation of a
128-slice 512 px volume by three segmenters, in one process.

    .venv/bin/python bench/lesion_cost.py [--slices 128] [--repeats 2]

The volume and its three segmenters' maps are bench/evaluation.py's (a LiTS-shaped phantom
volume, the truth moved and grown or shrunk); the evaluation runs as a worker runs it, from the
files, the truth's skeletons read. Each repeat times the whole evaluation and, inside it, the
calls that make the lesion rows (``tact.evaluation._lesions``, its masks' stacking included);
the repeat with the shortest evaluation is reported. (Timing the evaluation with and without
them, on the shared 2-core machine, varied by more than they cost.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

import tact.evaluation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluation import test_volume, today_seconds_per_slice, write_test_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = test_volume(args.slices)
    lesions = []
    original = tact.evaluation._lesions

    def timed(*args, **kwargs):
        start = time.perf_counter()
        rows = original(*args, **kwargs)
        lesions[-1] += time.perf_counter() - start
        return rows

    runs = []
    with tempfile.TemporaryDirectory() as root, mock.patch("tact.evaluation._lesions", timed):
        run = write_test_run(data, 1, Path(root))
        for _ in range(args.repeats):
            lesions.append(0.0)
            runs.append(today_seconds_per_slice(run) * len(data["slices"]))
    best = int(np.argmin(runs))
    print(f"{len(data['slices'])} slices, 3 segmenters, one process: evaluation {runs[best]:.2f} s")
    share = 100 * lesions[best] / runs[best]
    print(f"of which lesion detection {lesions[best]:.3f} s ({share:.1f} %)")


if __name__ == "__main__":
    main()
