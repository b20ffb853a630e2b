"""Caffe's local response normalisation across space (``norm_region: WITHIN_CHANNEL``), used by ZF.

ZF-net (Zeiler & Fergus 2014; py-faster-rcnn ``models/pascal_voc/ZF``) normalises conv1 and conv2
with LRN of size 3, alpha 5e-5, beta 0.75 within each channel. Caffe computes it as
``x / (1 + alpha · mean(x²))^beta``, the mean taken over a size × size window with zero padding
counted in the window (an AVE pooling with pad (size - 1) / 2). ``torch.nn.LocalResponseNorm``
normalises across channels instead, so it is not the same layer.

The gradient is Caffe's closed form (``LRNLayer::WithinChannelBackward`` composes the same terms
from its split / power / pooling / product layers): with ``s = 1 + alpha · mean(x²)``,
``dx = dy · s^-beta - (2 · alpha · beta / size²) · x · Σ_window(dy · x · s^(-beta-1))`` — one
window sum instead of autograd's chain through pooling, power and division (first-order gradients
only).

Two implementations of the same numbers (equal up to float rounding; tests compare them):

* on CPU (float32 / float64), the compiled op ``faster_rcnn_ops.within_channel_lrn``: one fused
  pass over the tensor forward and one backward, channels-last (ZF's trunk layout) or contiguous;
  on ZF's conv1 map 5-9x faster than the formula below forward and 3.3-4.5x forward + backward
  (2 threads; ``docs/roi_pool_op.md``);
* on other devices and dtypes (the op has no CUDA kernel), :func:`within_channel_lrn_formula`, the
  formula in PyTorch ops with the closed-form gradient in an autograd Function (``beta = 0.75``,
  ZF's, as ``rsqrt(s) · sqrt(rsqrt(s))``); it is also the reference the op is checked against.

``tools/analysis_tools/benchmark_zf_trunk.py`` times the layer against the formula and against the
autograd chain of the same formula.
"""
import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch.nn import functional as F

from faster_rcnn_ops import within_channel_lrn as compiled_within_channel_lrn

#: Where the layer runs the compiled op (the op's CPU kernel supports these dtypes).
COMPILED_DEVICE_TYPES = ('cpu', )
COMPILED_DTYPES = (torch.float32, torch.float64)


def _window_mean(x: Tensor, size: int) -> Tensor:
    """Mean over the size × size window around each element, zero padding counted."""
    return F.avg_pool2d(x, size, stride=1, padding=size // 2, count_include_pad=True)


def _inverse_power(s: Tensor, beta: float) -> Tensor:
    """``s ** -beta`` (``s >= 1``)."""
    if beta == 0.75:
        inverse = s.rsqrt()
        return inverse.mul_(inverse.sqrt())
    return s.pow(-beta)


class _WithinChannelLRNFunction(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: Tensor, size: int, alpha: float, beta: float) -> Tensor:
        scale = _window_mean(x * x, size).mul_(alpha).add_(1.0)
        inverse = _inverse_power(scale, beta)
        ctx.save_for_backward(x, scale, inverse)
        ctx.settings = (size, alpha, beta)
        return x * inverse

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        x, scale, inverse = ctx.saved_tensors
        size, alpha, beta = ctx.settings
        grad_in = grad_out * inverse
        # The window-mean adjoint is the window mean itself (symmetric window, zero padding).
        spread = _window_mean(grad_in * x / scale, size)
        grad_in.sub_(spread.mul_(x).mul_(2.0 * alpha * beta))
        return grad_in, None, None, None


def within_channel_lrn_formula(x: Tensor, size: int, alpha: float, beta: float) -> Tensor:
    """The LRN in PyTorch ops (any device and floating dtype), with the closed-form gradient."""
    return _WithinChannelLRNFunction.apply(x, size, alpha, beta)


#: The LRN as MMEngine's jit tracer names it: the compiled op on CPU, the autograd Function (a
#: Python op) elsewhere. The FLOP and activation counters get a zero-count handle for both
#: (``utils/flop_handles.py``), as for pooling.
TRACED_OP_NAMES = ('faster_rcnn::within_channel_lrn', f'prim::PythonOp.{_WithinChannelLRNFunction.__name__}')


class WithinChannelLRN(nn.Module):

    def __init__(self, size: int = 3, alpha: float = 5e-5, beta: float = 0.75) -> None:
        super().__init__()
        if size < 1 or size % 2 == 0:
            raise ValueError(f'LRN size must be a positive odd number, got {size}')
        self.size, self.alpha, self.beta = size, alpha, beta

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type in COMPILED_DEVICE_TYPES and x.dtype in COMPILED_DTYPES:
            return compiled_within_channel_lrn(x, self.size, self.alpha, self.beta)
        return within_channel_lrn_formula(x, self.size, self.alpha, self.beta)

    def extra_repr(self) -> str:
        return f'size={self.size}, alpha={self.alpha}, beta={self.beta}'
