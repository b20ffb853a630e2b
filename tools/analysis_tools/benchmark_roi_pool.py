"""Benchmark of the compiled Caffe RoI pooling op on the paper's workloads.

Workloads (Faster R-CNN §3/§4, py-faster-rcnn test/train settings): a 600x1000 image gives a 38x63
conv5 map (stride 16); VGG-16 pools 512 channels to 7x7, ZF 256 channels to 6x6; 128 RoIs (a training
mini-batch) and 300 RoIs (test-time proposals). Each line compares ``faster_rcnn_ops.roi_pool`` with
a vectorised pure-PyTorch implementation of the same semantics and, when torchvision can be
imported, with ``torchvision.ops.roi_pool`` (the same Caffe semantics, one thread on CPU), all
measured in the same run (ours and torchvision's in turns), and prints the ratios (their
time / ours). Outputs are checked equal bit for bit before timing, and with torchvision the
gradients too.

The script imports only torch and faster_rcnn_ops: torchvision is never a dependency of the
project, and PyPI's torchvision does not import beside the project's torch 2.13.0. To compare,
build the op in an environment with a matching pair, e.g.

    python3 -m venv /tmp/venv-tv && /tmp/venv-tv/bin/pip install torch==2.14.1 torchvision==0.29.1 \
        numpy setuptools ninja
    cp -r . /tmp/op-tv && cd /tmp/op-tv && /tmp/venv-tv/bin/python setup.py build_ext --inplace
    PYTHONPATH=custom_ops /tmp/venv-tv/bin/python tools/analysis_tools/benchmark_roi_pool.py --skip-pure-pytorch

    python tools/analysis_tools/benchmark_roi_pool.py [--repeats 20] [--threads N] [--device cpu|cuda]
                                                      [--skip-pure-pytorch]
"""
import sys

import torch

from faster_rcnn_ops import roi_pool
from faster_rcnn_ops.benchmarking import (STRIDE, paper_workloads, parse_benchmark_args, pass_of, ratio_line,
                                          timed, timed_in_turns)


def import_torchvision():
    """torchvision, or None (with the reason printed) where it is missing or does not import beside
    this torch."""
    try:
        import torchvision
        import torchvision.ops  # noqa: F401  (fails when its compiled ops do not match this torch)
    except (ImportError, RuntimeError, OSError) as error:
        print(f'torchvision not compared: {type(error).__name__}: {str(error).splitlines()[0]}')
        return None
    return torchvision


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


def check_against_torchvision(torchvision, name, features, rois, pooled):
    """Our output and our gradient (of a random output gradient: each cell sums its terms in
    torchvision's order, RoI by RoI, so no rounding differs) equal torchvision's, bit for bit."""
    leaf = features.clone().requires_grad_()
    ours = roi_pool(leaf, rois, pooled, 1 / STRIDE)
    theirs = torchvision.ops.roi_pool(leaf, rois, pooled, 1 / STRIDE)
    if not torch.equal(ours, theirs):
        raise SystemExit(f'{name}: outputs differ from torchvision (max abs diff {(ours - theirs).abs().max()})')
    grad = torch.randn(ours.shape, generator=torch.Generator().manual_seed(1)).to(ours)
    ours_grad, = torch.autograd.grad(ours, leaf, grad)
    theirs_grad, = torch.autograd.grad(theirs, leaf, grad)
    if not torch.equal(ours_grad, theirs_grad):
        raise SystemExit(f'{name}: gradients differ from torchvision '
                         f'(max abs diff {(ours_grad - theirs_grad).abs().max()})')


def add_arguments(parser):
    parser.add_argument('--skip-pure-pytorch', action='store_true',
                        help='compare with torchvision only (the pure-PyTorch baseline takes minutes)')


def main(argv=None):
    args = parse_benchmark_args(__doc__, argv, add_arguments)
    torchvision = import_torchvision()
    if torchvision is None and args.skip_pure_pytorch:
        raise SystemExit('--skip-pure-pytorch: torchvision does not import, nothing to compare with')
    label = None if torchvision is None else f'torchvision {torchvision.__version__.split("+")[0]}'
    for name, channels, pooled, n_rois, features, rois in paper_workloads(args):
        if not args.skip_pure_pytorch:
            ours = roi_pool(features, rois, pooled, 1 / STRIDE)
            base = torch_roi_pool(features, rois, 1 / STRIDE, pooled)
            if not torch.equal(ours, base):
                raise SystemExit(f'{name}: outputs differ (max abs diff {(ours - base).abs().max()})')
        if torchvision is not None:
            check_against_torchvision(torchvision, name, features, rois, pooled)
        for mode in ('forward', 'forward+backward'):
            leaf = features.clone().requires_grad_(mode != 'forward')
            ours = pass_of(lambda f: roi_pool(f, rois, pooled, 1 / STRIDE), leaf)
            base = pass_of(lambda f: torch_roi_pool(f, rois, 1 / STRIDE, pooled), leaf)
            with torch.set_grad_enabled(mode != 'forward'):
                if torchvision is None:
                    t_ours, others = timed(ours, args.repeats, args.device), []
                else:
                    tv = pass_of(lambda f: torchvision.ops.roi_pool(f, rois, pooled, 1 / STRIDE), leaf)
                    t_ours, t_tv = timed_in_turns([ours, tv], args.repeats, args.device)
                    others = [(label, t_tv)]
                # the baseline is ~100x slower: fewer runs of it
                t_base = None if args.skip_pure_pytorch else timed(base, max(1, args.repeats // 10), args.device,
                                                                   warmup=1)
            print(ratio_line(name, channels, pooled, n_rois, mode, t_ours, t_base, others=others))


if __name__ == '__main__':
    sys.exit(main() and 0)
