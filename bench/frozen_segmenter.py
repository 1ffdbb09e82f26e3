"""Experiment (bench/step_variants.py): the frozen segmenter g with batch norm folded, ReLU fused.

Task-adaptive training (eq. 9) passes every reconstruction through the pre-trained g, fixed and
in eval mode, and back-propagates the Dice term to the image only. In eval mode a batch norm is
an affine map per channel, so it folds into the convolution before it (weights scaled, a bias
added); on a GPU each convolution can then run with its bias and ReLU fused into cuDNN's kernel
(``cudnn_convolution_relu``; after a concatenation ``cudnn_convolution_add_relu``), sparing a
pass over every activation of the forward pass. ``FrozenUNet`` computes g's function and input
gradient (to float rounding). The workflow does not use it: measured slower than the compiled
UNet module (docs/benchmarks.md).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the PyTorch convention

from tact.models import CHANNEL_MULTIPLE, UNet


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format


def _output_like(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """An empty output of a padded 3 x 3 (or 1 x 1) convolution of ``x``, in ``x``'s layout."""
    shape = (x.shape[0], weight.shape[0], x.shape[2], x.shape[3])
    return x.new_empty(shape).contiguous(memory_format=_memory_format(x))


@torch.library.custom_op("tact::conv_relu", mutates_args=())
def conv_relu(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, z: torch.Tensor | None
) -> torch.Tensor:
    """relu(conv(x, weight) + bias [+ z]), padded so the output keeps x's size."""
    padding = weight.shape[-1] // 2
    if x.is_cuda:
        args = ((1, 1), (padding, padding), (1, 1), 1)
        if z is None:
            out = torch.cudnn_convolution_relu(x, weight, bias, *args)
        else:
            out = torch.cudnn_convolution_add_relu(x, weight, z, 1.0, bias, *args)
    else:
        out = F.conv2d(x, weight, bias, padding=padding)
        out = torch.relu(out if z is None else out + z)
    return out.contiguous(memory_format=_memory_format(x))


@conv_relu.register_fake
def _(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, z: torch.Tensor | None):
    return _output_like(x, weight)


def _save_for_backward(ctx, inputs: tuple, output: torch.Tensor) -> None:
    x, weight, _, z = inputs
    ctx.save_for_backward(weight, output)
    ctx.input_shape = x.shape
    ctx.has_z = z is not None


def _conv_relu_backward(ctx, grad: torch.Tensor):
    """The input gradient (and z's): the ReLU's mask, then cuDNN's data gradient."""
    weight, output = ctx.saved_tensors
    grad = torch.ops.aten.threshold_backward(grad, output, 0)
    padding = weight.shape[-1] // 2
    # the data gradient needs the input's shape only: an unfilled tensor in the layout cuDNN
    # wants (torch.nn.grad.conv2d_input's expanded one would be copied out in full)
    shape_only = grad.new_empty(ctx.input_shape).contiguous(memory_format=_memory_format(grad))
    grad_x = torch.ops.aten.convolution_backward(
        grad,
        shape_only,
        weight,
        None,
        [1, 1],
        [padding, padding],
        [1, 1],
        False,
        [0, 0],
        1,
        [True, False, False],
    )[0]
    return grad_x, None, None, grad if ctx.has_z else None


conv_relu.register_autograd(_conv_relu_backward, setup_context=_save_for_backward)


def fold_batch_norm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of one convolution that computes ``norm(conv(x))`` in eval mode."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    bias = norm.bias - norm.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    return conv.weight * scale[:, None, None, None], bias


class FrozenUNet(nn.Module):
    """A trained ``UNet`` in eval mode, for a step that needs its input gradient only."""

    def __init__(self, unet: UNet, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if unet.training:
            raise ValueError("FrozenUNet folds batch norm in eval mode: call unet.eval() first")
        self.sigmoid, self.dtype = unet.sigmoid, dtype
        with torch.no_grad():
            first, *rest = [_folded_pair(block) for block in unet.down]
            missing = -first[0].shape[1] % CHANNEL_MULTIPLE  # padded as UNet's first convolution
            first[0] = F.pad(first[0], (0, 0, 0, 0, 0, missing))
            self.down = nn.ModuleList(self._fixed(tensors) for tensors in [first, *rest])
            self.up = nn.ModuleList()
            for upsample, block in zip(unet.upsample, unet.up, strict=True):
                w1, b1, w2, b2 = _folded_pair(block)
                split = upsample.weight.shape[1]  # the skip's channels: as many as upsampled
                self.up.append(
                    self._fixed(
                        [upsample.weight, upsample.bias, w1[:, :split], w1[:, split:], b1, w2, b2]
                    )
                )
            self.head = self._fixed([unet.head.weight.flatten(1), unet.head.bias])

    def _fixed(self, tensors: list[torch.Tensor]) -> nn.ParameterList:
        """Copies in the compute dtype (convolution weights channels-last), never trained."""
        fixed = []
        for t in tensors:
            t = t.detach().to(self.dtype)
            if t.dim() == 4:
                t = t.contiguous(memory_format=torch.channels_last)
            fixed.append(nn.Parameter(t.clone(), requires_grad=False))
        return nn.ParameterList(fixed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x.to(self.dtype), (0, 0, 0, 0, 0, -x.shape[1] % CHANNEL_MULTIPLE))
        x = x.contiguous(memory_format=torch.channels_last)  # the layout of every layer after
        skips = []
        for level, (w1, b1, w2, b2) in enumerate(self.down):
            if level:
                x = F.max_pool2d(x, 2)
            x = conv_relu(conv_relu(x, w1, b1, None), w2, b2, None)
            skips.append(x)
        x = skips.pop()
        for w_upsample, b_upsample, w_skip, w_up, b1, w2, b2 in self.up:
            x = F.conv_transpose2d(x, w_upsample, b_upsample, stride=2)
            # conv(cat([skip, x])) as conv(skip) + conv(x), the second added in cuDNN's kernel
            x = conv_relu(skips.pop(), w_skip, b1, F.conv2d(x, w_up, padding=1))
            x = conv_relu(x, w2, b2, None)
        weight, bias = self.head
        x = F.linear(x.movedim(1, -1), weight, bias).movedim(-1, 1)
        return torch.sigmoid(x) if self.sigmoid else x


def _folded_pair(block: nn.Sequential) -> list[torch.Tensor]:
    """Weights and biases of a double convolution's two convolutions with their norms folded."""
    return [*fold_batch_norm(block[0], block[1]), *fold_batch_norm(block[3], block[4])]
