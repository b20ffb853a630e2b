"""Caffe / py-faster-rcnn RoI max pooling (Fast R-CNN §2.1; Faster R-CNN §3.2 shares it).

The exact semantics (rounding of the RoI ends, the +1 width, floor/ceil bins, clipping, empty bins,
NaN / inf coordinates) are documented once, in ``csrc/roi_pool_geometry.h``. In short, for a RoI
``(b, x1, y1, x2, y2)`` in image coordinates and ``s = spatial_scale``::

    start = round(x1 * s), end = round(x2 * s)      # half away from zero
    roi_w = max(end - start + 1, 1); bin_w = roi_w / pooled_w
    bin pw = columns [floor(pw * bin_w), ceil((pw + 1) * bin_w)) + start, clipped to the map
    output = max over the bin (0 for an empty bin); the gradient goes to the argmax only.
"""
from typing import Tuple, Union

import torch
from torch import Tensor, nn

from ._utils import check_features_and_rois, output_size_pair

_OP = torch.ops.faster_rcnn


@torch.library.register_fake('faster_rcnn::roi_pool')
def _roi_pool_fake(features: Tensor, rois: Tensor, spatial_scale: float, pooled_height: int,
                   pooled_width: int) -> Tuple[Tensor, Tensor]:
    _check_args(features, rois, pooled_height, pooled_width)
    shape = (rois.shape[0], features.shape[1], pooled_height, pooled_width)
    return features.new_empty(shape), features.new_empty(shape, dtype=torch.int32)


@torch.library.register_fake('faster_rcnn::roi_pool_backward')
def _roi_pool_backward_fake(grad_output: Tensor, argmax: Tensor, rois: Tensor, batch_size: int,
                            channels: int, height: int, width: int) -> Tensor:
    return grad_output.new_empty((batch_size, channels, height, width))


def _check_args(features: Tensor, rois: Tensor, pooled_height: int, pooled_width: int) -> None:
    """The shape / dtype / device checks of the kernels, for fake tensors (no data to read)."""
    if pooled_height <= 0 or pooled_width <= 0:
        raise ValueError(f'roi_pool: output size must be positive, got ({pooled_height}, {pooled_width})')
    check_features_and_rois('roi_pool', features, rois)


def _setup_context(ctx, inputs, output) -> None:
    features, rois, _, _, _ = inputs
    _, argmax = output
    ctx.save_for_backward(rois, argmax)
    ctx.input_shape = features.shape
    ctx.mark_non_differentiable(argmax)


def _backward(ctx, grad_output: Tensor, _grad_argmax):
    rois, argmax = ctx.saved_tensors
    n, c, h, w = ctx.input_shape
    grad_features = _OP.roi_pool_backward(grad_output, argmax, rois, n, c, h, w)
    # No gradient reaches the RoI coordinates (py-faster-rcnn's proposal layer has no backward).
    return grad_features, None, None, None, None


torch.library.register_autograd('faster_rcnn::roi_pool', _backward, setup_context=_setup_context)


def roi_pool(features: Tensor, rois: Tensor, output_size: Union[int, Tuple[int, int]],
             spatial_scale: float = 1.0) -> Tensor:
    """Caffe RoI max pooling.

    Args:
        features: ``(N, C, H, W)`` feature map, float32 or float64.
        rois: ``(K, 5)`` rows ``(batch_index, x1, y1, x2, y2)`` in image coordinates (0-based,
            inclusive corners, as py-faster-rcnn), same dtype and device as ``features``.
        output_size: ``(pooled_h, pooled_w)`` or one int for both (7 for VGG-16, 6 for ZF).
        spatial_scale: feature cells per image pixel (1/16 for both paper backbones).

    Returns:
        ``(K, C, pooled_h, pooled_w)`` pooled features.
    """
    pooled_h, pooled_w = output_size_pair(output_size)
    output, _ = _OP.roi_pool(features, rois, float(spatial_scale), pooled_h, pooled_w)
    return output


class RoIPool(nn.Module):
    """``nn.Module`` form of :func:`roi_pool`, with mmcv's ``RoIPool(output_size, spatial_scale)``
    signature so that mmdet RoI extractors can build it per feature stride."""

    def __init__(self, output_size: Union[int, Tuple[int, int]], spatial_scale: float = 1.0):
        super().__init__()
        self.output_size = output_size_pair(output_size)
        if not spatial_scale > 0:
            raise ValueError(f'spatial_scale must be positive, got {spatial_scale!r}')
        self.spatial_scale = float(spatial_scale)

    def forward(self, features: Tensor, rois: Tensor) -> Tensor:
        return roi_pool(features, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(output_size={self.output_size}, '
                f'spatial_scale={self.spatial_scale})')
