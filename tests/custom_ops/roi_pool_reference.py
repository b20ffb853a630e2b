"""A slow pure-Python reference of Caffe's ROIPoolingLayer (caffe-fast-rcnn roi_pooling_layer.cpp),
written from the layer's description and independent of the compiled kernels.

Arithmetic is done in the input's dtype (numpy float32 / float64), as Caffe does in ``Dtype``.
Beyond Caffe: a NaN coordinate makes the RoI empty; coordinates are clamped to +-2**24 cells.
"""
import math

import numpy as np
import torch

COORD_LIMIT = 2.0**24


def _round_half_away(v: float) -> int:
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def reference_roi_pool(features: torch.Tensor, rois: torch.Tensor, spatial_scale: float,
                       pooled_h: int, pooled_w: int):
    """Returns (output, argmax) like torch.ops.faster_rcnn.roi_pool."""
    dt = np.float32 if features.dtype == torch.float32 else np.float64
    feats = features.detach().numpy()
    boxes = rois.detach().numpy()
    _, channels, height, width = feats.shape
    out = np.zeros((len(boxes), channels, pooled_h, pooled_w), dtype=dt)
    arg = np.full(out.shape, -1, dtype=np.int32)
    scale = dt(spatial_scale)
    for k, roi in enumerate(boxes):
        batch = int(roi[0])
        x1, y1, x2, y2 = (dt(v) * scale for v in roi[1:])
        if any(math.isnan(float(v)) for v in (x1, y1, x2, y2)):
            continue  # empty RoI: zeros, argmax -1
        sx, sy, ex, ey = (_round_half_away(min(max(float(v), -COORD_LIMIT), COORD_LIMIT))
                          for v in (x1, y1, x2, y2))
        roi_w = max(ex - sx + 1, 1)
        roi_h = max(ey - sy + 1, 1)
        bin_w = dt(roi_w) / dt(pooled_w)
        bin_h = dt(roi_h) / dt(pooled_h)
        for ph in range(pooled_h):
            h0 = min(max(math.floor(float(dt(ph) * bin_h)) + sy, 0), height)
            h1 = min(max(math.ceil(float(dt(ph + 1) * bin_h)) + sy, 0), height)
            for pw in range(pooled_w):
                w0 = min(max(math.floor(float(dt(pw) * bin_w)) + sx, 0), width)
                w1 = min(max(math.ceil(float(dt(pw + 1) * bin_w)) + sx, 0), width)
                if h1 <= h0 or w1 <= w0:
                    continue
                for c in range(channels):
                    best, best_index = np.finfo(dt).min, -1
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            if feats[batch, c, h, w] > best:
                                best, best_index = feats[batch, c, h, w], h * width + w
                    out[k, c, ph, pw] = best
                    arg[k, c, ph, pw] = best_index
    return torch.from_numpy(out), torch.from_numpy(arg)


def reference_roi_pool_backward(grad_output: torch.Tensor, argmax: torch.Tensor, rois: torch.Tensor,
                                input_shape) -> torch.Tensor:
    """Routes each output gradient to its argmax cell."""
    grad = torch.zeros(input_shape, dtype=grad_output.dtype)
    flat = grad.view(input_shape[0], input_shape[1], -1)
    for k in range(grad_output.shape[0]):
        batch = int(rois[k, 0])
        for c in range(grad_output.shape[1]):
            for g, a in zip(grad_output[k, c].flatten().tolist(), argmax[k, c].flatten().tolist()):
                if a >= 0:
                    flat[batch, c, a] += g
    return grad
