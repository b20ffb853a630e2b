"""Per-class NMS and the per-image cap of py-faster-rcnn's test (``lib/fast_rcnn/test.py:test_net``).

For every class ``j``: keep the boxes whose score is **greater than** ``score_thr`` (0.05), run NMS
(IoU > 0.3 suppresses, +1 areas: ``offset=1``), keep the survivors in NMS order. Then, over all
classes, if more than ``max_per_img`` (100) detections remain, the threshold is the
``max_per_img``-th highest score and every detection scoring **at least** that is kept — ties at
the threshold can give more than 100 (mmdet's ``multiclass_nms`` cuts at exactly 100).
py-faster-rcnn keeps one array per class; here the detections come out sorted by score, highest
first, as MMDetection's ``multiclass_nms`` returns them (so ``pred_instances[:k]`` is the top k);
the sort is stable, so equal scores keep the class order (mmdet's labels, background last) and,
within a class, the NMS order. The detections themselves are those of the per-class arrays.
"""
from typing import Tuple

import torch
from faster_rcnn_ops import nms
from torch import Tensor


def paper_multiclass_nms(bboxes: Tensor, scores: Tensor, score_thr: float, nms_cfg: dict,
                         max_per_img: int) -> Tuple[Tensor, Tensor]:
    """``bboxes`` (N, 4K) class-specific boxes, ``scores`` (N, K + 1) softmax scores (background
    last). Returns ``(dets (M, 5) [x1, y1, x2, y2, score], labels (M,))``, by descending score."""
    num_classes = scores.size(1) - 1
    if bboxes.size(1) not in (4, 4 * num_classes):
        raise ValueError(f'paper_multiclass_nms: boxes (N, {bboxes.size(1)}) fit neither 4 nor '
                         f'4 x {num_classes} classes')
    nms_cfg = dict(nms_cfg)
    if nms_cfg.pop('type', 'nms') != 'nms' or not set(nms_cfg) <= {'iou_threshold', 'offset'}:
        raise ValueError(f'paper_multiclass_nms runs plain NMS (iou_threshold, offset); got {nms_cfg}')
    dets, labels = [], []
    for j in range(num_classes):
        keep = scores[:, j] > score_thr
        cls_scores = scores[keep, j]
        cls_boxes = (bboxes[:, 4 * j:4 * j + 4] if bboxes.size(1) > 4 else bboxes)[keep]
        if cls_scores.numel() == 0:
            continue
        kept = nms(cls_boxes.contiguous(), cls_scores.contiguous(), nms_cfg['iou_threshold'],
                   nms_cfg.get('offset', 0))
        dets.append(torch.cat([cls_boxes[kept], cls_scores[kept, None]], dim=1))
        labels.append(torch.full((kept.numel(), ), j, dtype=torch.long, device=scores.device))
    if not dets:
        return bboxes.new_zeros((0, 5)), torch.zeros((0, ), dtype=torch.long, device=scores.device)
    dets, labels = torch.cat(dets), torch.cat(labels)
    if 0 < max_per_img < dets.size(0):
        image_thresh = dets[:, 4].sort(descending=True).values[max_per_img - 1]
        keep = dets[:, 4] >= image_thresh
        dets, labels = dets[keep], labels[keep]
    order = dets[:, 4].sort(descending=True, stable=True).indices
    return dets[order], labels[order]
