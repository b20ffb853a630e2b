"""The paper's anchors (Faster R-CNN §3.1.1), exactly as py-faster-rcnn's ``generate_anchors``.

At each sliding-window position there are k = 9 anchors: 3 scales (box areas 128², 256², 512²) × 3
aspect ratios (1:2, 1:1, 2:1). py-faster-rcnn builds them from a 16×16 base box [0, 0, 15, 15]
(inclusive corners, centre (7.5, 7.5)) in two steps:

1. ratio enumeration: ``w = round(sqrt(256 / r)), h = round(w * r)`` (numpy rounds half to even),
   for r = h / w in ratios;
2. scale enumeration: each of those boxes is multiplied by every scale (8, 16, 32), around the
   same centre.

The order is ratio-major (for each ratio, the three scales), and boxes use py-faster-rcnn's
inclusive convention ``x2 = x1 + w - 1``. Because of the rounding, the 1:2 and 2:1 anchors are not
transposes of each other (184×96 vs 88×176 at scale 8). mmdet's ``AnchorGenerator`` centres anchors
on the grid point with unrounded sizes and ``LegacyAnchorGenerator`` rounds differently, so neither
reproduces these boxes; the grid shift (16x, 16y) and the (y, x, anchor) order are mmdet's already.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.task_modules.prior_generators import AnchorGenerator
from mmdet.registry import TASK_UTILS
from torch import Tensor


def paper_base_anchors(base_size: int, ratios: Sequence[float], scales: Sequence[float]) -> Tensor:
    """py-faster-rcnn's ``generate_anchors(base_size, ratios, scales)`` as a (len(ratios) ·
    len(scales), 4) float tensor of inclusive [x1, y1, x2, y2] boxes."""
    ratios_t = torch.as_tensor(ratios, dtype=torch.float64)
    scales_t = torch.as_tensor(scales, dtype=torch.float64)
    centre = (base_size - 1) / 2.0  # base box [0, 0, base_size - 1, base_size - 1]
    # Ratio enumeration (torch.round, like numpy's, rounds half to even).
    widths = torch.round(torch.sqrt(base_size * base_size / ratios_t))
    heights = torch.round(widths * ratios_t)
    # Scale enumeration, ratio-major.
    ws = (widths[:, None] * scales_t[None, :]).reshape(-1)
    hs = (heights[:, None] * scales_t[None, :]).reshape(-1)
    return torch.stack([centre - 0.5 * (ws - 1), centre - 0.5 * (hs - 1),
                        centre + 0.5 * (ws - 1), centre + 0.5 * (hs - 1)], dim=1).float()


@TASK_UTILS.register_module()
class PaperAnchorGenerator(AnchorGenerator):
    """mmdet prior generator yielding py-faster-rcnn's anchors on a stride-16 grid.

    Args:
        strides: feature strides, one per level (the paper has one level, stride 16).
        ratios: aspect ratios h / w (paper: 0.5, 1, 2).
        scales: anchor scales in units of the base size (paper: 8, 16, 32; 4, 8, 16, 32 on COCO).
        base_sizes: base box side per level; defaults to the strides (py-faster-rcnn: 16).
    """

    def __init__(self,
                 strides: Sequence[int],
                 ratios: Sequence[float],
                 scales: Sequence[float],
                 base_sizes: Optional[Sequence[int]] = None) -> None:
        super().__init__(strides=strides, ratios=ratios, scales=scales, base_sizes=base_sizes,
                         scale_major=True, center_offset=0.0)

    def gen_single_level_base_anchors(self,
                                      base_size: int,
                                      scales: Tensor,
                                      ratios: Tensor,
                                      center: Optional[Tuple[float, float]] = None) -> Tensor:
        if center is not None:
            raise ValueError('PaperAnchorGenerator centres anchors as py-faster-rcnn does; '
                             '`centers` is not supported')
        return paper_base_anchors(int(base_size), ratios.tolist(), scales.tolist())

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(strides={self.strides}, ratios={self.ratios.tolist()}, '
                f'scales={self.scales.tolist()}, base_sizes={self.base_sizes})')


__all__: List[str] = ['PaperAnchorGenerator', 'paper_base_anchors']
