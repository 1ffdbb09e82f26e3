"""tact's channelized Hotelling observer against the FDA's LCD-CT toolbox on the same images
(issue 35: AUC and d' equal to 1e-6).

    .venv/bin/python bench/lcd_ct_check.py --lcdct DIR [--site DIR] [--write-fixture FILE]

``--lcdct``: the folder that holds LCD-CT's Python package ``lcdct`` (``src/`` of a checkout of
github DIDSR/LCD_CT; it is not on PyPI and is not vendored here). ``--site``: a folder with
scikit-learn, which ``lcdct`` imports (``pip install --target DIR scikit-learn``), appended to
the path after tact's own packages. Cases: lesion-present and lesion-absent images of white and
of correlated noise, Gaussian signals of several sizes and contrasts, channel counts and
widths, and the halves LCD-CT's study would split them into. Prints the largest differences;
exits 1 when one exceeds 1e-6. ``--write-fixture``: also save a few small studies (float32
images, their halves, channel settings) with LCD-CT's AUC and d' on them, for
tests/test_observers.py, which holds tact's values to LCD-CT's without LCD-CT installed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from tact.metrics.observers import channelized_hotelling, laguerre_gauss_channels

TOLERANCE = 1e-6


def case(seed: int) -> dict:
    """One study: its images, halves and channel settings."""
    rng = np.random.default_rng(seed)
    size, n = int(rng.choice([21, 32, 40])), int(rng.choice([60, 200]))
    blur = float(rng.choice([0.0, 1.5]))  # white, or correlated noise as a CT image's
    y, x = np.indices((size, size)) - (size - 1) / 2
    signal = rng.uniform(0.2, 1.5) * np.exp(-(y**2 + x**2) / (2 * rng.uniform(1.5, 5) ** 2))

    def images(k: int, present: bool) -> np.ndarray:
        noise = ndimage.gaussian_filter(rng.normal(0, 1, (k, size, size)), (0, blur, blur))
        return noise + (signal if present else 0.0)

    return {
        "train": (images(n, False), images(n, True)),
        "test": (images(n, False), images(n, True)),
        "n_channels": int(rng.integers(2, 7)),  # LCD-CT fails on one (a 0-d covariance)
        "width": float(rng.uniform(3, 15)),
    }


def theirs(study: dict, lg_cho: type) -> dict:
    """LCD-CT's AUC and d' ("snr") on one study."""
    (train_absent, train_present), (test_absent, test_present) = study["train"], study["test"]
    observer = lg_cho(test_present, test_absent, study["width"], study["n_channels"])
    return observer.calculate_metrics(train_absent, train_present, test_absent, test_present)


def small_study(seed: int) -> dict:
    """A study small enough to keep in git (the central 12 x 12 px, where the signal is; 30
    realisations a class and half), its images rounded to float32 before LCD-CT sees them, so
    that the saved inputs are exactly the ones it scored."""
    study = case(seed)
    start = (study["train"][0].shape[1] - 12) // 2
    crop = (slice(None), slice(start, start + 12), slice(start, start + 12))
    for half in ("train", "test"):
        study[half] = tuple(images[:30][crop].astype(np.float32) for images in study[half])
    return study


def write_fixture(path: Path, lg_cho: type, seeds: range = range(3)) -> None:
    """Save small studies with LCD-CT's results on them (see the module docstring)."""
    arrays = {}
    for seed in seeds:
        study = small_study(seed)
        result = theirs(study, lg_cho)
        for half in ("train", "test"):
            arrays[f"{seed}_{half}_absent"], arrays[f"{seed}_{half}_present"] = study[half]
        arrays[f"{seed}_settings"] = np.array([study["n_channels"], study["width"]])
        arrays[f"{seed}_lcdct"] = np.array([result["auc"], result["snr"]])
    np.savez_compressed(path, seeds=np.array(list(seeds)), **arrays)


def compare(study: dict, lg_cho: type) -> tuple[float, float]:
    """|AUC difference| and |d' difference| of tact's and LCD-CT's CHO on one study."""
    expected = theirs(study, lg_cho)
    shape = study["train"][0].shape[1:]
    channels = laguerre_gauss_channels(shape, study["n_channels"], study["width"])
    ours = channelized_hotelling(study["train"], study["test"], channels)
    return abs(ours.auc - expected["auc"]), abs(ours.detectability - expected["snr"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lcdct", type=Path, required=True)
    parser.add_argument("--site", type=Path)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--write-fixture", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(args.lcdct))
    if args.site:
        sys.path.append(str(args.site))
    from lcdct.Observers import LG_CHO

    if args.write_fixture:
        write_fixture(args.write_fixture, LG_CHO)
    gaps = np.array([compare(case(seed), LG_CHO) for seed in range(args.cases)])
    auc_gap, d_gap = gaps.max(axis=0)
    print(
        f"{args.cases} studies: largest |AUC difference| {auc_gap:.2e}, |d' difference| {d_gap:.2e}"
    )
    sys.exit(0 if max(auc_gap, d_gap) <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
