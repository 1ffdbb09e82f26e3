"""Networks: the paper's U-Net (reconstruction and segmentation heads) and RED-CNN.

The paper uses "the original U-Net (Ronneberger et al. 2015) with very slight modifications":
we read these as padded 3x3 convolutions (output size = input size) and batch norm after each
convolution. The reconstruction U-Net is the same network with a sigmoid on its one output
channel; the segmentation U-Net has three output channels (background, liver, tumour) and
returns logits. Width (channels of the first level, 64 in the original) and depth (number of
poolings, 4 in the original: 64 .. 1024 channels) are configurable so the demo can be small.

The paper claims the task-adaptive loss plugs into any reconstruction network; RED-CNN
(Chen et al. 2017, a residual encoder-decoder for low-dose CT) is the second architecture.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from tact.errors import NO_GPU, ConfigError, InputDataError

ARCHITECTURES = ("unet", "redcnn")
N_CLASSES = 3  # background, liver, tumour


@dataclass(frozen=True)
class NetworkSettings:
    """A network's shape, from the config: architecture, first-level width, poolings."""

    architecture: str = "unet"
    base_channels: int = 64
    depth: int = 4

    def reconstruction(self) -> nn.Module:
        return reconstruction_network(self.architecture, self.base_channels, self.depth)

    def segmenter(self) -> nn.Module:
        return segmentation_network(self.base_channels, self.depth, self.architecture)


