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
import functools
import math
import os.path as osp
import sys

import torch
from mmcv.ops import nms as mmcv_nms
from mmdet.registry import TASK_UTILS

import faster_rcnn_paper  # noqa: F401  (registers PaperAnchorGenerator)
from faster_rcnn_ops import nms
from faster_rcnn_ops.benchmarking import parse_benchmark_args, timed_in_turns
from faster_rcnn_paper.utils.tool_config import read_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The paper's anchors (§3.1.1) as the paper's model config builds them.
PAPER_MODEL = osp.join(REPO, 'configs', '_base_', 'models', 'faster_rcnn_vgg16.py')

IOU, OFFSET = 0.7, 1
# (image, pre-NMS boxes kept by score (None: all), boxes kept after NMS)
WORKLOADS = [((600, 1000), None, 2000), ((600, 1000), 6000, 300), ((320, 480), None, 2000), ((320, 480), 6000, 300)]


@functools.lru_cache(maxsize=None)
def paper_anchor_generator():
    """The RPN's anchor generator, built from the paper's model config."""
    return TASK_UTILS.build(read_config(PAPER_MODEL).model.rpn_head.anchor_generator)


def rpn_boxes(height, width, generator):
    """Boxes and scores like an RPN's output over a ``height`` x ``width`` image (see the docstring):
    the paper's anchors at every cell of the conv5 map."""
    anchor_generator = paper_anchor_generator()
    stride = anchor_generator.strides[0][0]
    anchors = anchor_generator.single_level_grid_priors(
        (math.ceil(height / stride), math.ceil(width / stride)), 0, device='cpu')
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
