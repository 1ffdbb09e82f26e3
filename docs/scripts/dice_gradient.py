"""How hard each term of the task-adaptive objective pulls on an image of base U-Net quality.

    python docs/scripts/dice_gradient.py results/showcase [--batches 8]

For batches of training slices: x_B = base U-Net(low-dose), then the gradients with respect to
the image of MSE(x, x_N) and of Dice_loss(g(x), z_N) (g the frozen segmenter) at x = x_B, and of
the Dice loss at the ground truth x_N itself: how much more the Dice term pulls on the image than
the MSE term pulls back toward the ground truth. Prints a Markdown table (medians over batches).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812

from tact.losses import dice_loss
from tact.models import reconstruction_network, segmentation_network
from tact.training import load_state_dict, load_training_slices


def image_gradient(
    loss_of: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor
) -> tuple[float, float]:
    image = image.detach().clone().requires_grad_(True)
    loss = loss_of(image)
    (gradient,) = torch.autograd.grad(loss, image)
    return float(loss.detach()), float(gradient.norm())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--depth", type=int, default=4)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    stores = sorted((args.results / "data/slices").glob("volume-*.h5"))
    sims = sorted((args.results / "sim").glob("volume-*.h5"))
    data = load_training_slices(stores, args.results / "data/split.csv", sims)
    segmenter = segmentation_network(args.channels, args.depth)
    segmenter.load_state_dict(load_state_dict(args.results / "models/segmentation.pt"))
    base = reconstruction_network("unet", args.channels, args.depth)
    base.load_state_dict(load_state_dict(args.results / "models/base.pt"))
    segmenter.to(device).eval().requires_grad_(False)
    base.to(device).eval().requires_grad_(False)
    rows = []
    order = np.random.default_rng(0).permutation(len(data))
    for b in range(args.batches):
        index = order[b * args.batch_size : (b + 1) * args.batch_size]
        x_low, target, labels = (t.to(device) for t in data.rows(index))
        with torch.no_grad():
            x_base = base(x_low)

        def mse_of(x: torch.Tensor, target: torch.Tensor = target) -> torch.Tensor:
            return F.mse_loss(x, target)

        def dice_of(x: torch.Tensor, labels: torch.Tensor = labels) -> torch.Tensor:
            return dice_loss(segmenter(x), labels)

        mse, grad_mse = image_gradient(mse_of, x_base)
        dice, grad_dice = image_gradient(dice_of, x_base)
        dice_gt, grad_dice_gt = image_gradient(dice_of, target)
        rows.append((mse, grad_mse, dice, grad_dice, dice_gt, grad_dice_gt))
    med = np.median(np.array(rows), axis=0)
    ratio = med[3] / med[1]
    print("| at | MSE | norm of d MSE / dx | Dice loss | norm of d Dice loss / dx |")
    print("|---|---|---|---|---|")
    print(f"| base U-Net output | {med[0]:.2e} | {med[1]:.2e} | {med[2]:.3f} | {med[3]:.2e} |")
    print(f"| ground truth | 0 | 0 | {med[4]:.3f} | {med[5]:.2e} |")
    print()
    print(
        f"At base quality the Dice gradient is {ratio:.0f} times the MSE gradient "
        f"(medians over {args.batches} batches of {args.batch_size} training slices, {device})"
    )


if __name__ == "__main__":
    main()
