"""tact's channelized Hotelling observer and non-prewhitening observer (with and without the
eye filter) against the FDA's LCD-CT toolbox on the same images (issue 35: AUC and d' equal to
1e-6).

    .venv/bin/python bench/lcd_ct_check.py --lcdct DIR [--site DIR] [--write-fixture FILE]

``--lcdct``: the folder that holds LCD-CT's Python package ``lcdct`` (``src/`` of a checkout of
github DIDSR/LCD_CT; it is not on PyPI and is not vendored here). ``--site``: a folder with
scikit-learn, which ``lcdct`` imports (``pip install --target DIR scikit-learn``), appended to
the path after tact's own packages. Cases: lesion-present and lesion-absent images of white and
of correlated noise, Gaussian signals of several sizes and contrasts, channel counts and
widths, and the halves LCD-CT's study would split them into. Prints the largest differences;
exits 1 when one exceeds 1e-6. ``--write-fixture``: also save a few small studies (float32
images, their halves, channel settings) with LCD-CT's AUC and d' on them (the CHO's, and the
NPWE's with and without the eye filter), for tests/test_observers.py, which holds tact's values
to LCD-CT's without LCD-CT installed.

LCD-CT's eye filter spaces its frequencies by 1 / ((n - 1) dx), where the DFT's spacing is
1 / (n dx), and converts cycles per mm to cycles per degree by 1 / 0.1146 mm (a reader
500.03 mm away, where its comment says 500). On an odd side n its grid is the DFT's for a
display pixel (n - 1) / n as wide, so the NPWE cases are odd-sized and tact's filter takes that
pixel and that distance (``lcdct_eye``); on an even side LCD-CT's grid misses the zero
frequency by half a step, and no display matches it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from tact.metrics.observers import (
    channelized_hotelling,
    eye_filter,
    laguerre_gauss_channels,
    non_prewhitening,
)

TOLERANCE = 1e-6
LCDCT_DISPLAY_PIXEL_MM = 54 / 128  # npwe_2d: 128 pixels shown in 54 mm
LCDCT_VIEWING_DISTANCE_MM = 180 / (np.pi * 0.1146)  # its 1 cycle/degree = 0.1146 cycles/mm


def lcdct_eye(side: int) -> np.ndarray:
    """tact's eye filter on LCD-CT's frequency grid, for an odd ``side`` (module docstring)."""
    pixel = LCDCT_DISPLAY_PIXEL_MM * (side - 1) / side
    return eye_filter(side, pixel, LCDCT_VIEWING_DISTANCE_MM)


def case(seed: int, sizes: tuple[int, ...] = (21, 32, 40)) -> dict:
    """One study: its images, halves and channel settings."""
    rng = np.random.default_rng(seed)
    size, n = int(rng.choice(sizes)), int(rng.choice([60, 200]))
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


def theirs_npwe(study: dict, npwe: type, eye: bool) -> dict:
    """LCD-CT's NPWE AUC and d' on one study, with or without its eye filter."""
    (train_absent, train_present), (test_absent, test_present) = study["train"], study["test"]
    observer = npwe(test_present, test_absent, eye=eye)
    return observer.calculate_metrics(train_absent, train_present, test_absent, test_present)


def ours_npwe(study: dict, eye: bool) -> tuple[float, float]:
    side = study["train"][0].shape[-1]
    result = non_prewhitening(study["train"], study["test"], lcdct_eye(side) if eye else None)
    return result.auc, result.detectability


def small_study(seed: int, side: int = 12) -> dict:
    """A study small enough to keep in git (the central ``side`` x ``side`` px, where the
    signal is; 30 realisations a class and half), its images rounded to float32 before LCD-CT
    sees them, so that the saved inputs are exactly the ones it scored."""
    study = case(seed)
    start = (study["train"][0].shape[1] - side) // 2
    crop = (slice(None), slice(start, start + side), slice(start, start + side))
    for half in ("train", "test"):
        study[half] = tuple(images[:30][crop].astype(np.float32) for images in study[half])
    return study


def write_fixture(path: Path, lg_cho: type, seeds: range = range(3)) -> None:
    """Save small studies with LCD-CT's CHO results on them (see the module docstring)."""
    arrays = {}
    for seed in seeds:
        study = small_study(seed)
        result = theirs(study, lg_cho)
        for half in ("train", "test"):
            arrays[f"{seed}_{half}_absent"], arrays[f"{seed}_{half}_present"] = study[half]
        arrays[f"{seed}_settings"] = np.array([study["n_channels"], study["width"]])
        arrays[f"{seed}_lcdct"] = np.array([result["auc"], result["snr"]])
    np.savez_compressed(path, seeds=np.array(list(seeds)), **arrays)


def write_npwe_fixture(path: Path, npwe: type, seeds: range = range(3)) -> None:
    """Save small odd-sized studies (13 px) with LCD-CT's NPWE results on them, without and
    with the eye filter."""
    arrays = {}
    for seed in seeds:
        study = small_study(seed, side=13)
        for half in ("train", "test"):
            arrays[f"{seed}_{half}_absent"], arrays[f"{seed}_{half}_present"] = study[half]
        for eye in (False, True):
            result = theirs_npwe(study, npwe, eye)
            arrays[f"{seed}_lcdct_eye{int(eye)}"] = np.array([result["auc"], result["snr"]])
    np.savez_compressed(path, seeds=np.array(list(seeds)), **arrays)


def compare(study: dict, lg_cho: type) -> tuple[float, float]:
    """|AUC difference| and |d' difference| of tact's and LCD-CT's CHO on one study."""
    expected = theirs(study, lg_cho)
    shape = study["train"][0].shape[1:]
    channels = laguerre_gauss_channels(shape, study["n_channels"], study["width"])
    ours = channelized_hotelling(study["train"], study["test"], channels)
    return abs(ours.auc - expected["auc"]), abs(ours.detectability - expected["snr"])


def compare_npwe(study: dict, npwe: type) -> tuple[float, float]:
    """|AUC difference| and |d' difference| of tact's and LCD-CT's NPWE on one study, the
    larger of the two with and without the eye filter."""
    gaps = []
    for eye in (False, True):
        expected = theirs_npwe(study, npwe, eye)
        auc, detectability = ours_npwe(study, eye)
        gaps.append((abs(auc - expected["auc"]), abs(detectability - expected["snr"])))
    return tuple(np.max(gaps, axis=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lcdct", type=Path, required=True)
    parser.add_argument("--site", type=Path)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--write-fixture", type=Path, help="the CHO's fixture (.npz)")
    parser.add_argument("--write-npwe-fixture", type=Path, help="the NPWE's fixture (.npz)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.lcdct))
    if args.site:
        sys.path.append(str(args.site))
    from lcdct.Observers import LG_CHO, NPWE

    if args.write_fixture:
        write_fixture(args.write_fixture, LG_CHO)
    if args.write_npwe_fixture:
        write_npwe_fixture(args.write_npwe_fixture, NPWE)
    worst = 0.0
    for name, gaps in (
        ("CHO", [compare(case(seed), LG_CHO) for seed in range(args.cases)]),
        ("NPWE", [compare_npwe(case(seed, (21, 31, 41)), NPWE) for seed in range(args.cases)]),
    ):
        auc_gap, d_gap = np.max(gaps, axis=0)
        worst = max(worst, auc_gap, d_gap)
        print(
            f"{name}, {args.cases} studies: largest |AUC difference| {auc_gap:.2e}, "
            f"|d' difference| {d_gap:.2e}"
        )
    sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
