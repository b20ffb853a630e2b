"""Benchmark of the compiled RoI warping op (MNC; Faster R-CNN §3.2 option iii) on the paper's workloads.

Workloads (Faster R-CNN §3/§4, py-faster-rcnn test/train settings): a 600x1000 image gives a 38x63
conv5 map (stride 16); VGG-16 warps 512 channels to 7x7, ZF 256 channels to 6x6, both with
sampling_ratio 2 (MNC: bilinear warp to twice the output size, then 2x2 max pooling); 128 RoIs (a
training mini-batch) and 300 RoIs (test-time proposals). Each line compares
``faster_rcnn_ops.roi_warp`` with a vectorised pure-PyTorch implementation of the same semantics
(``grid_sample`` at the sample points, then a max over each bin's samples; autograd gives its
gradients w.r.t. features and boxes), measured in the same run, and prints the ratio
(baseline time / ours). Forward+backward includes the gradient w.r.t. the RoI coordinates. Before
timing, outputs are checked to agree (float32), and both gradients too (float64, a subset of RoIs).

    python tools/analysis_tools/benchmark_roi_warp.py [--repeats 20] [--threads N] [--device cpu|cuda]
"""
import sys

import torch
import torch.nn.functional as F

from faster_rcnn_ops import roi_warp
from faster_rcnn_ops.benchmarking import (STRIDE, paper_workloads, parse_benchmark_args, pass_of, ratio_line,
                                          timed)

SAMPLING_RATIO = 2
COORD_LIMIT = 2.0**24


def torch_roi_warp(features, rois, spatial_scale, pooled, ratio):
    """RoI warping with tensor operations only (boxes without NaN coordinates).

    Sample positions as in roi_warp_geometry.h; ``grid_sample`` (bilinear, zero padding,
    align_corners=False) reads a normalised coordinate g at pixel index ((g + 1) * W - 1) / 2, whose
    cell centres sit at index w, i.e. at map position w + 0.5: so g = 2 * px / W - 1. The samples of
    all RoIs of an image form one grid; a max over each bin's r x r samples follows."""
    _, channels, height, width = features.shape
    dtype = features.dtype
    scale = torch.tensor(spatial_scale, dtype=dtype, device=features.device)
    x1 = (rois[:, 1] * scale).clamp(-COORD_LIMIT, COORD_LIMIT)
    y1 = (rois[:, 2] * scale).clamp(-COORD_LIMIT, COORD_LIMIT)
    x2 = ((rois[:, 3] + 1) * scale).clamp(-COORD_LIMIT, COORD_LIMIT)
    y2 = ((rois[:, 4] + 1) * scale).clamp(-COORD_LIMIT, COORD_LIMIT)
    steps = torch.arange(ratio, dtype=dtype, device=features.device)
    bins = torch.arange(pooled, dtype=dtype, device=features.device)
    offset = (bins[:, None] + (steps + 0.5) / ratio).flatten()  # (P * r,) in bin widths
    px = x1[:, None] + offset * ((x2 - x1) / pooled)[:, None]  # (K, P * r)
    py = y1[:, None] + offset * ((y2 - y1) / pooled)[:, None]
    side = pooled * ratio
    gx = (px * (2 / width) - 1)[:, None, :].expand(-1, side, -1)
    gy = (py * (2 / height) - 1)[:, :, None].expand(-1, -1, side)
    grid = torch.stack([gx, gy], dim=-1)  # (K, P * r (y), P * r (x), 2)
    batch = rois[:, 0].long()
    pieces, order = [], []
    for b in batch.unique().tolist():
        sel = (batch == b).nonzero().squeeze(1)
        samples = F.grid_sample(features[b:b + 1], grid[sel].reshape(1, -1, side, 2), mode='bilinear',
                                padding_mode='zeros', align_corners=False)  # (1, C, k * P * r, P * r)
        binned = samples.view(channels, len(sel), pooled, ratio, pooled, ratio).amax(dim=(3, 5))
        pieces.append(binned.permute(1, 0, 2, 3))
        order.append(sel)
    return torch.cat(pieces)[torch.argsort(torch.cat(order))]


def check_agreement(name, features, rois, pooled):
    """Outputs in float32; gradients w.r.t. features and boxes in float64 (16 RoIs), where ties
    between samples (which amax and argmax break differently) do not occur with random data."""
    ours = roi_warp(features, rois, pooled, 1 / STRIDE, SAMPLING_RATIO)
    base = torch_roi_warp(features, rois, 1 / STRIDE, pooled, SAMPLING_RATIO)
    if not torch.allclose(ours, base, rtol=1e-4, atol=1e-4):
        raise SystemExit(f'{name}: outputs differ (max abs diff {(ours - base).abs().max():.3g})')
    grads = []
    for fn in (lambda f, r: roi_warp(f, r, pooled, 1 / STRIDE, SAMPLING_RATIO),
               lambda f, r: torch_roi_warp(f, r, 1 / STRIDE, pooled, SAMPLING_RATIO)):
        f = features.double().requires_grad_(True)
        r = rois[:16].double().requires_grad_(True)
        out = fn(f, r)
        out.backward(torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device).view_as(out))
        grads.append((f.grad, r.grad))
    for what, a, b in zip(('features', 'rois'), *grads):
        if not torch.allclose(a, b, rtol=1e-6, atol=1e-8):
            raise SystemExit(f'{name}: gradients w.r.t. {what} differ '
                             f'(max abs diff {(a - b).abs().max():.3g})')


def main(argv=None):
    args = parse_benchmark_args(__doc__, argv)
    for name, channels, pooled, n_rois, features, rois in paper_workloads(
            args, f' sampling_ratio={SAMPLING_RATIO}'):
        check_agreement(name, features, rois, pooled)
        for mode in ('forward', 'forward+backward'):
            train = mode != 'forward'
            leaf = features.clone().requires_grad_(train)
            boxes = rois.clone().requires_grad_(train)

            ours = pass_of(lambda f, r: roi_warp(f, r, pooled, 1 / STRIDE, SAMPLING_RATIO), leaf, boxes)
            base = pass_of(lambda f, r: torch_roi_warp(f, r, 1 / STRIDE, pooled, SAMPLING_RATIO), leaf, boxes)
            with torch.set_grad_enabled(train):
                t_ours = timed(ours, args.repeats, args.device)
                t_base = timed(base, max(3, args.repeats // 5), args.device)
            print(ratio_line(name, channels, pooled, n_rois, mode, t_ours, t_base))


if __name__ == '__main__':
    sys.exit(main() and 0)
