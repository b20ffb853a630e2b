"""Benchmark of the compiled greedy NMS (``faster_rcnn_ops.nms``) against mmcv's ``nms`` on RPN proposals.

Workloads (py-faster-rcnn's settings): the RPN's boxes of one image — an anchor at every conv5
cell (stride 16) for each of the 9 paper anchors, moved by small random deltas and clipped, with
random scores — at the paper's scale (600x1000: 38x63 cells, 21 546 boxes) and the demo's (320x480:
20x30, 5 400); NMS at IoU 0.7 with +1 areas keeping 2000 boxes (training proposals, no pre-NMS cap:
``rpn_generate``) or the top 6000 keeping 300 (test proposals). mmcv's ``nms`` suppresses over every
box, then its first N are taken; ours stops once N are kept. Both lines are checked to keep the same
boxes before timing, then timed in the same run; the ratio is mmcv's time / ours.

    python tools/analysis_tools/benchmark_nms.py [--repeats 20] [--threads N]
"""
import math
import sys

import torch
from mmcv.ops import nms as mmcv_nms

from faster_rcnn_ops import nms
from faster_rcnn_ops.benchmarking import STRIDE, parse_benchmark_args, timed_in_turns
from faster_rcnn_paper.models.task_modules.prior_generators.paper_anchor_generator import paper_base_anchors

IOU, OFFSET = 0.7, 1
# (image, pre-NMS boxes kept by score (None: all), boxes kept after NMS)
WORKLOADS = [((600, 1000), None, 2000), ((600, 1000), 6000, 300), ((320, 480), None, 2000), ((320, 480), 6000, 300)]


def rpn_boxes(height, width, generator):
    """Boxes and scores like an RPN's output over a ``height`` x ``width`` image (see the docstring):
    the paper's anchors (§3.1.1: ratios 0.5 / 1 / 2, scales 8 / 16 / 32 of the stride) at every cell."""
    ys, xs = torch.meshgrid(torch.arange(math.ceil(height / STRIDE)) * STRIDE,
                            torch.arange(math.ceil(width / STRIDE)) * STRIDE, indexing='ij')
    shifts = torch.stack([xs, ys, xs, ys], -1).reshape(-1, 1, 4).float()
    anchors = (shifts + paper_base_anchors(STRIDE, (0.5, 1.0, 2.0), (8, 16, 32))).reshape(-1, 4)
    w, h = anchors[:, 2] - anchors[:, 0] + 1, anchors[:, 3] - anchors[:, 1] + 1
    cx, cy = anchors[:, 0] + 0.5 * w, anchors[:, 1] + 0.5 * h
    d = torch.randn(len(anchors), 4, generator=generator) * 0.2
    cx, cy = cx + d[:, 0] * w, cy + d[:, 1] * h
    w, h = w * d[:, 2].exp(), h * d[:, 3].exp()
    boxes = torch.stack([(cx - w / 2).clamp(0, width - 1), (cy - h / 2).clamp(0, height - 1),
                         (cx + w / 2).clamp(0, width - 1), (cy + h / 2).clamp(0, height - 1)], 1)
    return boxes, torch.rand(len(anchors), generator=generator)


def main(argv=None):
    args = parse_benchmark_args(__doc__, argv)
    print(f'threads={torch.get_num_threads()} repeats={args.repeats} IoU {IOU}, +{OFFSET} areas')
    g = torch.Generator().manual_seed(0)
    for (height, width), pre, post in WORKLOADS:
        boxes, scores = rpn_boxes(height, width, g)
        if pre is not None:
            scores, order = scores.topk(min(pre, len(scores)))
            boxes = boxes[order]
        ours = lambda: nms(boxes, scores, IOU, OFFSET, post)  # noqa: E731
        theirs = lambda: mmcv_nms(boxes, scores, IOU, offset=OFFSET)[1][:post]  # noqa: E731
        if not torch.equal(ours(), theirs()):
            raise SystemExit(f'{height}x{width}: the two NMS keep different boxes')
        t_ours, t_mmcv = timed_in_turns([ours, theirs], args.repeats, 'cpu')
        print(f'{height}x{width} image, {len(boxes):5d} boxes -> {post:4d}: ours {t_ours * 1e3:7.2f} ms | '
              f'mmcv {t_mmcv * 1e3:7.2f} ms | ratio {t_mmcv / t_ours:5.2f}x')


if __name__ == '__main__':
    sys.exit(main())
