"""RoI warping (Dai et al., MNC, CVPR 2016): RoI pooling differentiable w.r.t. the box coordinates.

Faster R-CNN §3.2 (training option iii, "non-approximate joint training") needs an RoI pooling
layer whose output has a gradient w.r.t. the proposal boxes, since the boxes depend on the RPN;
the paper names MNC's "RoI warping" layer. The box region of the feature map is sampled
bilinearly on a grid ``sampling_ratio`` times finer than the output (MNC warps to twice the output
size, ``sampling_ratio=2``) and each ``sampling_ratio x sampling_ratio`` group is max-pooled.

The exact semantics are documented once, in ``csrc/roi_warp_geometry.h``. In short, for a RoI
``(b, x1, y1, x2, y2)`` with inclusive pixel corners (it covers ``[x1, x2 + 1] x [y1, y2 + 1]``),
``s = spatial_scale`` and ``r = sampling_ratio``::

    X1 = x1 * s, X2 = (x2 + 1) * s                     # clamped to +-2**24 cells; same for y
    bin_w = (X2 - X1) / out_w                          # may be zero or negative: no clamping
    px = X1 + (pw + (ix + 0.5) / r) * bin_w            # sample (iy, ix) of bin (ph, pw)
    f(px, py) = bilinear interpolation of the cell centres (w + 0.5, h + 0.5), zero outside the map
    output[k, c, ph, pw] = max over the r * r samples; argmax = iy * r + ix (first maximum)

The gradient w.r.t. ``features`` goes to the winning sample's four neighbours with its bilinear
weights; the gradient w.r.t. ``rois`` flows through the winning sample's position
(``px = (1 - t) X1 + t X2``, ``t = (pw + (ix + 0.5) / r) / out_w``) and the slope of the
interpolation there (one-sided from above on the cell-centre kinks). The batch-index column gets
zero gradient, and a RoI with a NaN coordinate outputs 0 and gets no gradient at all.
"""
import operator
from typing import Tuple, Union

import torch
from torch import Tensor, nn

from ._utils import check_features_and_rois, output_size_pair

_OP = torch.ops.faster_rcnn


def _check_args(op: str, features: Tensor, rois: Tensor, spatial_scale: float,
                sampling_ratio: int) -> None:
    """The shape / dtype / device checks of the kernels, for fake tensors (no data to read)."""
    if not (spatial_scale > 0 and spatial_scale != float('inf')):
        raise ValueError(f'{op}: spatial_scale must be a positive finite number, got {spatial_scale}')
    if sampling_ratio <= 0:
        raise ValueError(f'{op}: sampling_ratio must be positive, got {sampling_ratio}')
    check_features_and_rois(op, features, rois)
    if features.dtype not in (torch.float32, torch.float64):
        raise RuntimeError(f'{op}: float32 and float64 are supported, got {features.dtype}')


@torch.library.register_fake('faster_rcnn::roi_warp')
def _roi_warp_fake(features: Tensor, rois: Tensor, spatial_scale: float, out_h: int, out_w: int,
                   sampling_ratio: int) -> Tuple[Tensor, Tensor]:
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f'roi_warp: output size must be positive, got ({out_h}, {out_w})')
    _check_args('roi_warp', features, rois, spatial_scale, sampling_ratio)
    shape = (rois.shape[0], features.shape[1], out_h, out_w)
    return features.new_empty(shape), features.new_empty(shape, dtype=torch.int32)


@torch.library.register_fake('faster_rcnn::roi_warp_backward')
def _roi_warp_backward_fake(grad_output: Tensor, argmax: Tensor, features: Tensor, rois: Tensor,
                            spatial_scale: float, sampling_ratio: int) -> Tuple[Tensor, Tensor]:
    _check_args('roi_warp_backward', features, rois, spatial_scale, sampling_ratio)
    if grad_output.dim() != 4 or grad_output.shape != argmax.shape:
        raise RuntimeError(f'roi_warp_backward: grad_output {tuple(grad_output.shape)} and argmax '
                           f'{tuple(argmax.shape)} must be 4-D of the same shape')
    if argmax.dtype != torch.int32:
        raise RuntimeError(f'roi_warp_backward: argmax must be int32, got {argmax.dtype}')
    return features.new_empty(features.shape), rois.new_empty(rois.shape)


