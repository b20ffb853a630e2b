"""Caffe's within-channel local response normalisation (``norm_region: WITHIN_CHANNEL``), ZF-net's LRN.

For ``x`` of shape ``(N, C, H, W)``, an odd ``size`` and the mean taken over the ``size × size``
window around each element with zero padding counted (Caffe's AVE pooling with pad ``size // 2``)::

    s  = 1 + alpha · mean(x²)
    y  = x · s^-beta
    dx = dy · s^-beta - (2 · alpha · beta / size²) · x · Σ_window(dy · x · s^(-beta-1))

(the gradient in Caffe's closed form, ``LRNLayer::WithinChannelBackward``; first order only).

Kernels: ``csrc/cpu/within_channel_lrn_kernel.cpp``, CPU only, float32 and float64, one pass over
the tensor forward and one backward (the backward recomputes ``s`` from ``x``; nothing but the
input is kept for it). There is no CUDA kernel: ``faster_rcnn_paper``'s ``WithinChannelLRN``
computes the same formula with PyTorch ops on other devices and dtypes. Channels-last input gives
channels-last output (ZF's trunk runs in that layout); any other input is made contiguous.
"""
import torch
from torch import Tensor

_OP = torch.ops.faster_rcnn


def _check_args(op: str, input: Tensor, size: int) -> None:
    """The kernels' checks, for fake tensors (no data to read)."""
    if size <= 0 or size % 2 == 0:
        raise ValueError(f'{op}: size must be a positive odd number, got {size}')
    if input.dim() != 4:
        raise RuntimeError(f'{op}: input must be 4-D (N, C, H, W), got {tuple(input.shape)}')
    if input.dtype not in (torch.float32, torch.float64):
        raise RuntimeError(f'{op}: the CPU kernel supports float32 and float64, got {input.dtype}')


def _kernel_layout(input: Tensor) -> torch.memory_format:
    """The layout the kernels compute (and return) ``input`` in: channels-last when it is so and
    not also contiguous (as a tensor with one channel or one cell is), contiguous otherwise."""
    if input.is_contiguous(memory_format=torch.channels_last) and not input.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


@torch.library.register_fake('faster_rcnn::within_channel_lrn')
def _within_channel_lrn_fake(input: Tensor, size: int, alpha: float, beta: float) -> Tensor:
    _check_args('within_channel_lrn', input, size)
    return torch.empty_like(input, memory_format=_kernel_layout(input))


@torch.library.register_fake('faster_rcnn::within_channel_lrn_backward')
def _within_channel_lrn_backward_fake(grad_output: Tensor, input: Tensor, size: int, alpha: float,
                                      beta: float) -> Tensor:
    _check_args('within_channel_lrn_backward', input, size)
    for what in ('shape', 'dtype', 'device'):
        if getattr(grad_output, what) != getattr(input, what):
            raise RuntimeError(f'within_channel_lrn_backward: grad_output and input must have the same {what}, '
                               f'got {getattr(grad_output, what)} and {getattr(input, what)}')
    return torch.empty_like(input, memory_format=_kernel_layout(input))


def _setup_context(ctx, inputs, output) -> None:
    input, size, alpha, beta = inputs
    ctx.save_for_backward(input)
    ctx.settings = (size, alpha, beta)


def _backward(ctx, grad_output: Tensor):
    input, = ctx.saved_tensors
    return _OP.within_channel_lrn_backward(grad_output, input, *ctx.settings), None, None, None


torch.library.register_autograd('faster_rcnn::within_channel_lrn', _backward, setup_context=_setup_context)


def within_channel_lrn(input: Tensor, size: int, alpha: float, beta: float) -> Tensor:
    """Caffe's within-channel LRN of ``input`` (``(N, C, H, W)``, float32 or float64, CPU).

    Args:
        size: side of the square window, a positive odd number (3 in ZF).
        alpha: scale of the window mean of squares (5e-5 in ZF).
        beta: exponent (0.75 in ZF, the fast path; any other value uses ``std::pow``).
    """
    return _OP.within_channel_lrn(input, int(size), float(alpha), float(beta))
