"""Model observers: can a lesion still be detected in a method's images (issue 35)?

A channelized Hotelling observer (CHO) with Laguerre-Gauss channels, and a non-prewhitening
observer with an eye filter (NPWE), as the FDA's LCD-CT toolbox defines them (Vaishnav et al.,
Med. Phys. 41:071904, 2014; github DIDSR/LCD_CT): images of a lesion-present and a
lesion-absent class, centred on the lesion, are projected onto the channels (CHO) or seen
through the eye filter (NPWE); the template is learnt on one half of the realisations and
applied to the other; the decision values give the AUC and the detectability index d'.
LCD-CT's Python code needs scikit-learn for two calls (a split and the AUC); here the AUC is
the Mann-Whitney statistic from scipy, which equals it, ties counted half.
bench/lcd_ct_check.py holds the values equal to LCD-CT's on the same images.

An observer maps (train, test), each a pair (lesion-absent, lesion-present) of image stacks
(n, rows, cols), to the test half's decision values; settings such as the channels are bound
first (``functools.partial``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import linalg, special, stats


def laguerre_gauss_channels(shape: tuple[int, int], n_channels: int, width_px: float) -> np.ndarray:
    """Laguerre-Gauss channels centred on the image: (rows x cols, n_channels). Channel j is
    sqrt(2) / a * L_j(2 pi r^2 / a^2) * exp(-pi r^2 / a^2), ``a`` the width in pixels and r
    the distance from the image's centre (Barrett and Myers; LCD-CT's definition)."""
    rows, cols = shape
    y = np.arange(rows) - (rows - 1) / 2
    x = np.arange(cols) - (cols - 1) / 2
    r2 = (y[:, None] ** 2 + x[None, :] ** 2).ravel()
    gauss = np.sqrt(2) / width_px * np.exp(-np.pi * r2 / width_px**2)
    argument = 2 * np.pi * r2 / width_px**2
    return np.stack([special.eval_laguerre(j, argument) * gauss for j in range(n_channels)], 1)


# Classes a billion standard deviations apart have no noise but rounding's (full dose at a known
# background: its d' came out 7.4e15 on the demo); their d' is infinite.
NO_NOISE = 1e-9


@dataclass
class ObserverResult:
    """The test half's decision values of each class, and what they give."""

    absent: np.ndarray
    present: np.ndarray

    @property
    def auc(self) -> float:
        """Probability that a lesion-present image scores above a lesion-absent one (ties
        count half): the area under the ROC curve."""
        u = stats.mannwhitneyu(self.present, self.absent).statistic
        return float(u / (len(self.present) * len(self.absent)))

    @property
    def detectability(self) -> float:
        """d': the distance of the two classes' mean decision values over their pooled
        standard deviation (LCD-CT's "snr")."""
        pooled = np.sqrt((self.present.var(ddof=1) + self.absent.var(ddof=1)) / 2)
        difference = self.present.mean() - self.absent.mean()
        if pooled <= NO_NOISE * abs(difference):  # no noise: told apart every time, or never
            return float(np.sign(difference) * np.inf) if difference else 0.0
        return float(difference / pooled)


Pair = tuple[np.ndarray, np.ndarray]  # (lesion-absent, lesion-present)
Observer = Callable[[Pair, Pair], ObserverResult]


def auc_interval(
    train: Pair,
    test: Pair,
    observer: Observer,
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap 95 % interval of the observer's AUC in which every resample draws each class
    of both halves with replacement and learns the template again. A template learnt from a
    few realisations varies as much as the test's scores do (on the demo, low dose scored an
    AUC of 0.31 for a lesion no method sees when only the scores were resampled); LCD-CT
    repeats its split over "readers" for the same reason."""
    rng = np.random.default_rng(seed)

    def drawn(pair: Pair) -> Pair:
        absent, present = pair
        return (
            absent[rng.integers(len(absent), size=len(absent))],
            present[rng.integers(len(present), size=len(present))],
        )

    aucs = [observer(drawn(train), drawn(test)).auc for _ in range(resamples)]
    low, high = np.percentile(aucs, [2.5, 97.5])
    return float(low), float(high)


def channelized_hotelling(train: Pair, test: Pair, channels: np.ndarray) -> ObserverResult:
    """The CHO's decision values on ``test`` with the template learnt on ``train``, each a
    pair (lesion-absent, lesion-present) of image stacks (n, rows, cols); ``channels`` from
    :func:`laguerre_gauss_channels`. The template is the inverse of the classes' mean channel
    covariance times the channel-space mean difference (a pseudo-inverse, as LCD-CT's)."""
    absent, present = (images.reshape(len(images), -1) @ channels for images in train)
    signal = present.mean(axis=0) - absent.mean(axis=0)
    covariance = (np.cov(absent, rowvar=False) + np.cov(present, rowvar=False)) / 2
    template = linalg.pinv(np.atleast_2d(covariance)) @ signal
    scores = [images.reshape(len(images), -1) @ channels @ template for images in test]
    return ObserverResult(*scores)


def channelized_matched_filter(train: Pair, test: Pair, channels: np.ndarray) -> ObserverResult:
    """The channelized non-prewhitening observer: the template is the channel-space mean
    difference alone. For noiseless images (full dose at a known background), where the
    Hotelling template's covariance is zero and its pseudo-inverse would discard the signal."""
    absent, present = (images.reshape(len(images), -1) @ channels for images in train)
    template = present.mean(axis=0) - absent.mean(axis=0)
    scores = [images.reshape(len(images), -1) @ channels @ template for images in test]
    return ObserverResult(*scores)


# The eye's contrast sensitivity, E(rho) = rho^1.3 exp(-0.04 rho^2) with rho in cycles per degree
# of visual angle (Burgess, JOSA A 11:1237, 1994), peaks near 4 cycles per degree: LCD-CT's
# npwe_2d constants.
EYE_EXPONENT = 1.3
EYE_DECAY = 0.04


def eye_filter(side: int, display_pixel_mm: float, viewing_distance_mm: float) -> np.ndarray:
    """The eye filter on the (unshifted) FFT grid of a square patch of ``side`` pixels, each
    shown ``display_pixel_mm`` wide and seen from ``viewing_distance_mm``: how much of each
    spatial frequency a reader sees (none of the mean, little of the finest noise)."""
    cycles_per_mm = np.fft.fftfreq(side, d=display_pixel_mm)
    mm_per_degree = viewing_distance_mm * np.pi / 180
    rho2 = (cycles_per_mm[:, None] ** 2 + cycles_per_mm[None, :] ** 2) * mm_per_degree**2
    return rho2 ** (EYE_EXPONENT / 2) * np.exp(-EYE_DECAY * rho2)


def non_prewhitening(train: Pair, test: Pair, eye: np.ndarray | None = None) -> ObserverResult:
    """The non-prewhitening observer: the template is the mean signal, learnt on ``train``, seen
    through ``eye`` (:func:`eye_filter`; None: no filter) once in the template and once in the
    image, as LCD-CT's npwe_2d. It does not whiten the noise, as a human reader does not: the
    usual model of a reader (Burgess 1994), where the Hotelling observer is the best linear
    one."""
    absent, present = train
    signal = present.mean(axis=0) - absent.mean(axis=0)
    template = signal if eye is None else np.fft.ifft2(np.fft.fft2(signal) * eye**2).real
    scores = [np.tensordot(images, template, axes=2) for images in test]
    return ObserverResult(*scores)
