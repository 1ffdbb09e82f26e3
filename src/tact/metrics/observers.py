"""Model observers: can a lesion still be detected in a method's images (issue 35)?

A channelized Hotelling observer (CHO) with Laguerre-Gauss channels, as the FDA's LCD-CT
toolbox defines it (Vaishnav et al., Med. Phys. 41:071904, 2014; github DIDSR/LCD_CT): images
of a lesion-present and a lesion-absent class, centred on the lesion, are projected onto the
channels; the Hotelling template is trained on one half of the realisations and applied to the
other; the decision values give the AUC and the detectability index d'. LCD-CT's Python code
needs scikit-learn for two calls (a split and the AUC); here the AUC is the Mann-Whitney
statistic from scipy, which equals it, ties counted half. bench/lcd_ct_check.py holds the
values equal to LCD-CT's on the same images.
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


Observer = Callable[
    [tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], np.ndarray], ObserverResult
]


def auc_interval(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    channels: np.ndarray,
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

    def drawn(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        absent, present = pair
        return (
            absent[rng.integers(len(absent), size=len(absent))],
            present[rng.integers(len(present), size=len(present))],
        )

    aucs = [observer(drawn(train), drawn(test), channels).auc for _ in range(resamples)]
    low, high = np.percentile(aucs, [2.5, 97.5])
    return float(low), float(high)


def channelized_hotelling(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    channels: np.ndarray,
) -> ObserverResult:
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


def channelized_matched_filter(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    channels: np.ndarray,
) -> ObserverResult:
    """The channelized non-prewhitening observer: the template is the channel-space mean
    difference alone. For noiseless images (full dose at a known background), where the
    Hotelling template's covariance is zero and its pseudo-inverse would discard the signal."""
    absent, present = (images.reshape(len(images), -1) @ channels for images in train)
    template = present.mean(axis=0) - absent.mean(axis=0)
    scores = [images.reshape(len(images), -1) @ channels @ template for images in test]
    return ObserverResult(*scores)
