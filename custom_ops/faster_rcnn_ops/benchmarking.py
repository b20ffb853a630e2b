"""What tools/analysis_tools/benchmark_roi_pool.py, benchmark_roi_warp.py and benchmark_zf_trunk.py
share: the command line, the paper's workloads with proposal-like RoIs, and timers.

Imports torch only, so that a benchmark of the ops runs in an environment that has torch and this
package and nothing else (e.g. beside a torchvision built for another torch than the project's).
"""
import argparse
import statistics
import time

import torch

# A 600x1000 image gives a 38x63 conv5 map (stride 16). VGG-16 pools 512 channels to 7x7, ZF 256 to
# 6x6; 128 RoIs make a training mini-batch, 300 are the test-time proposals.
WORKLOADS = [('VGG-16', 512, 7), ('ZF', 256, 6)]  # name, channels, output size
NUM_ROIS = (128, 300)
MAP_H, MAP_W, STRIDE = 38, 63, 16


def paper_rois(num, device, generator):
    """Proposal-like boxes inside a 600x1000 image: sides 16..600 px, any aspect ratio."""
    img_h, img_w = MAP_H * STRIDE, MAP_W * STRIDE
    w = torch.rand(num, generator=generator) * 584 + 16
    h = torch.rand(num, generator=generator) * 584 + 16
    x1 = torch.rand(num, generator=generator) * (img_w - w)
    y1 = torch.rand(num, generator=generator) * (img_h - h)
    return torch.stack([torch.zeros(num), x1, y1, x1 + w, y1 + h], 1).to(device)


def timed(fn, repeats, device, warmup=2):
    """Median seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    times = []
    for _ in range(repeats + warmup):
        if device == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[warmup:])


def timed_in_turns(fns, repeats, device, turns=3, warmup=2):
    """Median seconds of each of ``fns``, timed in ``turns`` rounds of ``repeats / turns`` calls each
    (``fns[0]``'s calls, then ``fns[1]``'s, ..., then the next round): on a machine shared with other
    work every function meets the same spells of load, so their ratio is steadier than from one block
    each, and a function's consecutive calls keep its threads warm, as a training loop does (calls
    alternating one by one with a single-threaded function would leave a multi-threaded one to wake
    its sleeping OpenMP threads on every call)."""
    times = [[] for _ in fns]
    per_turn = max(1, repeats // turns)
    for _ in range(turns):
        for fn, record in zip(fns, times):
            for _ in range(warmup):
                fn()
            record.extend(timed(fn, 1, device, warmup=0) for _ in range(per_turn))
    return [statistics.median(record) for record in times]


def pass_of(fn, *leaves):
    """A call of ``fn(*leaves)`` for :func:`timed`; when the leaves require grad, with a backward
    pass of a ones gradient from its output (the leaves' gradients cleared after)."""
    def step():
        out = fn(*leaves)
        if any(leaf.requires_grad for leaf in leaves):
            out.backward(torch.ones_like(out))
            for leaf in leaves:
                leaf.grad = None
    return step


def ratio_line(name, channels, pooled, n_rois, mode, t_ours, t_base=None, baseline='pure-PyTorch', others=()):
    """One workload's line: our time, then for the baseline (unless ``t_base`` is None) and each of
    ``others`` (``(label, seconds)`` pairs) its time and the ratio (its time / ours)."""
    line = f'{name:7s} {channels}x{MAP_H}x{MAP_W} -> {pooled}x{pooled}, {n_rois:3d} RoIs, {mode:16s}: ours {t_ours * 1e3:8.2f} ms'
    compared = ([(baseline, t_base)] if t_base is not None else []) + list(others)
    for label, seconds in compared:
        line += f' | {label} {seconds * 1e3:8.2f} ms | ratio {seconds / t_ours:6.2f}x'
    return line


def parse_benchmark_args(doc, argv=None, add_arguments=None):
    """``--repeats``, ``--threads``, ``--device`` and what ``add_arguments(parser)`` adds; applies
    ``--threads``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: all)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    # The project's tools all take --debug (faster_rcnn_paper.utils.tool_errors, which this
    # torch-only module cannot import); a benchmark has no user errors to fold, so it always shows
    # the traceback and accepts the flag for the same command lines.
    parser.add_argument('--debug', action='store_true', help='accepted as by every tool (a benchmark always '
                        'shows the traceback of an error)')
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def paper_workloads(args, extra=''):
    """Prints the run's settings, then yields ``(name, channels, pooled, n_rois, features, rois)``
    for every workload (seeded)."""
    print(f'device={args.device} threads={torch.get_num_threads()} repeats={args.repeats} '
          f'map={MAP_H}x{MAP_W} (600x1000 input){extra}')
    g = torch.Generator().manual_seed(0)
    for name, channels, pooled in WORKLOADS:
        features = torch.randn(1, channels, MAP_H, MAP_W, generator=g).to(args.device)
        for n_rois in NUM_ROIS:
            yield name, channels, pooled, n_rois, features, paper_rois(n_rois, args.device, g)