def _setup_context(ctx, inputs, output) -> None:
    features, rois, spatial_scale, _, _, sampling_ratio = inputs
    _, argmax = output
    ctx.save_for_backward(features, rois, argmax)
    ctx.spatial_scale = spatial_scale
    ctx.sampling_ratio = sampling_ratio
    ctx.mark_non_differentiable(argmax)


def _backward(ctx, grad_output: Tensor, _grad_argmax):
    features, rois, argmax = ctx.saved_tensors
    grad_features, grad_rois = _OP.roi_warp_backward(grad_output, argmax, features, rois,
                                                     ctx.spatial_scale, ctx.sampling_ratio)
    return (grad_features if ctx.needs_input_grad[0] else None,
            grad_rois if ctx.needs_input_grad[1] else None, None, None, None, None)


torch.library.register_autograd('faster_rcnn::roi_warp', _backward, setup_context=_setup_context)


def roi_warp(features: Tensor, rois: Tensor, output_size: Union[int, Tuple[int, int]],
             spatial_scale: float = 1.0, sampling_ratio: int = 2) -> Tensor:
    """MNC RoI warping: bilinear sampling of each box, then max pooling of each bin's samples.

    Differentiable w.r.t. ``features`` and the box coordinates ``rois[:, 1:]``.

    Args:
        features: ``(N, C, H, W)`` feature map, float32 or float64.
        rois: ``(K, 5)`` rows ``(batch_index, x1, y1, x2, y2)`` in image coordinates (0-based,
            inclusive corners, as py-faster-rcnn), same dtype and device as ``features``.
        output_size: ``(out_h, out_w)`` or one int for both (7 for VGG-16, 6 for ZF).
        spatial_scale: feature cells per image pixel (1/16 for both paper backbones).
        sampling_ratio: samples per bin and axis, max-pooled (2: MNC's warp to twice the output).

    Returns:
        ``(K, C, out_h, out_w)`` warped features.
    """
    out_h, out_w = output_size_pair(output_size)
    ratio = _sampling_ratio(sampling_ratio)
    output, _ = _OP.roi_warp(features, rois, float(spatial_scale), out_h, out_w, ratio)
    return output


def _sampling_ratio(sampling_ratio: int) -> int:
    """Checks that ``sampling_ratio`` is a positive integer (Python or numpy; not bool or float)."""
    try:
        ratio = operator.index(sampling_ratio)
    except TypeError:
        ratio = None
    if ratio is None or isinstance(sampling_ratio, bool) or ratio < 1:
        raise ValueError(f'sampling_ratio must be a positive int, got {sampling_ratio!r}')
    return int(ratio)


class RoIWarp(nn.Module):
    """``nn.Module`` form of :func:`roi_warp`, with an mmcv-style
    ``RoIWarp(output_size, spatial_scale, sampling_ratio)`` signature so that mmdet RoI extractors
    can build it per feature stride."""

    def __init__(self, output_size: Union[int, Tuple[int, int]], spatial_scale: float = 1.0,
                 sampling_ratio: int = 2):
        super().__init__()
        self.output_size = output_size_pair(output_size)
        if not spatial_scale > 0:
            raise ValueError(f'spatial_scale must be positive, got {spatial_scale!r}')
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = _sampling_ratio(sampling_ratio)

    def forward(self, features: Tensor, rois: Tensor) -> Tensor:
        return roi_warp(features, rois, self.output_size, self.spatial_scale, self.sampling_ratio)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(output_size={self.output_size}, '
                f'spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio})')
