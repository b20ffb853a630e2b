"""A slow pure-Python reference of the RoI warping layer (Dai et al., MNC, CVPR 2016), written from
the definition in faster_rcnn_ops/roi_warp.py and independent of the compiled kernels.

Definition, for a RoI ``(b, x1, y1, x2, y2)`` (inclusive pixel corners), ``s = spatial_scale``,
``r = sampling_ratio`` and output ``out_h x out_w``::

    X1 = clamp(x1 * s), X2 = clamp((x2 + 1) * s)       clamp to +-2**24 cells (derivative 0 there)
    px = X1 + (pw + (ix + 0.5) / r) * ((X2 - X1) / out_w)       sample (iy, ix) of bin (ph, pw)
    u = px - 0.5, x0 = floor(u), lx = u - x0, hx = 1 - lx      (cell w is centred at w + 0.5)
    f = hy * (hx * F[y0, x0] + lx * F[y0, x0 + 1]) + ly * (hx * F[y0 + 1, x0] + lx * F[y0 + 1, x0 + 1])
        with F = 0 outside the map
    output = max over the r * r samples (first maximum in sample order; NaN loses), argmax = iy * r + ix

Arithmetic is done in the input's dtype (numpy float32 / float64) in the order written above.
A RoI with a NaN coordinate outputs 0 with argmax -1 and gets no gradient.
"""
import math
from typing import List, NamedTuple, Optional

import numpy as np
import torch

COORD_LIMIT = 2.0**24


class Axis(NamedTuple):
    """One axis of a sample point."""
    pos: float   # position on the feature map (px or py)
    t: float     # d pos / d end (and 1 - t = d pos / d start)
    lo: int      # floor(pos - 0.5): the neighbour below; the other one is lo + 1
    w_hi: float  # weight of lo + 1 (lx); lo has 1 - w_hi


class Sample(NamedTuple):
    ph: int
    pw: int
    iy: int
    ix: int
    x: Axis
    y: Axis


class Box(NamedTuple):
    x1: float
    y1: float
    x2: float
    y2: float
    dx1: float  # d box coordinate on the map / d image coordinate: s, or 0 where clamped
    dy1: float
    dx2: float
    dy2: float


def _dtype(tensor: torch.Tensor):
    return np.float32 if tensor.dtype == torch.float32 else np.float64


def _clamp(v, scale, dt):
    if -COORD_LIMIT < v < COORD_LIMIT:
        return v, scale
    return dt(-COORD_LIMIT if v < 0 else COORD_LIMIT), dt(0)


def box_on_map(roi, spatial_scale: float, dt) -> Optional[Box]:
    """The RoI's box on the feature map, or None for a NaN coordinate."""
    scale = dt(spatial_scale)
    x1, y1 = dt(roi[1]) * scale, dt(roi[2]) * scale
    x2, y2 = (dt(roi[3]) + dt(1)) * scale, (dt(roi[4]) + dt(1)) * scale
    if any(math.isnan(float(v)) for v in (x1, y1, x2, y2)):
        return None
    (x1, dx1), (y1, dy1), (x2, dx2), (y2, dy2) = (_clamp(v, scale, dt) for v in (x1, y1, x2, y2))
    return Box(x1, y1, x2, y2, dx1, dy1, dx2, dy2)


def _axis(start, end, bins: int, p: int, i: int, r: int, dt) -> Axis:
    off = dt(p) + (dt(i) + dt(0.5)) / dt(r)
    pos = start + off * ((end - start) / dt(bins))
    u = pos - dt(0.5)
    lo = np.floor(u)
    return Axis(pos, off / dt(bins), int(lo), u - lo)


def sample_points(box: Box, out_h: int, out_w: int, r: int, dt) -> List[Sample]:
    """Every sample of every bin, in (ph, pw, iy, ix) order."""
    return [Sample(ph, pw, iy, ix, _axis(box.x1, box.x2, out_w, pw, ix, r, dt),
                   _axis(box.y1, box.y2, out_h, ph, iy, r, dt))
            for ph in range(out_h) for pw in range(out_w) for iy in range(r) for ix in range(r)]


def _cell(planes: np.ndarray, h: int, w: int) -> np.ndarray:
    _, height, width = planes.shape
    if 0 <= h < height and 0 <= w < width:
        return planes[:, h, w]
    return np.zeros(planes.shape[0], dtype=planes.dtype)


