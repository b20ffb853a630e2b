"""Measures the size of the deviations from py-faster-rcnn that README lists as measured.

    python tools/paper/measure_deviations.py [--seed 0] [--num 200000]

1. Fast R-CNN RoI labels in 4-step training: py-faster-rcnn's alternating mode computes the RoI /
   gt IoU once, at the original image scale (``roidb.prepare_roidb``); we compute it on the resized
   image, as its end2end mode does (``proposal_target_layer``). With +1 areas the two differ
   slightly. The tool draws VOC-like gt boxes and proposals around them (VOC's typical 500 x 375
   image, s = 1.6), and counts the RoIs whose label (foreground IoU >= 0.5, background [0, 0.5))
   changes between the two scales.
NumPy only; prints one line per measured deviation.
"""
import sys

import numpy as np


def iou_plus_one(boxes, gts):
    iw = np.maximum(np.minimum(boxes[:, 2], gts[:, 2]) - np.maximum(boxes[:, 0], gts[:, 0]) + 1, 0)
    ih = np.maximum(np.minimum(boxes[:, 3], gts[:, 3]) - np.maximum(boxes[:, 1], gts[:, 1]) + 1, 0)
    inter = iw * ih
    area = lambda b: (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)  # noqa: E731
    return inter / (area(boxes) + area(gts) - inter)


def roi_label_flips(rng, num, scale=1.6, width=500, height=375):
    x1 = rng.integers(0, width - 20, num)
    y1 = rng.integers(0, height - 20, num)
    gts = np.stack([x1, y1, np.minimum(x1 + rng.integers(10, 400, num), width - 1),
                    np.minimum(y1 + rng.integers(10, 300, num), height - 1)], 1).astype(np.float64)
    size = np.stack([gts[:, 2] - gts[:, 0] + 1, gts[:, 3] - gts[:, 1] + 1] * 2, 1)
    boxes = gts + rng.normal(0, 0.18, gts.shape) * size  # proposals around the object: IoU ~ 0.2-0.9
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2])
    orig = iou_plus_one(boxes, gts)
    scaled = iou_plus_one(boxes * scale, gts * scale)
    near = (orig > 0.3) & (orig < 0.7)
    flips = (orig >= 0.5) != (scaled >= 0.5)
    return flips.mean(), flips.sum() / max(near.sum(), 1), np.abs(orig - scaled).max()


def main(argv=None):
    from faster_rcnn_paper.utils.tool_errors import tool_parser  # (imports torch: not at the top)
    parser = tool_parser(__doc__)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num', type=int, default=200000, help='sampled RoIs')
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    all_rois, near_half, max_diff = roi_label_flips(rng, args.num)
    print(f'RoI IoU on the resized image (s = 1.6) instead of the original: {100 * all_rois:.3f} % of '
          f'{args.num} RoIs change fg/bg label ({100 * near_half:.3f} % of those with IoU in (0.3, 0.7)); '
          f'largest IoU change {max_diff:.4f}')
    return dict(flipped=all_rois, flipped_near_half=near_half, max_iou_change=max_diff)


if __name__ == '__main__':
    from faster_rcnn_paper.utils.tool_errors import run_tool
    sys.exit(run_tool(lambda argv: main(argv) and 0))
