"""IoU with py-faster-rcnn's inclusive box convention (``lib/utils/bbox.pyx: bbox_overlaps``).

py-faster-rcnn treats [x1, y1, x2, y2] as inclusive pixel indices: a box's width is x2 - x1 + 1 and
intersections get the same +1. mmdet's ``BboxOverlaps2D`` uses x2 - x1; the difference matters for
the small anchors and proposals that decide RPN labels at the 0.3 / 0.7 thresholds (§3.1.2).
"""
from mmdet.models.task_modules.assigners import BboxOverlaps2D
from mmdet.registry import TASK_UTILS
from torch import Tensor


def legacy_bbox_overlaps(boxes1: Tensor, boxes2: Tensor, mode: str = 'iou',
                         is_aligned: bool = False, eps: float = 1e-6) -> Tensor:
    """IoU (or IoF) of inclusive-coordinate boxes, (M, 4) × (N, 4) → (M, N) (or (M,) if aligned)."""
    if mode not in ('iou', 'iof'):
        raise ValueError(f"mode must be 'iou' or 'iof', got {mode!r}")
    area1 = (boxes1[..., 2] - boxes1[..., 0] + 1) * (boxes1[..., 3] - boxes1[..., 1] + 1)
    area2 = (boxes2[..., 2] - boxes2[..., 0] + 1) * (boxes2[..., 3] - boxes2[..., 1] + 1)
    if is_aligned:
        lt = boxes1[..., :2].maximum(boxes2[..., :2])
        rb = boxes1[..., 2:].minimum(boxes2[..., 2:])
        union = area1 + area2
    else:
        lt = boxes1[..., :, None, :2].maximum(boxes2[..., None, :, :2])
        rb = boxes1[..., :, None, 2:].minimum(boxes2[..., None, :, 2:])
        union = area1[..., :, None] + area2[..., None, :]
    wh = (rb - lt + 1).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    denominator = union - inter if mode == 'iou' else (area1 if is_aligned else area1[..., :, None])
    return inter / denominator.clamp(min=eps)


@TASK_UTILS.register_module()
class LegacyBboxOverlaps2D(BboxOverlaps2D):
    """mmdet IoU calculator with py-faster-rcnn's +1 areas (same call signature as
    ``BboxOverlaps2D``: boxes may carry a 5th score column, which is ignored)."""

    def __call__(self, bboxes1: Tensor, bboxes2: Tensor, mode: str = 'iou',
                 is_aligned: bool = False) -> Tensor:
        bboxes1 = getattr(bboxes1, 'tensor', bboxes1)
        bboxes2 = getattr(bboxes2, 'tensor', bboxes2)
        if bboxes1.size(-1) == 5:
            bboxes1 = bboxes1[..., :4]
        if bboxes2.size(-1) == 5:
            bboxes2 = bboxes2[..., :4]
        return legacy_bbox_overlaps(bboxes1, bboxes2, mode, is_aligned)