def interpolate(planes: np.ndarray, s: Sample, dt):
    """Bilinear value and its derivatives d/dpx, d/dpy at sample s, for all channels of ``planes``
    (C, H, W) at once."""
    f00 = _cell(planes, s.y.lo, s.x.lo)
    f01 = _cell(planes, s.y.lo, s.x.lo + 1)
    f10 = _cell(planes, s.y.lo + 1, s.x.lo)
    f11 = _cell(planes, s.y.lo + 1, s.x.lo + 1)
    lx, ly = s.x.w_hi, s.y.w_hi
    hx, hy = dt(1) - lx, dt(1) - ly
    value = hy * (hx * f00 + lx * f01) + ly * (hx * f10 + lx * f11)
    d_dx = hy * (f01 - f00) + ly * (f11 - f10)
    d_dy = hx * (f10 - f00) + lx * (f11 - f01)
    return value, d_dx, d_dy


def reference_roi_warp(features: torch.Tensor, rois: torch.Tensor, spatial_scale: float,
                       out_h: int, out_w: int, sampling_ratio: int):
    """Returns (output, argmax) like torch.ops.faster_rcnn.roi_warp."""
    dt = _dtype(features)
    feats = features.detach().numpy()
    boxes = rois.detach().numpy()
    r = sampling_ratio
    out = np.zeros((len(boxes), feats.shape[1], out_h, out_w), dtype=dt)
    arg = np.full(out.shape, -1, dtype=np.int32)
    for k, roi in enumerate(boxes):
        box = box_on_map(roi, spatial_scale, dt)
        if box is None:
            continue
        planes = feats[int(roi[0])]
        best = {}
        for s in sample_points(box, out_h, out_w, r, dt):
            value, _, _ = interpolate(planes, s, dt)
            index = s.iy * r + s.ix
            if index == 0:
                best[s.ph, s.pw] = value.copy(), np.zeros(len(value), dtype=np.int32)
                continue
            top, top_index = best[s.ph, s.pw]
            take = (value > top) | (np.isnan(top) & ~np.isnan(value))
            top[take] = value[take]
            top_index[take] = index
        for (ph, pw), (top, top_index) in best.items():
            out[k, :, ph, pw] = top
            arg[k, :, ph, pw] = top_index
    return torch.from_numpy(out), torch.from_numpy(arg)


def reference_roi_warp_backward(grad_output: torch.Tensor, argmax: torch.Tensor,
                                features: torch.Tensor, rois: torch.Tensor, spatial_scale: float,
                                sampling_ratio: int):
    """Returns (grad_features, grad_rois) like torch.ops.faster_rcnn.roi_warp_backward, accumulated
    in float64."""
    dt = _dtype(features)
    feats = features.detach().numpy()
    boxes = rois.detach().numpy()
    grads = grad_output.detach().numpy().astype(np.float64)
    args = argmax.numpy()
    _, _, out_h, out_w = grads.shape
    height, width = feats.shape[2:]
    r = sampling_ratio
    grad_features = np.zeros(feats.shape, dtype=np.float64)
    grad_rois = np.zeros(boxes.shape, dtype=np.float64)
    for k, roi in enumerate(boxes):
        box = box_on_map(roi, spatial_scale, dt)
        if box is None:
            continue
        b = int(roi[0])
        for s in sample_points(box, out_h, out_w, r, dt):
            won = args[k, :, s.ph, s.pw] == s.iy * r + s.ix  # channels this sample wins
            if not won.any():
                continue
            g = grads[k, won, s.ph, s.pw]
            _, d_dx, d_dy = interpolate(feats[b, won], s, dt)
            lx, ly = float(s.x.w_hi), float(s.y.w_hi)
            for h, wy in ((s.y.lo, 1 - ly), (s.y.lo + 1, ly)):
                for w, wx in ((s.x.lo, 1 - lx), (s.x.lo + 1, lx)):
                    if 0 <= h < height and 0 <= w < width:
                        grad_features[b, won, h, w] += g * (wy * wx)
            gx = float(np.sum(g * d_dx))
            gy = float(np.sum(g * d_dy))
            tx, ty = float(s.x.t), float(s.y.t)
            grad_rois[k, 1] += gx * (1 - tx) * float(box.dx1)
            grad_rois[k, 3] += gx * tx * float(box.dx2)
            grad_rois[k, 2] += gy * (1 - ty) * float(box.dy1)
            grad_rois[k, 4] += gy * ty * float(box.dy2)
    return torch.from_numpy(grad_features), torch.from_numpy(grad_rois)
