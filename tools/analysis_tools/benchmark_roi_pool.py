"""Benchmark of the compiled Caffe RoI pooling op on the paper's workloads.

Workloads (Faster R-CNN §3/§4, py-faster-rcnn test/train settings): a 600x1000 image gives a 38x63
conv5 map (stride 16); VGG-16 pools 512 channels to 7x7, ZF 256 channels to 6x6; 128 RoIs (a training
mini-batch) and 300 RoIs (test-time proposals). Each line compares ``faster_rcnn_ops.roi_pool`` with
a vectorised pure-PyTorch implementation of the same semantics, measured in the same run, and prints
the ratio (baseline time / ours). Outputs are checked equal before timing.

    python tools/analysis_tools/benchmark_roi_pool.py [--repeats 20] [--threads N] [--device cpu|cuda]
"""
import sys

import torch

from faster_rcnn_ops import roi_pool
from faster_rcnn_paper.utils.op_benchmarking import (STRIDE, paper_workloads, parse_benchmark_args, pass_of,
                                                     ratio_line, timed)
from faster_rcnn_paper.utils.tool_errors import run_tool


def torch_roi_pool(features, rois, spatial_scale, pooled):
    """Caffe RoI pooling with tensor operations only (two masked max reductions per RoI chunk)."""
    n_rois = rois.shape[0]
    _, channels, height, width = features.shape
    dtype = features.dtype
    scaled = rois[:, 1:].double() * spatial_scale
    start_end = torch.where(scaled >= 0, torch.floor(scaled + 0.5), torch.ceil(scaled - 0.5)).long()
    x1, y1, x2, y2 = start_end.unbind(1)
    size_w = (x2 - x1 + 1).clamp(min=1).to(dtype)
    size_h = (y2 - y1 + 1).clamp(min=1).to(dtype)
    steps = torch.arange(pooled + 1, dtype=dtype)

    def bins(size, start, length):
        edge = steps[None] * (size / pooled)[:, None]
        lo = (torch.floor(edge[:, :-1]).long() + start[:, None]).clamp(0, length)
        hi = (torch.ceil(edge[:, 1:]).long() + start[:, None]).clamp(0, length)
        cells = torch.arange(length)
        return (cells[None, None] >= lo[..., None]) & (cells[None, None] < hi[..., None])

    mask_h = bins(size_h, y1, height)  # (K, PH, H)
    mask_w = bins(size_w, x1, width)   # (K, PW, W)
    out = features.new_zeros(n_rois, channels, pooled, pooled)
    batch = rois[:, 0].long()
    chunk = 4
    for i in range(0, n_rois, chunk):
        sl = slice(i, i + chunk)
        feat = features[batch[sl]]  # (k, C, H, W)
        # max over columns of each bin: (k, C, H, PW)
        cols = feat[:, :, :, None, :].masked_fill(~mask_w[sl, None, None], float('-inf')).amax(-1)
        # max over rows of each bin: (k, C, PH, PW)
        vals = cols[:, :, None].masked_fill(~mask_h[sl, None, :, :, None], float('-inf')).amax(3)
        empty = ~(mask_h[sl].any(-1)[:, :, None] & mask_w[sl].any(-1)[:, None, :])
        out[sl] = vals.masked_fill(empty[:, None], 0.0)
    return out


def main(argv=None):
    args = parse_benchmark_args(__doc__, argv)
    for name, channels, pooled, n_rois, features, rois in paper_workloads(args):
        ours = roi_pool(features, rois, pooled, 1 / STRIDE)
        base = torch_roi_pool(features, rois, 1 / STRIDE, pooled)
        if not torch.equal(ours, base):
            raise SystemExit(f'{name}: outputs differ (max abs diff {(ours - base).abs().max()})')
        for mode in ('forward', 'forward+backward'):
            leaf = features.clone().requires_grad_(mode != 'forward')
            ours = pass_of(lambda f: roi_pool(f, rois, pooled, 1 / STRIDE), leaf)
            base = pass_of(lambda f: torch_roi_pool(f, rois, 1 / STRIDE, pooled), leaf)
            with torch.set_grad_enabled(mode != 'forward'):
                t_ours = timed(ours, args.repeats, args.device)
                # the baseline is ~100x slower: fewer runs of it
                t_base = timed(base, max(1, args.repeats // 10), args.device, warmup=1)
            print(ratio_line(name, channels, pooled, n_rois, mode, t_ours, t_base))


if __name__ == '__main__':
    sys.exit(run_tool(main))
