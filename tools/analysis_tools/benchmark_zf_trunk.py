"""Benchmark of the ZF trunk's CPU speed-ups: the LRN's compiled op and closed-form gradient, and the
channels-last layout.

Each line times ours against a formulation it replaced, in the same run (in turns, so that both
meet the same load on a shared machine), and prints the ratio (baseline time / ours); outputs are
checked equal (float rounding) before timing.

* ``LRN``: :class:`WithinChannelLRN` (on CPU the compiled op ``faster_rcnn_ops.within_channel_lrn``)
  on a conv1 map in the trunk's layout, against the autograd chain of the same formula (pooling,
  power, division) and against the pure-PyTorch formula with Caffe's closed-form gradient (the
  layer before the compiled op, still its path on other devices).
* ``ZF trunk``: :class:`ZFNet` as configured (channels-last, the layer above) against the same
  weights in the default memory layout with the autograd LRN, on the demo's batch (2 images of
  320x480, a Fast R-CNN step) and on one paper-scale image (600x1000).

    python tools/analysis_tools/benchmark_zf_trunk.py [--repeats 20] [--threads N] [--device cpu|cuda]
"""
import sys

import torch
from torch import nn
from torch.nn import functional as F

from faster_rcnn_paper.models.backbones import ZFNet
from faster_rcnn_paper.models.layers import WithinChannelLRN
from faster_rcnn_paper.models.layers.within_channel_lrn import within_channel_lrn_formula
from faster_rcnn_ops.benchmarking import parse_benchmark_args, pass_of, timed_in_turns

# (label, batch, height, width): the demo's Fast R-CNN batch and one paper-scale image
INPUTS = [('2 x 320x480', 2, 320, 480), ('1 x 600x1000', 1, 600, 1000)]


class AutogradLRN(nn.Module):
    """The within-channel LRN formula left to autograd (the layer before the closed-form gradient)."""

    def __init__(self, size, alpha, beta):
        super().__init__()
        self.size, self.alpha, self.beta = size, alpha, beta

    def forward(self, x):
        mean_sq = F.avg_pool2d(x * x, self.size, stride=1, padding=self.size // 2, count_include_pad=True)
        return x / (1.0 + self.alpha * mean_sq).pow(self.beta)


class FormulaLRN(WithinChannelLRN):
    """The layer's pure-PyTorch path (the closed-form formula) on every device: the layer before
    the compiled op."""

    def forward(self, x):
        return within_channel_lrn_formula(x, self.size, self.alpha, self.beta)


def baseline_trunk(model: ZFNet) -> ZFNet:
    """``model``'s weights in the default layout with the autograd LRN."""
    base = ZFNet(channels_last=False, init_cfg=dict(type='Constant', layer='Conv2d', val=0))
    base.load_state_dict(model.state_dict())
    for name, module in list(base.named_children()):
        if isinstance(module, WithinChannelLRN):
            setattr(base, name, AutogradLRN(module.size, module.alpha, module.beta))
    return base.to(next(model.parameters()).device)


def first(output):
    """The map of a module's output: the trunk returns a 1-tuple, the LRN a tensor."""
    return output[0] if isinstance(output, tuple) else output


def compare(label, ours, base, inputs, args, baseline='before'):
    """Checks ``ours(inputs)`` equals ``base(inputs)``, then prints forward and forward+backward ratios
    (the ``baseline``'s time / ours)."""
    with torch.no_grad():
        out, ref = first(ours(inputs)), first(base(inputs))
    if not torch.allclose(out, ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item()):
        raise SystemExit(f'{label}: outputs differ (max abs diff {(out - ref).abs().max()})')
    for mode in ('forward', 'forward+backward'):
        leaf = inputs.clone().requires_grad_(mode != 'forward')
        with torch.set_grad_enabled(mode != 'forward'):
            t_ours, t_base = timed_in_turns([pass_of(lambda x: first(ours(x)), leaf),
                                             pass_of(lambda x: first(base(x)), leaf)], args.repeats, args.device)
        print(f'{label:30s} {mode:16s}: ours {t_ours * 1e3:8.2f} ms | {baseline} {t_base * 1e3:8.2f} ms | '
              f'ratio {t_base / t_ours:5.2f}x', flush=True)


def main(argv=None):
    args = parse_benchmark_args(__doc__, argv)
    print(f'device={args.device} threads={torch.get_num_threads()} repeats={args.repeats}')
    torch.manual_seed(0)
    model = ZFNet()
    model.init_weights()
    model.to(args.device)
    base = baseline_trunk(model)
    lrn = model.norm1
    for label, batch, height, width in INPUTS:
        images = torch.randn(batch, 3, height, width, device=args.device) * 50
        with torch.no_grad():
            conv1 = model.relu(model.conv1(images))  # in the layout the trunk gives its LRN
            if model.channels_last:
                conv1 = conv1.contiguous(memory_format=torch.channels_last)
        compare(f'LRN {tuple(conv1.shape[1:])} x{batch}', lrn,
                AutogradLRN(lrn.size, lrn.alpha, lrn.beta), conv1, args, baseline='autograd')
        compare(f'LRN {tuple(conv1.shape[1:])} x{batch}', lrn,
                FormulaLRN(lrn.size, lrn.alpha, lrn.beta), conv1, args, baseline='formula')
        compare(f'ZF trunk {label}', model, base, images, args)


if __name__ == '__main__':
    from faster_rcnn_paper.utils.tool_errors import run_tool
    sys.exit(run_tool(lambda argv: main(argv) and 0))
