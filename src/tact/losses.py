"""The paper's objectives: MSE (eq. 6), soft Dice (eq. 7-8), task-adaptive (eq. 9), joint (eq. 1).

Every objective returns the total loss and its terms, so training logs each term.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the PyTorch convention

from tact.models import N_CLASSES

DICE_SMOOTHING = 1.0


def soft_dice(
    logits: torch.Tensor, labels: torch.Tensor, smoothing: float = DICE_SMOOTHING
) -> torch.Tensor:
    """Eq. 7: mean over the C classes of (2 sum p g + eps) / (sum p + sum g + eps).

    ``logits`` (B, C, H, W), ``labels`` (B, H, W) integer. The sums run over every pixel of the
    batch, so a class absent from one slice does not make that slice's term 0/0.
    """
    probabilities = torch.softmax(logits.float(), dim=1)
    one_hot = F.one_hot(labels.long(), N_CLASSES).permute(0, 3, 1, 2).float()
    dims = (0, 2, 3)
    intersection = (probabilities * one_hot).sum(dims)
    total = probabilities.sum(dims) + one_hot.sum(dims)
    return ((2 * intersection + smoothing) / (total + smoothing)).mean()


def dice_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 8: 1 - soft Dice."""
    return 1.0 - soft_dice(logits, labels)


def segmentation_objective(
    logits: torch.Tensor, labels: torch.Tensor, cross_entropy: bool = False
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Pre-training of g: Dice loss, optionally plus cross-entropy."""
    terms = {"dice_loss": dice_loss(logits, labels)}
    if cross_entropy:
        terms["cross_entropy"] = F.cross_entropy(logits.float(), labels.long())
    return sum(terms.values()), terms


def reconstruction_objective(
    weight: float,
    reconstruction: torch.Tensor,
    target: torch.Tensor,
    *,
    labels: torch.Tensor | None = None,
    segmenters: Sequence[nn.Module] = (),
    segmenter_noise: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(1 - w) MSE(f(x_L), x_N) + w Dice_loss(g(f(x_L)), z_N).

    Base training is w = 0 without a segmenter. Task-adaptive training (eq. 9) passes the frozen
    pre-trained g (w = alpha); joint training (eq. 1) passes the segmenter trained alongside
    (w = C). Either way the Dice term's gradient reaches f through the segmenter. With several
    segmenters (the ensemble defence) the Dice term is the mean of their Dice losses; with
    ``segmenter_noise`` they see f(x_L) plus Gaussian noise of that standard deviation (the
    noise defence: one draw per step, shared by the segmenters).
    """
    mse = F.mse_loss(reconstruction.float(), target.float())
    terms = {"mse": mse}
    if not segmenters:
        if weight != 0:
            raise ValueError("a Dice weight needs a segmentation network")
        return mse, terms
    seen = reconstruction
    if segmenter_noise > 0:
        seen = reconstruction + segmenter_noise * torch.randn_like(reconstruction)
    losses = [dice_loss(segmenter(seen), labels) for segmenter in segmenters]
    terms["dice_loss"] = torch.stack(losses).mean()
    return (1.0 - weight) * mse + weight * terms["dice_loss"], terms