def choose_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError(NO_GPU)
    return torch.device(requested)


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """Ronneberger's U-Net with padding and batch norm; input sides must divide 2**depth."""

    def __init__(
        self,
        out_channels: int,
        base_channels: int = 64,
        depth: int = 4,
        sigmoid: bool = False,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        widths = [base_channels * 2**level for level in range(depth + 1)]
        self.depth = depth
        self.sigmoid = sigmoid
        self.down = nn.ModuleList([_double_conv(in_channels, widths[0])])
        self.down.extend(_double_conv(widths[i], widths[i + 1]) for i in range(depth))
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
            for i in reversed(range(depth))
        )
        self.up = nn.ModuleList(
            _double_conv(2 * widths[i], widths[i]) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 2**self.depth or x.shape[-2] % 2**self.depth:
            raise ValueError(
                f"U-Net of depth {self.depth} needs sides divisible by {2**self.depth}"
            )
        skips = []
        for level, block in enumerate(self.down):
            if level == 0:
                x = block[1:](_conv_with_padded_channels(block[0], x))
            else:
                x = block(self.pool(x))
            skips.append(x)
        x = skips.pop()
        for upsample, block in zip(self.upsample, self.up, strict=True):
            x = block[1:](_conv_of_concatenation(block[0], skips.pop(), upsample(x)))
        x = _pointwise_conv(self.head, x)
        return torch.sigmoid(x) if self.sigmoid else x


# The three functions below compute what the layer computes, with the same parameters (and so
# the same weights files), in a form that spares cuDNN a copy of a full-resolution tensor in the
# bf16 channels-last training step: 312 -> 337 images/s for the paper's U-Net at 512 px, batch
# 16 (base training, H200, 2026-11-21, one experiment run; bench/profile_step.py shows the copies
# and docs/benchmarks.md the numbers).

CHANNEL_MULTIPLE = 8  # tensor-core convolutions take input channels in multiples of 8


def _conv_with_padded_channels(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)`` with the input channels padded by zeros (and zero weights) to a multiple of
    8: with one input channel, cuDNN's backward converts the gradient between dtypes."""
    missing = -x.shape[1] % CHANNEL_MULTIPLE
    if missing == 0:
        return conv(x)
    padding = (0, 0, 0, 0, 0, missing)  # the channel axis of (N, C, H, W)
    weight = nn.functional.pad(conv.weight, padding)
    return conv._conv_forward(nn.functional.pad(x, padding), weight, conv.bias)


def _conv_of_concatenation(conv: nn.Conv2d, skip: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """``conv(cat([skip, up]))`` as the sum of two convolutions over the two parts: the
    gradients of the parts are then dense, where slices of the concatenation's gradient would
    be strided in channels-last and copied."""
    split = skip.shape[1]
    weight = conv.weight
    return conv._conv_forward(skip, weight[:, :split], conv.bias) + conv._conv_forward(
        up, weight[:, split:], None
    )


def _pointwise_conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """A 1 x 1 convolution as a matrix product over the channels: with few output channels its
    weight's memory format is ambiguous and the convolution copies a channels-last input."""
    weight = conv.weight.flatten(1)  # (out, in)
    return nn.functional.linear(x.movedim(1, -1), weight, conv.bias).movedim(-1, 1)


class REDCNN(nn.Module):
    """RED-CNN (Chen et al. 2017): 5 convolutions, 5 deconvolutions, 3 residual shortcuts.

    As published: 5x5 kernels, no padding and no pooling (each convolution shrinks the image by
    4 pixels, each deconvolution grows it back), ReLU after every layer and after each shortcut.
    """

    def __init__(self, channels: int = 96, in_channels: int = 1) -> None:
        super().__init__()
        self.encoder = nn.ModuleList(
            nn.Conv2d(in_channels if i == 0 else channels, channels, 5) for i in range(5)
        )
        self.decoder = nn.ModuleList(
            nn.ConvTranspose2d(channels, in_channels if i == 4 else channels, 5) for i in range(5)
        )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut_input = x
        out = self.relu(self.encoder[0](x))
        out = self.relu(self.encoder[1](out))
        shortcut_2 = out
        out = self.relu(self.encoder[2](out))
        out = self.relu(self.encoder[3](out))
        shortcut_4 = out
        out = self.relu(self.encoder[4](out))
        out = self.relu(self.decoder[0](out) + shortcut_4)
        out = self.relu(self.decoder[1](out))
        out = self.relu(self.decoder[2](out) + shortcut_2)
        out = self.relu(self.decoder[3](out))
        return self.relu(self.decoder[4](out) + shortcut_input)


def reconstruction_network(
    architecture: str = "unet", base_channels: int = 64, depth: int = 4
) -> nn.Module:
    """The network f of the paper's objectives (image in, image out)."""
    if architecture == "unet":
        return UNet(1, base_channels, depth, sigmoid=True)
    if architecture == "redcnn":
        return REDCNN(channels=base_channels)
    raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")


SEGMENTATION_ARCHITECTURES = ("unet", "segresnet")


def segmentation_network(
    base_channels: int = 64, depth: int = 4, architecture: str = "unet"
) -> nn.Module:
    """A segmenter with logits for background, liver and tumour: the paper's U-Net (g), or
    MONAI's SegResNet (Myronenko 2018), another kind of network for held-out evaluation.

    SegResNet gets ``depth`` downsamplings with MONAI's default block counts (1, 2, 2, 4, then 4
    per further level) and batch norm, like the U-Net; ``base_channels`` is its initial width.
    """
    if architecture == "unet":
        return UNet(N_CLASSES, base_channels, depth, sigmoid=False)
    if architecture == "segresnet":
        from monai.networks.nets import SegResNet

        blocks_down = (1, 2, 2, *([4] * max(depth - 2, 0)))[: depth + 1]
        return SegResNet(
            spatial_dims=2,
            init_filters=base_channels,
            in_channels=1,
            out_channels=N_CLASSES,
            blocks_down=blocks_down,
            blocks_up=(1,) * depth,
            norm="batch",
        )
    raise ValueError(
        f"segmenter architecture must be one of {SEGMENTATION_ARCHITECTURES}, got {architecture!r}"
    )


def load_weights(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """A model or checkpoint file, loaded with ``weights_only=True``: a file that holds anything
    but tensors and plain data (a pickle that would run code) is refused, never executed."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL [\w.]+", str(exc))
        reason = found.group(0) if found else type(exc).__name__
        raise InputDataError(
            path, f"refused: not a plain weights file, loading it could run code ({reason})"
        ) from exc
    except (RuntimeError, EOFError) as exc:
        raise InputDataError(path, f"not a readable PyTorch file ({exc})") from exc


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A model file of this workflow (see :func:`load_weights`)."""
    return load_weights(path)
